// RegistryState over a fake RegistryClient: synchronous reads that answer from cache and fetch in
// the background, TTLs for values and errors, the unreachable set, the concurrency limit, and
// one debounced 'changed' event per burst of results.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryState, type BaseImageFacts, type RegistryStateOptions } from '../../server/src/remote/registryState';
import { RegistryError, type RegistryErrorCode } from '../../server/src/registry/errors';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../../server/src/registry/registryClient';
import { OCI_IMAGE_CONFIG, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST, OCI_LAYER_TAR_GZIP, type Descriptor, type Platform } from '../../server/src/core/mediaTypes';
import type { ImageReference } from '../../server/src/core/reference';

const amd64: Platform = { os: 'linux', architecture: 'amd64' };
const arm64: Platform = { os: 'linux', architecture: 'arm64' };
const python: ImageReference = { registry: 'docker.io', repository: 'library/python', tag: '3.12-slim' };
const repo: RepositoryRef = { registry: 'registry.example.com', repository: 'team/app' };

function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(2, '0').repeat(32)}`;
}

function layer(n: number, size: number): Descriptor {
  return { mediaType: OCI_LAYER_TAR_GZIP, digest: digest(n), size };
}

function imageManifest(manifestDigest: string, configDigest: string, layers: Descriptor[]): FetchedManifest {
  return {
    digest: manifestDigest,
    mediaType: OCI_IMAGE_MANIFEST,
    bytes: Buffer.from('{}'),
    parsed: { kind: 'image', mediaType: OCI_IMAGE_MANIFEST, manifest: { schemaVersion: 2, config: { mediaType: OCI_IMAGE_CONFIG, digest: configDigest, size: 100 }, layers } },
  };
}

function indexManifest(indexDigest: string, entries: { digest: string; platform: Platform }[]): FetchedManifest {
  return {
    digest: indexDigest,
    mediaType: OCI_IMAGE_INDEX,
    bytes: Buffer.from('{}'),
    parsed: { kind: 'index', mediaType: OCI_IMAGE_INDEX, index: { schemaVersion: 2, manifests: entries.map((e) => ({ mediaType: OCI_IMAGE_MANIFEST, digest: e.digest, size: 500, platform: e.platform })) } },
  };
}

function registryError(code: RegistryErrorCode, registry: string, problem: string): RegistryError {
  return new RegistryError({ code, operation: 'inspect', registry, problem });
}

type Answer<T> = T | Error | (() => T | Error);

/** Only getManifest and headBlob, as RegistryState uses; records calls and their concurrency. */
class FakeClient {
  readonly manifests = new Map<string, Answer<FetchedManifest>>();
  readonly blobs = new Map<string, Answer<number | undefined>>();
  readonly calls: string[] = [];
  /** Manifest HEADs: this fake registry omits Docker-Content-Digest on them (some do), so the
   *  state reads the manifest by tag as before. */
  readonly heads: string[] = [];
  readonly http = {
    request: async (req: { registry: string; repository?: string; path: string }) => {
      this.heads.push(`head ${req.registry}/${req.repository ?? ''}@${req.path.slice(req.path.lastIndexOf('/') + 1)}`);
      await Promise.resolve();
      return { status: 200, headers: {}, body: { dump: () => Promise.resolve() } };
    },
    expect: (res: unknown) => Promise.resolve(res),
  };
  active = 0;
  maxActive = 0;
  delayMs = 0;

  async getManifest(r: RepositoryRef, reference: string): Promise<FetchedManifest> {
    const key = `${r.registry}/${r.repository}@${reference}`;
    return this.answer(`manifest ${key}`, this.manifests.get(key) ?? new Error(`no manifest ${key}`));
  }

  async headBlob(r: RepositoryRef, blob: string): Promise<number | undefined> {
    const key = `${r.registry}/${r.repository}|${blob}`;
    return this.answer(`blob ${key}`, this.blobs.has(key) ? this.blobs.get(key) : undefined);
  }

  private async answer<T>(call: string, answer: Answer<T> | undefined): Promise<T> {
    this.calls.push(call);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs > 0) await sleep(this.delayMs);
      else await Promise.resolve();
      const value = typeof answer === 'function' ? (answer as () => T | Error)() : answer;
      if (value instanceof Error) throw value;
      return value as T;
    } finally {
      this.active--;
    }
  }
}

class Clock {
  constructor(public time = 1_000_000) {}
  readonly now = (): number => this.time;
}

function setup(options: RegistryStateOptions = {}) {
  const client = new FakeClient();
  const clock = new Clock();
  const state = new RegistryState(client as unknown as RegistryClient, { now: clock.now, ...options });
  return { client, clock, state };
}

/** Settles and then waits out the 50 ms debounce of 'changed'. */
async function quiet(state: RegistryState): Promise<void> {
  await state.settled();
  await sleep(80);
}

const pythonLayers = [layer(1, 29_000_000), layer(2, 3_500_000)];

void describe('RegistryState: reads', () => {
  test('a first read is unknown, never calls the client synchronously, and fetches in the background', async () => {
    const { client, state } = setup();
    client.manifests.set('docker.io/library/python@3.12-slim', imageManifest(digest(0xa0), digest(0xc0), pythonLayers));
    assert.deepEqual(state.baseImage(python, amd64), { state: 'unknown' });
    assert.deepEqual(client.calls, []);
    await state.settled();
    assert.deepEqual(client.calls, ['manifest docker.io/library/python@3.12-slim']);
    const fact = state.baseImage(python, amd64);
    const expected: BaseImageFacts = { digest: digest(0xa0), manifestDigest: digest(0xa0), layers: pythonLayers, configDigest: digest(0xc0), checkedAt: 1_000_000 };
    assert.deepEqual(fact, { state: 'known', value: expected, checkedAt: 1_000_000, stale: false });
    assert.equal(client.calls.length, 1, 'a fresh value is not fetched again');
  });

  test('reads before the result arrive schedule a single fetch', async () => {
    const { client, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, 123);
    for (let i = 0; i < 5; i++) assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'unknown' });
    await state.settled();
    assert.deepEqual(client.calls, [`blob registry.example.com/team/app|${digest(1)}`]);
  });

  test('blobPresent: a size means present, undefined means absent', async () => {
    const { client, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, 123);
    client.blobs.set(`registry.example.com/team/app|${digest(2)}`, undefined);
    state.blobPresent(repo, digest(1));
    state.blobPresent(repo, digest(2));
    await state.settled();
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: true, checkedAt: 1_000_000, stale: false });
    assert.deepEqual(state.blobPresent(repo, digest(2)), { state: 'known', value: false, checkedAt: 1_000_000, stale: false });
  });

  test('blobs are keyed by repository and digest', async () => {
    const { client, state } = setup();
    const other = { registry: 'registry.example.com', repository: 'library/python' };
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, 1);
    state.blobPresent(repo, digest(1));
    state.blobPresent(other, digest(1));
    state.blobPresent(repo, digest(2));
    await state.settled();
    assert.deepEqual(client.calls.sort(), [`blob registry.example.com/library/python|${digest(1)}`, `blob registry.example.com/team/app|${digest(1)}`, `blob registry.example.com/team/app|${digest(2)}`]);
    assert.equal((state.blobPresent(repo, digest(1)) as { value: boolean }).value, true);
    assert.equal((state.blobPresent(other, digest(1)) as { value: boolean }).value, false);
  });

  test('an index resolves to the platform manifest; bases are keyed by platform', async () => {
    const { client, state } = setup();
    client.manifests.set(
      'docker.io/library/python@3.12-slim',
      indexManifest(digest(0xa0), [
        { digest: digest(0xa1), platform: amd64 },
        { digest: digest(0xa2), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ]),
    );
    client.manifests.set(`docker.io/library/python@${digest(0xa1)}`, imageManifest(digest(0xa1), digest(0xc1), [layer(1, 10)]));
    client.manifests.set(`docker.io/library/python@${digest(0xa2)}`, imageManifest(digest(0xa2), digest(0xc2), [layer(2, 20), layer(3, 30)]));
    state.baseImage(python, amd64);
    state.baseImage(python, arm64);
    await state.settled();
    const x86 = state.baseImage(python, amd64);
    const arm = state.baseImage(python, arm64);
    assert.ok(x86.state === 'known' && arm.state === 'known');
    assert.deepEqual(x86.value, { digest: digest(0xa0), manifestDigest: digest(0xa1), layers: [layer(1, 10)], configDigest: digest(0xc1), checkedAt: 1_000_000 });
    assert.deepEqual(arm.value, { digest: digest(0xa0), manifestDigest: digest(0xa2), layers: [layer(2, 20), layer(3, 30)], configDigest: digest(0xc2), checkedAt: 1_000_000 });
    assert.equal(client.calls.filter((c) => c === 'manifest docker.io/library/python@3.12-slim').length, 2);
  });

  test('fetches by digest when the reference has one, else by tag, else latest', async () => {
    const { client, state } = setup();
    const pinned: ImageReference = { ...python, digest: digest(0xa1) };
    const bare: ImageReference = { registry: 'docker.io', repository: 'library/python' };
    client.manifests.set(`docker.io/library/python@${digest(0xa1)}`, imageManifest(digest(0xa1), digest(0xc1), []));
    client.manifests.set('docker.io/library/python@latest', imageManifest(digest(0xa3), digest(0xc3), []));
    state.baseImage(pinned, amd64);
    state.baseImage(bare, amd64);
    await state.settled();
    assert.deepEqual(client.calls.sort(), ['manifest docker.io/library/python@latest', `manifest docker.io/library/python@${digest(0xa1)}`]);
    assert.equal(state.baseImage(pinned, amd64).state, 'known');
    assert.equal(state.baseImage(bare, amd64).state, 'known');
  });

  test('an index without the platform is an error', async () => {
    const { client, state } = setup();
    client.manifests.set('docker.io/library/python@3.12-slim', indexManifest(digest(0xa0), [{ digest: digest(0xa1), platform: amd64 }]));
    state.baseImage(python, { os: 'linux', architecture: 's390x' });
    await state.settled();
    const fact = state.baseImage(python, { os: 'linux', architecture: 's390x' });
    assert.equal(fact.state, 'error');
    assert.ok(fact.state === 'error' && fact.code === 'ERROR');
  });
});

void describe('RegistryState: TTL', () => {
  test('a value older than the TTL is returned stale and re-fetched in the background', async () => {
    const { client, clock, state } = setup({ ttlMs: 60_000 });
    let size: number | undefined = 10;
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, () => size);
    state.blobPresent(repo, digest(1));
    await state.settled();

    clock.time += 60_000;
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: true, checkedAt: 1_000_000, stale: false }, 'exactly the TTL is still fresh');
    await state.settled();
    assert.equal(client.calls.length, 1);

    clock.time += 1;
    size = undefined;
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: true, checkedAt: 1_000_000, stale: true });
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: true, checkedAt: 1_000_000, stale: true }, 'still in flight');
    await state.settled();
    assert.equal(client.calls.length, 2, 'one re-fetch for both stale reads');
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: false, checkedAt: 1_060_001, stale: false });
  });

  test('the default TTL is one minute', async () => {
    const { client, clock, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, 1);
    state.blobPresent(repo, digest(1));
    await state.settled();
    clock.time += 60_000;
    assert.equal((state.blobPresent(repo, digest(1)) as { stale: boolean }).stale, false);
    clock.time += 1;
    assert.equal((state.blobPresent(repo, digest(1)) as { stale: boolean }).stale, true);
    await state.settled();
    assert.equal(client.calls.length, 2);
  });

  test('invalidate() makes every entry stale, re-fetches on the next read, and emits changed', async () => {
    const { client, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, 1);
    client.manifests.set('docker.io/library/python@3.12-slim', registryError('MANIFEST_UNKNOWN', 'docker.io', 'manifest unknown'));
    state.blobPresent(repo, digest(1));
    state.baseImage(python, amd64);
    await quiet(state);
    assert.equal(client.calls.length, 2);

    let changed = 0;
    state.on('changed', () => changed++);
    state.invalidate();
    await sleep(80);
    assert.equal(changed, 1);

    const invalidated = state.blobPresent(repo, digest(1));
    assert.ok(invalidated.state === 'known' && invalidated.value && invalidated.stale, 'the value is kept, marked stale');
    assert.equal(state.baseImage(python, amd64).state, 'error', 'the error is kept until the re-fetch answers');
    await state.settled();
    assert.equal(client.calls.length, 4, 'both re-fetched');
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: true, checkedAt: 1_000_000, stale: false });
  });
});

void describe('RegistryState: errors', () => {
  test('an error is cached for errorTtlMs, then retried', async () => {
    const { client, clock, state } = setup({ errorTtlMs: 15_000 });
    const error = registryError('MANIFEST_UNKNOWN', 'docker.io', 'manifest unknown');
    client.manifests.set('docker.io/library/python@3.12-slim', error);
    state.baseImage(python, amd64);
    await state.settled();
    const expected = { state: 'error', code: 'MANIFEST_UNKNOWN', message: error.message, checkedAt: 1_000_000 };
    assert.deepEqual(state.baseImage(python, amd64), expected);
    assert.equal(error.message, 'inspect docker.io: manifest unknown');

    clock.time += 15_000;
    assert.deepEqual(state.baseImage(python, amd64), expected);
    await state.settled();
    assert.equal(client.calls.length, 1, 'not retried within errorTtlMs');
    assert.equal(state.unreachable.size, 0, 'a registry answer is not an outage');

    clock.time += 1;
    client.manifests.set('docker.io/library/python@3.12-slim', imageManifest(digest(0xa0), digest(0xc0), pythonLayers));
    assert.deepEqual(state.baseImage(python, amd64), expected, 'the error is returned while the retry runs');
    await state.settled();
    assert.equal(client.calls.length, 2);
    const fact = state.baseImage(python, amd64);
    assert.equal(fact.state, 'known');
    assert.deepEqual(fact.state === 'known' && fact.value.layers, pythonLayers);
  });

  test('errorTtlMs is independent of the value TTL', async () => {
    const { client, clock, state } = setup({ ttlMs: 500_000, errorTtlMs: 10 });
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, registryError('DENIED', 'registry.example.com', 'denied'));
    state.blobPresent(repo, digest(1));
    await state.settled();
    clock.time += 11;
    state.blobPresent(repo, digest(1));
    await state.settled();
    assert.equal(client.calls.length, 2);
  });

  test('a non-registry error gets code ERROR', async () => {
    const { client, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, new TypeError('boom'));
    state.blobPresent(repo, digest(1));
    await state.settled();
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'error', code: 'ERROR', message: 'boom', checkedAt: 1_000_000 });
    assert.equal(state.unreachable.size, 0);
  });

  test('NETWORK errors mark the registry unreachable; a later success clears it', async () => {
    const { client, clock, state } = setup({ errorTtlMs: 5_000 });
    const key = `registry.example.com/team/app|${digest(1)}`;
    client.blobs.set(key, registryError('NETWORK', 'registry.example.com', 'connection refused'));
    state.blobPresent(repo, digest(1));
    await state.settled();
    assert.deepEqual([...state.unreachable], ['registry.example.com']);
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'error', code: 'NETWORK', message: 'inspect registry.example.com: connection refused', checkedAt: 1_000_000 });

    clock.time += 5_001;
    client.blobs.set(key, 99);
    state.blobPresent(repo, digest(1));
    await state.settled();
    assert.deepEqual([...state.unreachable], []);
    assert.deepEqual(state.blobPresent(repo, digest(1)), { state: 'known', value: true, checkedAt: 1_005_001, stale: false });
  });

  test('TIMEOUT errors also mark the registry unreachable, and only that registry', async () => {
    const { client, state } = setup();
    client.manifests.set('docker.io/library/python@3.12-slim', registryError('TIMEOUT', 'docker.io', 'timed out'));
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, 1);
    state.baseImage(python, amd64);
    state.blobPresent(repo, digest(1));
    await state.settled();
    assert.deepEqual([...state.unreachable], ['docker.io']);
  });

  test('a success on any key of a registry clears it', async () => {
    const { client, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, registryError('NETWORK', 'registry.example.com', 'reset'));
    state.blobPresent(repo, digest(1));
    await state.settled();
    assert.ok(state.unreachable.has('registry.example.com'));
    client.blobs.set(`registry.example.com/team/app|${digest(2)}`, 1);
    state.blobPresent(repo, digest(2));
    await state.settled();
    assert.ok(!state.unreachable.has('registry.example.com'));
  });
});

void describe('RegistryState: scheduling', () => {
  test('respects the concurrency limit', async () => {
    const { client, state } = setup({ concurrency: 3 });
    client.delayMs = 5;
    for (let i = 0; i < 10; i++) client.blobs.set(`registry.example.com/team/app|${digest(i)}`, i);
    for (let i = 0; i < 10; i++) state.blobPresent(repo, digest(i));
    await state.settled();
    assert.equal(client.calls.length, 10);
    assert.equal(client.maxActive, 3);
    for (let i = 0; i < 10; i++) assert.equal(state.blobPresent(repo, digest(i)).state, 'known');
  });

  test('runs four at a time by default', async () => {
    const { client, state } = setup();
    client.delayMs = 5;
    for (let i = 0; i < 9; i++) state.blobPresent(repo, digest(i));
    await state.settled();
    assert.equal(client.calls.length, 9);
    assert.equal(client.maxActive, 4);
  });

  test('settled() resolves at once when nothing is pending', async () => {
    const { state } = setup();
    const started = Date.now();
    await state.settled();
    assert.ok(Date.now() - started < 1000, "settled() must not wait when nothing is pending");
  });

  test("'changed' is emitted once per burst of results, after they are readable", async () => {
    const { client, state } = setup({ concurrency: 2 });
    for (let i = 0; i < 6; i++) client.blobs.set(`registry.example.com/team/app|${digest(i)}`, i);
    const seen: string[][] = [];
    state.on('changed', () => seen.push([...Array(6).keys()].map((i) => state.blobPresent(repo, digest(i)).state)));
    for (let i = 0; i < 6; i++) state.blobPresent(repo, digest(i));
    assert.equal(seen.length, 0);
    await quiet(state);
    assert.equal(client.calls.length, 6);
    assert.deepEqual(seen, [['known', 'known', 'known', 'known', 'known', 'known']]);

    // A later burst gets its own event.
    state.blobPresent(repo, digest(7));
    state.blobPresent(repo, digest(8));
    await quiet(state);
    assert.equal(seen.length, 2);
  });

  test("no 'changed' without results", async () => {
    const { state } = setup();
    let changed = 0;
    state.on('changed', () => changed++);
    await sleep(80);
    assert.equal(changed, 0);
  });

  test("errors emit 'changed' too", async () => {
    const { client, state } = setup();
    client.blobs.set(`registry.example.com/team/app|${digest(1)}`, registryError('NETWORK', 'registry.example.com', 'reset'));
    let changed = 0;
    state.on('changed', () => changed++);
    state.blobPresent(repo, digest(1));
    await quiet(state);
    assert.equal(changed, 1);
  });
});
