// Token scopes are the least each operation needs, as recorded at the token server of a real
// token-auth registry: inspect and plan ask for pull only; copy and push for pull,push on the
// target plus pull on a mount source (nothing else, never delete or '*'); delete only for
// --cleanup-prepush. The CLI runs as a user would, credentials from the Docker config.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import type { TokenServer } from '../bed/tokenServer';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';

const password = 'scopes-pw-5519';
let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let upstream: Registry;
let tokens: TokenServer;
let env: NodeJS.ProcessEnv;
let appLayout: string;

before(async () => {
  work = await makeTempDir('scopes');
  registry = await startRegistry({ auth: 'token', users: { alice: password } });
  upstream = await startRegistry({ auth: 'none' });
  assert.ok(registry.tokenServer);
  tokens = registry.tokenServer;
  const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }], tag: 'v1' });
  await seedImage(base.layoutDir, 'v1', registry.host, 'library/base', { creds: { username: 'alice', password } });
  await seedImage(base.layoutDir, 'v1', upstream.host, 'library/base');
  appLayout = join(work.path, 'app');
  await writeFixtureImage(appLayout, { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 300_000, seed: 'scopes-app' }], tag: 'v1' });
  const config = join(work.path, 'docker');
  await mkdir(config);
  await writeFile(join(config, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } } }));
  env = { DOCKER_CONFIG: config, XDG_CACHE_HOME: join(work.path, 'cache') };
});
after(async () => {
  await registry?.stop();
  await upstream?.stop();
  await work?.remove();
});

/** Runs the CLI and returns the distinct scopes it asked the token server for, sorted. */
async function scopesOf(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string[]> {
  tokens.requests.length = 0;
  const run = await runCli(args, { ...env, ...extraEnv });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(tokens.requests.length > 0, 'the token server was asked');
  assert.ok(tokens.requests.every((r) => r.status === 200 && r.account === 'alice'), JSON.stringify(tokens.requests));
  const scopes = [...new Set(tokens.requests.flatMap((r) => r.scopes))].sort();
  for (const scope of scopes) assert.doesNotMatch(scope, /\*|:$|registry:catalog/, `a wildcard or catalog scope: ${scope}`);
  return scopes;
}

describe('token scopes per operation', () => {
  test('inspect: pull on the repository only', async () => {
    assert.deepEqual(await scopesOf(['inspect', '--json', `${registry.host}/library/base:v1`]), ['repository:library/base:pull']);
  });

  test('copy within the registry: pull,push on the target, pull on the mount source', async () => {
    const scopes = await scopesOf(['copy', '--json', `${registry.host}/library/base:v1`, `${registry.host}/team/copied:v1`]);
    assert.deepEqual(scopes.filter((s) => !s.startsWith('repository:team/copied:')), ['repository:library/base:pull']);
    assert.ok(scopes.includes('repository:team/copied:pull,push'), scopes.join(' '));
    assert.ok(scopes.every((s) => /^repository:(library\/base:pull|team\/copied:(pull|pull,push))$/.test(s)), scopes.join(' '));
  });

  test('copy from another registry: pull,push on the target only (the source is anonymous)', async () => {
    const scopes = await scopesOf(['copy', '--json', `${upstream.host}/library/base:v1`, `${registry.host}/team/mirrored:v1`]);
    assert.ok(scopes.every((s) => /^repository:team\/mirrored:(pull|pull,push)$/.test(s)), scopes.join(' '));
    assert.ok(scopes.includes('repository:team/mirrored:pull,push'));
  });

  test('plan: pull only, on the target and the base — a plan never asks for push', async () => {
    const scopes = await scopesOf(['plan', '--json', '--base', `${registry.host}/library/base:v1`, `oci:${appLayout}:v1`, `${registry.host}/team/planned:1`]);
    assert.ok(scopes.length > 0);
    assert.ok(scopes.every((s) => /^repository:(team\/planned|library\/base):pull$/.test(s)), scopes.join(' '));
  });

  test('push with a base in the registry: pull,push on the target, pull on the base to mount it; no delete', async () => {
    const scopes = await scopesOf(['push', '--json', '--base', `${registry.host}/library/base:v1`, `oci:${appLayout}:v1`, `${registry.host}/team/pushed:1`]);
    assert.ok(scopes.includes('repository:team/pushed:pull,push'), scopes.join(' '));
    assert.ok(scopes.every((s) => /^repository:(team\/pushed:(pull|pull,push)|library\/base:pull)$/.test(s)), scopes.join(' '));
    // One token serves the whole push: its tag read, the probes of the base's path and the mounts
    // (auth.ts expectScopes). Reading the base's own manifest is a separate, read-only client.
    const forTarget = tokens.requests.filter((r) => r.scopes.some((scope) => scope.startsWith('repository:team/pushed:')));
    assert.equal(forTarget.length, 1, JSON.stringify(forTarget.map((r) => r.scopes)));
    assert.deepEqual([...(forTarget[0]?.scopes ?? [])].sort(), ['repository:library/base:pull', 'repository:team/pushed:pull,push']);
  });

  test('prepush by mount: pull on the base, pull,push on the target', async () => {
    const scopes = await scopesOf(['prepush', '--strategy', 'mount', `${registry.host}/library/base:v1`, `${registry.host}/team/prepushed`]);
    assert.ok(scopes.includes('repository:team/prepushed:pull,push'), scopes.join(' '));
    assert.ok(scopes.every((s) => /^repository:(team\/prepushed:(pull|pull,push)|library\/base:pull)$/.test(s)), scopes.join(' '));
  });

  test('delete is asked for only by --cleanup-prepush, and only on the target', async () => {
    // A base only upstream has: the push pre-pushes it through here, then removes its tag.
    const only = { kind: 'random', bytes: 100_000, seed: 'scopes-upstream-only' } as const;
    const base = await writeFixtureImage(join(work.path, 'base2'), { layers: [only], tag: 'v1' });
    await seedImage(base.layoutDir, 'v1', upstream.host, 'library/only');
    const app = join(work.path, 'app2');
    await writeFixtureImage(app, { layers: [only, { kind: 'random', bytes: 1000, seed: 'scopes-app2' }], tag: 'v1' });
    const scopes = await scopesOf(['push', '--json', '--prepush', 'local', '--cleanup-prepush', '--base', `${upstream.host}/library/only:v1`, `oci:${app}:v1`, `${registry.host}/team/cleaned:1`]);
    const deleting = scopes.filter((s) => s.includes('delete'));
    assert.deepEqual(deleting, ['repository:team/cleaned:delete'], scopes.join(' '));
    // Besides the target: pull on the base's own path in this registry (where a mirror would be).
    assert.ok(scopes.every((s) => s.startsWith('repository:team/cleaned:') || s === 'repository:library/only:pull'), scopes.join(' '));
  });
});
