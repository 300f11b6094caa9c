// LayerCompressor's zstd path (streamLayer.ts, workerTasks.ts): one layer streamed to one worker,
// the diff_id checked there unless the source verified it, several layers on a pool of 2, an abort
// mid-way. Needs a Node.js whose zlib has zstd (22.15+; VS Code's); skipped on older ones.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { LayerCompressor, LayerCompressError, zstdSupported } from '../../server/src/push/compressLayer';
import { chunked } from '../bed/chunked';
import { computeDigest as sha256 } from '../../server/src/core/digest';

const skip = zstdSupported() ? false : `zstd needs Node.js 22.15 or later (this is ${process.version})`;

function input(size: number, seed: number): Buffer {
  const text = Buffer.from(`layer ${seed}: some text that compresses well\n`.repeat(Math.ceil(size / 80)));
  return Buffer.concat([text.subarray(0, Math.floor(size / 2)), randomBytes(size - Math.floor(size / 2))]);
}

function unzstd(bytes: Buffer): Buffer {
  return (zlib as unknown as { zstdDecompressSync: (b: Buffer) => Buffer }).zstdDecompressSync(bytes);
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-zstd-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

void describe('LayerCompressor zstd', { skip }, () => {
  void it('compresses layers side by side on 2 workers; checks the diff_id unless verified; a mismatch leaves no file', async () => {
    const directory = join(root, 'many');
    const compressor = new LayerCompressor({ directory, workers: 2, compression: 'zstd' });
    try {
      const inputs = [input(3_000_000, 1), input(10, 2), input(1_500_000, 3), input(0, 4)];
      const layers = await Promise.all(inputs.map((bytes, i) => compressor.compress(sha256(bytes), chunked(bytes, 70_000), undefined, { verified: i === 1 })));
      for (const [i, layer] of layers.entries()) {
        const blob = await readFile(layer.path);
        assert.equal(layer.digest, sha256(blob));
        assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
        assert.ok(layer.path.endsWith('.tar.zst'));
        assert.deepEqual(unzstd(blob), inputs[i]);
      }
      const wrong = `sha256:${'2'.repeat(64)}`;
      await assert.rejects(compressor.compress(wrong, chunked(input(200_000, 5), 65536)), (error: unknown) => error instanceof LayerCompressError && error.code === 'DIFF_ID_MISMATCH');
      assert.equal((await readdir(directory)).filter((name) => name.endsWith('.tmp')).length, 0);
    } finally {
      await compressor.close();
    }
  });

  void it('an abort mid-way removes the temporary file and the worker takes the next layer', async () => {
    const directory = join(root, 'abort');
    const compressor = new LayerCompressor({ directory, workers: 1, compression: 'zstd' });
    try {
      const controller = new AbortController();
      let sent = 0;
      const endless = new Readable({
        read() {
          setTimeout(() => {
            sent += 65536;
            this.push(randomBytes(65536));
          }, 1);
        },
      });
      const pending = compressor.compress(`sha256:${'3'.repeat(64)}`, endless, controller.signal);
      while (sent < 2_000_000) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      await assert.rejects(pending, (error: unknown) => error instanceof LayerCompressError && error.code === 'ABORTED');
      assert.deepEqual(await readdir(directory), []);
      assert.equal(endless.destroyed, true);
      const bytes = input(100_000, 6);
      const ok = await compressor.compress(sha256(bytes), chunked(bytes, 4096));
      assert.deepEqual(unzstd(await readFile(ok.path)), bytes);
    } finally {
      await compressor.close();
    }
  });
});
