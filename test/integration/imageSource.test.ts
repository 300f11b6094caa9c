// openLocalImage against the real things: an image built in a private dockerd (20.10: the
// legacy `docker save` layout), its `docker save` archive (plain and gzipped), and fixture OCI
// layouts. Archives in the Docker >= 25 and containerd-store layouts, and malformed inputs, are
// made here by hand (imageSourceArchives.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { buildImage, docker, importBusyboxImage, inspectImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { DockerEngineClient } from '../../server/src/engine/engineClient';
import { openLocalImage, type LocalImage } from '../../server/src/push/imageSource';
import { ImageSourceError } from '../../server/src/push/sourceErrors';
import { readArchiveLayers, scanArchive } from '../../server/src/push/streamedArchive';

/** Asserts a typed, one-line error with this code whose message matches. */
async function expectSourceError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageSourceError, `expected an ImageSourceError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

async function sha256OfStream(stream: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** The names of the regular files in a tar. */
async function tarFileNames(bytes: Buffer): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      if (entry.header.type === 'file') names.push(entry.header.name);
      entry.resume();
    }
  })();
  extract.end(bytes);
  await done;
  return names.sort();
}

/** Reads every wanted layer, returning diffId → { sha256, bytes, names } in delivery order. */
async function readAll(image: LocalImage, wanted: Iterable<string>) {
  const seen: { diffId: string; digest: string; names: string[] }[] = [];
  await image.readLayers(new Set(wanted), async (diffId, tarStream) => {
    const chunks: Buffer[] = [];
    for await (const chunk of tarStream as AsyncIterable<Buffer>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    seen.push({ diffId, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, names: await tarFileNames(bytes) });
  });
  return seen;
}

void describe('image sources: the Docker engine and its docker save archives', () => {
  let engine: DockerEngine;
  let client: DockerEngineClient;
  let work: { path: string; remove: () => Promise<void> };
  let inspected: { Id: string; RepoTags: string[]; Architecture: string; Os: string; RootFS: { Layers: string[] } };
  let archive: string;

  before(async () => {
    engine = await startDockerEngine();
    work = await makeTempDir('image-source');
    await importBusyboxImage(engine);
    const context = join(work.path, 'app');
    await mkdir(context);
    await writeFile(join(context, 'a.txt'), 'first file\n');
    await writeFile(join(context, 'b.txt'), 'second file, the last layer\n');
    await writeFile(join(context, 'Dockerfile'), 'FROM layerlift/busybox:latest\nCOPY a.txt /a.txt\nENV X=1\nCOPY b.txt /b.txt\n');
    await buildImage(engine, context, '127.0.0.1:5000/team/app:1');
    // The same layer twice (COPY, delete, the same COPY again): `docker save` (< 25) writes the
    // second layer.tar as a symlink to the first.
    await writeFile(join(context, 'Dockerfile.dup'), 'FROM layerlift/busybox:latest\nCOPY a.txt /a.txt\nRUN rm /a.txt\nCOPY a.txt /a.txt\n');
    await buildImage(engine, context, 'll/dup:1', { dockerfile: join(context, 'Dockerfile.dup') });
    inspected = (await inspectImage(engine, '127.0.0.1:5000/team/app:1')) as unknown as typeof inspected;
    archive = join(work.path, 'app.tar');
    await docker(engine, ['save', '-o', archive, '127.0.0.1:5000/team/app:1']);
    client = new DockerEngineClient({ env: { ...engine.env } });
  });
  after(async () => {
    await client?.close();
    await engine?.stop();
    await work?.remove();
  });

  void test('engine image: the config is the image id, the layers are RootFS.Layers', async () => {
    const image = await openLocalImage('127.0.0.1:5000/team/app:1', { engine: client });
    try {
      assert.equal(image.configDigest, inspected.Id);
      assert.equal(`sha256:${createHash('sha256').update(image.config).digest('hex')}`, inspected.Id);
      assert.deepEqual(image.layers.map((l) => l.diffId), inspected.RootFS.Layers);
      assert.equal(image.layers.length, 3); // busybox, COPY a.txt, COPY b.txt
      assert.ok(image.layers.every((l) => l.compressed === undefined));
      assert.deepEqual(image.repoDigests, []);
      assert.deepEqual(image.platform, { os: inspected.Os, architecture: inspected.Architecture });
      assert.match(image.description, /^engine image 127\.0\.0\.1:5000\/team\/app:1 \(sha256:[0-9a-f]{12}…\)$/);
    } finally {
      await image.close();
    }
    // By id too, and through the docker-daemon: prefix.
    const byId = await openLocalImage(`docker-daemon:${inspected.Id}`, { engine: client });
    assert.equal(byId.configDigest, inspected.Id);
    await byId.close();
  });

  void test('engine image: readLayers of only the last layer yields exactly that verified tar', async () => {
    const image = await openLocalImage('127.0.0.1:5000/team/app:1', { engine: client });
    try {
      const last = image.layers.at(-1)?.diffId ?? '';
      const seen = await readAll(image, [last]);
      assert.deepEqual(seen.map((s) => s.diffId), [last]);
      assert.equal(seen[0]?.digest, last);
      assert.deepEqual(seen[0]?.names, ['b.txt']);
      // Nothing wanted: no export at all.
      assert.deepEqual(await readAll(image, []), []);
      // Everything: each layer once, each verified (in archive order, which is not the image's).
      const every = await readAll(image, image.layers.map((l) => l.diffId));
      assert.deepEqual(new Set(every.map((s) => s.diffId)), new Set(image.layers.map((l) => l.diffId)));
      assert.ok(every.every((s) => s.digest === s.diffId));
      // A diff_id that is not the image's is refused.
      await expectSourceError(image.readLayers(new Set([`sha256:${'1'.repeat(64)}`]), () => Promise.resolve()), 'LAYER_MISSING', /not part of this image/);
    } finally {
      await image.close();
    }
  });

  void test('engine image: a missing image is IMAGE_NOT_FOUND, in one line', async () => {
    await expectSourceError(openLocalImage('ll/nothing:here', { engine: client }), 'IMAGE_NOT_FOUND', /engine image ll\/nothing:here: not found in the Docker engine at .* — build or pull it/);
  });

  void test('docker-archive: the same config and diff_ids, layers in image order', async () => {
    const image = await openLocalImage(`docker-archive:${archive}`);
    assert.equal(image.configDigest, inspected.Id);
    assert.deepEqual(image.layers.map((l) => l.diffId), inspected.RootFS.Layers);
    assert.ok(image.layers.every((l) => l.compressed === undefined)); // Docker 20.10: plain layer.tar files
    assert.deepEqual(image.repoDigests, []);
    assert.equal(image.platform.architecture, inspected.Architecture);
    const seen = await readAll(image, image.layers.map((l) => l.diffId));
    assert.deepEqual(seen.map((s) => s.diffId), inspected.RootFS.Layers);
    assert.ok(seen.every((s) => s.digest === s.diffId));
    assert.deepEqual(seen.at(-1)?.names, ['b.txt']);
    await image.close();

    // Naming the image by its tag (which holds colons itself); an unknown tag.
    const tagged = await openLocalImage(`docker-archive:${archive}:127.0.0.1:5000/team/app:1`);
    assert.equal(tagged.configDigest, inspected.Id);
    await expectSourceError(openLocalImage(`docker-archive:${archive}:other:1`), 'IMAGE_NOT_FOUND', /no image tagged "other:1" in the archive \(tags: 127\.0\.0\.1:5000\/team\/app:1\)/);
  });

  void test('a layer that appears twice is read once, from the engine and from its archive', async () => {
    const dupArchive = join(work.path, 'dup.tar');
    await docker(engine, ['save', '-o', dupArchive, 'll/dup:1']);
    const listing = await docker(engine, ['run', '--rm', '-v', `${work.path}:/w`, 'layerlift/busybox:latest', 'tar', '-tvf', '/w/dup.tar']).catch(() => undefined);
    if (listing) assert.match(listing.stdout, /layer\.tar -> \.\.\//); // the symlink this test is about
    for (const spec of ['ll/dup:1', `docker-archive:${dupArchive}`]) {
      const image = await openLocalImage(spec, { engine: client });
      const diffIds = image.layers.map((l) => l.diffId);
      assert.equal(diffIds.length, 4, spec);
      assert.equal(diffIds[1], diffIds[3], spec);
      const seen = await readAll(image, diffIds);
      assert.deepEqual(seen.map((s) => s.diffId).sort(), [...new Set(diffIds)].sort(), spec);
      assert.ok(seen.every((s) => s.digest === s.diffId), spec);
      await image.close();
    }
  });

  void test('readLayers can be cancelled while a layer streams', async () => {
    for (const spec of ['127.0.0.1:5000/team/app:1', `docker-archive:${archive}`]) {
      const image = await openLocalImage(spec, { engine: client });
      const controller = new AbortController();
      const busybox = image.layers[0]?.diffId ?? '';
      await assert.rejects(
        image.readLayers(new Set([busybox]), async (_diffId, stream) => {
          for await (const _chunk of stream as AsyncIterable<Buffer>) controller.abort();
        }, controller.signal),
        (error: unknown) => (error as { code?: unknown }).code === 'ABORTED',
      );
      await image.close();
    }
  });

  void test('docker-archive: a gzipped docker save streams the same image', async () => {
    const gzipped = join(work.path, 'app.tar.gz');
    await pipeline(createReadStream(archive), createGzip(), createWriteStream(gzipped));
    const image = await openLocalImage(`docker-archive:${gzipped}`);
    assert.equal(image.configDigest, inspected.Id);
    assert.deepEqual(image.layers.map((l) => l.diffId), inspected.RootFS.Layers);
    const last = inspected.RootFS.Layers.at(-1) ?? '';
    const seen = await readAll(image, [last]);
    assert.deepEqual(seen.map((s) => [s.diffId, s.digest]), [[last, last]]);
    await image.close();
  });
});

void describe('image sources: OCI layouts', () => {
  let work: { path: string; remove: () => Promise<void> };
  let fixture: FixtureImage;
  let multi: FixtureImage;
  let layout: string;

  before(async () => {
    work = await makeTempDir('image-source-oci');
    layout = join(work.path, 'layout');
    fixture = await writeFixtureImage(layout, {
      tag: 'v1',
      layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 300_000, seed: 'image-source', compressible: true }],
    });
    multi = await writeFixtureImage(layout, { tag: 'multi', multiPlatform: true, layers: [{ kind: 'busybox' }] });
  });
  after(async () => {
    await work?.remove();
  });

  void test('oci:DIR:TAG: the config, and layers with their compressed blobs', async () => {
    const image = await openLocalImage(`oci:${layout}:v1`);
    assert.equal(image.configDigest, fixture.configDigest);
    assert.equal(`sha256:${createHash('sha256').update(image.config).digest('hex')}`, fixture.configDigest);
    assert.deepEqual(image.layers.map((l) => l.diffId), fixture.layers.map((l) => l.diffId));
    assert.deepEqual(
      image.layers.map((l) => ({ digest: l.compressed?.digest, size: l.compressed?.size, mediaType: l.compressed?.mediaType })),
      fixture.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    );
    assert.deepEqual(image.platform, { os: 'linux', architecture: 'amd64' });
    assert.match(image.description, /^OCI layout .*:v1 \(sha256:[0-9a-f]{12}…\)$/);
    // The blob byte for byte, and from an offset (resuming an upload).
    const blob = image.layers[1]?.compressed;
    assert.ok(blob);
    assert.equal(await sha256OfStream(await blob.open(0)), blob.digest);
    let tail = 0;
    for await (const chunk of (await blob.open(1000)) as AsyncIterable<Buffer>) tail += chunk.length;
    assert.equal(tail, blob.size - 1000);
    // Decompressed and verified, in image order.
    const seen = await readAll(image, image.layers.map((l) => l.diffId));
    assert.deepEqual(seen.map((s) => s.diffId), fixture.layers.map((l) => l.diffId));
    assert.ok(seen.every((s) => s.digest === s.diffId));
    assert.ok(seen[0]?.names.includes('bin/busybox'));
    await image.close();
  });

  void test('oci:DIR:TAG of an index: the host platform', async () => {
    const image = await openLocalImage(`oci:${layout}:multi`);
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const entry = multi.index?.manifests.find((m) => m.platform.architecture === arch);
    assert.ok(entry);
    assert.equal(image.configDigest, entry.configDigest);
    assert.equal(image.platform.architecture, arch);
  });

  void test('oci:DIR without a tag: the only image, else IMAGE_AMBIGUOUS; an unknown tag', async () => {
    await expectSourceError(openLocalImage(`oci:${layout}`), 'IMAGE_AMBIGUOUS', /holds 2 images \(tags: v1, multi\) — name one as oci:DIR:TAG/);
    await expectSourceError(openLocalImage(`oci:${layout}:v2`), 'IMAGE_NOT_FOUND', /no image tagged "v2" in the layout \(tags: v1, multi\)/);
    const single = join(work.path, 'single');
    const only = await writeFixtureImage(single, { tag: 'only', layers: [{ kind: 'busybox' }] });
    const image = await openLocalImage(`oci:${single}`);
    assert.equal(image.configDigest, only.configDigest);
  });

  void test('readLayers: the caller must read each stream; the image can be closed', async () => {
    const image = await openLocalImage(`oci:${layout}:v1`);
    const first = fixture.layers[0]?.diffId ?? '';
    await expectSourceError(image.readLayers(new Set([first]), () => Promise.resolve()), 'LAYER_NOT_CONSUMED', /onLayer returned before reading layer/);
    // A callback that fails: its own error, the stream released.
    const failure = new Error('upload failed');
    await assert.rejects(
      image.readLayers(new Set([first]), (_diffId, stream: Readable) => {
        stream.resume();
        return Promise.reject(failure);
      }),
      (error) => error === failure,
    );
    await image.close();
    await expectSourceError(image.readLayers(new Set([first]), () => Promise.resolve()), 'SOURCE_INVALID', /closed/);
  });
});

// ---- hand-made archives and layouts -------------------------------------------------------------

interface TarItem {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

/** Writes a tar of `items`, sorted by name as `docker save` (moby pkg/archive) writes them. */
async function writeTarFile(path: string, items: TarItem[], options: { sort?: boolean } = {}): Promise<void> {
  const pack = tar.pack();
  const writing = pipeline(
    async function* () {
      for await (const chunk of pack) yield chunk;
    },
    createWriteStream(path),
  );
  const sorted = options.sort === false ? items : [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const item of sorted) {
    const data = typeof item.data === 'string' ? Buffer.from(item.data) : (item.data ?? Buffer.alloc(0));
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: item.name, type: item.type ?? 'file', linkname: item.linkname, size: data.length, mtime: new Date(0) }, data, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }
  pack.finalize();
  await writing;
}

const digestOf = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const hexOf = (digest: string) => digest.slice('sha256:'.length);
const blobName = (digest: string) => `blobs/sha256/${hexOf(digest)}`;

/** Writes an OCI layout by hand: blobs, then index.json as given (object or raw text). */
async function writeLayout(dir: string, blobs: (Buffer | string)[], index: unknown): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const blob of blobs) await writeFile(join(dir, blobName(digestOf(blob))), blob);
  await writeFile(join(dir, 'index.json'), typeof index === 'string' ? index : JSON.stringify(index));
}

void describe('image sources: archive layouts of other Docker versions, and malformed inputs', () => {
  let work: { path: string; remove: () => Promise<void> };
  let fixture: FixtureImage;
  let multi: FixtureImage;
  let layout: string;
  let config: Buffer;
  let gzBlobs: Buffer[];
  let tars: Buffer[];
  /** Docker >= 25 with its own image store: uncompressed layers named by diff_id. */
  let docker25: string;
  /** The containerd image store: the OCI layout's compressed blobs, the id is the index. */
  let containerd: string;

  before(async () => {
    work = await makeTempDir('image-source-archives');
    layout = join(work.path, 'layout');
    fixture = await writeFixtureImage(layout, {
      tag: 'v1',
      layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 200_000, seed: 'archives' }],
    });
    multi = await writeFixtureImage(layout, { tag: 'multi', multiPlatform: true, layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 200_000, seed: 'archives' }] });
    const readBlob = (digest: string) => readFile(join(layout, blobName(digest)));
    config = await readBlob(fixture.configDigest);
    gzBlobs = await Promise.all(fixture.layers.map((l) => readBlob(l.digest)));
    tars = gzBlobs.map((blob) => gunzipSync(blob));

    docker25 = join(work.path, 'docker25.tar');
    await writeTarFile(docker25, [
      { name: 'blobs/', type: 'directory' },
      { name: 'blobs/sha256/', type: 'directory' },
      ...fixture.layers.map((l, i) => ({ name: blobName(l.diffId), data: tars[i] })),
      { name: blobName(fixture.configDigest), data: config },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [] }) },
      { name: 'manifest.json', data: JSON.stringify([{ Config: blobName(fixture.configDigest), RepoTags: ['fixture:v1'], Layers: fixture.layers.map((l) => blobName(l.diffId)) }]) },
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'repositories', data: '{}' },
    ]);

    const index = multi.index;
    assert.ok(index);
    const metadata = [Buffer.from(index.json)];
    for (const m of index.manifests) metadata.push(await readBlob(m.digest), await readBlob(m.configDigest));
    const amd64 = index.manifests.find((m) => m.platform.architecture === 'amd64');
    assert.ok(amd64);
    containerd = join(work.path, 'containerd.tar');
    await writeTarFile(containerd, [
      ...multi.layers.map((l, i) => ({ name: blobName(l.digest), data: gzBlobs[i] })),
      ...metadata.map((bytes) => ({ name: blobName(digestOf(bytes)), data: bytes })),
      { name: 'index.json', data: index.json },
      { name: 'manifest.json', data: JSON.stringify([{ Config: blobName(amd64.configDigest), RepoTags: ['fixture:multi'], Layers: multi.layers.map((l) => blobName(l.digest)) }]) },
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    ]);
  });
  after(async () => {
    await work?.remove();
  });

  void test('docker-archive in the Docker >= 25 layout: uncompressed blobs named by diff_id', async () => {
    const image = await openLocalImage(`docker-archive:${docker25}`);
    assert.equal(image.configDigest, fixture.configDigest);
    assert.deepEqual(image.layers.map((l) => l.diffId), fixture.layers.map((l) => l.diffId));
    assert.ok(image.layers.every((l) => l.compressed === undefined));
    const seen = await readAll(image, [fixture.layers[1]?.diffId ?? '']);
    assert.deepEqual(seen.map((s) => s.digest), [fixture.layers[1]?.diffId]);
  });

  void test('docker-archive in the containerd layout: compressed blobs offered byte for byte', async () => {
    const image = await openLocalImage(`docker-archive:${containerd}:fixture:multi`);
    const amd64 = multi.index?.manifests.find((m) => m.platform.architecture === 'amd64');
    assert.equal(image.configDigest, amd64?.configDigest);
    assert.deepEqual(
      image.layers.map((l) => [l.diffId, l.compressed?.digest, l.compressed?.size, l.compressed?.mediaType]),
      multi.layers.map((l) => [l.diffId, l.digest, l.size, 'application/vnd.oci.image.layer.v1.tar+gzip']),
    );
    const blob = image.layers[0]?.compressed;
    assert.ok(blob);
    assert.equal(await sha256OfStream(await blob.open(0)), blob.digest);
    let tail = 0;
    for await (const chunk of (await blob.open(blob.size - 10)) as AsyncIterable<Buffer>) tail += chunk.length;
    assert.equal(tail, 10);
    const seen = await readAll(image, image.layers.map((l) => l.diffId));
    assert.deepEqual(seen.map((s) => s.digest), multi.layers.map((l) => l.diffId));
  });

  void test('engine exports: the scan stops at the config (Docker >= 25) or after index → manifest → config (containerd)', async () => {
    const opener = (file: string, counter: { bytes: number; opened: number }) => () => {
      counter.opened++;
      const stream = createReadStream(file);
      stream.on('data', (chunk) => (counter.bytes += chunk.length));
      return Promise.resolve(stream);
    };
    const d25 = { bytes: 0, opened: 0 };
    const scanned = await scanArchive(opener(docker25, d25), 'test', { imageId: fixture.configDigest });
    assert.equal(scanned.configDigest, fixture.configDigest);
    assert.deepEqual([...scanned.layerPaths.values()], fixture.layers.map((l) => l.diffId));
    const size = (await stat(docker25)).size;
    assert.ok(d25.bytes < size, `read ${d25.bytes} of ${size} bytes`);
    const delivered: string[] = [];
    await readArchiveLayers(opener(docker25, d25), 'test', scanned.layerPaths, fixture.layers.map((l) => l.diffId), async (diffId, stream) => {
      assert.equal(await sha256OfStream(stream), diffId);
      delivered.push(diffId);
    });
    assert.deepEqual(new Set(delivered), new Set(fixture.layers.map((l) => l.diffId)));

    const index = multi.index;
    assert.ok(index);
    const arm64 = index.manifests.find((m) => m.platform.architecture === 'arm64');
    const cd = { bytes: 0, opened: 0 };
    const chained = await scanArchive(opener(containerd, cd), 'test', { imageId: index.digest, platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(chained.configDigest, arm64?.configDigest);
    assert.deepEqual([...chained.layerPaths.keys()], multi.layers.map((l) => blobName(l.digest)));
    assert.ok(cd.bytes < (await stat(containerd)).size);
    const last = multi.layers.at(-1)?.diffId ?? '';
    await readArchiveLayers(opener(containerd, cd), 'test', chained.layerPaths, [last], async (diffId, stream) => {
      assert.equal(diffId, last);
      assert.equal(await sha256OfStream(stream), last); // gunzipped on the way
    });
  });

  void test('docker-archive: malformed archives are typed one-line errors', async () => {
    const file = (name: string) => join(work.path, name);
    await expectSourceError(openLocalImage(`docker-archive:${file('absent.tar')}`), 'IMAGE_NOT_FOUND', /docker archive .*absent\.tar: file .* does not exist — check the path/);
    await expectSourceError(openLocalImage('docker-archive:'), 'IMAGE_NOT_FOUND', /names no path — use docker-archive:FILE\[:TAG\]/);

    await writeTarFile(file('plain.tar'), [{ name: 'hello.txt', data: 'hello' }]);
    await expectSourceError(openLocalImage(`docker-archive:${file('plain.tar')}`), 'SOURCE_INVALID', /no manifest\.json: not a docker save archive — export the image with "docker save -o FILE IMAGE"/);
    await writeTarFile(file('oci.tar'), [{ name: 'index.json', data: '{}' }, { name: 'oci-layout', data: '{}' }]);
    await expectSourceError(openLocalImage(`docker-archive:${file('oci.tar')}`), 'SOURCE_INVALID', /an OCI layout tar: extract it and use oci:DIR/);

    await writeFile(file('noise.tar'), Buffer.alloc(4096, 7));
    await expectSourceError(openLocalImage(`docker-archive:${file('noise.tar')}`), 'SOURCE_INVALID', /not a readable tar archive \(bad header checksum at byte 0\)/);

    await writeTarFile(file('badjson.tar'), [{ name: 'manifest.json', data: '[{"Config":' }]);
    await expectSourceError(openLocalImage(`docker-archive:${file('badjson.tar')}`), 'SOURCE_INVALID', /manifest\.json is not a docker save manifest \(not UTF-8 JSON\)/);
    await writeTarFile(file('empty.tar'), [{ name: 'manifest.json', data: '[]' }]);
    await expectSourceError(openLocalImage(`docker-archive:${file('empty.tar')}`), 'SOURCE_INVALID', /it lists no image/);
    await writeTarFile(file('noconfig.tar'), [{ name: 'manifest.json', data: JSON.stringify([{ Config: 'abc.json', Layers: [] }]) }]);
    await expectSourceError(openLocalImage(`docker-archive:${file('noconfig.tar')}`), 'SOURCE_INVALID', /the config abc\.json named by manifest\.json is missing/);

    const whole = await readFile(docker25);
    await writeFile(file('truncated.tar'), whole.subarray(0, Math.floor(whole.length / 2)));
    await expectSourceError(openLocalImage(`docker-archive:${file('truncated.tar')}`), 'SOURCE_INVALID', /not a readable tar archive \(the entry at byte \d+ runs past the end of the file: truncated\)/);

    await writeFile(file('plain.tar.gz'), gzipSync(await readFile(file('plain.tar'))));
    await expectSourceError(openLocalImage(`docker-archive:${file('plain.tar.gz')}`), 'SOURCE_INVALID', /no manifest\.json: it is not a docker save archive/);
    const gz = gzipSync(whole);
    await writeFile(file('truncated.tar.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
    await expectSourceError(openLocalImage(`docker-archive:${file('truncated.tar.gz')}`), 'SOURCE_INVALID', /the archive is not valid compressed data \(unexpected end of file\) — export it again/);
  });

  void test('oci: malformed layouts are typed one-line errors', async () => {
    const dir = (name: string) => join(work.path, name);
    await expectSourceError(openLocalImage(`oci:${dir('absent')}`), 'IMAGE_NOT_FOUND', /OCI layout .*absent: directory .* does not exist/);
    await mkdir(dir('empty'));
    await expectSourceError(openLocalImage(`oci:${dir('empty')}:v1`), 'SOURCE_INVALID', /no index\.json: not an OCI image layout/);
    await writeLayout(dir('badjson'), [], '{"schemaVersion": 2, "manifests": [');
    await expectSourceError(openLocalImage(`oci:${dir('badjson')}`), 'SOURCE_INVALID', /index\.json is invalid \(body is not valid UTF-8 JSON\) — check the layout/);
    await writeLayout(dir('baddigest'), [], { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:xyz', size: 1 }] });
    await expectSourceError(openLocalImage(`oci:${dir('baddigest')}`), 'SOURCE_INVALID', /index\.json is invalid \(manifests\[0\]\.digest "sha256:xyz" is invalid/);
    const ghost = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 10 };
    await writeLayout(dir('noblob'), [], { schemaVersion: 2, manifests: [ghost] });
    await expectSourceError(openLocalImage(`oci:${dir('noblob')}`), 'SOURCE_INVALID', /blob sha256:a{64} is missing from blobs\/ — the layout is incomplete/);
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: fixture.configDigest, size: config.length }, layers: [] });
    await writeLayout(dir('corrupt'), [], { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest), size: manifest.length }] });
    await writeFile(join(dir('corrupt'), blobName(digestOf(manifest))), manifest.replace('"layers":[]', '"layers":[ ]').slice(1));
    await expectSourceError(openLocalImage(`oci:${dir('corrupt')}`), 'SOURCE_INVALID', /blob sha256:[0-9a-f]{64} is corrupt/);
  });

  void test('a layer that does not match its diff_id is DIFF_ID_MISMATCH, even when onLayer swallows it', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const badConfig = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [wrong] } });
    const layer = fixture.layers[1];
    assert.ok(layer);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(badConfig), size: badConfig.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    });
    const dir = join(work.path, 'mismatch');
    await writeLayout(dir, [badConfig, manifest, gzBlobs[1] ?? Buffer.alloc(0)], {
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'bad' } }],
    });
    const image = await openLocalImage(`oci:${dir}:bad`);
    const mismatch = new RegExp(`layer ${wrong} is corrupt: its 20\\d{4} uncompressed bytes hash to ${layer.diffId} — export or rebuild the image`);
    await expectSourceError(image.readLayers(new Set([wrong]), async (_diffId, stream) => {
      await sha256OfStream(stream);
    }), 'DIFF_ID_MISMATCH', mismatch);
    await expectSourceError(image.readLayers(new Set([wrong]), async (_diffId, stream) => {
      await sha256OfStream(stream).catch(() => undefined);
    }), 'DIFF_ID_MISMATCH', mismatch);
  });

  void test('a zstd layer: decompressed where Node can, else UNSUPPORTED_COMPRESSION', async () => {
    const fake = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(60, 1)]);
    const cfg = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('x')] } });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(cfg), size: cfg.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: digestOf(fake), size: fake.length }],
    });
    const dir = join(work.path, 'zstd');
    await writeLayout(dir, [cfg, manifest, fake], { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(manifest), size: manifest.length }] });
    const image = await openLocalImage(`oci:${dir}`);
    assert.equal(image.layers[0]?.compressed?.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    const read = image.readLayers(new Set([digestOf('x')]), async (_diffId, stream) => {
      await sha256OfStream(stream);
    });
    if ('createZstdDecompress' in zlib) await expectSourceError(read, 'SOURCE_INVALID', /is not valid zstd data/);
    else await expectSourceError(read, 'UNSUPPORTED_COMPRESSION', /is zstd-compressed, which Node v[\d.]+ cannot decompress — run Layerlift on Node 22\.15 or newer/);
  });
});
