// No secret anywhere in what Layerlift prints: the CLI (inspect, copy, plan, push, prepush; human,
// --json, --debug, a failing login, and progress on a pseudo terminal) and the language server
// (notifications, logs, progress, command results, its stderr), with a password in the Docker
// config (htpasswd registry) and one from a credential helper (token registry). Everything
// printed is scanned for the passwords, their base64 forms, and every token the token server
// actually issued.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { startLspClient } from '../lsp/lspClient';
import { cliPath, runCli } from './runCli';

const pwH = 'htpw-Secret-5581!';
const pwT = 'tokpw-Secret-9034$';
let work: { path: string; remove: () => Promise<void> };
let basic: Registry;
let token: Registry;
let env: NodeJS.ProcessEnv;
let appLayout: string;
let printed = '';
let runs = 0;

const b64 = (s: string) => [Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url')];
function secrets(): string[] {
  const issued = token.tokenServer?.issued ?? [];
  return [pwH, pwT, ...b64(`bob:${pwH}`), ...b64(`alice:${pwT}`), ...b64(pwH), ...b64(pwT), ...issued, ...issued.map((t) => t.split('.')[2] ?? t)];
}
function assertClean(what: string, text: string): void {
  printed += text;
  for (const secret of secrets()) assert.ok(!text.includes(secret), `${what} printed a secret (${secret.slice(0, 4)}…): ${text.slice(0, 300)}`);
}

before(async () => {
  work = await makeTempDir('secrets');
  basic = await startRegistry({ auth: 'htpasswd', users: { bob: pwH } });
  token = await startRegistry({ auth: 'token', users: { alice: pwT } });
  const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 2_000_000, seed: 'secrets-base' }], tag: 'v1' });
  await seedImage(base.layoutDir, 'v1', basic.host, 'library/base', { creds: { username: 'bob', password: pwH } });
  appLayout = join(work.path, 'app');
  await writeFixtureImage(appLayout, { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 2_000_000, seed: 'secrets-base' }, { kind: 'random', bytes: 500_000, seed: 'secrets-app' }], tag: 'v1' });
  const config = join(work.path, 'docker');
  const bin = join(work.path, 'bin');
  await mkdir(config);
  await mkdir(bin);
  const helper = join(bin, 'docker-credential-lltest');
  await writeFile(helper, `#!/bin/sh\n[ "$1" = get ] || exit 1\nserver=$(cat)\nprintf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\\n' "$server" '${pwT}'\n`);
  await chmod(helper, 0o755);
  await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`bob:${pwH}`).toString('base64') } }, credHelpers: { [token.host]: 'lltest' } }));
  env = { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH ?? ''}`, XDG_CACHE_HOME: join(work.path, 'cache') };
});
after(async () => {
  console.log(`secret scan: ${runs} runs, ${printed.length} characters printed, ${secrets().length} secret forms (${token?.tokenServer?.issued.length ?? 0} issued tokens) searched: none found`);
  await basic?.stop();
  await token?.stop();
  await work?.remove();
});

describe('the CLI prints no secret', () => {
  const commands = (): [string, string[]][] => [
    ['inspect', ['inspect', `${basic.host}/library/base:v1`]],
    ['copy --json', ['copy', '--json', `${basic.host}/library/base:v1`, `${token.host}/mirror/base:v1`]],
    ['inspect --json', ['inspect', '--json', `${token.host}/mirror/base:v1`]],
    ['copy', ['copy', `${basic.host}/library/base:v1`, `${token.host}/mirror/again:v1`]],
    ['plan', ['plan', '--base', `${token.host}/mirror/base:v1`, `oci:${appLayout}:v1`, `${token.host}/team/app:1`]],
    ['push --json --debug', ['push', '--json', '--debug', '--base', `${token.host}/mirror/base:v1`, `oci:${appLayout}:v1`, `${token.host}/team/app:1`]],
    ['prepush', ['prepush', '--strategy', 'local', `${basic.host}/library/base:v1`, `${token.host}/team/pre`]],
    ['inspect of a missing tag', ['inspect', `${token.host}/team/app:nope`]],
  ];
  test('inspect, copy, plan, push, prepush: stdout and stderr', async () => {
    for (const [name, args] of commands()) {
      const run = await runCli(args, env, { timeoutMs: 120_000 });
      runs++;
      if (!name.includes('missing')) assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      else assert.equal(run.code, 1);
      assertClean(name, run.stdout + run.stderr);
    }
    assert.ok((token.tokenServer?.issued.length ?? 0) > 0, 'tokens were issued, so there was something to leak');
  });

  test('failed logins: a wrong password in the config, and a helper that fails', async () => {
    const config = join(work.path, 'wrong');
    await mkdir(config, { recursive: true });
    await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`bob:${pwH}x`).toString('base64') }, [token.host]: { username: 'alice', password: `${pwT}x` } } }));
    for (const ref of [`${basic.host}/library/base:v1`, `${token.host}/mirror/base:v1`]) {
      const run = await runCli(['inspect', '--debug', ref], { ...env, DOCKER_CONFIG: config });
      runs++;
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assertClean(`wrong password for ${ref}`, run.stdout + run.stderr + `${pwH}x`.replace(pwH, '') + `${pwT}x`.replace(pwT, ''));
      assert.ok(!run.stderr.includes(`${pwH}x`) && !run.stderr.includes(`${pwT}x`));
    }
  });

  test('progress on a pseudo terminal (script): copy and push redraw their line without secrets', async () => {
    const exec = promisify(execFile);
    for (const args of [['copy', `${basic.host}/library/base:v1`, `${token.host}/tty/copy:v1`], ['push', '--base', `${token.host}/mirror/base:v1`, `oci:${appLayout}:v1`, `${token.host}/tty/push:1`]]) {
      const command = [process.execPath, cliPath, ...args].map((a) => `'${a}'`).join(' ');
      const { stdout } = await exec('script', ['-qfec', command, '/dev/null'], { env: { ...env, HOME: '/nonexistent-home', TERM: 'xterm' }, timeout: 120_000 });
      runs++;
      assert.match(stdout, /\r\x1b\[2K|layers|blobs|pushed|copied/i, `no terminal output: ${JSON.stringify(stdout.slice(0, 200))}`);
      assertClean(`pty ${args[0]}`, stdout);
    }
  });
});

describe('the language server prints no secret', () => {
  test('lenses, hovers, diagnostics, logs, progress and a pre-push command result', { timeout: 120_000 }, async () => {
    const project = join(work.path, 'project');
    await mkdir(project, { recursive: true });
    const dockerfile = `FROM ${basic.host}/library/base:v1\nCOPY . /app\n`;
    await writeFile(join(project, 'Dockerfile'), dockerfile);
    const lsp = await startLspClient({ rootPath: project, settings: { images: [{ dockerfile: 'Dockerfile', image: `${token.host}/team/lsp:1` }] }, env });
    let seen = '';
    lsp.process.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
    // Every other notification too (a star handler; the typed API only names methods).
    (lsp.connection as unknown as { onNotification(handler: (method: string, params: unknown) => void): void }).onNotification((method, params) => (seen += `${method} ${JSON.stringify(params)}\n`));
    lsp.connection.onNotification('window/logMessage', (params: unknown) => (seen += `log ${JSON.stringify(params)}\n`));
    lsp.connection.onNotification('$/progress', (params: unknown) => (seen += `progress ${JSON.stringify(params)}\n`));
    lsp.connection.onRequest('window/workDoneProgress/create', () => null);
    try {
      const uri = await lsp.open(join(project, 'Dockerfile'), dockerfile);
      let lenses = '';
      for (let i = 0; i < 100 && !/layers/.test(lenses); i++) {
        lenses = JSON.stringify(await lsp.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } }));
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(lenses, /layers/, 'the base was read with the Docker config credentials');
      seen += lenses + JSON.stringify(await lsp.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 6 } }));
      const result = await lsp.connection.sendRequest('workspace/executeCommand', { command: 'layerlift.server.prepush', arguments: [pathToFileURL(join(project, 'Dockerfile')).toString()], workDoneToken: 'secret-scan' });
      seen += JSON.stringify(result);
      assert.match(JSON.stringify(result), /prepush-/, JSON.stringify(result));
      seen += JSON.stringify(await lsp.connection.sendRequest('workspace/executeCommand', { command: 'layerlift.server.push', arguments: [uri] }).catch((e: unknown) => String(e)));
      seen += JSON.stringify(lsp.diagnostics(uri));
    } finally {
      await lsp.stop();
    }
    runs++;
    assertClean('language server', seen);
  });
});
