// The layer panel reads base layers only when asked: opening it reads the Dockerfile's own layers
// (in one pass), a base layer answers what reading it costs, the confirmed download comes from the
// registry blob (verified against the diff_id) or, with no registry known, from the engine's
// export; efficiency says which layers it covers; a pushed tag that does not answer in its budget
// leaves the panel with the previous build. Fakes for the engine read and the registry client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { tarBytes as layerTar } from '../bed/tarBytes';
import { LayerInsight, type ReadImage } from '../../server/src/lsp/layerInsight';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import { defaultSettings } from '../../server/src/analysis/settings';
import { parseReference } from '../../server/src/core/reference';
import { clearRegistryLayerFiles } from '../../server/src/insight/registryLayerFiles';
import type { DocumentView } from '../../server/src/analysis/documentView';
import type { LayerEntry } from '../../server/src/insight/layerFiles';
import type { RegistryClient } from '../../server/src/registry/registryClient';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const file = (path: string, size: number): LayerEntry => ({ path, kind: 'file', size });

const dockerfile = 'FROM registry.example/library/base:1\nRUN echo hi > /a\nCOPY app /app\n';
const uri = 'file:///ctx/Dockerfile';

async function fixture() {
  const baseTar = await layerTar({ 'bin/sh': 'x'.repeat(1000), 'a': 'old' });
  const baseBlob = gzipSync(baseTar);
  const layers = [
    { diffId: sha(baseTar), createdBy: 'ADD rootfs.tar /', size: 1536, entries: [file('bin', 0), file('bin/sh', 1000), file('a', 3)] },
    { diffId: 'sha256:run', createdBy: '/bin/sh -c echo hi > /a', size: 3, entries: [file('a', 3)] },
    { diffId: 'sha256:copy', createdBy: 'COPY dir:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in /app ', size: 10, entries: [file('app/main.py', 10)] },
  ];
  const reads: string[][] = [];
  const readImage: ReadImage = (_spec, _env, files) => {
    const wants = (d: string, i: number) => (typeof files === 'boolean' ? files : typeof files === 'function' ? files(d, i, layers) : files.has(d));
    reads.push(layers.filter((l, i) => wants(l.diffId, i)).map((l) => l.diffId));
    return Promise.resolve({ description: 'engine image app:1 (sha256:111)', layers: layers.map(({ entries, ...l }, i) => (wants(l.diffId, i) ? { ...l, entries } : l)) });
  };
  return { baseTar, baseBlob, layers, reads, readImage };
}

function documentView(blobDigest: string, size: number, status: 'upload' | 'in-target' = 'upload'): DocumentView {
  return {
    target: { ref: parseReference('registry.example/team/app:1'), text: 'registry.example/team/app:1' },
    stages: [{
      stage: { base: { kind: 'image', ref: parseReference('registry.example/library/base:1'), text: 'registry.example/library/base:1' } },
      label: 'base:1',
      inTargetImage: true,
      base: { state: 'known', digest: 'sha256:manifest', rows: [{ digest: blobDigest, compressedBytes: size, status }], compressedBytes: size, checkedAt: 0, stale: false },
    }],
    layers: [],
    totals: { uploadBytes: 0, totalBytes: size, unknownLayers: 0 },
    offline: false,
  } as unknown as DocumentView;
}

function workspace(client?: Partial<RegistryClient>) {
  return {
    trusted: true,
    documentSettings: () => ({ settings: defaultSettings, setting: { dockerfile: 'Dockerfile', image: 'app:1' } }),
    ...(client ? { registryClient: () => client as RegistryClient } : {}),
  } as unknown as ConstructorParameters<typeof LayerInsight>[0];
}

void test('opening the panel reads only the Dockerfile’s layers; efficiency says it covers those', async () => {
  const { reads, readImage } = await fixture();
  const insight = new LayerInsight(workspace(), readImage, {});
  const view = await insight.view(uri, analyzeDockerfile(dockerfile));
  assert.deepEqual(reads, [['sha256:run', 'sha256:copy']]);
  assert.deepEqual(view.rows.map((r) => [r.group, r.files]), [
    ['base', 'files not read yet: open the layer to list them'],
    ['Dockerfile', '1 added'],
    ['Dockerfile', '1 added'],
  ]);
  // The base row's size comes from the engine's history, not from its tar.
  assert.equal(view.rows[0]?.sizes, '1.5 kB uncompressed · compressed size unknown until pushed');
  assert.equal(view.totals[0], 'Efficiency: computed once every layer is read, as dive needs them all (1 layer not opened yet)');
  assert.match(view.totals[1] ?? '', /^Wasted at least .* in the 2 layers read \(files overwritten or removed later\)$/);
  const files = await insight.files(uri, 2);
  assert.match(files.summary, /1 base layer beneath not opened/);
});

void test('a base layer offers its registry blob with the download size, then lists it and recomputes efficiency', async () => {
  clearRegistryLayerFiles();
  const { baseBlob, reads, readImage } = await fixture();
  const opened: string[] = [];
  const client = { openBlob: (repo: { registry: string; repository: string }, digest: string) => { opened.push(`${repo.registry}/${repo.repository}@${digest}`); return Promise.resolve(Readable.from([baseBlob])); } };
  const insight = new LayerInsight(workspace(client), readImage, {});
  const blobDigest = sha(baseBlob);
  const before = await insight.view(uri, analyzeDockerfile(dockerfile), documentView(blobDigest, 12_300_000));
  assert.match(before.totals[0] ?? '', /1 layer not opened/);
  const offer = await insight.files(uri, 0);
  assert.equal(offer.summary, `Base layer: its files come from the registry blob ${blobDigest.slice(0, 19)}… in registry.example/library/base (12.3 MB to download).`);
  assert.equal(offer.offer, 'List files');
  assert.deepEqual(offer.files, []);
  assert.deepEqual(opened, [], 'nothing downloaded before the user confirms');
  const read = await insight.download(uri, 0);
  assert.deepEqual(opened, [`registry.example/library/base@${blobDigest}`]);
  assert.deepEqual(read.files.map((f) => f.path), ['a', 'bin/sh']);
  assert.equal(read.offer, undefined);
  // Every layer read now: dive's figures over the whole image (a, written twice, is wasted).
  assert.equal(read.view?.totals[0], 'Efficiency 99.70 % (as dive computes it)');
  assert.equal(read.view?.rows[0]?.files, '2 added');
  assert.deepEqual(reads.length, 1, 'the engine export was not read for the base layer');
  // Opened again: known, no second download.
  assert.equal((await insight.files(uri, 0)).files.length, 2);
  assert.equal(opened.length, 1);
});

void test('a layer the target holds is read from the target repository; a blob that is not the layer is refused', async () => {
  clearRegistryLayerFiles();
  const { readImage } = await fixture();
  const other = gzipSync(await layerTar({ 'etc/other': 'o' }));
  const opened: string[] = [];
  const client = { openBlob: (repo: { registry: string; repository: string }) => { opened.push(`${repo.registry}/${repo.repository}`); return Promise.resolve(Readable.from([other])); } };
  const insight = new LayerInsight(workspace(client), readImage, {});
  await insight.view(uri, analyzeDockerfile(dockerfile), documentView(sha(other), 50, 'in-target'));
  const read = await insight.download(uri, 0);
  assert.deepEqual(opened, ['registry.example/team/app']);
  assert.match(read.summary, /Reading it failed: the registry blob sha256:.* is not this layer .*the base moved since the build\.$/);
  assert.equal(read.offer, 'List files');
  assert.deepEqual(read.files, []);
});

void test('a cancelled download says so and lists nothing', async () => {
  clearRegistryLayerFiles();
  const { baseBlob, readImage } = await fixture();
  const controller = new AbortController();
  const client = {
    openBlob: (_repo: unknown, _digest: string, options: { signal?: AbortSignal }) => new Promise<Readable>((_, reject) => {
      if (options.signal?.aborted) reject(new Error('aborted'));
      options.signal?.addEventListener('abort', () => reject(new Error('aborted')));
    }),
  };
  const insight = new LayerInsight(workspace(client), readImage, {});
  await insight.view(uri, analyzeDockerfile(dockerfile), documentView(sha(baseBlob), 10));
  const reading = insight.download(uri, 0, controller.signal);
  controller.abort();
  const read = await reading;
  assert.match(read.summary, /Reading it failed: cancelled\.$/);
  assert.deepEqual(read.files, []);
});

void test('with no registry known to hold it, a base layer is offered from the engine export, saying how much that reads', async () => {
  const { reads, readImage } = await fixture();
  const insight = new LayerInsight(workspace(), readImage, {});
  await insight.view(uri, analyzeDockerfile(dockerfile));
  const offer = await insight.files(uri, 0);
  assert.equal(offer.summary, 'Base layer: no registry is known to hold it (a base built locally, or not checked yet); its files can be read from the engine\'s export of the image (reads this layer 1.5 kB, up to the image\'s 1.5 kB uncompressed).');
  assert.equal(offer.offer, 'Read from the engine');
  const read = await insight.download(uri, 0);
  assert.equal(reads.length, 2);
  assert.equal(reads[1]?.length, 1, 'only the base layer is read from the export');
  assert.equal(read.files.length, 3);
  assert.equal(read.view?.rows[0]?.files, '3 added');
});

void test('a pushed tag that does not answer within its budget leaves the panel to the previous build, and says so', async () => {
  const { readImage } = await fixture();
  let heads = 0;
  const client = { headManifest: () => { heads++; return new Promise<never>(() => undefined); } };
  const ws = {
    ...workspace(client),
    documentSettings: () => ({ settings: defaultSettings, setting: { dockerfile: 'Dockerfile', image: 'app:1' }, target: parseReference('registry.example/team/app:1') }),
  } as unknown as ConstructorParameters<typeof LayerInsight>[0];
  let description = 'engine image app:1 (sha256:111)';
  const rebuilt: ReadImage = async (...args) => ({ ...(await readImage(...args)), description });
  const insight = new LayerInsight(ws, rebuilt, {}, { pushedTagBudgetMs: 100 });
  const started = Date.now();
  const first = await insight.view(uri, analyzeDockerfile(dockerfile));
  assert.ok(Date.now() - started < 2000, 'the panel does not wait for the registry');
  assert.equal(heads, 1);
  assert.ok(first.totals.includes('The pushed tag registry.example/team/app:1 could not be read (no answer within 100 ms): no comparison shown.'), first.totals.join('\n'));
  description = 'engine image app:1 (sha256:222)';
  const second = await insight.view(uri, analyzeDockerfile(dockerfile));
  assert.ok(second.totals.includes('The pushed tag registry.example/team/app:1 could not be read (no answer within 100 ms): compared with the previous build instead.'), second.totals.join('\n'));
  assert.equal(second.rows[2]?.status, 'same as the previous build');
});

void test('a workspace no longer trusted reads no base layer', async () => {
  const { reads, readImage } = await fixture();
  const ws = { ...workspace(), trusted: true };
  const insight = new LayerInsight(ws, readImage, {});
  await insight.view(uri, analyzeDockerfile(dockerfile));
  ws.trusted = false;
  const read = await insight.download(uri, 0);
  assert.deepEqual(read.files, []);
  assert.equal(reads.length, 1, 'no export read for the base layer');
});
