// Copies through the fault proxy: registry errors, rate limits and cancellation. Each either
// completes with the digest verified or fails in one line, and never moves the target tag.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { makeTempDir } from '../bed/process';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { cliPath, runCli } from './runCli';
import { spawn } from 'node:child_process';

let work: { path: string; remove: () => Promise<void> };
let fixture: FixtureImage;
let upstream: Registry;
let target: Registry;
let proxy: FaultProxy;

before(async () => {
  work = await makeTempDir('faults');
  fixture = await writeFixtureImage(join(work.path, 'img'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 30_000_000, seed: 'faults-1' }], tag: 'v1' });
  upstream = await startRegistry({ auth: 'none' });
  target = await startRegistry({ auth: 'none' });
  await seedImage(fixture.layoutDir, 'v1', upstream.host, 'library/base');
  proxy = await startFaultProxy(target.url);
});
after(async () => {
  await proxy.stop();
  await upstream.stop();
  await target.stop();
  await work.remove();
});

const tagOf = (repository: string, tag: string) => {
  const client = new RegistryClient();
  return client.headManifest({ registry: target.host, repository }, tag).finally(() => client.close());
};

describe('registry errors on the way', () => {
  test('bursts of 500/502/503 are retried with backoff and the copy completes', async () => {
    proxy.clear();
    proxy.resetStats();
    proxy.set({ failNext: { count: 3, status: 503 } });
    const first = await runCli(['copy', '--json', `${upstream.host}/library/base:v1`, `${proxy.host}/burst/a:v1`]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { digest: string }).digest, fixture.manifestDigest);
    assert.equal(proxy.stats().injected, 3);
    proxy.set({ failNext: { count: 2, status: 502 } });
    const second = await runCli(['copy', '--json', `${upstream.host}/library/base:v1`, `${proxy.host}/burst/b:v1`]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await tagOf('burst/b', 'v1'))?.digest, fixture.manifestDigest);
  });

  test('429 with Retry-After is honoured: the request waits, then succeeds', async () => {
    proxy.clear();
    proxy.resetStats();
    proxy.set({ failNext: { count: 1, status: 429, retryAfterSeconds: 1, match: { method: 'HEAD' } } });
    const started = Date.now();
    const run = await runCli(['copy', '--json', `${upstream.host}/library/base:v1`, `${proxy.host}/limited/a:v1`]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
    const limited = proxy.requests().filter((r) => r.status === 429);
    assert.equal(limited.length, 1);
  });

  test('a registry that keeps failing: exit 1, one line naming the registry, tag not created', async () => {
    proxy.clear();
    proxy.set({ failNext: { count: 1000, status: 500, match: { method: 'PUT', path: /\/manifests\// } } });
    const run = await runCli(['copy', `${upstream.host}/library/base:v1`, `${proxy.host}/broken/a:v1`]);
    proxy.clear();
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^layerlift: push 127\.0\.0\.1:\d+\/broken\/a: .*HTTP 500/);
    assert.equal(await tagOf('broken/a', 'v1'), undefined);
  });
});

describe('stalls', () => {
  test('a stalled request times out, is retried, and the next attempt succeeds', async () => {
    proxy.clear();
    proxy.set({ stallNext: { count: 1, ms: Infinity, match: { method: 'GET', path: /\/manifests\// } } });
    await runCli(['copy', `${upstream.host}/library/base:v1`, `${target.host}/stall/a:v1`]);
    const client = new RegistryClient({ headersTimeoutMs: 500, retryPolicy: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 1000, statusCodes: new Set([503]), methods: new Set(['GET', 'HEAD']) } });
    try {
      const started = Date.now();
      const manifest = await client.getManifest({ registry: proxy.host, repository: 'stall/a' }, 'v1');
      assert.equal(manifest.digest, fixture.manifestDigest);
      assert.ok(Date.now() - started >= 500, 'waited for the headers timeout once');
    } finally {
      await client.close();
    }
  });

  test('a registry that never answers: TIMEOUT in one line, within the retry budget', async () => {
    proxy.clear();
    proxy.set({ stallNext: { count: 100, ms: Infinity } });
    const client = new RegistryClient({ headersTimeoutMs: 300, retryPolicy: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 1000, statusCodes: new Set([503]), methods: new Set(['GET', 'HEAD']) } });
    try {
      const started = Date.now();
      const error = await client.getManifest({ registry: proxy.host, repository: 'stall/a' }, 'v1').catch((e: unknown) => e);
      assert.equal((error as { code?: string }).code, 'TIMEOUT', String(error));
      assert.ok(!(error as Error).message.includes('\n'));
      assert.ok(Date.now() - started < 5000);
    } finally {
      proxy.clear();
      await client.close();
    }
  });
});

describe('cancellation', () => {
  test('Ctrl-C mid-upload: upload sessions are deleted, the tag is untouched, one line', async () => {
    proxy.clear();
    proxy.resetStats();
    proxy.set({ throttleBytesPerSecond: { up: 4_000_000 } });
    const child = spawn(process.execPath, [cliPath, 'copy', `${upstream.host}/library/base:v1`, `${proxy.host}/cancel/a:v1`], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Wait until the big layer is being sent, then interrupt.
    for (let i = 0; i < 100 && !proxy.requests().some((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.requestBodyBytes > 1_000_000)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (proxy.stats().upstreamBodyBytes > 2_000_000) break;
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    proxy.clear();
    assert.equal(code, 1, stderr);
    assert.equal(stderr.trim(), 'layerlift: cancelled; the target was not changed');
    assert.ok(proxy.requests().some((r) => r.method === 'DELETE' && /\/blobs\/uploads\//.test(r.path)), 'upload session deleted');
    assert.equal(await tagOf('cancel/a', 'v1'), undefined);
  });
});
