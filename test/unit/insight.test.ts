// Layer insight core: per-layer changes (whiteouts, opaque dirs), dive's efficiency and wasted
// bytes (figures worked out by hand from dive/filetree/efficiency.go), why-new diffs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEntryPath, layerChanges, type LayerEntry } from '../../server/src/insight/layerFiles';
import { imageEfficiency, layerLeaves } from '../../server/src/insight/efficiency';
import { describeWhyNew, whyNew, type LayerSummary } from '../../server/src/insight/whyNew';
import { buildLayerReport, gateBreaches, parseFraction, parseSize } from '../../server/src/insight/layerReport';

const dir = (path: string): LayerEntry => ({ path, kind: 'directory', size: 0 });
const file = (path: string, size: number, digest?: string): LayerEntry => ({ path, kind: 'file', size, ...(digest ? { digest } : {}) });

test('cleanEntryPath: as Go path.Clean without the leading slash', () => {
  assert.equal(cleanEntryPath('./app/'), 'app');
  assert.equal(cleanEntryPath('/a//b/./c'), 'a/b/c');
  assert.equal(cleanEntryPath('a/../b'), 'b');
  assert.equal(cleanEntryPath('./'), '');
});

test('layerChanges: added, changed, removed by whiteout and by an opaque directory', () => {
  const base = [dir('etc'), file('etc/a', 10), file('etc/b', 20), dir('var'), dir('var/lib'), file('var/lib/x', 5), file('var/lib/y', 6)];
  const second = [dir('etc'), file('etc/a', 11), file('etc/.wh.b', 0), file('new', 3)];
  const third = [dir('var'), dir('var/lib'), file('var/lib/.wh..wh..opq', 0), file('var/lib/z', 7)];
  const [c1, c2, c3] = layerChanges([base, second, third]);
  assert.equal(c1?.filter((c) => c.change === 'added').length, 7);
  assert.deepEqual(c2, [
    { path: 'etc/b', change: 'removed', kind: 'file', size: 20 },
    { path: 'etc/a', change: 'changed', kind: 'file', size: 11 },
    { path: 'new', change: 'added', kind: 'file', size: 3 },
  ]);
  assert.deepEqual(c3, [
    { path: 'var/lib/x', change: 'removed', kind: 'file', size: 5 },
    { path: 'var/lib/y', change: 'removed', kind: 'file', size: 6 },
    { path: 'var/lib/z', change: 'added', kind: 'file', size: 7 },
  ]);
});

test('layerChanges: a whited-out directory is one removal carrying every byte below it', () => {
  const [, second] = layerChanges([[dir('d'), file('d/a', 100), dir('d/e'), file('d/e/b', 50)], [file('.wh.d', 0)]]);
  assert.deepEqual(second, [{ path: 'd', change: 'removed', kind: 'directory', size: 150 }]);
});

test('layerLeaves: only leaves; whiteouts without prefix; opaque markers dropped, their dir an empty leaf', () => {
  const leaves = layerLeaves([dir('a'), file('a/x', 4), dir('b'), file('b/.wh..wh..opq', 0), file('.wh.c', 0)]);
  assert.deepEqual(
    leaves.map((l) => [l.path, l.size, l.whiteout]).sort(),
    [['a/x', 4, false], ['b', 0, false], ['c', 0, true]].sort(),
  );
});

test('efficiency: a file written in one layer and deleted in the next is wasted (dive)', () => {
  // dive: /big seen twice: 1000 (layer 2) + 0 (whiteout of a file) → cumulative 1000, min 0.
  const base = [dir('bin'), file('bin/sh', 500)];
  const write = [file('big', 1000)];
  const remove = [file('.wh.big', 0)];
  const result = imageEfficiency([base, write, remove]);
  assert.equal(result.wastedBytes, 1000);
  assert.deepEqual(result.inefficiencies, [{ path: 'big', cumulativeSize: 1000, occurrences: 2 }]);
  // Σmin = bin/sh 500 + big 0 = 500; Σcumulative = 500 + 1000 = 1500. (bin is not a leaf.)
  assert.equal(result.efficiency, 500 / 1500);
  assert.equal(result.userSizeBytes, 1000);
  assert.equal(result.sizeBytes, 1500);
  assert.equal(result.wastedUserPercent, 1);
  assert.deepEqual(result.supersededBytes, [0, 1000, 0]);
});

test('efficiency: an overwritten file counts both copies, as dive does', () => {
  const result = imageEfficiency([[file('a', 100)], [file('a', 300)]]);
  assert.equal(result.wastedBytes, 400);
  assert.equal(result.efficiency, 100 / 400);
  assert.deepEqual(result.supersededBytes, [100, 0]);
});

test('efficiency: a whited-out directory counts every byte below it in the stacked layers', () => {
  const result = imageEfficiency([[dir('d'), file('d/a', 100), file('d/b', 50)], [file('d/a', 10)], [file('.wh.d', 0)]]);
  // d/a: 100 + 10 (two layers); d: whiteout of a dir → 0 + 10 + 50 = 60, seen once (leaf "d"
  // was not a leaf of layer 1, which had children) → not an inefficiency.
  assert.equal(result.wastedBytes, 110);
  assert.deepEqual(result.inefficiencies.map((i) => i.path), ['d/a']);
  assert.equal(result.efficiency, (10 + 50 + 60) / (110 + 50 + 60));
});

test('efficiency: nothing seen is 100 %; one layer has no user bytes', () => {
  assert.equal(imageEfficiency([]).efficiency, 1);
  assert.equal(imageEfficiency([[file('a', 1)]]).wastedUserPercent, 0);
});

const layer = (diffId: string, createdBy: string, entries?: LayerEntry[]): LayerSummary => ({ diffId, createdBy, ...(entries ? { entries } : {}) });

test('whyNew: the first differing layer, its changed files, the layers rebuilt after it', () => {
  const previous = [layer('b', 'base'), layer('c1', 'COPY file:1 in /app', [dir('app'), file('app/a.py', 10, 'x'), file('app/README.md', 5, 'r'), file('app/old', 1)]), layer('r1', '/bin/sh -c make'), layer('r2', '/bin/sh -c true')];
  const current = [layer('b', 'base'), layer('c2', 'COPY file:2 in /app', [dir('app'), file('app/a.py', 10, 'y'), file('app/README.md', 5, 'r'), file('app/new', 1)]), layer('r3', '/bin/sh -c make'), layer('r2', '/bin/sh -c true')];
  const why = whyNew(current, previous);
  assert.equal(why.firstDifferent, 1);
  assert.deepEqual(why.newLayers, [1, 2]);
  assert.deepEqual(why.files, [
    { path: 'app/a.py', change: 'changed' },
    { path: 'app/new', change: 'added' },
    { path: 'app/old', change: 'removed' },
  ]);
  assert.equal(
    describeWhyNew(why, current, 'app:previous'),
    'layer 2 (COPY file:2 in /app) is new against app:previous: 3 files differ (app/a.py, app/new added, app/old removed); layer 3 rebuilt after it',
  );
});

test('whyNew: the same layers say so', () => {
  const layers = [layer('a', 'x'), layer('b', 'y')];
  const why = whyNew(layers, layers);
  assert.equal(why.firstDifferent, undefined);
  assert.equal(describeWhyNew(why, layers, 'ref'), 'every layer is the same as in ref');
});

test('parseSize and parseFraction: the gate arguments', () => {
  assert.equal(parseSize('1000'), 1000);
  assert.equal(parseSize('50MB'), 50_000_000);
  assert.equal(parseSize('1.5 kB'), 1500);
  assert.equal(parseSize('2MiB'), 2 * 1024 * 1024);
  assert.equal(parseSize('lots'), undefined);
  assert.equal(parseFraction('95%'), 0.95);
  assert.equal(parseFraction('0.9'), 0.9);
  assert.equal(parseFraction('120%'), undefined);
});

test('gateBreaches: one line per breach, none when within', () => {
  const report = buildLayerReport('img', [layer('a', 'base', [file('bin', 100)]), layer('b', 'RUN w', [file('x', 50)]), layer('c', 'RUN rm', [file('.wh.x', 0)])]);
  assert.equal(report.efficiency.wastedBytes, 50);
  assert.deepEqual(gateBreaches(report, { maxWastedBytes: 100, maxUpload: 1000, minEfficiency: 0.5 }), []);
  assert.deepEqual(gateBreaches(report, { maxWastedBytes: 10, maxWastedFraction: 0.5, minEfficiency: 0.9, maxUpload: 100 }), [
    'upload 150 B (150 bytes in 3 layers; uncompressed tar bytes where the compressed size is unknown) is over --max-upload 100 B',
    'wasted 50 B (50 bytes) is over --max-wasted 10 B',
    'wasted 100.00 % of the bytes added over the first layer is over --max-wasted 50.00 %',
    'efficiency 66.67 % is under --min-efficiency 90.00 %',
  ]);
});
