// Issue 11 §3: a push killed with SIGKILL half-way through a 100 MB layer goes on, in the next
// run, from the offset the registry holds. Real parts: Distribution (test/bed/registry.ts), the
// counting fault proxy in front of it (throttled so the kill lands mid-upload), the built CLI
// pushing a `docker save` archive through Layerlift's own uploader. The kill comes between two
// PATCH chunks (the next PATCH is held at the proxy, never forwarded): Distribution cancels a
// session whose PATCH was cut mid-body (ARCHITECTURE.md "Registry quirks"). The second run must
// send at most the remaining bytes plus one chunk, and the image must pull back verified.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';
import { archiveImage, startCli, verifyPushed, waitFor, MB, type ArchiveImage, type PushJson } from './faultsHelpers';

const CHUNK = 8 * 1024 * 1024;

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let proxy: FaultProxy;
let image: ArchiveImage;

before(async () => {
  work = await makeTempDir('resume-across-runs');
  registry = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(registry.url);
  image = await archiveImage(work.path, 'big', { layers: [{ kind: 'random', bytes: 100 * MB, seed: 'resume-across-runs' }] });
});
after(async () => {
  await proxy?.stop();
  await registry?.stop();
  await work?.remove();
});

void describe('a push killed mid-layer', () => {
  void it('resumes in the next run from the registry offset and pulls back verified', async (t) => {
    const env = { XDG_CACHE_HOME: join(work.path, 'cache') };
    const target = `${proxy.host}/resume/big:1`;
    const args = ['push', '--json', '--uploader', 'layerlift', '--prepush', 'off', image.spec, target];
    proxy.set({ throttleBytesPerSecond: { up: 12 * MB } });
    proxy.resetStats();
    const first = startCli(args, env);
    await waitFor('half the layer through the proxy', () => proxy.stats().upstreamBodyBytes >= 50 * MB, 180_000);
    // Hold the next PATCH at the proxy, let the one in flight finish, then kill between chunks.
    proxy.set({ stallNext: { count: 1000, ms: Infinity, match: { method: 'PATCH' } } });
    // Body bytes: whole chunks plus the config's few hundred bytes; steady for 500 ms.
    let last = -1;
    let since = Date.now();
    await waitFor('the chunk in flight to finish', () => {
      const now = proxy.stats().upstreamBodyBytes;
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return now % CHUNK < 64 * 1024 && Date.now() - since >= 500;
    }, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(first.pid, 'SIGKILL');
    const killed = await first.exited;
    assert.equal(killed.code, null, 'killed by the signal');
    const sentFirst = proxy.stats().upstreamBodyBytes;
    const sessions = await readdir(join(work.path, 'cache', 'layerlift', 'sessions'));
    assert.equal(sessions.length, 1, 'the open session is kept for the next run');

    proxy.clear();
    proxy.resetStats();
    const second = await runCli(args, env, { timeoutMs: 240_000 });
    assert.equal(second.code, 0, second.stderr);
    const pushed = JSON.parse(second.stdout) as PushJson;
    const layer = pushed.blobs.find((b) => b.action === 'upload' && b.size > 50 * MB);
    assert.ok(layer, second.stdout);
    const sentSecond = proxy.stats().upstreamBodyBytes;
    const remaining = layer.size - sentFirst;
    t.diagnostic(`layer ${layer.size} B; first run sent ${sentFirst} B before SIGKILL; second run sent ${sentSecond} B (remaining ${remaining} B, bound remaining + one chunk ${remaining + CHUNK} B)`);
    // The config (a few hundred bytes) rides along; a fresh start would be ~100 MB.
    assert.ok(sentSecond <= remaining + CHUNK + 64 * 1024, `second run sent ${sentSecond} B, more than the remaining ${remaining} B plus one chunk`);
    assert.ok(sentSecond >= remaining, 'the rest of the layer was sent');
    await verifyPushed(registry.host, 'resume/big', '1', pushed);
    // Finished sessions are cleaned up.
    assert.deepEqual(await readdir(join(work.path, 'cache', 'layerlift', 'sessions')), []);
  });
});
