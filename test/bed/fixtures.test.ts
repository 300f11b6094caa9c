// Self-tests of the fixture images: deterministic digests, valid OCI layouts, and a registry
// (filled by skopeo, a real independent client) that agrees with what we computed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from './process';
import { startRegistry, type Registry } from './registry';
import {
  randomBlob,
  seedImage,
  seededChunks,
  skopeo,
  writeFixtureImage,
  type FixtureSpec,
  type OciManifest,
} from './fixtures';

async function sha256File(path: string, gunzip = false): Promise<string> {
  const hash = createHash('sha256');
  const consume = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hash.update(chunk);
  };
  if (gunzip) await pipeline(createReadStream(path), createGunzip(), consume);
  else await pipeline(createReadStream(path), consume);
  return `sha256:${hash.digest('hex')}`;
}

const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice(7));

const SPEC: FixtureSpec = {
  tag: 'v1',
  layers: [
    { kind: 'busybox' },
    { kind: 'random', bytes: 3_000_000, seed: 'fixtures-test-a' },
    { kind: 'random', bytes: 2_000_000, seed: 'fixtures-test-b', compressible: true },
  ],
};

void describe('fixture images', () => {
  const temps: { remove: () => Promise<void> }[] = [];
  const temp = async () => {
    const dir = await makeTempDir('fixture');
    temps.push(dir);
    return dir.path;
  };
  after(async () => {
    for (const dir of temps) await dir.remove();
  });

  void test('the same spec gives the same digests, and the layout is self-consistent', async () => {
    const first = await writeFixtureImage(await temp(), SPEC);
    const second = await writeFixtureImage(await temp(), SPEC);
    assert.equal(second.manifestDigest, first.manifestDigest);
    assert.equal(second.configDigest, first.configDigest);
    assert.deepEqual(second.layers, first.layers);

    const layout = first.layoutDir;
    assert.deepEqual(JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    assert.equal(index.manifests[0]?.digest, first.manifestDigest);
    assert.equal(index.manifests[0]?.annotations['org.opencontainers.image.ref.name'], 'v1');

    // Every blob is stored under its own digest, and diff_ids are the uncompressed tar digests.
    const manifestBytes = await readFile(blobPath(layout, first.manifestDigest));
    assert.equal(`sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`, first.manifestDigest);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as OciManifest;
    const config = JSON.parse(await readFile(blobPath(layout, first.configDigest), 'utf8')) as {
      os: string;
      architecture: string;
      rootfs: { type: string; diff_ids: string[] };
      history: unknown[];
    };
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.rootfs.type, 'layers');
    assert.equal(config.history.length, 3);
    for (const [i, layer] of first.layers.entries()) {
      assert.equal(manifest.layers[i]?.digest, layer.digest);
      assert.equal(await sha256File(blobPath(layout, layer.digest)), layer.digest);
      assert.equal(await sha256File(blobPath(layout, layer.digest), true), config.rootfs.diff_ids[i]);
    }
    // Incompressible content barely shrinks; compressible content shrinks to about a third.
    const [, random, text] = first.layers;
    assert.ok(random && random.size > 3_000_000 && random.size < 3_010_000, `random layer ${random?.size}`);
    assert.ok(text && text.size < 1_000_000, `compressible layer ${text?.size}`);
    assert.equal(first.layerBytes, first.layers.reduce((sum, layer) => sum + layer.size, 0));
  });

  void test('a multi-platform index lists amd64 and arm64 over the same layers', async () => {
    const image = await writeFixtureImage(await temp(), { ...SPEC, multiPlatform: true, tag: 'multi' });
    assert.ok(image.index);
    const index = JSON.parse(await readFile(blobPath(image.layoutDir, image.manifestDigest), 'utf8')) as {
      mediaType: string;
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(index.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64']);
    const [amd, arm] = image.index.manifests;
    assert.ok(amd && arm && amd.configDigest !== arm.configDigest);
    const armManifest = JSON.parse(await readFile(blobPath(image.layoutDir, arm.digest), 'utf8')) as OciManifest;
    assert.deepEqual(armManifest.layers.map((l) => l.digest), image.layers.map((l) => l.digest));
  });

  void test('seeded chunks do not depend on how the stream is consumed; randomBlob is cached', async () => {
    const whole = Buffer.concat([...seededChunks('s', 3_000_001, true)]);
    assert.equal(whole.length, 3_000_001);
    assert.deepEqual(Buffer.concat([...seededChunks('s', 1_000_000, true)]), whole.subarray(0, 1_000_000));
    assert.notDeepEqual(whole.subarray(0, 64), Buffer.concat([...seededChunks('t', 64, true)]));

    const first = await randomBlob({ bytes: 5_000_000, seed: 'raw-test' });
    const second = await randomBlob({ bytes: 5_000_000, seed: 'raw-test' });
    assert.deepEqual(second, first);
    assert.equal(first.size, 5_000_000);
    assert.equal(await sha256File(first.path), first.digest);
  });

  void describe('seeded into a registry with skopeo', () => {
    let registry: Registry;
    before(async () => {
      registry = await startRegistry({ auth: 'none' });
    });
    after(async () => {
      await registry.stop();
    });

    void test('skopeo inspect agrees on the manifest digest and layer sizes', async () => {
      const image = await writeFixtureImage(await temp(), SPEC);
      await seedImage(image.layoutDir, image.tag, registry.host, 'fixtures/single');
      const ref = `docker://${registry.host}/fixtures/single:v1`;
      // skopeo 1.9 has no LayersData in `inspect`: it lists layer digests, and sizes are checked
      // on a pull (skopeo copy to a dir: verifies every blob against its digest on the way).
      const inspected = JSON.parse(await skopeo(['inspect', '--tls-verify=false', ref])) as {
        Digest: string;
        Layers: string[];
      };
      assert.equal(inspected.Digest, image.manifestDigest);
      assert.deepEqual(inspected.Layers, image.layers.map((l) => l.digest));
      const pulled = await temp();
      await skopeo(['copy', '--src-tls-verify=false', ref, `dir:${pulled}`]);
      for (const layer of image.layers) {
        assert.equal((await stat(join(pulled, layer.digest.slice(7)))).size, layer.size);
        const head = await fetch(`${registry.url}/v2/fixtures/single/blobs/${layer.digest}`, { method: 'HEAD' });
        assert.equal(Number(head.headers.get('content-length')), layer.size);
      }
      // The registry serves our exact manifest bytes (--preserve-digests).
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', ref]);
      assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, image.manifestDigest);
    });

    void test('a multi-platform index arrives whole, under its own digest', async () => {
      const image = await writeFixtureImage(await temp(), { ...SPEC, multiPlatform: true, tag: 'multi' });
      await seedImage(image.layoutDir, 'multi', registry.host, 'fixtures/multi', { destTag: 'm1' });
      const ref = `docker://${registry.host}/fixtures/multi:m1`;
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', ref]);
      assert.equal(raw, image.index?.json);
      for (const platform of image.index?.manifests ?? []) {
        const byDigest = `docker://${registry.host}/fixtures/multi@${platform.digest}`;
        const manifest = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', byDigest])) as OciManifest;
        assert.equal(manifest.config.digest, platform.configDigest);
      }
    });
  });

  // Big fixtures take seconds the first time; the 1 GiB blob is the one the memory test of
  // test/integration/resume.test.ts copies (same seed), so the cache serves both.
  void test('a 200 MB layer and a 1 GB raw blob stream to disk', async () => {
    let started = Date.now();
    const image = await writeFixtureImage(await temp(), {
      tag: 'big',
      layers: [{ kind: 'random', bytes: 200 * 1024 * 1024, seed: 'big-200' }],
    });
    console.log(`200 MiB layer: ${Date.now() - started} ms, ${image.layers[0]?.size} bytes gzipped`);
    started = Date.now();
    const blob = await randomBlob({ bytes: 1024 * 1024 * 1024, seed: 'rss-1g' });
    console.log(`1 GiB raw blob: ${Date.now() - started} ms, ${blob.digest}`);
    assert.equal(blob.size, 1024 * 1024 * 1024);
  });
});
