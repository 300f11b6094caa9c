// The engine uploader over a faulty link (issue 10): `layerlift push` of an engine image, the
// engine's own push going through the fault proxy to a real registry. dockerd retries a layer
// itself (5 s, then longer); what it cannot get through ends in ONE line that says what to do,
// with the tag still naming the previous image, and the same command then completes. Resuming a
// cut upload in place is Layerlift's own uploader's (faultsPush.test.ts, --uploader layerlift).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy, type Faults } from '../bed/faultProxy';
import { buildImage, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';
import { tagDigest, verifyPushed, MB, type PushJson } from './faultsHelpers';

let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let registry: Registry;
let proxy: FaultProxy;
let env: NodeJS.ProcessEnv;
const figures: string[] = [];

/** A fresh app (new random layers, so the engine remembers none of them). */
async function buildApp(name: string, layers: number[]): Promise<string> {
  const context = join(work.path, name);
  await mkdir(context, { recursive: true });
  const lines = ['FROM layerlift/busybox:latest'];
  for (const [i, bytes] of layers.entries()) {
    await writeFile(join(context, `l${i}.bin`), randomBytes(bytes));
    lines.push(`COPY l${i}.bin /l${i}.bin`);
  }
  await writeFile(join(context, 'Dockerfile'), `${lines.join('\n')}\n`);
  const tag = `${name}:1`;
  await buildImage(engine, context, tag);
  return tag;
}

before(async () => {
  work = await makeTempDir('faults-engine');
  engine = await startDockerEngine();
  registry = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(registry.url);
  await importBusyboxImage(engine);
  env = { DOCKER_HOST: engine.host, DOCKER_CONFIG: engine.env.DOCKER_CONFIG, XDG_CACHE_HOME: join(work.path, 'cache') };
});
after(async () => {
  console.log(`engine uploader fault figures:\n  ${figures.join('\n  ')}`);
  await proxy?.stop();
  await registry?.stop();
  await engine?.stop();
  await work?.remove();
});

/**
 * The previous image goes to the tag; then a new app with `faults` on the link. It completes with
 * every blob verified, or fails in one line that says what to do with the tag unchanged — and
 * then the same command, the link healed, completes.
 */
async function pushWith(t: TestContext, name: string, faults: Partial<Faults>): Promise<{ firstCode: number | null; stderr: string }> {
  const repository = `faults/${name}`;
  const target = `${proxy.host}/${repository}:1`;
  proxy.clear();
  const previous = await runCli(['push', '--json', await buildApp(`${name}-prev`, [200_000]), target], env, { timeoutMs: 180_000 });
  assert.equal(previous.code, 0, previous.stderr);
  const before = (JSON.parse(previous.stdout) as PushJson).digest;
  const app = await buildApp(name, [3 * MB, 2 * MB]);
  proxy.set(faults);
  proxy.resetStats();
  const started = Date.now();
  const first = await runCli(['push', '--json', app, target], env, { timeoutMs: 240_000 });
  const stats = proxy.stats();
  proxy.clear();
  let run = first;
  if (first.code !== 0) {
    assert.equal(first.code, 1, first.stderr);
    const lines = first.stderr.trim().split('\n');
    assert.equal(lines.length, 1, first.stderr);
    assert.match(first.stderr, /^layerlift: push .* — .*(run the same command again|wait|--uploader layerlift)/);
    assert.doesNotMatch(first.stderr, /\n\s+at /);
    assert.equal(await tagDigest(registry.host, repository, '1'), before, 'a failed push leaves the previous tag');
    run = await runCli(['push', '--json', app, target], env, { timeoutMs: 240_000 });
  }
  assert.equal(run.code, 0, run.stderr);
  const pushed = JSON.parse(run.stdout) as PushJson & { uploader: string };
  assert.equal(pushed.uploader, 'engine');
  await verifyPushed(registry.host, repository, '1', pushed);
  assert.notEqual(pushed.digest, before);
  const figure = `${name}: first run ${first.code === 0 ? 'completed' : 'failed in one line, the re-run completed'} (${((Date.now() - started) / 1000).toFixed(1)} s); ${stats.drops} drops, ${stats.injected} injected, ${stats.requests} requests, ${(stats.upstreamBodyBytes / MB).toFixed(2)} MB of bodies for ~5 MB of layers`;
  t.diagnostic(figure);
  figures.push(figure);
  return { firstCode: first.code, stderr: first.stderr };
}

describe('the engine uploader over a faulty link', () => {
  test('a connection dropped mid-upload: the engine retries the layer, the push completes', async (t) => {
    const { firstCode } = await pushWith(t, 'drop', { dropNext: { count: 1, match: { method: 'PATCH' } } });
    assert.equal(firstCode, 0);
  });

  test('a 503 on an upload: the engine retries, the push completes', async (t) => {
    const { firstCode } = await pushWith(t, 'status-503', { failNext: { count: 1, status: 503, match: { method: 'PATCH' } } });
    assert.equal(firstCode, 0);
  });

  test('429 on the manifest: one line saying to wait and run it again, the tag unchanged; the re-run completes', async (t) => {
    const { firstCode, stderr } = await pushWith(t, 'status-429', { failNext: { count: 5, status: 429, retryAfterSeconds: 1, match: { method: 'PUT', path: /\/manifests\// } } });
    assert.equal(firstCode, 1);
    assert.match(stderr, /toomanyrequests|429|Too Many Requests/i);
  });

  test('a stalled upload request (2 s): the push completes', async (t) => {
    const { firstCode } = await pushWith(t, 'stall', { stallNext: { count: 1, ms: 2000, match: { method: 'PATCH' } } });
    assert.equal(firstCode, 0);
  });
});
