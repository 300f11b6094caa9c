// Podman for real (issues 10 and 11): Debian's podman serving the Docker-compatible API, images
// built in it (so they carry Podman's `localhost/…` names and RepoDigests), pushed by Layerlift to
// a token-auth registry on 127.0.0.1 — through Podman's own push (which refuses plain HTTP unless
// told tlsVerify=false) and through Layerlift's uploader (Podman's `docker save` export).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { podmanContext, startPodmanService, type PodmanService } from '../bed/podmanService';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';

const password = 'podman-pw-2';
let work: { path: string; remove: () => Promise<void> };
let podman: PodmanService;
let registry: Registry;
let appId: string;
let env: NodeJS.ProcessEnv;

async function dockerConfig(name: string, user: string): Promise<string> {
  const dir = join(work.path, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
  return dir;
}

async function pushedConfig(repository: string, tag: string): Promise<string | undefined> {
  const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'dev', password } }) });
  try {
    const manifest = await client.getManifest({ registry: registry.host, repository }, tag);
    return manifest.parsed.kind === 'image' ? manifest.parsed.manifest.config.digest : undefined;
  } finally {
    await client.close();
  }
}

before(async () => {
  work = await makeTempDir('podman');
  podman = await startPodmanService();
  registry = await startRegistry({
    auth: 'token',
    users: { dev: password, viewer: password },
    acl: [
      { account: 'dev', name: '*', actions: ['pull', 'push'] },
      { account: 'viewer', name: '*', actions: ['pull'] },
    ],
  });
  await podman.build(await podmanContext('FROM scratch\nCOPY busybox /bin/busybox\nCOPY base.bin /base.bin\n', { 'base.bin': randomBytes(1_000_000) }), 'localhost/base:1');
  appId = await podman.build(await podmanContext('FROM localhost/base:1\nCOPY app.bin /app.bin\n', { 'app.bin': randomBytes(300_000) }), 'localhost/app:1');
  env = { DOCKER_HOST: podman.host, DOCKER_CONFIG: await dockerConfig('dev', 'dev'), XDG_CACHE_HOME: join(work.path, 'cache') };
});
after(async () => {
  await podman?.stop();
  await registry?.stop();
  await work?.remove();
});

describe('Podman', () => {
  test('plan: Podman\'s localhost/ names are local, not a registry on port 80 — planned in well under 3 s, no warning about them', async () => {
    const started = Date.now();
    const run = await runCli(['plan', '--json', 'localhost/app:1', `${registry.host}/team/app:1`], env, { timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.code, 0, run.stderr);
    console.log(`plan of a Podman image: ${seconds.toFixed(2)} s`);
    assert.ok(seconds < 3, `${seconds} s`);
    assert.doesNotMatch(run.stderr, /localhost/);
    assert.equal((JSON.parse(run.stdout) as { uploader: string }).uploader, 'engine');
  });

  test('push through Podman\'s own push to a plain-HTTP loopback registry (tlsVerify=false), with the same login', async () => {
    const run = await runCli(['push', '--json', 'localhost/app:1', `${registry.host}/team/app:1`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { uploader: string; digest: string; blobs: unknown[] };
    assert.equal(result.uploader, 'engine');
    assert.equal(result.blobs.length, 3);
    assert.equal(await pushedConfig('team/app', '1'), appId, 'the pushed image is Podman\'s image');
  });

  test('push through Layerlift\'s own uploader reads Podman\'s export', async () => {
    const run = await runCli(['push', '--json', '--uploader', 'layerlift', 'localhost/app:1', `${registry.host}/team/own:1`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { uploader: string }).uploader, 'layerlift');
    assert.equal(await pushedConfig('team/own', '1'), appId);
  });

  test('a login that may only pull: one line naming the repository and what to do', async () => {
    const run = await runCli(['push', 'localhost/app:1', `${registry.host}/team/viewer:1`], { ...env, DOCKER_CONFIG: await dockerConfig('viewer', 'viewer'), XDG_CACHE_HOME: join(work.path, 'viewer-cache') }, { timeoutMs: 120_000 });
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stderr.trim().split('\n').filter((l) => !l.startsWith('['));
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0] ?? '', /^layerlift: (push|mount) .*team\/viewer: .*(denied|unauthorized|not allowed).* — .*docker login/i);
  });
});
