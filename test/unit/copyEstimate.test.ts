// COPY source resolution and layer size estimates on hand-made context snapshots.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  COMPRESSED_HEADER_BYTES,
  GZIP_FRAMING_BYTES,
  estimateCopy,
  normalizeSource,
  resolveCopySources,
  type ContextEntry,
  type ContextSnapshot,
} from '../../server/src/analysis/copyEstimate';

function snapshot(files: Record<string, number | Partial<ContextEntry>>): ContextSnapshot {
  const map = new Map<string, ContextEntry>();
  for (const [path, spec] of Object.entries(files)) {
    const entry: ContextEntry = typeof spec === 'number' ? { size: spec, isDirectory: false, compressedRatio: 0.5 } : { size: 0, isDirectory: false, ...spec };
    map.set(path, entry);
    // Parents, as the scanner lists them.
    for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
      const parent = path.slice(0, slash);
      if (!map.has(parent)) map.set(parent, { size: 0, isDirectory: true });
    }
  }
  return map;
}

const CONTEXT = snapshot({
  Dockerfile: 100,
  'README.md': 2000,
  'notes.txt': 300,
  'a.txt': 10,
  'b.txt': 20,
  'app/index.js': 5000,
  'app/lib/util.js': 700,
  'app/lib/data.json': 1200,
  'app/empty': { isDirectory: true },
  'data/part1.bin': 1000,
  'data/part2.bin': 2000,
  'data/notes.txt': 50,
  'data/sub/part3.bin': 4000,
  'docs/a.txt': 1,
  'link-to-app': { isSymlink: true, size: 3 },
  'archive.tar.gz': { size: 4096, isArchive: true, compressedRatio: 1 },
});

const destinations = (sources: string[]) => [...resolveCopySources(CONTEXT, sources).files.keys()].sort();

void describe('COPY sources', () => {
  void test('are normalised like the builder does (scoped to the context)', () => {
    assert.equal(normalizeSource('/app'), 'app');
    assert.equal(normalizeSource('./app/'), 'app');
    assert.equal(normalizeSource('.'), '.');
    assert.equal(normalizeSource('./'), '.');
    assert.equal(normalizeSource(''), '.');
    assert.equal(normalizeSource('../app'), 'app');
    assert.equal(normalizeSource('app/../../data'), 'data');
    assert.equal(normalizeSource('app//lib/./util.js'), 'app/lib/util.js');
  });

  void test('a directory copies its contents recursively, not itself', () => {
    const selection = resolveCopySources(CONTEXT, ['app']);
    assert.deepEqual([...selection.files.keys()].sort(), ['index.js', 'lib/data.json', 'lib/util.js']);
    assert.deepEqual([...selection.directories].sort(), ['empty', 'lib']);
    assert.deepEqual(destinations(['./app/']), destinations(['app']));
    assert.deepEqual(destinations(['/app']), destinations(['app']));
  });

  void test('. copies the whole context', () => {
    const selection = resolveCopySources(CONTEXT, ['.']);
    assert.equal(selection.files.size, [...CONTEXT.values()].filter((e) => !e.isDirectory).length);
    assert.ok(selection.files.has('Dockerfile'));
    assert.ok(selection.directories.has('app/lib'));
  });

  void test('a file copies the file under its base name', () => {
    assert.deepEqual(destinations(['app/lib/util.js']), ['util.js']);
    assert.deepEqual(destinations(['a.txt', 'data/part1.bin']), ['a.txt', 'part1.bin']);
  });

  void test('wildcards: filepath.Match against every path, * never crosses /', () => {
    assert.deepEqual(destinations(['*.txt']), ['a.txt', 'b.txt', 'notes.txt']);
    assert.deepEqual(destinations(['data/*.bin']), ['part1.bin', 'part2.bin']);
    assert.deepEqual(destinations(['*/*.txt']), ['a.txt', 'notes.txt']); // data/notes.txt, docs/a.txt
    assert.deepEqual(destinations(['?.txt']), ['a.txt', 'b.txt']);
    assert.deepEqual(destinations(['[ab].txt']), ['a.txt', 'b.txt']);
    assert.deepEqual(destinations(['[^a].txt']), ['b.txt']);
    assert.deepEqual(destinations(['./data/*.bin']), ['part1.bin', 'part2.bin']);
    // A matching directory copies its contents.
    assert.deepEqual(destinations(['ap*']), ['index.js', 'lib/data.json', 'lib/util.js']);
    // `**` is not special for COPY: it is `*` twice.
    assert.deepEqual(destinations(['**/part3.bin']), []);
  });

  void test('sources landing on the same destination make one file, the later wins', () => {
    const selection = resolveCopySources(CONTEXT, ['a.txt', 'docs/a.txt']);
    assert.equal(selection.files.size, 1);
    assert.equal(selection.files.get('a.txt'), 'docs/a.txt');
    // A directory and a directory inside it: both copies exist, at different places.
    assert.deepEqual(destinations(['app', 'app/lib']), ['data.json', 'index.js', 'lib/data.json', 'lib/util.js', 'util.js']);
  });

  void test('missing and uncertain sources', () => {
    const selection = resolveCopySources(CONTEXT, ['nope', 'no*.md', 'https://example.invalid/x.tgz', 'link-to-app', '<<EOF']);
    assert.deepEqual(selection.missing, ['nope', 'no*.md']);
    assert.deepEqual(selection.uncertain, ['https://example.invalid/x.tgz', 'link-to-app', '<<EOF']);
    assert.deepEqual(resolveCopySources(CONTEXT, ['archive.tar.gz'], { add: true }).uncertain, ['archive.tar.gz']);
    assert.deepEqual(resolveCopySources(CONTEXT, ['archive.tar.gz']).uncertain, []); // COPY never unpacks
    assert.deepEqual(resolveCopySources(CONTEXT, ['[']).missing, ['[']); // malformed pattern: matches nothing
  });
});

void describe('layer estimate', () => {
  void test('one file: content bytes, tar framing, compressed', () => {
    const e = estimateCopy(snapshot({ 'f.bin': { size: 1000, compressedRatio: 0.25 } }), ['f.bin'], { destination: '/x/' });
    assert.equal(e.files, 1);
    assert.equal(e.bytes, 1000);
    // header + data padded to 1024 + the x/ directory + the 1024-byte end marker
    assert.equal(e.tarBytes, 512 + 1024 + 512 + 1024);
    assert.equal(e.compressedBytes, Math.round(GZIP_FRAMING_BYTES + 250 + 2 * COMPRESSED_HEADER_BYTES));
    assert.equal(e.basis, 'context');
    assert.deepEqual(e.missing, []);
  });

  void test('a file copied to a file name adds only the parent directories', () => {
    const e = estimateCopy(snapshot({ 'f.bin': 512 }), ['f.bin'], { destination: '/usr/local/f.bin' });
    assert.equal(e.tarBytes, 512 + 512 + 2 * 512 + 1024); // usr/, usr/local/
  });

  void test('directories are tar entries without size; symlinks count as files of no content', () => {
    const snap = snapshot({ 'd/a': 1, 'd/sub/b': 1, 'd/l': { isSymlink: true, size: 40 } });
    const e = estimateCopy(snap, ['d'], { destination: '/d' });
    assert.equal(e.files, 3);
    assert.equal(e.bytes, 2);
    // a, sub/b, l; directories sub and the destination d; two data blocks; end marker
    assert.equal(e.tarBytes, 5 * 512 + 2 * 512 + 1024);
  });

  void test('names USTAR cannot hold cost a PAX header', () => {
    const long = `${'n'.repeat(120)}.txt`;
    const e = estimateCopy(snapshot({ [long]: 1 }), [long], { destination: '/' });
    assert.equal(e.tarBytes, 512 + 512 + 512 + 512 + 1024); // pax header + records, header, data, end
    // Over 100 bytes but splittable into USTAR's prefix and name: no PAX header.
    const f80 = 'f'.repeat(80);
    const split = estimateCopy(snapshot({ [f80]: 1 }), [f80], { destination: `/${'d'.repeat(80)}/` });
    assert.equal(split.tarBytes, 512 + 512 + 512 + 1024); // file, data, the d…/ directory, end
    // Under a 200-byte directory nothing can be split (USTAR's prefix holds 155): PAX for both.
    const deep = estimateCopy(snapshot({ f: 1 }), ['f'], { destination: `/${'d'.repeat(200)}/` });
    assert.equal(deep.tarBytes, 3 * 512 + 512 + 3 * 512 + 1024);
    const ascii = estimateCopy(snapshot({ 'short.txt': 1 }), ['short.txt'], { destination: '/' });
    assert.equal(ascii.tarBytes, 512 + 512 + 1024);
    const unicode = estimateCopy(snapshot({ 'é.txt': 1 }), ['é.txt'], { destination: '/' });
    assert.equal(unicode.tarBytes, 2 * 512 + 512 + 512 + 1024);
  });

  void test('compressed size follows each file ratio; unsampled files count as incompressible', () => {
    const snap = snapshot({ 'text.txt': { size: 1_000_000, compressedRatio: 0.2 }, 'rand.bin': { size: 1_000_000, compressedRatio: 1 }, 'unknown.dat': { size: 1_000_000 } });
    const e = estimateCopy(snap, ['text.txt', 'rand.bin', 'unknown.dat'], { destination: '/x/' });
    assert.equal(e.bytes, 3_000_000);
    assert.equal(e.compressedBytes, Math.round(GZIP_FRAMING_BYTES + 200_000 + 1_000_000 + 1_000_000 + 4 * COMPRESSED_HEADER_BYTES));
  });

  void test('basis: context, partial, unknown', () => {
    assert.equal(estimateCopy(CONTEXT, ['app', 'a.txt']).basis, 'context');
    const partial = estimateCopy(CONTEXT, ['app', 'missing.txt']);
    assert.equal(partial.basis, 'partial');
    assert.deepEqual(partial.missing, ['missing.txt']);
    assert.equal(partial.files, 3);
    assert.equal(estimateCopy(CONTEXT, ['missing.txt']).basis, 'unknown');
    assert.equal(estimateCopy(CONTEXT, []).basis, 'unknown');
    assert.equal(estimateCopy(CONTEXT, ['https://example.invalid/x'], { add: true }).basis, 'unknown');
    assert.equal(estimateCopy(CONTEXT, ['a.txt', 'https://example.invalid/x'], { add: true }).basis, 'partial');
    assert.equal(estimateCopy(CONTEXT, ['app/empty']).basis, 'context'); // an empty directory is fine
    assert.equal(estimateCopy(CONTEXT, ['app/empty']).files, 0);
  });

  void test('the whole context', () => {
    const e = estimateCopy(CONTEXT, ['.'], { destination: '/ctx' });
    const files = [...CONTEXT.values()].filter((x) => !x.isDirectory);
    assert.equal(e.files, files.length);
    assert.equal(e.bytes, files.filter((x) => !x.isSymlink).reduce((sum, x) => sum + x.size, 0));
  });
});
