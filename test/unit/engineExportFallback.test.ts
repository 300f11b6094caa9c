// openEngineExport (engineSource.ts) over synthetic exports the one-pass reader cannot lay out:
// a containerd image store export (the image id names a manifest; gzip blobs named by their
// digest: offered for upload as they are) and a layout of names it does not know. Both are read
// in two passes, correctly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import type { DockerEngineClient, EngineImage } from '../../server/src/engine/engineClient';
import { openEngineExport } from '../../server/src/push/engineSource';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function tarOf(entries: { name: string; body: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : 1))) pack.entry({ name: e.name }, e.body);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function fakeEngine(archive: Buffer): { engine: DockerEngineClient; opens: () => number } {
  let opens = 0;
  const engine = {
    saveImage: () => {
      opens++;
      return Promise.resolve(Readable.from([archive.subarray(0, 1000), archive.subarray(1000)]));
    },
  } as unknown as DockerEngineClient;
  return { engine, opens: () => opens };
}

function inspected(id: string, diffIds: string[]): EngineImage {
  return { id, repoTags: [], repoDigests: [], architecture: 'amd64', os: 'linux', size: 0, rootfs: { diffIds }, created: '' };
}

async function readAll(image: ReturnType<typeof openEngineExport>, wanted: string[]): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  await image.readLayers(new Set(wanted), async (diffId, stream) => {
    const hash = createHash('sha256');
    for await (const chunk of stream) hash.update(chunk as Buffer);
    got.set(diffId, `sha256:${hash.digest('hex')}`);
  });
  return got;
}

const layers = [Buffer.from('first layer tar '.repeat(1000)), Buffer.from('second layer tar '.repeat(500))];
const diffIds = layers.map((l) => `sha256:${sha(l)}`);
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));

void describe('engine export: the two-pass fallback', () => {
  void test('containerd image store: index → manifest → config, gzip blobs; layers verified, the config found', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'export-fallback-'));
    try {
      const blobs = layers.map((l) => gzipSync(l));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length }, layers: blobs.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha(b)}`, size: b.length })) }));
      const id = `sha256:${sha(manifest)}`;
      const archive = await tarOf([
        ...blobs.map((b) => ({ name: `blobs/sha256/${sha(b)}`, body: b })),
        { name: `blobs/sha256/${sha(config)}`, body: config },
        { name: `blobs/sha256/${id.slice(7)}`, body: manifest },
        { name: 'index.json', body: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: id, size: manifest.length }] })) },
      ]);
      const { engine, opens } = fakeEngine(archive);
      const image = openEngineExport(inspected(id, diffIds), engine, { description: 'engine image c:1', spoolDirectory: spool });
      assert.equal(image.configDigest, id, 'the image id until the config arrives');
      const got = await readAll(image, [diffIds[1] ?? '']);
      assert.deepEqual([...got.entries()], [[diffIds[1], diffIds[1]]]);
      await image.configArrived();
      assert.deepEqual(image.config, config);
      assert.equal(image.configDigest, `sha256:${sha(config)}`);
      assert.ok(opens() >= 2, 'read in two passes');
      // The stored blobs are offered as they are: same digests, no recompression (exportBlobSpool.ts).
      await image.layoutKnown();
      assert.deepEqual(
        image.layers.map((l) => l.compressed && { digest: l.compressed.digest, size: l.compressed.size, mediaType: l.compressed.mediaType }),
        blobs.map((b) => ({ digest: `sha256:${sha(b)}`, size: b.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })),
      );
      const before = opens();
      image.prefetch(blobs.map((b) => `sha256:${sha(b)}`));
      for (const [i, layer] of image.layers.entries()) {
        const chunks: Buffer[] = [];
        for await (const chunk of await (layer.compressed?.open(3) ?? Promise.reject(new Error('no blob')))) chunks.push(chunk as Buffer);
        assert.deepEqual(Buffer.concat(chunks), blobs[i]?.subarray(3), 'byte for byte, from an offset');
      }
      assert.equal(opens() - before, 1, 'every blob spooled in one pass');
      await image.close();
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });

  void test('layers under names the reader does not know: found through manifest.json', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'export-fallback-'));
    try {
      const id = `sha256:${sha(config)}`;
      const archive = await tarOf([
        { name: 'layers/one.tar', body: layers[0] ?? Buffer.alloc(0) },
        { name: 'layers/two.tar', body: layers[1] ?? Buffer.alloc(0) },
        { name: `${id.slice(7)}.json`, body: config },
        { name: 'manifest.json', body: Buffer.from(JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: null, Layers: ['layers/one.tar', 'layers/two.tar'] }])) },
      ]);
      const { engine } = fakeEngine(archive);
      const image = openEngineExport(inspected(id, diffIds), engine, { description: 'engine image u:1', spoolDirectory: spool });
      const got = await readAll(image, diffIds);
      assert.equal(got.size, 2);
      for (const [diffId, digest] of got) assert.equal(digest, diffId);
      await image.configArrived();
      assert.deepEqual(image.config, config);
      await image.close();
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });

  void test('a plan never opens the export (startNow: false)', async () => {
    const { engine, opens } = fakeEngine(Buffer.alloc(1024));
    const image = openEngineExport(inspected(`sha256:${sha(config)}`, diffIds), engine, { description: 'engine image p:1', spoolDirectory: tmpdir(), startNow: false });
    await image.close();
    assert.equal(opens(), 0);
  });
});
