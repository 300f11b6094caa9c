// The panel's rows and file lists as the server words them; layer → Dockerfile line pairing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLayerReport } from '../../server/src/insight/layerReport';
import { filesView, insightView, layerLines } from '../../server/src/insight/panelRows';
import type { Instruction } from '../../server/src/analysis/types';
import type { LayerEntry } from '../../server/src/insight/layerFiles';
import type { DocumentView } from '../../server/src/analysis/documentView';

const file = (path: string, size: number): LayerEntry => ({ path, kind: 'file', size });
const report = buildLayerReport('app:1', [
  { diffId: 'a', createdBy: 'ADD rootfs /', entries: [file('bin/sh', 1000)] },
  { diffId: 'b', createdBy: '/bin/sh -c #(nop) COPY dir:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in /app ', entries: [file('app/a.py', 500), file('app/b.py', 10), file('app/zz/c', 1)] },
  { diffId: 'c', createdBy: '/bin/sh -c rm /app/a.py', entries: [file('app/.wh.a.py', 0)] },
]);
const instr = (keyword: string, line: number) => ({ keyword, line }) as unknown as Instruction;

test('layerLines: layer-making instructions paired from the end while kinds agree', () => {
  assert.deepEqual(layerLines(report, [instr('FROM', 0), instr('COPY', 2), instr('RUN', 4)]), [undefined, 2, 4]);
  // A RUN where the layer is a COPY: pairing stops there.
  assert.deepEqual(layerLines(report, [instr('RUN', 1), instr('RUN', 4)]), [undefined, undefined, 4]);
});

test('insightView: sizes labelled, waste, groups, totals', () => {
  const view = insightView('Layers of app:1', report, [undefined, 2, 4]);
  assert.deepEqual(view.rows.map((r) => [r.group, r.instruction, r.sizes, r.files, r.waste]), [
    ['base', 'ADD rootfs /', '1.0 kB uncompressed · compressed size unknown until pushed', '1 added', ''],
    ['Dockerfile', 'COPY dir:0123456789ab… in /app', '511 B uncompressed · compressed size unknown until pushed', '3 added', 'wastes 500 B (overwritten or removed later)'],
    ['Dockerfile', 'RUN rm /app/a.py', '0 B uncompressed · compressed size unknown until pushed', '1 removed', ''],
  ]);
  assert.equal(view.rows[0]?.bar, 1);
  // Σ smallest 1000 + 0 + 10 + 1 = 1011 over Σ cumulative 1000 + 500 + 10 + 1 = 1511.
  assert.deepEqual(view.totals.slice(0, 2), ['Efficiency 66.91 % (as dive computes it)', 'Wasted 500 B: 97.85 % of the 511 B added over the first layer']);
});

test('filesView: a sorted tree with depth, a filter, a limit', () => {
  const all = filesView(report, 1);
  assert.equal(all.summary, '3 files changed by this layer');
  assert.deepEqual(all.files.map((f) => [f.name, f.depth, f.size]), [['a.py', 1, '500 B'], ['b.py', 1, '10 B'], ['c', 2, '1 B']]);
  assert.equal(filesView(report, 1, 'B.P').summary, '1 of 3 files match "B.P"');
  assert.equal(filesView(report, 1, '', 2).summary, '3 files changed by this layer; the first 2 shown');
  assert.deepEqual(filesView(report, 2).files.map((f) => [f.path, f.change, f.size]), [['app/a.py', 'removed', '500 B']]);
});

test('layerLines: a WORKDIR layer pairs with its line; a WORKDIR without a layer is skipped', () => {
  const withWorkdir = buildLayerReport('app:2', [
    { diffId: 'a', createdBy: 'ADD rootfs /', entries: [] },
    { diffId: 'w', createdBy: '/bin/sh -c #(nop) WORKDIR /app', entries: [] },
    { diffId: 'c', createdBy: '/bin/sh -c #(nop) COPY dir:x in /app/', entries: [] },
    { diffId: 'r', createdBy: '/bin/sh -c echo built', entries: [] },
  ]);
  assert.deepEqual(layerLines(withWorkdir, [instr('FROM', 0), instr('WORKDIR', 1), instr('COPY', 2), instr('RUN', 3)]), [undefined, 1, 2, 3]);
  assert.deepEqual(layerLines(report, [instr('FROM', 0), instr('COPY', 2), instr('WORKDIR', 3), instr('RUN', 4)]), [undefined, 2, 4]);
});

test('registryStatuses: base rows for the first layers, built layers by their line; the push total', () => {
  const document = {
    target: { ref: { registry: 'r.example', repository: 'team/app' }, text: 'r.example/team/app:1' },
    stages: [{ inTargetImage: true, base: { state: 'known', rows: [{ digest: 'x', compressedBytes: 1, status: 'mountable', mountFrom: 'r.example/library/base' }] } }],
    layers: [{ instruction: { line: 2 }, inTarget: true }, { instruction: { line: 4 }, inTarget: false }],
    totals: { uploadBytes: 1500, totalBytes: 9000, unknownLayers: 0 },
  } as unknown as DocumentView;
  // The pushed config lists layer b, not c (a rebuild): c will upload.
  const view = insightView('t', report, [undefined, 2, 4], document, ['a', 'b']);
  assert.deepEqual(view.rows.map((r) => r.registry), ['mountable from r.example/library/base', 'in r.example/team/app (unchanged since the pushed tag)', 'will upload']);
  assert.deepEqual(insightView('t', report, [], document).rows.map((r) => r.registry), ['mountable from r.example/library/base', '', '']);
  assert.equal(view.totals[2], 'A push to r.example/team/app:1 would upload 1.5 kB of 9.0 kB compressed');
});

test('insightView: layers not read are said so, and dive’s figures say which layers they cover', () => {
  const partial = buildLayerReport('app:1', [
    { diffId: 'a', createdBy: 'ADD rootfs /', size: 2_500_000 },
    { diffId: 'b', createdBy: '/bin/sh -c echo', entries: [file('x', 5)] },
  ]);
  const view = insightView('Layers of app:1', partial, [undefined, 1], undefined, undefined, { layers: [0], pushedTag: 'The pushed tag r/app:1 could not be read (no answer within 3 s): no comparison shown.' });
  assert.deepEqual(view.rows.map((r) => [r.files, r.sizes]), [
    ['files not read yet: open the layer to list them', '2.5 MB uncompressed · compressed size unknown until pushed'],
    ['1 added', '5 B uncompressed · compressed size unknown until pushed'],
  ]);
  assert.equal(view.totals[0], 'Efficiency: computed once every layer is read, as dive needs them all (1 layer not opened yet)');
  assert.equal(view.totals[1], 'Wasted at least 0 B in the 1 layer read (files overwritten or removed later)');
  assert.ok(view.totals.includes('The pushed tag r/app:1 could not be read (no answer within 3 s): no comparison shown.'));
  assert.equal(filesView(partial, 1, '', 2000, 1).summary, '1 file changed by this layer (compared with the layers read: 1 base layer beneath not opened, so "added" may mean changed)');
});
