// Layer-aware push, as the push issue's acceptance describes it: the base comes from another
// registry (standing for Docker Hub) and was pulled into the engine; the app adds a 1 MB layer;
// the user's uplink is a throttled proxy (4 MB/s) that counts bytes, in front of a token-auth
// registry. Real dockerd, real Distribution, real docker push as the peer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { buildImage, docker, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { cliPath, runCli } from './runCli';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';

const password = 'push-test-pw-41';
let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let upstream: Registry;
let team: Registry;
let uplink: FaultProxy;
let base: FixtureImage;
let env: NodeJS.ProcessEnv;
let baseRef: string;
let appLayerBytes = 0;

async function dockerLogin(host: string): Promise<void> {
  await docker(engine, ['login', '-u', 'alice', '--password-stdin', host], { input: password });
}

/** Builds the app (base + a 1 MB incompressible layer) and tags it for `target`. */
async function buildApp(target: string): Promise<void> {
  const context = join(work.path, 'app');
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'app.bin'), randomBytes(1_000_000));
  await writeFile(join(context, 'Dockerfile'), `FROM ${baseRef}\nCOPY app.bin /app/app.bin\n`);
  await buildImage(engine, context, target);
}

async function manifestLayers(repository: string, tag: string): Promise<string[]> {
  const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'alice', password } }) });
  try {
    const manifest = await client.getManifest({ registry: team.host, repository }, tag);
    return manifest.parsed.kind === 'image' ? manifest.parsed.manifest.layers.map((l) => l.digest) : [];
  } finally {
    await client.close();
  }
}

before(async () => {
  work = await makeTempDir('push');
  engine = await startDockerEngine();
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({ auth: 'token', users: { alice: password }, acl: [{ account: 'alice', name: '*', actions: ['pull', 'push'] }] });
  uplink = await startFaultProxy(team.url);
  uplink.set({ throttleBytesPerSecond: { up: 4_000_000 } });
  base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 12_000_000, seed: 'push-base' }], tag: '1' });
  await seedImage(base.layoutDir, '1', upstream.host, 'library/base');
  baseRef = `${upstream.host}/library/base:1`;
  await docker(engine, ['pull', baseRef]);
  await dockerLogin(uplink.host);
  await dockerLogin(team.host);
  // The CLI reads the same Docker config the engine's docker CLI wrote.
  env = { DOCKER_CONFIG: engine.env.DOCKER_CONFIG, DOCKER_HOST: engine.host, XDG_CACHE_HOME: join(work.path, 'cache') };
  appLayerBytes = 1_000_000;
});
after(async () => {
  await uplink?.stop();
  await team?.stop();
  await upstream?.stop();
  await engine?.stop();
  await work?.remove();
});

describe('layerlift push', () => {
  test('base in the target registry under its own path: only the unique layer crosses the uplink, base blobs kept', async () => {
    // An admin mirrored the base into the team registry (not over the user's uplink).
    const mirror = await runCli(['copy', baseRef, `${team.host}/library/base:1`], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
    assert.equal(mirror.code, 0, mirror.stderr);
    const target = `${uplink.host}/team/app:1`;
    await buildApp(target);
    uplink.resetStats();
    const push = await runCli(['push', '--json', target], env, { timeoutMs: 300_000 });
    assert.equal(push.code, 0, push.stderr);
    const result = JSON.parse(push.stdout) as { digest: string; blobs: { digest: string; action: string; from: string | null }[]; bytesUploaded: number };
    const sent = uplink.stats().upstreamBytes;
    console.log(`own-path base: ${sent} bytes over the uplink for a ${appLayerBytes}-byte unique layer (${(sent / appLayerBytes).toFixed(3)}x)`);
    assert.ok(sent <= appLayerBytes * 1.25, `sent ${sent}`);
    assert.deepEqual(result.blobs.slice(0, base.layers.length).map((b) => b.action), base.layers.map(() => 'mount'));
    assert.deepEqual((await manifestLayers('team/app', '1')).slice(0, base.layers.length), base.layers.map((l) => l.digest));
  });

  test('base only upstream, --prepush runner: the runner copies it near the registry, the bound holds', async () => {
    const target = `${uplink.host}/team/runner-app:1`;
    await buildApp(target);
    // The runner reaches the registry directly (not through the user's uplink).
    const runner = `${process.execPath} ${cliPath} copy {source} "$(printf %s {target} | sed s/${uplink.host}/${team.host}/)"`;
    uplink.resetStats();
    const push = await runCli(['push', '--json', '--prepush', 'runner', '--runner', runner, target], env, { timeoutMs: 300_000 });
    assert.equal(push.code, 0, push.stderr);
    const sent = uplink.stats().upstreamBytes;
    console.log(`runner pre-push: ${sent} bytes over the uplink (${(sent / appLayerBytes).toFixed(3)}x the unique layer)`);
    assert.ok(sent <= appLayerBytes * 1.25, `sent ${sent}`);
    assert.deepEqual((await manifestLayers('team/runner-app', '1')).slice(0, base.layers.length), base.layers.map((l) => l.digest));
  });

  test('after layerlift prepush, a plain docker push finds every base layer already there', async () => {
    const target = `${uplink.host}/team/docker-app:1`;
    await buildApp(target);
    const prepush = await runCli(['prepush', baseRef, `${team.host}/team/docker-app`], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
    assert.equal(prepush.code, 0, prepush.stderr);
    const { stdout } = await docker(engine, ['push', target]);
    const existing = stdout.split('\n').filter((l) => /Layer already exists/.test(l)).length;
    assert.ok(existing >= base.layers.length, stdout);
  });

  test('docker push of a like image to a fresh repository sends the whole base: ratios of bytes and time', async () => {
    // A registry docker has never pushed to, so it knows no blob there to mount; the base is
    // mirrored in it under its own path (as in the first test), which only layerlift uses.
    const fresh = await startRegistry({ auth: 'token', users: { alice: password }, acl: [{ account: 'alice', name: '*', actions: ['pull', 'push'] }] });
    const freshUplink = await startFaultProxy(fresh.url);
    try {
      freshUplink.set({ throttleBytesPerSecond: { up: 4_000_000 } });
      await dockerLogin(freshUplink.host);
      await dockerLogin(fresh.host);
      const mirror = await runCli(['copy', baseRef, `${fresh.host}/library/base:1`], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
      assert.equal(mirror.code, 0, mirror.stderr);
      const dockerTarget = `${freshUplink.host}/fresh/docker-app:1`;
      const ourTarget = `${freshUplink.host}/fresh/layerlift-app:1`;
      await buildApp(dockerTarget);
      await docker(engine, ['tag', dockerTarget, ourTarget]);
      freshUplink.resetStats();
      let started = Date.now();
      await docker(engine, ['push', dockerTarget]);
      const dockerSeconds = (Date.now() - started) / 1000;
      const dockerBytes = freshUplink.stats().upstreamBytes;
      freshUplink.resetStats();
      started = Date.now();
      const push = await runCli(['push', '--json', ourTarget], env, { timeoutMs: 300_000 });
      assert.equal(push.code, 0, push.stderr);
      const ourSeconds = (Date.now() - started) / 1000;
      const ourBytes = freshUplink.stats().upstreamBytes;
      const baseBytes = base.layers.reduce((sum, l) => sum + l.size, 0);
      console.log(
        `fresh repository over a 4 MB/s uplink: docker push ${dockerBytes} B in ${dockerSeconds.toFixed(2)} s; layerlift push ${ourBytes} B in ${ourSeconds.toFixed(2)} s — bytes ratio ${(ourBytes / dockerBytes).toFixed(3)}, time ratio ${(ourSeconds / dockerSeconds).toFixed(3)}`,
      );
      assert.ok(dockerBytes > baseBytes, `docker sent ${dockerBytes}, the base is ${baseBytes}`);
      assert.ok(ourBytes <= appLayerBytes * 1.25, `layerlift sent ${ourBytes}`);
    } finally {
      await freshUplink.stop();
      await fresh.stop();
    }
  });

  test('the local index remembers what was pushed: the next plan mounts the app layer too', async () => {
    const plan = await runCli(['plan', '--json', `${uplink.host}/team/app:1`, `${uplink.host}/team/app-copy:1`], env);
    assert.equal(plan.code, 0, plan.stderr);
    const result = JSON.parse(plan.stdout) as { layers: { action: string; from?: string }[]; uplinkBytes: number };
    assert.deepEqual(result.layers.map((l) => l.action), result.layers.map(() => 'mount'));
    assert.ok(result.layers.some((l) => l.from === 'team/app'), JSON.stringify(result.layers));
  });

  test('dropped connections resume and the push finishes; a cancelled push leaves the previous tag', async () => {
    const target = `${uplink.host}/team/flaky:1`;
    const context = join(work.path, 'flaky');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'big.bin'), randomBytes(20_000_000));
    await writeFile(join(context, 'Dockerfile'), `FROM ${baseRef}\nCOPY big.bin /big.bin\n`);
    await buildImage(engine, context, target);
    // Connections cut as PATCH requests start: the upload resumes from the registry's offset.
    uplink.set({ throttleBytesPerSecond: null, dropNext: { count: 3, match: { method: 'PATCH' } } });
    uplink.resetStats();
    // Resuming a cut upload is Layerlift's own uploader's (the engine restarts a cut layer).
    const first = await runCli(['push', '--json', '--uploader', 'layerlift', target], env, { timeoutMs: 300_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(uplink.stats().drops, 3);
    const firstDigest = (JSON.parse(first.stdout) as { digest: string }).digest;
    // A new build of the same tag, cancelled mid-upload: the tag must still be the first push.
    await writeFile(join(context, 'big.bin'), randomBytes(20_000_000));
    await buildImage(engine, context, target);
    uplink.clear();
    uplink.set({ throttleBytesPerSecond: { up: 2_000_000 } });
    uplink.resetStats();
    const child = spawn(process.execPath, [cliPath, 'push', '--uploader', 'layerlift', target], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 300 && uplink.stats().upstreamBodyBytes < 2_000_000; i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    uplink.clear();
    uplink.set({ throttleBytesPerSecond: { up: 4_000_000 } });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /cancelled; the target was not changed/);
    const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'alice', password } }) });
    try {
      assert.equal((await client.headManifest({ registry: team.host, repository: 'team/flaky' }, '1'))?.digest, firstDigest);
    } finally {
      await client.close();
    }
  });

  test('several new layers are spooled and compressed side by side: they pull back byte for byte, no scratch left', async () => {
    const context = join(work.path, 'layers');
    await mkdir(context, { recursive: true });
    const files = [randomBytes(3_000_000), Buffer.from('text line\n'.repeat(400_000)), randomBytes(1_500_000)];
    for (const [i, data] of files.entries()) await writeFile(join(context, `f${i}.bin`), data);
    await writeFile(join(context, 'Dockerfile'), `FROM ${baseRef}\n${files.map((_, i) => `COPY f${i}.bin /data/f${i}.bin`).join('\n')}\n`);
    const target = `${uplink.host}/team/layers:1`;
    await buildImage(engine, context, target);
    const push = await runCli(['push', '--json', '--uploader', 'layerlift', target], env, { timeoutMs: 300_000 });
    assert.equal(push.code, 0, push.stderr);
    const result = JSON.parse(push.stdout) as { blobs: { action: string }[] };
    assert.deepEqual(result.blobs.slice(-files.length).map((b) => b.action), files.map(() => 'upload'));
    const scratch = await readdir(join(env.XDG_CACHE_HOME as string, 'layerlift', 'layers')).catch(() => []);
    assert.deepEqual(scratch, [], 'push scratch directories are removed');
    await docker(engine, ['rmi', '-f', target]);
    await docker(engine, ['pull', target]);
    const { stdout } = await docker(engine, ['run', '--rm', '--network', 'none', target, 'sh', '-c', 'sha256sum /data/f0.bin /data/f1.bin /data/f2.bin']);
    const sums = files.map((data) => createHash('sha256').update(data).digest('hex'));
    assert.deepEqual(stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]), sums);
  });

  test('layerlift build --push: the builder runs, the base is pre-pushed meanwhile, then a layer-aware push', async () => {
    const context = join(work.path, 'built');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'app.bin'), randomBytes(500_000));
    await writeFile(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY app.bin /app.bin\n');
    const target = `${uplink.host}/team/built:1`;
    const run = await runCli(['build', '-t', target, '--build-arg', `BASE=${baseRef}`, '--push', '--json', context], env, { timeoutMs: 300_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /pre-pushing .*library\/base next to/);
    assert.match(run.stderr, /Successfully built|naming to/);
    const result = JSON.parse(run.stdout) as { target: string; blobs: { action: string }[] };
    assert.equal(result.target, target);
    assert.ok(result.blobs.slice(0, base.layers.length).every((b) => b.action === 'exists'), JSON.stringify(result.blobs));
  });

  test('bad input is one line: a missing image, zstd on this runtime, a bad level', async () => {
    const missing = await runCli(['push', `${uplink.host}/team/nope:1`], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /^layerlift: .*(not found|no such image)/i);
    const zstd = await runCli(['push', '--compression', 'zstd', `${uplink.host}/team/app:1`], env);
    assert.equal(zstd.code, 1);
    assert.match(zstd.stderr, /zstd compression needs Node\.js 22\.15/);
    const level = await runCli(['push', '--compression-level', '11', `${uplink.host}/team/app:1`], env);
    assert.equal(level.code, 2);
  });

  test('an OCI layout pushes byte for byte: the manifest digest skopeo computed is kept for every blob', async () => {
    const run = await runCli(['push', '--json', `oci:${base.layoutDir}:1`, `${uplink.host}/oci/base:1`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await manifestLayers('oci/base', '1'), base.layers.map((l) => l.digest));
  });

  test('an image with the same layer twice pushes every position (OCI layout made so)', async () => {
    // Rewrite the fixture layout: the random layer appears twice, in the manifest and in diff_ids.
    const dir = join(work.path, 'twice');
    await cp(base.layoutDir, dir, { recursive: true });
    const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const blobPath = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));
    const manifest = JSON.parse(await readFile(blobPath(base.manifestDigest), 'utf8')) as { config: { digest: string; size: number }; layers: unknown[] };
    const config = JSON.parse(await readFile(blobPath(manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] }; history?: unknown[] };
    config.rootfs.diff_ids.push(config.rootfs.diff_ids[1] as string);
    delete config.history;
    const configBytes = Buffer.from(JSON.stringify(config));
    await writeFile(blobPath(sha(configBytes)), configBytes);
    manifest.config = { ...manifest.config, digest: sha(configBytes), size: configBytes.length };
    manifest.layers.push(manifest.layers[1]);
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await writeFile(blobPath(sha(manifestBytes)), manifestBytes);
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifestBytes), size: manifestBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'twice' } }] }));
    const push = await runCli(['push', '--json', `oci:${dir}:twice`, `${uplink.host}/team/twice:1`], env, { timeoutMs: 120_000 });
    assert.equal(push.code, 0, push.stderr);
    const layers = await manifestLayers('team/twice', '1');
    assert.deepEqual(layers, [...base.layers.map((l) => l.digest), base.layers[1]?.digest]);
  });

  test('--prepush local --cleanup-prepush: the base goes through here, then its pre-push tag is removed', async () => {
    const target = `${uplink.host}/clean/app:1`;
    await buildApp(target);
    const push = await runCli(['push', '--json', '--prepush', 'local', '--cleanup-prepush', target], env, { timeoutMs: 300_000 });
    assert.equal(push.code, 0, push.stderr);
    const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'alice', password } }) });
    try {
      const repo = { registry: team.host, repository: 'clean/app' };
      const res = await client.http.request({ registry: team.host, repository: 'clean/app', operation: 'list tags', method: 'GET', path: '/v2/clean/app/tags/list', scopes: [{ type: 'repository', name: 'clean/app', actions: ['pull'] }] });
      const tags = (JSON.parse((await client.http.readBody(res, 65536)).toString()) as { tags: string[] | null }).tags ?? [];
      assert.deepEqual(tags, ['1']);
      assert.ok((await client.headManifest(repo, '1')) !== undefined);
    } finally {
      await client.close();
    }
    await docker(engine, ['rmi', '-f', target]);
    await docker(engine, ['pull', target]);
  });

  test('what was pushed pulls and runs', async () => {
    const pulled = `${uplink.host}/team/app:1`;
    await docker(engine, ['rmi', '-f', pulled]);
    await docker(engine, ['pull', pulled]);
    const { stdout } = await docker(engine, ['run', '--rm', '--network', 'none', pulled, 'sh', '-c', 'wc -c < /app/app.bin']);
    assert.equal(stdout.trim(), String(appLayerBytes));
  });
});
