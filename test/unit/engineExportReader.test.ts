// engineExportReader.ts: one pass over synthetic `docker save` streams in the layouts engines
// write (dockerd < 25 `<v1 id>/layer.tar`, Docker >= 25 `blobs/sha256/<diff_id>`, the containerd
// store's manifest-named id), with the counting that shows how far each read went.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { EngineExportReader, UnknownExportLayout } from '../../server/src/push/engineExportReader';
import { ImageSourceError } from '../../server/src/push/sourceErrors';
import { chainIds, createV1Id, EMPTY_CONTAINER_CONFIG, predictV1Ids } from '../../server/src/push/v1LayerIds';

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const MiB = 1024 * 1024;

/** Layer "tars": distinct printable bytes (never gzip/zstd magic), `size` long. */
function layerBytes(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x61 + (seed % 20));
  b.write(`layer ${seed}\n`);
  return b;
}

interface Entry {
  name: string;
  body?: Buffer;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' });
    else pack.entry({ name: e.name }, e.body ?? Buffer.alloc(0));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function imageOf(layers: Buffer[]) {
  const diffIds = layers.map((l) => `sha256:${sha(l)}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
  return { diffIds, config, id: `sha256:${sha(config)}` };
}

/** A dockerd < 25 export. `created`: the lower layers' time as the daemon marshals it. */
async function legacyExport(layers: Buffer[], opts: { created?: string; garbleJson?: boolean; swap?: boolean } = {}) {
  const { diffIds, config, id } = imageOf(layers);
  const chains = chainIds(diffIds);
  const created = opts.created ?? '"1970-01-01T00:00:00Z"';
  const lower = new Map([
    ['container_config', EMPTY_CONTAINER_CONFIG],
    ['created', created],
  ]);
  const dirs: string[] = [];
  const entries: Entry[] = [];
  let parent: string | undefined;
  layers.forEach((layer, i) => {
    const top = i === layers.length - 1;
    const fields = top ? new Map([['created', '"2024-05-01T10:00:00.5Z"'], ['os', '"linux"']]) : lower;
    const v1 = createV1Id(fields, chains[i] ?? '', parent);
    const parentPart = parent ? `"parent":"${parent}",` : '';
    const json = top ? `{"id":"${v1}",${parentPart}"created":"2024-05-01T10:00:00.5Z","os":"linux"}` : `{"id":"${v1}",${parentPart}"created":${created},"container_config":${EMPTY_CONTAINER_CONFIG},"os":"linux"}`;
    entries.push({ name: `${v1}`, type: 'directory' }, { name: `${v1}/VERSION`, body: Buffer.from('1.0') }, { name: `${v1}/json`, body: Buffer.from(opts.garbleJson ? '{}' : json) });
    dirs.push(v1);
    parent = v1;
  });
  layers.forEach((layer, i) => {
    // swap: the directories hold each other's layers (a wrong name must never deliver a wrong layer)
    const body = opts.swap && layers.length > 1 ? (layers[i === 0 ? 1 : i === 1 ? 0 : i] ?? layer) : layer;
    entries.push({ name: `${dirs[i]}/layer.tar`, body });
  });
  entries.push({ name: `${id.slice(7)}.json`, body: config }, { name: 'manifest.json', body: Buffer.from(JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: ['a:1'], Layers: dirs.map((d) => `${d}/layer.tar`) }])) });
  return { diffIds, config, id, dirs, archive: await tarOf(entries) };
}

/** A counting, chunked opener: how many bytes of the archive were pulled. */
function opener(archive: Buffer) {
  const counter = { bytes: 0, opens: 0 };
  const open = () => {
    counter.opens++;
    function* chunks() {
      for (let at = 0; at < archive.length; at += 16 * 1024) {
        const chunk = archive.subarray(at, at + 16 * 1024);
        counter.bytes += chunk.length;
        yield chunk;
      }
    }
    return Promise.resolve(Readable.from(chunks(), { objectMode: false, highWaterMark: 16 * 1024 }));
  };
  return { open, counter };
}

async function withSpool<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'export-reader-'));
  try {
    const result = await run(dir);
    assert.deepEqual(await readdir(dir), [], 'no spool file left');
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function collect(reader: EngineExportReader, wanted: string[]) {
  const got = new Map<string, string>();
  await reader.readLayers(wanted, async (diffId, stream) => {
    const hash = createHash('sha256');
    for await (const chunk of stream) hash.update(chunk as Buffer);
    got.set(diffId, `sha256:${hash.digest('hex')}`);
  });
  return got;
}

void describe('engine export read once', () => {
  const layers = [layerBytes(1, MiB), layerBytes(2, 300 * 1024), layerBytes(3, 200 * 1024), layerBytes(4, 500 * 1024)];

  void test('dockerd < 25: predicted directories and the top layer by its json; the stream waits for the wanted set', () =>
    withSpool(async (spool) => {
      const exp = await legacyExport(layers);
      assert.deepEqual(predictV1Ids(exp.diffIds), exp.dirs.slice(0, 3));
      const { open, counter } = opener(exp.archive);
      const reader = new EngineExportReader({ open, source: 'test image', imageId: exp.id, diffIds: exp.diffIds, spoolDirectory: spool });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(counter.bytes < exp.archive.length - MiB, `held at the first layer (${counter.bytes} of ${exp.archive.length})`);
      const wanted = [exp.diffIds[3] ?? '', exp.diffIds[1] ?? ''];
      const got = await collect(reader, wanted);
      assert.deepEqual([...got.entries()].sort(), wanted.map((d) => [d, d]).sort());
      const config = await reader.config;
      assert.equal(config.digest, exp.id);
      assert.deepEqual(config.bytes, exp.config);
      await reader.close();
      assert.equal(counter.opens, 1, 'one export');
    }));

  void test('a daemon not in UTC: every directory recognised from its own json, nothing spooled', () =>
    withSpool(async (spool) => {
      const exp = await legacyExport(layers, { created: '"1970-01-01T01:00:00+01:00"' });
      assert.notDeepEqual(predictV1Ids(exp.diffIds), exp.dirs.slice(0, 3));
      const { open, counter } = opener(exp.archive);
      const reader = new EngineExportReader({ open, source: 'test image', imageId: exp.id, diffIds: exp.diffIds, spoolDirectory: spool });
      const got = await collect(reader, exp.diffIds);
      assert.equal(got.size, 4);
      for (const [diffId, digest] of got) assert.equal(digest, diffId);
      await reader.config;
      await reader.close();
      assert.equal(counter.opens, 1);
    }));

  void test('nothing names the directories: each layer.tar is hashed as it spools, and matched by its diff_id', () =>
    withSpool(async (spool) => {
      const exp = await legacyExport(layers, { created: '"1970-01-01T01:00:00+01:00"', garbleJson: true });
      const { open } = opener(exp.archive);
      const reader = new EngineExportReader({ open, source: 'test image', imageId: exp.id, diffIds: exp.diffIds, spoolDirectory: spool });
      const wanted = [exp.diffIds[0] ?? '', exp.diffIds[3] ?? ''];
      const got = await collect(reader, wanted);
      assert.deepEqual([...got.entries()].sort(), wanted.map((d) => [d, d]).sort());
      await reader.close();
    }));

  void test('a predicted name holding another layer is an error, never a wrong layer', () =>
    withSpool(async (spool) => {
      const exp = await legacyExport(layers, { swap: true });
      const { open } = opener(exp.archive);
      const reader = new EngineExportReader({ open, source: 'test image', imageId: exp.id, diffIds: exp.diffIds, spoolDirectory: spool });
      await assert.rejects(collect(reader, [exp.diffIds[0] ?? '']), (error: unknown) => error instanceof ImageSourceError && error.code === 'DIFF_ID_MISMATCH' && !error.message.includes('\n'));
      await reader.close();
    }));

  void test('no layer wanted (skipLayers): the config only, however far it is', () =>
    withSpool(async (spool) => {
      const exp = await legacyExport(layers);
      const { open } = opener(exp.archive);
      const reader = new EngineExportReader({ open, source: 'test image', imageId: exp.id, diffIds: exp.diffIds, spoolDirectory: spool });
      reader.skipLayers();
      assert.deepEqual((await reader.config).bytes, exp.config);
      await reader.close();
    }));

  void test('Docker >= 25 (blobs/sha256/<diff_id>): one pass that stops after the last wanted entry', () =>
    withSpool(async (spool) => {
      const { diffIds, config, id } = imageOf(layers);
      const entries: Entry[] = [
        { name: 'blobs', type: 'directory' },
        { name: 'blobs/sha256', type: 'directory' },
        ...layers.map((l, i) => ({ name: `blobs/sha256/${(diffIds[i] ?? '').slice(7)}`, body: l })),
        { name: `blobs/sha256/${id.slice(7)}`, body: config },
        { name: 'index.json', body: Buffer.from('{"schemaVersion":2,"manifests":[]}') },
        { name: 'manifest.json', body: Buffer.from(JSON.stringify([{ Config: `blobs/sha256/${id.slice(7)}`, RepoTags: [], Layers: diffIds.map((d) => `blobs/sha256/${d.slice(7)}`) }])) },
        { name: 'oci-layout', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      ];
      const archive = await tarOf(entries);
      // The entry the read must reach: the later of the config and the wanted layer.
      const order = [...entries].filter((e) => e.type === undefined).map((e) => e.name).sort();
      const wanted = [...diffIds].sort()[0] ?? '';
      const last = Math.max(order.indexOf(`blobs/sha256/${wanted.slice(7)}`), order.indexOf(`blobs/sha256/${id.slice(7)}`));
      const { open, counter } = opener(archive);
      const reader = new EngineExportReader({ open, source: 'test image', imageId: id, diffIds, spoolDirectory: spool });
      const got = await collect(reader, [wanted]);
      assert.equal(got.get(wanted), wanted);
      assert.equal((await reader.config).digest, id);
      await reader.close();
      const after = entries.filter((e) => e.body !== undefined && order.indexOf(e.name) > last).reduce((sum, e) => sum + (e.body?.length ?? 0), 0);
      assert.ok(counter.bytes <= archive.length - after + 128 * 1024, `stopped after the last wanted entry: read ${counter.bytes} of ${archive.length}, ${after} bytes come after it`);
    }));

  void test('containerd image store (the id names a manifest): UnknownExportLayout, for the two-pass reader', () =>
    withSpool(async (spool) => {
      const { diffIds, config } = imageOf(layers.slice(0, 1));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${sha(config)}`, size: config.length }, layers: [] }));
      const id = `sha256:${sha(manifest)}`;
      const archive = await tarOf([
        { name: `blobs/sha256/${id.slice(7)}`, body: manifest },
        { name: `blobs/sha256/${sha(config)}`, body: config },
      ]);
      const reader = new EngineExportReader({ open: opener(archive).open, source: 'test image', imageId: id, diffIds, spoolDirectory: spool });
      const reading = reader.readLayers(diffIds, async (_d, s) => {
        for await (const chunk of s) void chunk;
      });
      await assert.rejects(reader.config, UnknownExportLayout);
      await assert.rejects(reading, UnknownExportLayout);
      await reader.close();
    }));

  void test('a layer under no name the reader knows: UnknownExportLayout', () =>
    withSpool(async (spool) => {
      const exp = await legacyExport(layers.slice(0, 2));
      const other = imageOf([...layers.slice(0, 1), layerBytes(9, 10)]);
      const reader = new EngineExportReader({ open: opener(exp.archive).open, source: 'test image', imageId: exp.id, diffIds: exp.diffIds, spoolDirectory: spool });
      await assert.rejects(reader.readLayers([other.diffIds[1] ?? ''], () => Promise.resolve()), UnknownExportLayout, 'for the two-pass reader, which says what is missing');
      await reader.close();
    }));
});
