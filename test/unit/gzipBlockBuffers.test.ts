// LayerCompressor's gzip blocks travel in reused buffers (compressPool.ts): each 1 MiB block
// buffer carries its dictionary (the 32 KiB before the block) in front of the block, goes to a
// worker and comes back for a later block, of the same layer or another. Whatever a reused buffer
// held before must never reach the output: the first block of a layer has no dictionary, the
// others exactly the previous 32 KiB. The pool's writer thread hashes the output and, when the
// source has not verified it, the input (the diff_id). Every blob must equal the single-threaded
// reference (parallelGzipSync) byte for byte.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LayerCompressor, LayerCompressError } from '../../server/src/push/compressLayer';
import { DICTIONARY_SIZE, GZIP_BLOCK_SIZE, parallelGzipSync } from '../../server/src/push/parallelGzip';
import { chunked } from '../bed/chunked';
import { computeDigest as sha256 } from '../../server/src/core/digest';

const B = GZIP_BLOCK_SIZE;

/** Pseudo-random bytes with text runs; every seed differs from every other in every block. */
function content(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < size; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    // Text-like runs repeat 4 KiB apart, so a wrong dictionary changes the matches deflate finds.
    out[i] = (i >> 11) % 2 === 0 ? 97 + ((i % 4096) * (seed + 3)) % 26 : state >>> 24;
  }
  return out;
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-gzip-buffers-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

void describe('LayerCompressor gzip block buffers', () => {
  void it('reused buffers carry no stale bytes: layers in a row and side by side equal the reference', async () => {
    const directory = join(root, 'reuse');
    const compressor = new LayerCompressor({ directory, workers: 2 });
    try {
      // A big layer fills every buffer the pool keeps; the next ones reuse them, starting with a
      // first block whose dictionary room still holds the big layer's bytes.
      const sizes = [6 * B + 999, B + 1, 1, 0, 2 * B, DICTIONARY_SIZE - 1, 3 * B + DICTIONARY_SIZE + 7];
      const inputs = sizes.map((size, i) => content(size, i + 1));
      for (const [i, input] of inputs.entries()) {
        const layer = await compressor.compress(sha256(input), chunked(input, i % 2 === 0 ? 65536 : 4099));
        assert.equal(layer.digest, sha256(parallelGzipSync(input)), `layer ${i} (${sizes[i]} B) in a row`);
      }
      const together = await Promise.all(inputs.map((input, i) => compressor.compress(sha256(input), chunked(input, 8192 + i), undefined, { verified: i % 2 === 0 })));
      for (const [i, layer] of together.entries()) {
        const input = inputs[i] ?? Buffer.alloc(0);
        assert.equal(layer.digest, sha256(parallelGzipSync(input)), `layer ${i} side by side`);
        assert.deepEqual(gunzipSync(await readFile(layer.path)), input);
      }
    } finally {
      await compressor.close();
    }
  });

  void it('the writer checks the diff_id when the source did not: a mismatch leaves no file, and the pool goes on', async () => {
    const directory = join(root, 'verify');
    const compressor = new LayerCompressor({ directory, workers: 2 });
    try {
      const input = content(3 * B + 5, 42);
      const wrong = `sha256:${'1'.repeat(64)}`;
      await assert.rejects(compressor.compress(wrong, chunked(input, 65536)), (error: unknown) => {
        assert.ok(error instanceof LayerCompressError);
        assert.equal(error.code, 'DIFF_ID_MISMATCH');
        assert.equal(error.expectedDiffId, wrong);
        assert.equal(error.actualDiffId, sha256(input));
        return true;
      });
      assert.deepEqual(await readdir(directory), []);
      const ok = await compressor.compress(sha256(input), chunked(input, 65536));
      assert.equal(ok.digest, sha256(parallelGzipSync(input)));
      assert.deepEqual(await readdir(directory), [`sha256-${ok.digest.slice(7)}.tar.gz`]);
    } finally {
      await compressor.close();
    }
  });
});
