// Self-tests of the private Docker engine: start, build (COPY and RUN), run without network,
// push to and pull from a loopback registry, and a stop that leaves no process or dir behind.
import assert from 'node:assert/strict';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildImage, docker, importBusyboxImage, inspectImage, restoreEngineMemory, saveEngineMemory, startDockerEngine, type DockerEngine } from './dockerEngine';
import { startFaultProxy } from './faultProxy';
import { seedImage, writeFixtureImage } from './fixtures';
import { makeTempDir } from './process';
import { startRegistry, type Registry } from './registry';

async function pidsMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

void describe('private docker engine', () => {
  let engine: DockerEngine;
  let registry: Registry;
  let context: { path: string; remove: () => Promise<void> };

  before(async () => {
    const started = Date.now();
    engine = await startDockerEngine();
    console.log(`dockerd ready in ${Date.now() - started} ms`);
    registry = await startRegistry({ auth: 'none' });
    context = await makeTempDir('build-context');
  });
  after(async () => {
    const stopping = Date.now();
    await engine.stop();
    console.log(`dockerd stopped in ${Date.now() - stopping} ms`);
    await registry.stop();
    await context.remove();
  });

  void test('answers the API on its own socket', async () => {
    assert.ok(engine.socketPath.length < 108);
    assert.equal(engine.host, `unix://${engine.socketPath}`);
    const { stdout } = await docker(engine, ['version', '--format', '{{.Server.Version}}']);
    assert.match(stdout.trim(), /^\d+\.\d+/);
  });

  void test('builds a Dockerfile with COPY and RUN on the busybox base, and runs it without network', async () => {
    await importBusyboxImage(engine, 'layerlift/busybox:latest');
    await writeFile(join(context.path, 'hello.txt'), 'hello from the context\n');
    await writeFile(
      join(context.path, 'Dockerfile'),
      ['FROM layerlift/busybox:latest', 'COPY hello.txt /hello.txt', 'RUN echo built > /built.txt', ''].join('\n'),
    );
    const built = await buildImage(engine, context.path, 'bedtest/app:1');
    assert.match(built.imageId, /^sha256:[0-9a-f]{64}$/);
    const image = (await inspectImage(engine, 'bedtest/app:1')) as { Id: string; RootFS: { Layers: string[] } };
    assert.equal(image.Id, built.imageId);
    assert.equal(image.RootFS.Layers.length, 3); // import, COPY, RUN

    const run = await docker(engine, ['run', '--rm', '--network', 'none', 'bedtest/app:1', 'cat', '/built.txt', '/hello.txt']);
    assert.equal(run.stdout, 'built\nhello from the context\n');
  });

  void test('pushes to a 127.0.0.1 registry without any insecure-registry flag', async () => {
    const ref = `${registry.host}/bedtest/app:1`;
    await docker(engine, ['tag', 'bedtest/app:1', ref]);
    const push = await docker(engine, ['push', ref]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    const response = await fetch(`${registry.url}/v2/bedtest/app/manifests/1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(response.headers.get('docker-content-digest'), digest);
  });

  void test('pushes through the fault proxy: upload Locations lead back through it', async () => {
    const proxy = await startFaultProxy(registry.url);
    try {
      const ref = `${proxy.host}/bedtest/via-proxy:1`;
      await docker(engine, ['tag', 'bedtest/app:1', ref]);
      await docker(engine, ['push', ref]);
      const seen = proxy.requests().map((r) => `${r.method} ${r.status}`);
      assert.ok(seen.includes('PATCH 202') && seen.includes('PUT 201'), seen.join(', '));
      assert.ok(proxy.stats().upstreamBodyBytes > 1_000_000); // the busybox layer went through
    } finally {
      await proxy.stop();
    }
  });

  void test('its push memory can be saved and put back: a later push forgets what was pushed in between', async () => {
    const snapshot = join(context.path, 'memory');
    await docker(engine, ['tag', 'bedtest/app:1', `${registry.host}/memory/a:1`]);
    await saveEngineMemory(engine, snapshot);
    await docker(engine, ['push', `${registry.host}/memory/a:1`]);
    // Taught by that push, docker mounts within the registry…
    await docker(engine, ['tag', 'bedtest/app:1', `${registry.host}/memory/b:1`]);
    const taught = await docker(engine, ['push', `${registry.host}/memory/b:1`]);
    assert.match(taught.stdout, /Mounted from memory\/a/);
    // …and with its memory put back, it knows only what it knew before memory/a was pushed (an
    // earlier test pushed bedtest/app here): it mounts from there, never from memory/a or b.
    await restoreEngineMemory(engine, snapshot);
    await docker(engine, ['tag', 'bedtest/app:1', `${registry.host}/memory/c:1`]);
    const fresh = await docker(engine, ['push', `${registry.host}/memory/c:1`]);
    assert.doesNotMatch(fresh.stdout, /Mounted from memory\//, fresh.stdout);
    assert.match(fresh.stdout, /Mounted from bedtest\/app/, fresh.stdout);
  });

  void test('pulls and runs an OCI fixture image that skopeo seeded', async () => {
    const layout = await makeTempDir('engine-fixture');
    try {
      const fixture = await writeFixtureImage(layout.path, { tag: 'bb', layers: [{ kind: 'busybox' }] });
      await seedImage(fixture.layoutDir, 'bb', registry.host, 'fixtures/busybox');
      const ref = `${registry.host}/fixtures/busybox:bb`;
      await docker(engine, ['pull', ref]);
      const run = await docker(engine, ['run', '--rm', ref, 'sh', '-c', 'echo $((6 * 7))']);
      assert.equal(run.stdout, '42\n');
      const repoDigests = (await inspectImage(engine, ref)) as { RepoDigests: string[] };
      assert.ok(repoDigests.RepoDigests.includes(`${registry.host}/fixtures/busybox@${fixture.manifestDigest}`));
    } finally {
      await layout.remove();
    }
  });
});

void test('stop leaves no dockerd, containerd or directory behind', async () => {
  const engine = await startDockerEngine();
  const root = engine.socketPath.replace(/\/d\.sock$/, '');
  const daemons = await pidsMentioning(root);
  assert.ok(daemons.length >= 2, `dockerd and containerd expected, found ${daemons.join(',')}`);
  // A container left running must not keep anything alive either.
  await importBusyboxImage(engine);
  await docker(engine, ['run', '-d', '--network', 'none', 'layerlift/busybox:latest', 'sleep', '600']);
  const started = Date.now();
  await engine.stop();
  console.log(`dockerd stopped in ${Date.now() - started} ms (with one running container)`);
  assert.deepEqual(await pidsMentioning(root), []);
  await assert.rejects(access(root));
  await engine.stop(); // idempotent
});

void test('stop cleans up after a dockerd that was SIGKILLed with a container running', async () => {
  const engine = await startDockerEngine();
  const root = engine.socketPath.replace(/\/d\.sock$/, '');
  await importBusyboxImage(engine);
  const id = (await docker(engine, ['run', '-d', 'layerlift/busybox:latest', 'sleep', '600'])).stdout.trim();
  const containerPid = Number((await docker(engine, ['inspect', '-f', '{{.State.Pid}}', id])).stdout);
  assert.ok(containerPid > 0);
  process.kill(engine.daemon.pid, 'SIGKILL');
  await engine.stop();
  assert.deepEqual(await pidsMentioning(root), []);
  const state = await readFile(`/proc/${containerPid}/stat`, 'utf8').catch(() => 'gone');
  assert.ok(state === 'gone' || / Z /.test(state), `container process still running: ${state}`);
  assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(root), 'no mounts left');
  await assert.rejects(access(root));
});
