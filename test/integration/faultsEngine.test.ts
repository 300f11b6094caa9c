// The engine uploader under faults (issue 10's acceptance): `layerlift push` of an image in a
// private dockerd, `--uploader auto` (the engine's own push after Layerlift's plan), to a real
// registry behind the fault proxy — the engine's traffic goes through the proxy because the
// target names it. Connections dropped every N MB, bursts of 500/502/503 on uploads, a 503 on the
// manifest, 429 with Retry-After, stalls. dockerd retries a layer upload itself (5 attempts,
// "Retrying in 5/10/15/20 seconds"); whatever it cannot get through must end in ONE line (no
// stack trace) that says what to do. Each case first pushes a previous image to the tag; while
// the faulty push runs, the tag is watched: it names the previous image or the pushed one, never
// anything else, and a failed push leaves the previous image, whole. Then, faults cleared, the
// same command completes. Figures per case: outcome, time, drops/faults, upload sessions and
// body bytes against the new layers' size.
// (faultsPush.test.ts covers the same faults on Layerlift's own uploader, with resume.)
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy, type Faults } from '../bed/faultProxy';
import { buildImage, docker, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { runCli, type CliRun } from './runCli';
import { assertResumableFailure, tagDigest, verifyPushed, verifyTag, MB, type PushJson } from './faultsHelpers';

let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let registry: Registry;
let proxy: FaultProxy;
const figures: string[] = [];

/** The app's new layers: one above and one below 3.5 MB (random, so gzip keeps their size). */
const APP_LAYERS = [4 * MB, 3 * MB];

/** An image built in the engine: busybox plus a fresh random file per layer. */
async function build(name: string, layers: number[]): Promise<string> {
  const context = join(work.path, 'contexts', name);
  await mkdir(context, { recursive: true });
  const lines = ['FROM layerlift/busybox:latest'];
  for (const [i, bytes] of layers.entries()) {
    await writeFile(join(context, `layer${i}.bin`), randomBytes(bytes));
    lines.push(`COPY layer${i}.bin /layer${i}.bin`);
  }
  await writeFile(join(context, 'Dockerfile'), `${lines.join('\n')}\n`);
  const tag = `${name}:1`;
  await buildImage(engine, context, tag);
  return tag;
}

before(async () => {
  work = await makeTempDir('faults-engine');
  [engine, registry] = await Promise.all([startDockerEngine(), startRegistry({ auth: 'none' })]);
  proxy = await startFaultProxy(registry.url);
  await importBusyboxImage(engine);
});
after(async () => {
  console.log(`engine uploader fault figures:\n  ${figures.join('\n  ')}`);
  await proxy?.stop();
  await engine?.stop();
  await registry?.stop();
  await work?.remove();
});

/** Reads the tag (directly, not through the proxy) until `done`; every digest it named. */
function watchTag(repository: string, done: Promise<unknown>): Promise<Set<string | undefined>> {
  const seen = new Set<string | undefined>();
  let finished = false;
  void done.finally(() => (finished = true));
  return (async () => {
    while (!finished) {
      seen.add(await tagDigest(registry.host, repository, '1'));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return seen;
  })();
}

/** The engine's images named like `target` (repository:tag); Layerlift's push must leave none. */
async function engineTags(target: string): Promise<string[]> {
  const { stdout } = await docker(engine, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', target.replace(/:[^:/]+$/, '')]);
  return stdout.split('\n').filter((line) => line !== '');
}

interface CaseResult {
  first: CliRun;
  firstSeconds: number;
}

/**
 * The previous image to the tag, then a new app with `faults` on the link; checks the outcome
 * (complete and verified, or one line with the tag unchanged), then the same command with the
 * faults cleared.
 */
async function pushWith(t: TestContext, name: string, faults: Partial<Faults>): Promise<CaseResult> {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const repository = `faults-engine/${slug}`;
  const target = `${proxy.host}/${repository}:1`;
  const env = { DOCKER_HOST: engine.host, DOCKER_CONFIG: engine.env.DOCKER_CONFIG, XDG_CACHE_HOME: join(work.path, 'cache', slug) };
  const push = (image: string) => runCli(['push', '--json', image, target], env, { timeoutMs: 300_000 });

  proxy.clear();
  const previousRun = await push(await build(`${slug}-previous`, [300_000]));
  assert.equal(previousRun.code, 0, previousRun.stderr);
  const previous = JSON.parse(previousRun.stdout) as PushJson & { uploader: string };
  assert.equal(previous.uploader, 'engine');
  assert.equal(await tagDigest(registry.host, repository, '1'), previous.digest);
  const app = await build(slug, APP_LAYERS);

  proxy.set(faults);
  proxy.resetStats();
  const started = Date.now();
  const running = push(app);
  const seen = watchTag(repository, running);
  const first = await running;
  const firstSeconds = (Date.now() - started) / 1000;
  const stats = proxy.stats();
  const uploadSessions = proxy.requests().filter((r) => r.method === 'POST' && /\/blobs\/uploads\/(\?(?!.*mount=)|$)/.test(r.path)).length;
  proxy.clear();
  const tagNamed = await seen;

  let pushedDigest: string | undefined;
  if (first.code === 0) {
    const pushed = JSON.parse(first.stdout) as PushJson & { uploader: string };
    assert.equal(pushed.uploader, 'engine');
    await verifyPushed(registry.host, repository, '1', pushed);
    assert.notEqual(pushed.digest, previous.digest);
    pushedDigest = pushed.digest;
  } else {
    // One line, no stack trace, `layerlift: push <registry>/<repo>: <problem> — <what to do>`.
    assertResumableFailure(first);
    assert.match(first.stderr, new RegExp(`^layerlift: push ${proxy.host.replace(/\./g, '\\.')}/${repository}\\b.* — `));
    const left = await verifyTag(registry.host, repository, '1');
    assert.equal(left.digest, previous.digest, 'a failed push leaves the previous image on the tag');
    assert.deepEqual(left.layers, previous.blobs.map((b) => b.digest), 'and the previous image whole');
  }
  assert.ok(tagNamed.has(previous.digest), 'the watcher read the tag while the push ran');
  for (const digest of tagNamed) {
    assert.ok(digest === previous.digest || (digest !== undefined && digest === pushedDigest), `while the push ran the tag named ${digest}, neither the previous image ${previous.digest} nor the pushed one`);
  }

  assert.deepEqual(await engineTags(target), [], 'the target name Layerlift tagged in the engine is removed again, failed or not');

  // The same command, the link healed, completes (after a success: the same image, nothing sent).
  const rerunStarted = Date.now();
  const rerun = await push(app);
  const rerunSeconds = (Date.now() - rerunStarted) / 1000;
  assert.equal(rerun.code, 0, rerun.stderr);
  const pushed = JSON.parse(rerun.stdout) as PushJson & { uploader: string };
  assert.equal(pushed.uploader, 'engine');
  await verifyPushed(registry.host, repository, '1', pushed);
  if (pushedDigest) assert.equal(pushed.digest, pushedDigest, 'the re-run pushes the same image');
  assert.deepEqual(await engineTags(target), []);
  assert.notEqual(pushed.digest, previous.digest);

  const newBytes = pushed.blobs.filter((b) => !previous.blobs.some((p) => p.digest === b.digest)).reduce((sum, b) => sum + b.size, 0);
  const outcome = first.code === 0 ? 'completed' : `failed in one line (${first.stderr.trim().replace(/^.* — /, '— ')})`;
  const figure = `${name}: first run ${outcome} in ${firstSeconds.toFixed(1)} s; re-run ${rerunSeconds.toFixed(1)} s; ${stats.drops} drops, ${stats.injected} faults injected, ${stats.requests} requests, ${uploadSessions} upload sessions for ${APP_LAYERS.length} new layers + config; ${(stats.upstreamBodyBytes / MB).toFixed(2)} MB of bodies for ${(newBytes / MB).toFixed(2)} MB of new blobs`;
  t.diagnostic(figure);
  figures.push(figure);
  return { first, firstSeconds };
}

describe('the engine uploader over a faulty link', () => {
  test('a drop every 6 MB (7 MB of new layers): the engine retries the cut layer and completes', async (t) => {
    const { first } = await pushWith(t, 'drop every 6 MB', { dropEveryBytes: 6 * MB });
    // One cut at 6 MB; the retried layer (≤ 4 MB) ends below the next boundary (12 MB).
    assert.equal(first.code, 0, first.stderr);
  });

  test('a drop every 1.5 MB (every attempt at a 3-4 MB layer is cut): completes or one line; the re-run completes', async (t) => {
    const { first } = await pushWith(t, 'drop every 1.5 MB', { dropEveryBytes: 1.5 * MB });
    if (first.code !== 0) assert.match(first.stderr, /run the same command again.*--uploader layerlift/, 'a cut link: run it again, or resume with Layerlift\'s uploader');
  });

  test('bursts of 500, 502 and 503 on uploads: the engine retries them; completes or one line', async (t) => {
    for (const status of [500, 502, 503]) {
      const { first } = await pushWith(t, `${status} burst (x3) on uploads`, { failNext: { count: 3, status, match: { path: /\/blobs\/uploads\// } } });
      if (first.code !== 0) assert.match(first.stderr, new RegExp(`${status}|server error|unavailable|bad gateway`, 'i'));
    }
  });

  test('a 503 on the manifest PUT (every layer already in): one line, the tag still names the previous image', async (t) => {
    const { first } = await pushWith(t, '503 on the manifest', { failNext: { count: 1, status: 503, match: { method: 'PUT', path: /\/manifests\// } } });
    // dockerd retries layer uploads, never the manifest: this push cannot complete.
    assert.equal(first.code, 1, first.stdout);
    assert.match(first.stderr, /503|unavailable/i);
  });

  test('429 with Retry-After on uploads: completes, or one line saying to wait and run it again', async (t) => {
    const { first } = await pushWith(t, '429 Retry-After 2 s (x2) on uploads', { failNext: { count: 2, status: 429, retryAfterSeconds: 2, match: { path: /\/blobs\/uploads\// } } });
    if (first.code !== 0) assert.match(first.stderr, /toomanyrequests|too many requests|429/i);
    if (first.code !== 0) assert.match(first.stderr, /wait .*run the same command again/);
  });

  test('stalls: the first two upload requests held 3 s each, then forwarded: completes', async (t) => {
    const { first, firstSeconds } = await pushWith(t, 'stall 3 s (x2) on uploads', { stallNext: { count: 2, ms: 3000, match: { path: /\/blobs\/uploads\// } } });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(firstSeconds >= 3, `${firstSeconds} s`);
  });
});
