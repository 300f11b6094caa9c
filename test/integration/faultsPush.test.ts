// `layerlift push` of a real image (a `docker save` archive: layers compressed here, then
// uploaded) over a faulty link to a real registry: connections dropped every N MB, bursts of
// 500/502/503, 429 with Retry-After, stalls. Each push completes with every blob verified, or
// fails in one line that says the same command resumes it — and then it does; the tag never
// names a half-pushed image. Bytes re-sent per fault are printed (faults.test.ts and
// resume.test.ts cover the same faults for `layerlift copy`).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy, type Faults } from '../bed/faultProxy';
import { makeTempDir } from '../bed/process';
import { runCli, type CliRun } from './runCli';
import { archiveImage, assertResumableFailure, tagDigest, verifyPushed, MB, type ArchiveImage, type PushJson } from './faultsHelpers';

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let proxy: FaultProxy;
let previous: ArchiveImage;
let app: ArchiveImage;
const figures: string[] = [];

before(async () => {
  work = await makeTempDir('faults-push');
  registry = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(registry.url);
  const base = { kind: 'busybox' } as const;
  previous = await archiveImage(work.path, 'previous', { layers: [base, { kind: 'random', bytes: 1 * MB, seed: 'faults-push-prev' }] });
  // Two new layers below and one above the 8 MiB chunk size: monolithic and chunked uploads.
  app = await archiveImage(work.path, 'app', { layers: [base, { kind: 'random', bytes: 10 * MB, seed: 'faults-push-a' }, { kind: 'random', bytes: 5 * MB, seed: 'faults-push-b' }] });
});
after(async () => {
  console.log(`push fault figures (bytes re-sent per fault):\n  ${figures.join('\n  ')}`);
  await proxy?.stop();
  await registry?.stop();
  await work?.remove();
});

/**
 * Pushes `app` over the link with `faults` to a repository whose tag names the previous image.
 * A failure must be one resumable line with the tag unchanged; then the same command runs again
 * (faults cleared unless `keep`). Reports the request-body bytes beyond the new blobs' size.
 */
async function pushWith(t: TestContext, name: string, faults: Partial<Faults>, options: { keep?: boolean } = {}): Promise<{ first: CliRun; reruns: number; seconds: number }> {
  const repository = `faults/${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
  // A cache (and layer index) of its own: no case mounts what an earlier one uploaded.
  const env = { XDG_CACHE_HOME: join(work.path, 'cache', repository) };
  const prior = await runCli(['push', '--json', previous.spec, `${registry.host}/${repository}:1`], env);
  assert.equal(prior.code, 0, prior.stderr);
  const before = (JSON.parse(prior.stdout) as PushJson).digest;
  proxy.clear();
  proxy.set(faults);
  proxy.resetStats();
  const started = Date.now();
  const first = await runCli(['push', '--json', app.spec, `${proxy.host}/${repository}:1`], env);
  let run = first;
  let reruns = 0;
  while (run.code !== 0 && reruns < 2) {
    assertResumableFailure(run);
    assert.equal(await tagDigest(registry.host, repository, '1'), before, 'a failed push leaves the previous tag');
    if (!options.keep) proxy.clear();
    run = await runCli(['push', '--json', app.spec, `${proxy.host}/${repository}:1`], env);
    reruns++;
  }
  const seconds = (Date.now() - started) / 1000;
  const stats = proxy.stats();
  proxy.clear();
  assert.equal(run.code, 0, run.stderr);
  const pushed = JSON.parse(run.stdout) as PushJson;
  await verifyPushed(registry.host, repository, '1', pushed);
  assert.notEqual(pushed.digest, before);
  const newBytes = pushed.blobs.filter((b) => b.action === 'upload').reduce((sum, b) => sum + b.size, 0);
  // Bodies the registry got beyond the new layers, and everything the client put on the wire
  // (headers and bodies the proxy refused included) beyond them.
  const figure = `${name}: ${reruns} re-run(s), ${seconds.toFixed(1)} s; new layers ${newBytes} B; re-sent to the registry ${stats.upstreamBodyBytes - newBytes} B, on the wire ${stats.upstreamBytes - newBytes} B (${((stats.upstreamBytes - newBytes) / MB).toFixed(2)} MB, headers included); ${stats.drops} drops, ${stats.injected} injected, ${stats.requests} requests`;
  t.diagnostic(figure);
  figures.push(figure);
  return { first, reruns, seconds };
}

describe('push over a faulty link', () => {
  test('a drop every 12 MB (layers under 12 MB): the cut layer starts over, the push completes', async (t) => {
    const { first, reruns } = await pushWith(t, 'drop every 12 MB', { dropEveryBytes: 12 * MB }, { keep: true });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(reruns, 0);
  });

  test('a drop every 3 MB (every 10 MB layer is cut): one resumable line; the same command resumes once the link holds', async (t) => {
    const { first, reruns } = await pushWith(t, 'drop every 3 MB', { dropEveryBytes: 3 * MB });
    assert.equal(first.code, 1, 'a link that cuts every upload of a layer cannot complete');
    assert.match(first.stderr, /discarded the upload .* run the same command again/);
    assert.equal(reruns, 1);
  });

  test('bursts of 500, 502 and 503 on uploads, HEADs and the manifest: retried with backoff, completes', async (t) => {
    await pushWith(t, '5xx bursts on PATCH/PUT', { failNext: { count: 4, status: 500, match: { path: /\/blobs\/uploads\// } } });
    await pushWith(t, '502 burst on HEAD', { failNext: { count: 3, status: 502, match: { method: 'HEAD' } } });
    const { first } = await pushWith(t, '503 burst on the manifest PUT', { failNext: { count: 3, status: 503, match: { method: 'PUT', path: /\/manifests\// } } });
    assert.equal(first.code, 0, first.stderr);
  });

  test('429 with Retry-After on upload and manifest requests: honoured, completes', async (t) => {
    const { first, seconds } = await pushWith(t, '429 Retry-After 1 s (x2)', { failNext: { count: 2, status: 429, retryAfterSeconds: 1, match: { method: 'PUT' } } });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(seconds >= 1, `waited ${seconds} s`);
  });

  test('stalls: the first three upload requests held 2 s each, then forwarded: completes', async (t) => {
    const { first, seconds } = await pushWith(t, 'stall 2 s (x3)', { stallNext: { count: 3, ms: 2000, match: { path: /\/blobs\/uploads\// } } });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(seconds >= 2, `${seconds} s`);
  });

  test('everything at once: throttled 8 MB/s, 40 ms latency, a drop every 12 MB, a 503 burst', async (t) => {
    const { first } = await pushWith(t, 'mixed', { throttleBytesPerSecond: { up: 8 * MB }, latencyMs: 40, dropEveryBytes: 12 * MB, failNext: { count: 3, status: 503 } }, { keep: true });
    assert.equal(first.code, 0, first.stderr);
  });
});
