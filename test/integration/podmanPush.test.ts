// Podman for real (issues 10 and 11): a private `podman system service` (test/bed/podman.ts), an image
// built in it through the compatible API (so it carries Podman's `localhost/…` names and
// RepoDigests), and `layerlift push|plan` against it with DOCKER_HOST=unix://SOCK, to a
// token-auth registry on 127.0.0.1 with the login in a Docker config file. The engine uploader
// hands the push to Podman's own push (which needs tlsVerify=false for plain HTTP); the result is
// pulled back with skopeo, an independent client. Podman 4.3's compatible push sends no
// per-layer progress, so none is asserted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { busyboxContext, podmanBuild, podmanInspect, startPodman, type Podman } from '../bed/podman';
import { skopeo } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';

const users = { dev: 'dev-pw-7c1f', viewer: 'viewer-pw-19ae' };
let work: { path: string; remove: () => Promise<void> };
let podman: Podman;
let registry: Registry;
let image: { Id: string; RepoDigests?: string[]; RootFS?: { Layers?: string[] } };

/** A DOCKER_CONFIG directory whose config.json logs `user` in to the registry (`auths`). */
async function dockerConfig(user: keyof typeof users): Promise<string> {
  const dir = join(work.path, `docker-config-${user}`);
  await mkdir(dir, { recursive: true });
  const auth = Buffer.from(`${user}:${users[user]}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
  return dir;
}

async function cliEnv(user: keyof typeof users, cache: string): Promise<NodeJS.ProcessEnv> {
  return { DOCKER_HOST: podman.host, DOCKER_CONFIG: await dockerConfig(user), XDG_CACHE_HOME: join(work.path, cache) };
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

before(async () => {
  work = await makeTempDir('podman-push');
  [podman, registry] = await Promise.all([
    startPodman(),
    startRegistry({
      auth: 'token',
      users,
      acl: [
        { account: 'dev', name: '*', actions: ['pull', 'push'] },
        { account: 'viewer', name: '*', actions: ['pull'] },
      ],
    }),
  ]);
  await podmanBuild(podman, await busyboxContext({ 'app.bin': randomBytes(1_500_000) }), 'localhost/app:1');
  image = await podmanInspect(podman, 'localhost/app:1');
});
after(async () => {
  await podman?.stop();
  await registry?.stop();
  await work?.remove();
});

describe('Podman: layerlift push and plan of a Podman-built image', () => {
  test('the bed: Podman names the image localhost/app and gives it a localhost/ RepoDigest', () => {
    assert.match(image.Id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(image.RepoDigests?.some((d) => /^localhost\/app@sha256:[0-9a-f]{64}$/.test(d)), JSON.stringify(image.RepoDigests));
    assert.equal(image.RootFS?.Layers?.length, 2, 'busybox and app.bin, a layer each');
  });

  test('push to a token-auth registry: the engine uploader (Podman\'s own push), and skopeo pulls Podman\'s image back', async (t) => {
    const target = `${registry.host}/team/app:1`;
    const started = Date.now();
    const run = await runCli(['push', '--json', 'localhost/app:1', target], await cliEnv('dev', 'cache-push'), { timeoutMs: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    const pushed = JSON.parse(run.stdout) as { target: string; digest: string; uploader: string; blobs: { digest: string; size: number; action: string }[]; bytesUploaded: number };
    assert.equal(pushed.uploader, 'engine');
    assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(pushed.blobs.length, 2);
    assert.doesNotMatch(run.stderr + run.stdout, new RegExp(Object.values(users).join('|')), 'no password in any output');
    const creds = `dev:${users.dev}`;
    // The manifest as the registry holds it: the digest layerlift reported, Podman's config.
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${target}`]);
    assert.equal(sha256(Buffer.from(raw)), pushed.digest, 'the tag names the digest layerlift reported');
    const manifest = JSON.parse(raw) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    assert.equal(manifest.config.digest, image.Id, 'the pushed config is Podman\'s image config');
    assert.deepEqual(manifest.layers.map((l) => l.digest), pushed.blobs.map((b) => b.digest));
    // A full pull by skopeo (it verifies every blob against its digest), then the config's
    // diff_ids against Podman's layers.
    const pulled = join(work.path, 'pulled');
    await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${target}`, `dir:${pulled}`]);
    const files = await readdir(pulled);
    for (const layer of manifest.layers) assert.ok(files.includes(layer.digest.slice('sha256:'.length)), `${layer.digest} pulled`);
    const config = await readFile(join(pulled, image.Id.slice('sha256:'.length)));
    assert.equal(sha256(config), image.Id);
    assert.deepEqual((JSON.parse(config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids, image.RootFS?.Layers);
    t.diagnostic(`push through Podman: ${seconds.toFixed(2)} s, ${pushed.blobs.length} layers (${pushed.blobs.map((b) => `${b.action} ${b.size} B`).join(', ')}), ${pushed.bytesUploaded} B uploaded`);
  });

  test('push through Layerlift\'s own uploader: Podman\'s export read, Podman\'s config pushed', async () => {
    const target = `${registry.host}/team/own:1`;
    const run = await runCli(['push', '--json', '--uploader', 'layerlift', 'localhost/app:1', target], await cliEnv('dev', 'cache-own'), { timeoutMs: 120_000 });
    assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    assert.equal((JSON.parse(run.stdout) as { uploader: string }).uploader, 'layerlift');
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `dev:${users.dev}`, `docker://${target}`]);
    assert.equal((JSON.parse(raw) as { config: { digest: string } }).config.digest, image.Id);
  });

  test('plan: Podman\'s localhost/ RepoDigest is local, not a registry on localhost:80 — under 3 s, no word about localhost', async (t) => {
    const started = Date.now();
    const run = await runCli(['plan', 'localhost/app:1', `${registry.host}/team/planned:1`], await cliEnv('dev', 'cache-plan'), { timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    t.diagnostic(`plan of a Podman image: ${seconds.toFixed(2)} s`);
    assert.ok(seconds < 3, `the plan took ${seconds.toFixed(2)} s`);
    assert.doesNotMatch(run.stderr, /localhost/i, run.stderr);
    assert.match(run.stdout, /engine/, 'the plan says the engine moves the uploads');
  });

  test('a login that may only pull: one line with "denied" and "docker login", exit 1, the tag never made', async () => {
    const run = await runCli(['push', '--progress', 'quiet', 'localhost/app:1', `${registry.host}/team/viewer:1`], await cliEnv('viewer', 'cache-viewer'), { timeoutMs: 120_000 });
    assert.equal(run.code, 1, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(run.stderr, /^layerlift: /);
    assert.match(run.stderr, /denied/i);
    assert.match(run.stderr, /docker login/);
    assert.doesNotMatch(run.stderr, /\n\s+at |internal error/);
    assert.doesNotMatch(run.stderr, new RegExp(Object.values(users).join('|')), 'no password in the line');
    await assert.rejects(skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `dev:${users.dev}`, `docker://${registry.host}/team/viewer:1`]), /manifest unknown|not found/i);
  });
});
