// The editor's registry checks against a real registry behind the counting fault proxy: a base is
// HEADed, GETs happen only for digests new to the on-disk cache (also in a new session), and after
// a 429 nothing is sent until its Retry-After — the pause is worded for the hover.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { defaultRetryPolicy } from '../../server/src/registry/retryInterceptor';
import { RegistryState } from '../../server/src/remote/registryState';
import { parseReference } from '../../server/src/core/reference';

const amd64 = { os: 'linux', architecture: 'amd64' };
let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let proxy: FaultProxy;
let fixture: FixtureImage;
const clients: RegistryClient[] = [];

/** As the language server makes it (workspaceModel.ts): one quick retry, never on 429. */
function editorState(cacheDirectory: string): RegistryState {
  const retryPolicy = { ...defaultRetryPolicy, maxRetries: 1, maxDelayMs: 1000, maxRetryAfterMs: 5000, statusCodes: new Set([500, 502, 503, 504]) };
  const client = new RegistryClient({ retryPolicy });
  clients.push(client);
  return new RegistryState(client, { cacheDirectory, errorTtlMs: 0 });
}

const requests = () => proxy.requests().map((r) => `${r.method} ${r.path.replace(/sha256:[0-9a-f]{64}/, 'DIGEST')} ${r.status}`);

before(async () => {
  work = await makeTempDir('registry-checks');
  fixture = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'random', bytes: 2000, seed: 'checks' }], tag: 'v1', multiPlatform: true });
  registry = await startRegistry({ auth: 'none' });
  await seedImage(fixture.layoutDir, 'v1', registry.host, 'library/base');
  proxy = await startFaultProxy(registry.url);
});
after(async () => {
  for (const client of clients) await client.close();
  await proxy?.stop();
  await registry?.stop();
  await work?.remove();
});

test('first check GETs index and manifest once; later checks, and a new session, only HEAD', async () => {
  const cache = join(work.path, 'cache1');
  const ref = parseReference(`${proxy.host}/library/base:v1`);
  const state = editorState(cache);
  proxy.resetStats();
  state.baseImage(ref, amd64);
  await state.settled();
  const first = state.baseImage(ref, amd64);
  assert.equal(first.state, 'known');
  assert.deepEqual(requests(), ['HEAD /v2/library/base/manifests/v1 200', 'GET /v2/library/base/manifests/DIGEST 200', 'GET /v2/library/base/manifests/DIGEST 200']);

  proxy.resetStats();
  state.invalidate();
  state.baseImage(ref, amd64);
  await state.settled();
  assert.deepEqual(requests(), ['HEAD /v2/library/base/manifests/v1 200'], 'an unchanged base costs one HEAD');

  proxy.resetStats();
  const next = editorState(cache);
  next.baseImage(ref, amd64);
  await next.settled();
  const again = next.baseImage(ref, amd64);
  assert.equal(again.state === 'known' && again.value.manifestDigest, first.state === 'known' && first.value.manifestDigest);
  assert.deepEqual(requests(), ['HEAD /v2/library/base/manifests/v1 200'], 'a new session reads manifests from the disk cache');
});

test('after a 429 nothing is sent until Retry-After; the pause is worded', async () => {
  const ref = parseReference(`${proxy.host}/library/base:v1`);
  const state = editorState(join(work.path, 'cache2'));
  state.baseImage(ref, amd64);
  await state.settled();
  proxy.resetStats();
  proxy.set({ failNext: { count: 1, status: 429, retryAfterSeconds: 2, match: { method: 'HEAD' } } });
  state.invalidate();
  state.baseImage(ref, amd64);
  await state.settled();
  assert.deepEqual(requests(), ['HEAD /v2/library/base/manifests/v1 429'], 'the 429 is not retried');
  const [notice] = state.notices();
  assert.match(notice ?? '', new RegExp(`^${proxy.host.replace(/\./g, '\\.')} answered 429 Too Many Requests: registry checks paused until \\d\\d:\\d\\d:\\d\\d UTC \\(Retry-After 2 s\\), not retried meanwhile$`));
  // The last known value stays (stale) while paused; asking again sends nothing.
  for (let i = 0; i < 5; i++) {
    state.invalidate();
    state.baseImage(ref, amd64);
    state.blobPresent({ registry: ref.registry, repository: 'library/base' }, fixture.layers[0]?.digest ?? '');
    await state.settled();
  }
  assert.equal(proxy.requests().length, 1, requests().join('\n'));
  await sleep(2100);
  assert.deepEqual(state.notices(), []);
  proxy.resetStats();
  state.invalidate();
  state.baseImage(ref, amd64);
  await state.settled();
  assert.deepEqual(requests(), ['HEAD /v2/library/base/manifests/v1 200'], 'after Retry-After: one HEAD, no GET');
});
