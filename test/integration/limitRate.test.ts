// Issue 11 §4: `--limit-rate 1M` holds the uplink at 1 MiB/s, as the counting proxy in front of a
// real registry measures it, for `layerlift push` (Layerlift's uploader, a `docker save` archive)
// and `layerlift copy`; a bad RATE is one usage line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { makeTempDir } from '../bed/process';
import { join } from 'node:path';
import { runCli } from './runCli';
import { archiveImage, startCli, MB, type ArchiveImage } from './faultsHelpers';

const RATE = 1024 * 1024;

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let proxy: FaultProxy;
let image: ArchiveImage;

before(async () => {
  work = await makeTempDir('limit-rate');
  registry = await startRegistry({ auth: 'none' });
  proxy = await startFaultProxy(registry.url);
  image = await archiveImage(work.path, 'six', { layers: [{ kind: 'random', bytes: 6 * MB, seed: 'limit-rate' }] });
});
after(async () => {
  await proxy?.stop();
  await registry?.stop();
  await work?.remove();
});

/** Runs the CLI and measures the request-body rate through the proxy between 1 MB and 5 MB. */
async function measured(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  proxy.resetStats();
  const run = startCli(args, env);
  let start: { t: number; bytes: number } | undefined;
  let end: { t: number; bytes: number } | undefined;
  const sampler = setInterval(() => {
    const bytes = proxy.stats().upstreamBodyBytes;
    const t = performance.now();
    if (start === undefined && bytes >= 1 * MB) start = { t, bytes };
    if (end === undefined && bytes >= 5 * MB) end = { t, bytes };
  }, 10);
  const result = await run.exited;
  clearInterval(sampler);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(start && end, 'the upload went through the proxy');
  return ((end.bytes - start.bytes) / (end.t - start.t)) * 1000;
}

void describe('--limit-rate', () => {
  void it('push --limit-rate 1M holds the measured rate within 10 %', async (t) => {
    const env = { XDG_CACHE_HOME: join(work.path, 'cache-push') };
    const rate = await measured(['push', '--json', '--uploader', 'layerlift', '--prepush', 'off', '--limit-rate', '1M', image.spec, `${proxy.host}/limit/push:1`], env);
    t.diagnostic(`push: ${(rate / RATE).toFixed(3)} MiB/s measured at the proxy`);
    assert.ok(Math.abs(rate / RATE - 1) <= 0.1, `measured ${rate.toFixed(0)} B/s for a cap of ${RATE}`);
  });

  void it('copy --limit-rate 1M holds it too', async (t) => {
    // The pushed image, copied within the registry to another name through the proxy (no mount: another registry name).
    const pushed = await runCli(['push', '--json', '--uploader', 'layerlift', '--prepush', 'off', image.spec, `${registry.host}/limit/source:1`], { XDG_CACHE_HOME: join(work.path, 'cache-copy') });
    assert.equal(pushed.code, 0, pushed.stderr);
    const rate = await measured(['copy', '--limit-rate', '1M', `${registry.host}/limit/source:1`, `${proxy.host}/limit/copy:1`], {});
    t.diagnostic(`copy: ${(rate / RATE).toFixed(3)} MiB/s measured at the proxy`);
    assert.ok(Math.abs(rate / RATE - 1) <= 0.1, `measured ${rate.toFixed(0)} B/s for a cap of ${RATE}`);
  });

  void it('a bad RATE is one usage line (plus the pointer to --help), exit 2', async () => {
    const run = await runCli(['copy', '--limit-rate', 'fast', `${registry.host}/a:1`, `${registry.host}/b:1`]);
    assert.equal(run.code, 2);
    const lines = run.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', /^layerlift: --limit-rate must be .* got "fast"$/);
    assert.deepEqual(lines.slice(1), ['Run "layerlift copy --help" for usage.']);
  });
});
