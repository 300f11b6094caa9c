// Acceptance test of the COPY layer estimate against a real build on a real engine: a context
// with a .dockerignore (a big excluded directory with `!` exceptions, Docker's walk quirks, the
// Dockerfile itself excluded), several COPY instructions (a directory, a wildcard, single
// files, the whole context) of compressible text and incompressible random data, built FROM
// the busybox base by a private dockerd (legacy builder), pushed to a private registry.
// The judge: the files each layer really holds, `docker history` sizes, the layer tars and the
// gzip blobs the push produced. The .dockerignore has wildcard exceptions (issue 14): the scanner
// under the legacy builder's rules must send exactly what the engine sent; under BuildKit's rules
// (fsutil: a wildcard exception makes the walker enter excluded directories; proven by fsutil's
// own cases in test/unit/dockerignoreBuildkit.test.ts) exactly the keep files more.
import assert from 'node:assert/strict';
import { appendFile, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { estimateCopy, resolveCopySources, type ContextSnapshot, type CopyEstimate } from '../../server/src/analysis/copyEstimate';
import { ContextScanner } from '../../server/src/context/contextScanner';
import { buildImage, docker, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { seededChunks } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { startRegistry, type Registry } from '../bed/registry';

/** Deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = ('the quick layer registry manifest blob digest push pull build context copy docker image ' +
  'tag repository token scope upload session chunk retry backoff error timeout request response').split(' ');

/** Log-like text: compresses to roughly a quarter with gzip. */
function logText(seed: number, bytes: number): Buffer {
  const random = rng(seed);
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const words = Array.from({ length: 4 + Math.floor(random() * 8) }, () => WORDS[Math.floor(random() * WORDS.length)]!);
    const line = `2024-05-${String(1 + (i % 28)).padStart(2, '0')}T12:${String(i % 60).padStart(2, '0')}:00Z level=${random() < 0.9 ? 'info' : 'warn'} id=${Math.floor(random() * 1e9).toString(16)} ${words.join(' ')}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** JSON-ish text with more entropy (hex ids): compresses to roughly half. */
function jsonText(seed: number, bytes: number): Buffer {
  const random = rng(seed);
  const rows: string[] = [];
  let length = 2;
  for (let i = 0; length < bytes; i++) {
    const row = JSON.stringify({ id: i, key: Math.floor(random() * 2 ** 32).toString(16) + Math.floor(random() * 2 ** 32).toString(16), name: WORDS[Math.floor(random() * WORDS.length)], n: Math.floor(random() * 1e6) });
    rows.push(row);
    length += row.length + 2;
  }
  return Buffer.from(`[${rows.join(',\n')}]`).subarray(0, bytes);
}

function randomData(seed: string, bytes: number): Buffer {
  return Buffer.concat([...seededChunks(`context-estimate:${seed}`, bytes)]);
}

const DOCKERIGNORE = [
  '# the estimate test context',
  'big', // a big directory, never sent...
  '!big/keep', // ...except this part (the walker enters big/ because the exception starts with big/)
  '!**/keep.me', // cannot rescue big/deep/keep.me: the legacy walker never enters big/deep
  '!**/keep.txt', // nor big/x/keep.txt (BuildKit's walker would: a wildcard exception)
  '**/node_modules',
  '!**/node_modules/keep', // the legacy walker never enters web/node_modules (BuildKit's would)
  '**/*.log',
  'q', // parent-results quirk: q/b/c is sent although q/b is excluded
  '!q/b/c',
  'q/b',
  'Dockerfile', // sent to the daemon, but not visible to COPY
  '',
].join('\n');

interface CopyStep {
  sources: string[];
  destination: string;
}

const STEPS: CopyStep[] = [
  { sources: ['app'], destination: '/app' },
  { sources: ['data/*.bin'], destination: '/data/' },
  { sources: ['config.json', 'blob.dat'], destination: '/etc/app/' },
  { sources: ['big'], destination: '/big' },
  { sources: ['.'], destination: '/ctx' },
];

const DOCKERFILE = ['FROM layerlift/busybox:latest', ...STEPS.map((s) => `COPY ${s.sources.join(' ')} ${s.destination}`), ''].join('\n');

async function writeContext(root: string): Promise<void> {
  const files: Record<string, Buffer | string> = {
    '.dockerignore': DOCKERIGNORE,
    Dockerfile: DOCKERFILE,
    'config.json': jsonText(1, 900_000),
    'blob.dat': randomData('blob', 2_500_000),
    'top.log': logText(2, 300_000),
    'app/debug.log': logText(3, 400_000),
    'app/nested/deep/readme.md': logText(4, 20_000),
    // Layer names over 100 bytes: one USTAR can split into prefix + name, one it cannot (PAX).
    [`app/long/${'x'.repeat(50)}/${'y'.repeat(60)}.txt`]: 'splittable\n',
    [`app/${'z'.repeat(120)}.txt`]: 'needs a PAX header\n',
    'app/unicodé.txt': 'non-ASCII name: PAX\n',
    'data/part1.bin': randomData('part1', 1_500_000),
    'data/part2.bin': randomData('part2', 1_000_000),
    'data/notes.txt': logText(5, 200_000),
    'data/sub/part3.bin': randomData('part3', 300_000),
    'big/junk1.bin': randomData('junk1', 8_000_000),
    'big/junk2.txt': logText(6, 2_000_000),
    'big/keep/important.txt': logText(7, 250_000),
    'big/deep/keep.me': 'not sent\n',
    'big/x/keep.txt': 'not sent by the legacy builder, sent by BuildKit\n',
    'keep.txt': 'sent by both\n',
    'web/index.html': '<p>sent</p>\n',
    'web/node_modules/keep': 'not sent by the legacy builder, sent by BuildKit\n',
    'web/node_modules/pad/index.js': 'module.exports = 1;\n'.repeat(500),
    'q/a': 'excluded\n',
    'q/b/c': 'sent: parent-results quirk\n',
    'q/b/d': 'excluded\n',
  };
  for (let i = 0; i < 6; i++) files[`app/text/chapter${i}.txt`] = logText(100 + i, 450_000 + i * 20_000);
  for (let i = 0; i < 2; i++) files[`app/bin/payload${i}.bin`] = randomData(`payload${i}`, 1_000_000 + i * 250_000);
  for (let i = 0; i < 150; i++) files[`app/small/item${String(i).padStart(3, '0')}.json`] = jsonText(1000 + i, 200 + ((i * 97) % 3000));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

interface RealLayer {
  /** Compressed blob size from the manifest. */
  blobBytes: number;
  /** Uncompressed layer tar size. */
  tarBytes: number;
  /** `docker history` SIZE in bytes. */
  historyBytes: number;
  /** Sum of regular file sizes in the tar. */
  contentBytes: number;
  /** Non-directory entry names. */
  files: Set<string>;
}

async function listTar(data: Buffer): Promise<{ files: Set<string>; contentBytes: number }> {
  const extract = tar.extract();
  const files = new Set<string>();
  let contentBytes = 0;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      if (header.type !== 'directory') files.add(header.name.replace(/\/$/, ''));
      if (header.type === 'file') contentBytes += header.size ?? 0;
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(data);
  await done;
  return { files, contentBytes };
}

const pct = (estimate: number, real: number) => `${((estimate / real - 1) * 100).toFixed(2)}%`;

void describe('COPY layer estimate vs a real build', () => {
  let engine: DockerEngine;
  let registry: Registry;
  let context: { path: string; remove: () => Promise<void> };
  let real: RealLayer[];
  let estimates: CopyEstimate[];
  let scanner: ContextScanner;

  before(async () => {
    [engine, registry, context] = await Promise.all([startDockerEngine(), startRegistry({ auth: 'none' }), makeTempDir('context-estimate')]);
    await writeContext(context.path);
    await importBusyboxImage(engine);
    const tag = `${registry.host}/estimate/app:1`;
    await buildImage(engine, context.path, tag);
    await docker(engine, ['push', tag]);

    const manifestResponse = await fetch(`${registry.url}/v2/estimate/app/manifests/1`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(manifestResponse.status, 200);
    const manifest = (await manifestResponse.json()) as { layers: { digest: string; size: number }[] };
    // Legacy builder: one layer per COPY, after the imported busybox layer.
    assert.equal(manifest.layers.length, STEPS.length + 1);

    const history = (await docker(engine, ['history', '--no-trunc', '--human=false', '--format', '{{.Size}}\t{{.CreatedBy}}', tag])).stdout
      .trim()
      .split('\n')
      .reverse()
      .filter((line) => line.includes('COPY'))
      .map((line) => Number(line.split('\t')[0]));
    assert.equal(history.length, STEPS.length);

    real = [];
    for (let i = 0; i < STEPS.length; i++) {
      const layer = manifest.layers[i + 1]!;
      const blob = Buffer.from(await (await fetch(`${registry.url}/v2/estimate/app/blobs/${layer.digest}`)).arrayBuffer());
      assert.equal(blob.length, layer.size);
      const tarData = gunzipSync(blob);
      const listed = await listTar(tarData);
      real.push({ blobBytes: layer.size, tarBytes: tarData.length, historyBytes: history[i]!, ...listed });
    }

    scanner = new ContextScanner(context.path, { ignoreRules: 'legacy' }); // the bed's dockerd builds with the legacy builder
    const snapshot = await scanner.scan();
    estimates = STEPS.map((step) => estimateCopy(snapshot, step.sources, { destination: step.destination }));

    const rows = STEPS.map((step, i) => {
      const e = estimates[i]!;
      const r = real[i]!;
      return {
        copy: `${step.sources.join(' ')} ${step.destination}`,
        files: `${e.files}/${r.files.size}`,
        'est bytes': e.bytes,
        'history SIZE': r.historyBytes,
        'Δ size': pct(e.bytes, r.historyBytes),
        'est tar': e.tarBytes,
        'real tar': r.tarBytes,
        'Δ tar': pct(e.tarBytes, r.tarBytes),
        'est gzip': e.compressedBytes,
        'real blob': r.blobBytes,
        'Δ gzip': pct(e.compressedBytes, r.blobBytes),
      };
    });
    console.log('COPY estimate vs real layers (legacy builder, pushed gzip blobs):');
    console.table(rows);
    const stats = scanner.stats();
    console.log(`context scan: ${stats.files} files, ${stats.skippedDirectories} directories skipped, ${stats.totalMs.toFixed(0)} ms`);
  });

  after(async () => {
    await engine?.stop();
    await registry?.stop();
    await context?.remove();
  });

  void test('each layer holds exactly the files the estimate selects (COPY and .dockerignore semantics)', () => {
    const snapshot = scanner.snapshot();
    STEPS.forEach((step, i) => {
      const selection = resolveCopySources(snapshot, step.sources);
      const prefix = step.destination.replace(/^\/+/, '').replace(/\/+$/, '');
      const expected = [...selection.files.keys()].map((rel) => `${prefix}/${rel}`).sort();
      assert.deepEqual([...real[i]!.files].sort(), expected, `COPY ${step.sources.join(' ')} ${step.destination}`);
      assert.deepEqual(selection.missing, []);
    });
    // The interesting cases, spelled out.
    const ctx = real[STEPS.length - 1]!.files;
    assert.ok(ctx.has('ctx/big/keep/important.txt'), 'the ! exception re-includes big/keep');
    assert.ok(!ctx.has('ctx/big/deep/keep.me'), '!**/keep.me cannot rescue a file in a directory the legacy builder skips');
    assert.ok(!ctx.has('ctx/big/x/keep.txt'), 'big + !**/keep.txt: not sent by the legacy builder');
    assert.ok(!ctx.has('ctx/web/node_modules/keep'), '**/node_modules + !**/node_modules/keep: not sent by the legacy builder');
    assert.ok(ctx.has('ctx/keep.txt') && ctx.has('ctx/web/index.html'));
    assert.ok(!ctx.has('ctx/web/node_modules/pad/index.js'));
    assert.ok(!ctx.has('ctx/big/junk1.bin'));
    assert.ok(ctx.has('ctx/q/b/c'), 'parent-results quirk: q/b/c is sent');
    assert.ok(!ctx.has('ctx/q/b/d') && !ctx.has('ctx/q/a'));
    assert.ok(!ctx.has('ctx/Dockerfile'), 'an excluded Dockerfile is sent to the daemon but not copied');
    assert.ok(ctx.has('ctx/.dockerignore'), 'a .dockerignore that is not excluded is copied');
    assert.ok(!ctx.has('ctx/app/debug.log') && !ctx.has('ctx/top.log'), '**/*.log');
    assert.ok(!real[1]!.files.has('data/part3.bin'), 'data/*.bin does not cross directories');
  });

  void test("BuildKit's rules on the same context: exactly the files behind wildcard exceptions more", async () => {
    const buildkit = new ContextScanner(context.path, { ignoreRules: 'buildkit' });
    const snapshot = await buildkit.scan();
    const files = (snap: ContextSnapshot) => [...snap].filter(([, e]) => !e.isDirectory).map(([path]) => path);
    const legacyFiles = new Set(files(scanner.snapshot()));
    const more = files(snapshot).filter((path) => !legacyFiles.has(path)).sort();
    assert.deepEqual(more, ['big/deep/keep.me', 'big/x/keep.txt', 'web/node_modules/keep']);
    assert.ok(files(scanner.snapshot()).every((path) => snapshot.has(path)), 'BuildKit sends everything the legacy builder sends here');
    const all = estimateCopy(snapshot, ['.'], { destination: '/ctx' });
    assert.equal(all.files, real[STEPS.length - 1]!.files.size + 3);
  });

  void test('uncompressed estimate within ±5% of docker history SIZE and of the layer tar', () => {
    STEPS.forEach((step, i) => {
      const e = estimates[i]!;
      const r = real[i]!;
      const label = `COPY ${step.sources.join(' ')} ${step.destination}`;
      assert.equal(r.historyBytes, r.contentBytes, `${label}: history SIZE is the sum of the files' sizes`);
      assert.ok(Math.abs(e.bytes / r.historyBytes - 1) <= 0.05, `${label}: ${e.bytes} vs history ${r.historyBytes}`);
      assert.ok(Math.abs(e.tarBytes / r.tarBytes - 1) <= 0.05, `${label}: tar ${e.tarBytes} vs ${r.tarBytes}`);
      assert.equal(e.basis, 'context');
    });
  });

  void test('compressed estimate within ±20% of the pushed gzip blob', () => {
    STEPS.forEach((step, i) => {
      const e = estimates[i]!;
      const r = real[i]!;
      assert.ok(Math.abs(e.compressedBytes / r.blobBytes - 1) <= 0.2, `COPY ${step.sources.join(' ')} ${step.destination}: ${e.compressedBytes} vs ${r.blobBytes}`);
    });
  });
});

/** A snapshot as comparable lines: path, kind, size, and whether a ratio is known. */
function summarize(snapshot: ContextSnapshot): string[] {
  return [...snapshot]
    .map(([path, e]) => `${path} ${e.isDirectory ? 'dir' : e.isSymlink ? 'link' : 'file'} ${e.size}${!e.isDirectory && !e.isSymlink ? ` ratio:${e.compressedRatio !== undefined}` : ''}`)
    .sort();
}

void describe('ContextScanner on a real directory', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let scanner: ContextScanner;
  const write = async (rel: string, content: Buffer | string) => {
    await mkdir(dirname(join(dir.path, rel)), { recursive: true });
    await writeFile(join(dir.path, rel), content);
  };
  /** The incremental snapshot must equal what a fresh scan sees. */
  const assertLikeFreshScan = async (label: string) => {
    const fresh = await new ContextScanner(dir.path).scan();
    assert.deepEqual(summarize(scanner.snapshot()), summarize(fresh), label);
  };

  before(async () => {
    dir = await makeTempDir('context-scanner');
    await write('.dockerignore', 'node_modules\nbig\n!big/keep\nq\n!q/b/c\nq/b\n*.tmp\n');
    await write('src/a.ts', logText(1, 100_000));
    await write('src/b.ts', logText(2, 2_000));
    await write('src/c.js', 'console.log(1);\n');
    await write('img/r.bin', randomData('scanner', 200_000));
    await write('node_modules/x/index.js', 'module.exports = 1;\n');
    await write('big/junk', 'junk\n');
    await write('big/keep/k.txt', 'kept\n');
    await write('q/b/c', 'quirk\n');
    await write('q/b/d', 'excluded\n');
    await write('top.tmp', 'excluded\n');
    await symlink('src', join(dir.path, 'link'));
    scanner = new ContextScanner(dir.path);
    await scanner.scan();
  });
  after(async () => {
    await dir?.remove();
  });

  void test('scans what Docker sends, skipping excluded directories', () => {
    const snap = scanner.snapshot();
    assert.deepEqual(
      [...snap.keys()].sort(),
      ['.dockerignore', 'big', 'big/keep', 'big/keep/k.txt', 'img', 'img/r.bin', 'link', 'q', 'q/b', 'q/b/c', 'src', 'src/a.ts', 'src/b.ts', 'src/c.js'],
    );
    assert.equal(snap.get('link')?.isSymlink, true);
    assert.equal(snap.get('big')?.isDirectory, true);
    assert.ok(scanner.stats().skippedDirectories >= 1); // node_modules, never entered
  });

  void test('samples compressibility: own ratio for large files, extension ratio for the rest', () => {
    const snap = scanner.snapshot() as ReadonlyMap<string, { compressedRatio?: number; ratioSource?: string }>;
    const text = snap.get('src/a.ts')!;
    const random = snap.get('img/r.bin')!;
    assert.equal(text.ratioSource, 'file');
    assert.ok(text.compressedRatio! < 0.5, `text ratio ${text.compressedRatio}`);
    assert.equal(random.ratioSource, 'file');
    assert.ok(random.compressedRatio! > 0.99, `random ratio ${random.compressedRatio}`);
    assert.equal(snap.get('src/b.ts')!.ratioSource, 'extension');
    console.log(`sampled ratios: text ${text.compressedRatio!.toFixed(3)}, random ${random.compressedRatio!.toFixed(4)}, small .ts ${snap.get('src/b.ts')!.compressedRatio!.toFixed(3)}`);
  });

  void test('incremental updates end where a fresh scan does', async () => {
    await appendFile(join(dir.path, 'src/b.ts'), 'more text\n');
    await scanner.fileChanged('src/b.ts');
    await assertLikeFreshScan('changed file');

    await write('src/new/deeper/n.ts', 'export const n = 1;\n');
    await scanner.fileChanged('src/new'); // only the top directory is reported
    await assertLikeFreshScan('created directory');

    await unlink(join(dir.path, 'src/c.js'));
    await scanner.fileChanged('src/c.js');
    await assertLikeFreshScan('deleted file');

    await unlink(join(dir.path, 'q/b/c'));
    await scanner.fileChanged('q/b/c');
    await assertLikeFreshScan('deleted the only file sent from an excluded directory');
    assert.equal(scanner.snapshot().has('q'), false);

    await write('node_modules/y.js', 'x');
    await scanner.fileChanged('node_modules/y.js');
    await assertLikeFreshScan('file in an excluded directory');

    await rm(join(dir.path, 'src/new'), { recursive: true });
    await scanner.fileChanged('src/new');
    await assertLikeFreshScan('deleted directory');

    await unlink(join(dir.path, 'src/b.ts'));
    await write('src/b.ts/inner.ts', 'now a directory\n');
    await scanner.fileChanged('src/b.ts');
    await assertLikeFreshScan('file replaced by a directory');

    await write('big/keep/new.txt', 'also kept\n');
    await scanner.fileChanged('big/keep/new.txt');
    await write('big/other.txt', 'excluded\n');
    await scanner.fileChanged('big/other.txt');
    await assertLikeFreshScan('files below an excluded directory with an exception');

    await write('q/b/c', 'back\n');
    await scanner.fileChanged('q/b/c');
    await assertLikeFreshScan('a file sent from an excluded directory comes back');

    await write('.dockerignore', 'big\n*.tmp\n');
    await scanner.fileChanged('.dockerignore');
    await assertLikeFreshScan('.dockerignore changed');
    assert.ok(scanner.snapshot().has('node_modules/x/index.js'));
    assert.ok(!scanner.snapshot().has('big'));
  });
});
