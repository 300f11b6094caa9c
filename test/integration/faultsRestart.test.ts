// The registry process restarted in the middle of a push and of a copy: stopped by PID while
// layers are being uploaded, started again on the same port with the same storage and secret
// (test/bed/registry.ts restart()). The client reaches it through the fault proxy, which throttles
// the uplink (so the restart lands mid-upload) and counts every byte. Each run either completes
// with every blob verified, or fails in one line saying the same command will resume it — and
// the tag never names a half-pushed image.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { makeTempDir } from '../bed/process';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { runCli, type CliRun } from './runCli';
import { archiveImage, assertResumableFailure, startCli, tagDigest, verifyPushed, verifyTag, waitFor, MB, type ArchiveImage, type PushJson } from './faultsHelpers';

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let upstream: Registry;
let proxy: FaultProxy;
let previous: ArchiveImage;
let app: ArchiveImage;
let env: NodeJS.ProcessEnv;
const figures: string[] = [];

before(async () => {
  work = await makeTempDir('faults-restart');
  registry = await startRegistry({ auth: 'none' });
  upstream = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(registry.url);
  const base = { kind: 'busybox' } as const;
  previous = await archiveImage(work.path, 'previous', { layers: [base, { kind: 'random', bytes: 2 * MB, seed: 'restart-prev' }] });
  app = await archiveImage(work.path, 'app', { layers: [base, { kind: 'random', bytes: 9 * MB, seed: 'restart-a' }, { kind: 'random', bytes: 7 * MB, seed: 'restart-b' }] });
  const copySource = await writeFixtureImage(join(work.path, 'copy-src'), { layers: [base, { kind: 'random', bytes: 14 * MB, seed: 'restart-copy' }], tag: 'v1' });
  await seedImage(copySource.layoutDir, 'v1', upstream.host, 'library/src');
  env = { XDG_CACHE_HOME: join(work.path, 'cache') };
});
after(async () => {
  console.log(`registry restart figures:\n  ${figures.join('\n  ')}`);
  await proxy?.stop();
  await registry?.stop();
  await upstream?.stop();
  await work?.remove();
});

/** The previous image under the tag, pushed directly (not through the faulty link). */
async function withPrevious(repository: string): Promise<string> {
  const run = await runCli(['push', '--json', previous.spec, `${registry.host}/${repository}:1`], env);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as PushJson).digest;
}

/** Restarts the registry once `bytes` of request bodies went through the proxy. */
async function restartAfter(bytes: number, downtimeMs: number, exited: Promise<CliRun>): Promise<{ pidBefore: number; pidAfter: number; atBytes: number }> {
  let done = false;
  void exited.then(() => (done = true));
  await waitFor(`${bytes} bytes uploaded`, () => done || proxy.stats().upstreamBodyBytes >= bytes);
  assert.equal(done, false, 'the command finished before the registry could be restarted: slow the link down');
  const pidBefore = registry.pid;
  const atBytes = proxy.stats().upstreamBodyBytes;
  await registry.restart({ downtimeMs });
  return { pidBefore, pidAfter: registry.pid, atBytes };
}

describe('the registry restarts mid-upload', () => {
  test('push: the registry is stopped after 5 MB and back 1 s later; the push completes, every blob verified', async (t) => {
    const repository = 'restart/push';
    const before = await withPrevious(repository);
    proxy.clear();
    proxy.set({ throttleBytesPerSecond: { up: 4 * MB } });
    proxy.resetStats();
    const cli = startCli(['push', '--json', app.spec, `${proxy.host}/${repository}:1`], env);
    const restart = await restartAfter(5 * MB, 1000, cli.exited);
    // While it is down or uploading again, the tag still names the previous image.
    assert.equal(await tagDigest(registry.host, repository, '1').catch(() => before), before);
    let run = await cli.exited;
    const stats = proxy.stats();
    proxy.clear();
    assert.notEqual(restart.pidAfter, restart.pidBefore, 'a new registry process');
    let reruns = 0;
    if (run.code !== 0) {
      // Allowed: one line that says to run it again — and then the same command completes.
      assertResumableFailure(run);
      assert.equal(await tagDigest(registry.host, repository, '1'), before, 'a failed push left the previous tag');
      run = await runCli(['push', '--json', app.spec, `${proxy.host}/${repository}:1`], env);
      reruns = 1;
    }
    assert.equal(run.code, 0, run.stderr);
    const pushed = JSON.parse(run.stdout) as PushJson;
    await verifyPushed(registry.host, repository, '1', pushed);
    const blobBytes = pushed.blobs.filter((b) => b.action === 'upload').reduce((sum, b) => sum + b.size, 0);
    const figure = `push, registry restarted at ${(restart.atBytes / MB).toFixed(1)} MB (1 s down): ${reruns} re-run(s); request bodies ${stats.upstreamBodyBytes} B for ${blobBytes} B of new blobs, re-sent ${stats.upstreamBodyBytes - blobBytes} B; ${stats.requests} requests, ${stats.drops} drops`;
    t.diagnostic(figure);
    figures.push(figure);
    assert.ok(stats.upstreamBodyBytes - blobBytes <= 2 * 9 * MB, 'at most the layers in flight are re-sent');
  });

  test('copy: the target registry restarts mid-copy; the copy completes with the source digest', async (t) => {
    proxy.clear();
    proxy.set({ throttleBytesPerSecond: { up: 4 * MB } });
    proxy.resetStats();
    const source = `${upstream.host}/library/src:v1`;
    const cli = startCli(['copy', '--json', source, `${proxy.host}/restart/copy:v1`], env);
    const restart = await restartAfter(6 * MB, 1000, cli.exited);
    let run = await cli.exited;
    const stats = proxy.stats();
    proxy.clear();
    let reruns = 0;
    if (run.code !== 0) {
      assertResumableFailure(run);
      assert.equal(await tagDigest(registry.host, 'restart/copy', 'v1'), undefined, 'no tag after a failed copy');
      run = await runCli(['copy', '--json', source, `${proxy.host}/restart/copy:v1`], env);
      reruns = 1;
    }
    assert.equal(run.code, 0, run.stderr);
    const copied = JSON.parse(run.stdout) as { digest: string; totalBytes: number; blobs: { size: number; bytesSent: number; restarts: number; resumes: number }[] };
    const sourceDigest = await tagDigest(upstream.host, 'library/src', 'v1');
    assert.equal(copied.digest, sourceDigest);
    assert.equal(await tagDigest(registry.host, 'restart/copy', 'v1'), sourceDigest);
    const manifestBlobs = (await verifyTag(registry.host, 'restart/copy', 'v1')).layers;
    assert.ok(manifestBlobs.length >= 2);
    const figure = `copy, registry restarted at ${(restart.atBytes / MB).toFixed(1)} MB (1 s down): ${reruns} re-run(s); request bodies ${stats.upstreamBodyBytes} B for ${copied.totalBytes} B of blobs, re-sent ${stats.upstreamBodyBytes - copied.totalBytes} B; resumes ${copied.blobs.reduce((s, b) => s + b.resumes, 0)}, restarts ${copied.blobs.reduce((s, b) => s + b.restarts, 0)}`;
    t.diagnostic(figure);
    figures.push(figure);
  });
});
