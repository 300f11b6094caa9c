// LayerCompressor: deterministic gzip in worker threads, diff_id verification, parallelism,
// cancellation, bounded memory, and the worker script found both from source (tsx) and bundled.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { LayerCompressor, LayerCompressError, zstdSupported, type CompressedLayer } from '../../server/src/push/compressLayer';

const CHUNK = 64 * 1024;

/** Deterministic, half-compressible content: text lines and pseudo-random bytes. */
function chunkAt(seed: number, index: number, size = CHUNK): Buffer {
  const buffer = Buffer.alloc(size);
  let state = (seed * 2654435761 + index * 40503 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    if ((i >> 9) % 2 === 0) {
      buffer[i] = 97 + ((i * 7 + index) % 26);
    } else {
      state = (state * 1664525 + 1013904223) >>> 0;
      buffer[i] = state >>> 24;
    }
  }
  return buffer;
}

/** `total` bytes of layer `seed`, produced on demand (never held in memory at once). */
function* layerChunks(seed: number, total: number, chunkSize = CHUNK): Generator<Buffer> {
  let index = 0;
  for (let offset = 0; offset < total; offset += chunkSize, index++) {
    const size = Math.min(chunkSize, total - offset);
    // The content depends on the byte offset only, so every chunking yields the same bytes.
    const block = Math.floor(offset / CHUNK);
    const within = offset % CHUNK;
    if (within === 0 && size === CHUNK) {
      yield chunkAt(seed, block);
    } else {
      const parts: Buffer[] = [];
      let remaining = size;
      let at = offset;
      while (remaining > 0) {
        const b = Math.floor(at / CHUNK);
        const w = at % CHUNK;
        const take = Math.min(remaining, CHUNK - w);
        parts.push(chunkAt(seed, b).subarray(w, w + take));
        remaining -= take;
        at += take;
      }
      yield Buffer.concat(parts);
    }
  }
}

function diffIdOf(seed: number, total: number): string {
  const hash = createHash('sha256');
  for (const chunk of layerChunks(seed, total)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

function layerStream(seed: number, total: number, chunkSize = CHUNK): Readable {
  return Readable.from(layerChunks(seed, total, chunkSize));
}

/** A stream that never ends: a chunk every few milliseconds, counting what was read. */
function endlessStream(counter: { bytes: number; destroyed: boolean }): Readable {
  let index = 0;
  return new Readable({
    read() {
      setTimeout(() => {
        const chunk = chunkAt(9, index++);
        counter.bytes += chunk.length;
        this.push(chunk);
      }, 2);
    },
    destroy(error, callback) {
      counter.destroyed = true;
      callback(error);
    },
  });
}

function sha256File(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function assertBlob(layer: CompressedLayer, seed: number, total: number): Promise<void> {
  const bytes = await readFile(layer.path);
  assert.equal(bytes.length, layer.size);
  assert.equal(sha256File(bytes), layer.digest);
  assert.equal(layer.path.endsWith(`sha256-${layer.digest.slice(7)}.tar.gz`), true);
  assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.equal(sha256File(gunzipSync(bytes)), diffIdOf(seed, total));
}

function isCompressError(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof LayerCompressError, `expected LayerCompressError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.message.includes('\n'), false);
    return true;
  };
}

let root: string;
let dirCount = 0;
async function freshDir(): Promise<string> {
  return mkdtemp(join(root, `d${dirCount++}-`));
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-compress-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

void describe('LayerCompressor', () => {
  void it('is deterministic: same input, same bytes, whatever the chunking and the worker', async () => {
    const total = 3 * 1024 * 1024 + 12345;
    const diffId = diffIdOf(1, total);
    const a = new LayerCompressor({ directory: await freshDir() });
    const b = new LayerCompressor({ directory: await freshDir(), workers: 1 });
    try {
      const first = await a.compress(diffId, layerStream(1, total));
      const second = await a.compress(diffId, layerStream(1, total, 1000));
      const third = await b.compress(diffId, layerStream(1, total, 1024 * 1024 + 7));
      assert.equal(first.diffId, diffId);
      assert.equal(second.digest, first.digest);
      assert.equal(third.digest, first.digest);
      assert.equal(third.size, first.size);
      await assertBlob(first, 1, total);
      // gzip header: magic, deflate, no flags (no name), mtime 0, XFL 0 at level 6, OS 255.
      const header = (await readFile(first.path)).subarray(0, 10);
      assert.deepEqual([...header], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  void it('verifies the diff_id; a wrong one rejects DIFF_ID_MISMATCH and leaves no file', async () => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory });
    try {
      const total = 500_000;
      const wrong = `sha256:${'0'.repeat(64)}`;
      await assert.rejects(compressor.compress(wrong, layerStream(2, total)), (error: unknown) => {
        isCompressError('DIFF_ID_MISMATCH')(error);
        const e = error as LayerCompressError;
        assert.equal(e.expectedDiffId, wrong);
        assert.equal(e.actualDiffId, diffIdOf(2, total));
        assert.match(e.message, /expected sha256:0{64}, got sha256:[0-9a-f]{64}/);
        return true;
      });
      assert.deepEqual(await readdir(directory), []);
      // The pool is still usable afterwards.
      const ok = await compressor.compress(diffIdOf(2, total), layerStream(2, total));
      await assertBlob(ok, 2, total);
    } finally {
      await compressor.close();
    }
  });

  void it('rejects an invalid diff_id before reading', async () => {
    const compressor = new LayerCompressor({ directory: await freshDir() });
    try {
      await assert.rejects(compressor.compress('sha256:abc', layerStream(3, 10)), isCompressError('INVALID_DIFF_ID'));
    } finally {
      await compressor.close();
    }
  });

  void it('compresses 4 layers in parallel on a pool of 2 workers', async () => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory, workers: 2 });
    try {
      const sizes = [2_000_000, 1_000_000, 3_000_000, 10];
      const layers = await Promise.all(sizes.map((total, i) => compressor.compress(diffIdOf(10 + i, total), layerStream(10 + i, total))));
      for (const [i, layer] of layers.entries()) await assertBlob(layer, 10 + i, sizes[i] ?? 0);
      assert.equal(new Set(layers.map((layer) => layer.digest)).size, 4);
      assert.deepEqual((await readdir(directory)).sort(), layers.map((layer) => `sha256-${layer.digest.slice(7)}.tar.gz`).sort());
      // Same results as one at a time.
      const alone = await compressor.compress(diffIdOf(12, 3_000_000), layerStream(12, 3_000_000));
      assert.equal(alone.digest, layers[2]?.digest);
    } finally {
      await compressor.close();
    }
  });

  void it('aborts mid-way: the task stops, the input is destroyed, the temp file is removed', async () => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory });
    try {
      const counter = { bytes: 0, destroyed: false };
      const controller = new AbortController();
      const pending = compressor.compress(`sha256:${'a'.repeat(64)}`, endlessStream(counter), controller.signal);
      while (counter.bytes < 2 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5));
      // The worker has a temporary file open by now.
      assert.equal((await readdir(directory)).filter((name) => name.endsWith('.tmp')).length, 1);
      controller.abort();
      await assert.rejects(pending, isCompressError('ABORTED'));
      assert.deepEqual(await readdir(directory), []);
      assert.equal(counter.destroyed, true);
      // An already aborted signal rejects at once.
      await assert.rejects(compressor.compress(diffIdOf(4, 10), layerStream(4, 10), AbortSignal.abort()), isCompressError('ABORTED'));
      // And the worker takes the next layer.
      const ok = await compressor.compress(diffIdOf(4, 100_000), layerStream(4, 100_000));
      await assertBlob(ok, 4, 100_000);
    } finally {
      await compressor.close();
    }
  });

  void it('a layer aborted while waiting for a worker leaves the queue at once', async () => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory, workers: 1 });
    try {
      const counter = { bytes: 0, destroyed: false };
      const busy = new AbortController();
      const running = compressor.compress(`sha256:${'c'.repeat(64)}`, endlessStream(counter), busy.signal);
      const runningOutcome = assert.rejects(running, isCompressError('ABORTED'));
      const waiting = new AbortController();
      const queuedInput = layerStream(6, 10);
      const queued = compressor.compress(diffIdOf(6, 10), queuedInput, waiting.signal);
      waiting.abort(new Error('user pressed Ctrl-C'));
      await assert.rejects(queued, (error: unknown) => {
        isCompressError('ABORTED')(error);
        assert.match((error as Error).message, /aborted: user pressed Ctrl-C/);
        return true;
      });
      assert.equal(queuedInput.destroyed, true);
      assert.equal(counter.destroyed, false);
      busy.abort();
      await runningOutcome;
      assert.deepEqual(await readdir(directory), []);
    } finally {
      await compressor.close();
    }
  });

  void it('a failing input rejects INPUT_FAILED and removes the temp file', async () => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory });
    try {
      const broken = Readable.from(
        (function* () {
          yield* layerChunks(5, 1_000_000);
          throw new Error('connection reset by peer');
        })(),
      );
      await assert.rejects(compressor.compress(diffIdOf(5, 1_000_000), broken), (error: unknown) => {
        isCompressError('INPUT_FAILED')(error);
        assert.match((error as Error).message, /connection reset by peer/);
        return true;
      });
      assert.deepEqual(await readdir(directory), []);
    } finally {
      await compressor.close();
    }
  });

  void it('close() cancels running and queued layers and removes their temp files', async () => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory, workers: 1 });
    const counter = { bytes: 0, destroyed: false };
    const running = compressor.compress(`sha256:${'b'.repeat(64)}`, endlessStream(counter));
    const queued = compressor.compress(diffIdOf(6, 10), layerStream(6, 10));
    // Observed before close() so that their rejections are handled as they happen.
    const outcomes = [assert.rejects(running, isCompressError('CLOSED')), assert.rejects(queued, isCompressError('CLOSED'))];
    while (counter.bytes < 512 * 1024) await new Promise((r) => setTimeout(r, 5));
    await compressor.close();
    await Promise.all(outcomes);
    assert.equal(counter.destroyed, true);
    await assert.rejects(compressor.compress(diffIdOf(6, 10), layerStream(6, 10)), isCompressError('CLOSED'));
    assert.deepEqual(await readdir(directory), []);
  });

  void it('reports a directory it cannot create as WRITE_FAILED', async () => {
    const file = join(await freshDir(), 'not-a-directory');
    await writeFile(file, 'x');
    const compressor = new LayerCompressor({ directory: join(file, 'cache') });
    try {
      await assert.rejects(compressor.compress(diffIdOf(7, 10), layerStream(7, 10)), (error: unknown) => {
        isCompressError('WRITE_FAILED')(error);
        assert.equal((error as LayerCompressError).errno, 'ENOTDIR');
        return true;
      });
    } finally {
      await compressor.close();
    }
  });

  void it('streams 50 MB with bounded memory', async (t) => {
    const directory = await freshDir();
    const compressor = new LayerCompressor({ directory, workers: 1 });
    try {
      // Start the worker first so its own footprint is not counted as streaming memory.
      await compressor.compress(diffIdOf(8, 1000), layerStream(8, 1000));
      const total = 50 * 1024 * 1024;
      const diffId = diffIdOf(8, total);
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 10);
      const started = Date.now();
      let layer: CompressedLayer;
      try {
        layer = await compressor.compress(diffId, layerStream(8, total));
      } finally {
        clearInterval(sampler);
      }
      const seconds = (Date.now() - started) / 1000;
      const deltaMiB = (peak - baseline) / (1024 * 1024);
      t.diagnostic(`50 MiB in ${seconds.toFixed(2)} s -> ${layer.size} bytes; RSS peak delta ${deltaMiB.toFixed(1)} MiB`);
      assert.equal(layer.diffId, diffId);
      // Measured 25-35 MiB, most of it garbage of this test's own chunk generator not yet
      // collected (standalone, 200 and 400 MiB layers grow RSS by under 5 MiB). Holding the
      // input (50 MiB) or the output (25 MiB) as well would go beyond this.
      assert.ok(deltaMiB < 48, `RSS grew by ${deltaMiB.toFixed(1)} MiB`);
    } finally {
      await compressor.close();
    }
  });

  void it('the level changes the output (and every level decompresses to the input)', async () => {
    const total = 1_500_000;
    const diffId = diffIdOf(20, total);
    const digests = new Map<number, CompressedLayer>();
    for (const level of [1, 6, 9]) {
      const compressor = new LayerCompressor({ directory: await freshDir(), level });
      try {
        const layer = await compressor.compress(diffId, layerStream(20, total));
        await assertBlob(layer, 20, total);
        digests.set(level, layer);
      } finally {
        await compressor.close();
      }
    }
    const defaultLevel = new LayerCompressor({ directory: await freshDir() });
    try {
      assert.equal((await defaultLevel.compress(diffId, layerStream(20, total))).digest, digests.get(6)?.digest);
    } finally {
      await defaultLevel.close();
    }
    assert.equal(new Set([...digests.values()].map((layer) => layer.digest)).size, 3);
    assert.ok((digests.get(1)?.size ?? 0) > (digests.get(9)?.size ?? 0));
    // XFL: 4 = fastest, 2 = best.
    assert.equal((await readFile(digests.get(1)?.path ?? ''))[8], 4);
    assert.equal((await readFile(digests.get(9)?.path ?? ''))[8], 2);
  });

  void it('validates options; zstd only where node:zlib has it', async () => {
    assert.throws(() => new LayerCompressor({ directory: root, level: 10 }), isCompressError('INVALID_OPTIONS'));
    assert.throws(() => new LayerCompressor({ directory: root, level: 1.5 }), isCompressError('INVALID_OPTIONS'));
    assert.throws(() => new LayerCompressor({ directory: root, workers: 0 }), isCompressError('INVALID_OPTIONS'));
    if (!zstdSupported()) {
      assert.throws(() => new LayerCompressor({ directory: root, compression: 'zstd' }), (error: unknown) => {
        isCompressError('UNSUPPORTED_COMPRESSION')(error);
        assert.match((error as Error).message, /^zstd compression needs Node\.js 22\.15 or later \(this is Node\.js v[\d.]+\); use gzip$/);
        return true;
      });
    } else {
      const compressor = new LayerCompressor({ directory: await freshDir(), compression: 'zstd' });
      try {
        const layer = await compressor.compress(diffIdOf(21, 100_000), layerStream(21, 100_000));
        assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
        assert.equal(layer.path.endsWith('.tar.zst'), true);
        assert.equal(sha256File(await readFile(layer.path)), layer.digest);
      } finally {
        await compressor.close();
      }
    }
  });
});

void describe('LayerCompressor bundled with esbuild', () => {
  // The same layout scripts/build.mjs produces: the module inside a bundle, the worker as its
  // own entry next to it. Run with plain node (no tsx) in a child process.
  const repo = resolve(__dirname, '../..');

  async function bundle(withWorker: boolean): Promise<string> {
    const dir = await freshDir();
    const entry = join(dir, 'entry.ts');
    await writeFile(
      entry,
      [
        `import { Readable } from 'node:stream';`,
        `import { LayerCompressor } from ${JSON.stringify(join(repo, 'server/src/push/compressLayer'))};`,
        `const [directory, diffId] = process.argv.slice(2) as [string, string];`,
        `const compressor = new LayerCompressor({ directory });`,
        `compressor.compress(diffId, Readable.from([Buffer.from('hello layer')]))`,
        `  .then((layer) => console.log(JSON.stringify({ layer, file: __filename })))`,
        `  .catch((error: { code?: string; message?: string }) => console.log(JSON.stringify({ code: error.code, message: error.message })))`,
        `  .finally(() => void compressor.close());`,
      ].join('\n'),
    );
    const entryPoints: Record<string, string> = { entry };
    if (withWorker) entryPoints.compressWorker = join(repo, 'server/src/push/compressWorker.ts');
    await esbuild.build({ entryPoints, bundle: true, platform: 'node', target: 'node20', format: 'cjs', outdir: join(dir, 'dist'), logLevel: 'silent' });
    return dir;
  }

  void it('loads dist/compressWorker.js next to the bundle', async () => {
    const dir = await bundle(true);
    const diffId = sha256File(Buffer.from('hello layer'));
    const run = spawnSync(process.execPath, [join(dir, 'dist', 'entry.js'), join(dir, 'cache'), diffId], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { layer: CompressedLayer; file: string };
    assert.equal(out.file, join(dir, 'dist', 'entry.js'));
    assert.equal(out.layer.diffId, diffId);
    const bytes = await readFile(out.layer.path);
    assert.equal(sha256File(bytes), out.layer.digest);
    assert.equal(gunzipSync(bytes).toString(), 'hello layer');
  });

  void it('says clearly when the worker script is missing', async () => {
    const dir = await bundle(false);
    const diffId = sha256File(Buffer.from('hello layer'));
    const run = spawnSync(process.execPath, [join(dir, 'dist', 'entry.js'), join(dir, 'cache'), diffId], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { code: string; message: string };
    assert.equal(out.code, 'WORKER_FAILED');
    assert.match(out.message, /compressWorker\.js is missing \(run npm run compile\)/);
  });
});
