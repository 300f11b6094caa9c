// pigz-style gzip (parallelGzip.ts) and LayerCompressor's use of it: one valid gzip member
// (zlib and `gzip -t` accept it), the same bytes whatever the worker count or input chunking,
// block boundaries and the empty layer, CRC-32 combination as zlib's crc32_combine, size close to
// one stream.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { LayerCompressor } from '../../server/src/push/compressLayer';
import { crc32Combine, GZIP_BLOCK_SIZE, gzipHeader, looksIncompressible, parallelGzipSync } from '../../server/src/push/parallelGzip';
import { chunked } from '../bed/chunked';
import { computeDigest as sha256 } from '../../server/src/core/digest';

/** Deterministic, partly compressible bytes (text runs and pseudo-random runs). */
function content(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    if ((i >> 10) % 3 !== 0) out[i] = 97 + ((i * 7 + (i >> 12)) % 26);
    else {
      state = (state * 1664525 + 1013904223) >>> 0;
      out[i] = state >>> 24;
    }
  }
  return out;
}

function gzipAccepts(path: string): boolean {
  const result = spawnSync('gzip', ['-t', path]);
  return result.status === 0;
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-pgzip-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const B = GZIP_BLOCK_SIZE;

void describe('parallel gzip', () => {
  void it('combines CRC-32s as zlib crc32_combine does', () => {
    for (const [a, b] of [
      [0, 0],
      [1, 0],
      [0, 5],
      [1000, 3 * B + 17],
      [B, B],
    ] as const) {
      const x = content(a, 2);
      const y = content(b, 3);
      assert.equal(crc32Combine(zlib.crc32(x), zlib.crc32(y), y.length), zlib.crc32(Buffer.concat([x, y])), `${a}+${b}`);
    }
  });

  void it('writes one gzip member that zlib and gzip -t accept, at and around block boundaries', async () => {
    for (const size of [0, 1, B - 1, B, B + 1, 2 * B, 2 * B + 32 * 1024 + 3]) {
      const input = content(size, size);
      const member = parallelGzipSync(input);
      assert.deepEqual(zlib.gunzipSync(member), input, `size ${size}`);
      // One member: the trailer's ISIZE is the whole input, and gunzip stops exactly at the end.
      assert.equal(member.readUInt32LE(member.length - 4), size % 2 ** 32);
      assert.equal(member.readUInt32LE(member.length - 8), zlib.crc32(input));
      const path = join(root, `s${size}.gz`);
      await writeFile(path, member);
      assert.equal(gzipAccepts(path), true, `gzip -t refused size ${size}`);
    }
  });

  void it('headers say level 9 / level 1 as zlib does, OS unknown', () => {
    assert.deepEqual([...gzipHeader(9)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    assert.deepEqual([...gzipHeader(1)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
    assert.deepEqual([...gzipHeader(6)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  });

  void it('stays within 0.1 % of one zlib stream', () => {
    const input = content(8 * B + 12345, 7);
    const blocks = parallelGzipSync(input).length;
    const stream = zlib.gzipSync(input, { level: 6 }).length;
    assert.ok(Math.abs(blocks / stream - 1) < 0.001, `${blocks} vs ${stream} bytes`);
  });
});

void describe('LayerCompressor gzip blocks', () => {
  void it('gives the same bytes with 1 and 3 workers, any chunking, equal to the reference', async () => {
    for (const size of [0, 5, B, B + 1, 3 * B + 777]) {
      const input = content(size, 11 + size);
      const diffId = sha256(input);
      const one = new LayerCompressor({ directory: join(root, `one-${size}`), workers: 1 });
      const three = new LayerCompressor({ directory: join(root, `three-${size}`), workers: 3 });
      try {
        const a = await one.compress(diffId, chunked(input, 4096));
        const b = await three.compress(diffId, chunked(input, B + 13));
        const c = await three.compress(diffId, chunked(input, 65536), undefined, { verified: true });
        const reference = parallelGzipSync(input);
        assert.equal(a.digest, sha256(reference), `size ${size}`);
        assert.equal(b.digest, a.digest);
        assert.equal(c.digest, a.digest);
        assert.equal(a.size, reference.length);
        const bytes = await readFile(b.path);
        assert.deepEqual(zlib.gunzipSync(bytes), input);
        assert.equal(gzipAccepts(b.path), true);
      } finally {
        await Promise.all([one.close(), three.close()]);
      }
    }
  });

  void it('hashes the input only when the source has not verified it', async () => {
    const input = content(B + 5, 4);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const compressor = new LayerCompressor({ directory: join(root, 'verify'), workers: 2 });
    try {
      await assert.rejects(compressor.compress(wrong, chunked(input, 65536)), (error: unknown) => (error as { code?: string }).code === 'DIFF_ID_MISMATCH');
      const trusted = await compressor.compress(wrong, chunked(input, 65536), undefined, { verified: true });
      assert.equal(trusted.digest, sha256(parallelGzipSync(input)));
    } finally {
      await compressor.close();
    }
  });
});

describe('blocks of random-looking bytes are stored, not deflated', () => {
  const MiB = 1024 * 1024;
  const random = (seed: number) => {
    const out = Buffer.alloc(MiB);
    let state = (seed * 2654435761) >>> 0;
    for (let i = 0; i < MiB; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = state >>> 24;
    }
    return out;
  };
  const text = Buffer.from('layer text: usr/lib/python3/site-packages/example.py\n'.repeat(MiB / 50)).subarray(0, MiB);

  it('random bytes and an already gzipped file look incompressible; text, code and a block with text at a probe do not', () => {
    assert.equal(looksIncompressible(random(1)), true);
    const gzipped = zlib.gzipSync(content(4 * MiB, 3), { level: 9 });
    assert.ok(gzipped.length >= MiB, `${gzipped.length}`);
    assert.equal(looksIncompressible(gzipped.subarray(0, MiB)), true);
    assert.equal(looksIncompressible(text), false);
    assert.equal(looksIncompressible(content(MiB)), false);
    const mixed = random(2);
    text.copy(mixed, 512 * 1024, 0, 2048); // one probe of the 16 lands on text
    assert.equal(looksIncompressible(mixed), false);
    assert.equal(looksIncompressible(random(3).subarray(0, 32 * 1024)), false, 'blocks under 64 KiB are always deflated');
  });

  it('a layer of random and text blocks: valid gzip, random blocks cost their size and 5 bytes per 64 KiB, text still compressed, same bytes from 1 and 2 workers', async () => {
    const layer = Buffer.concat([random(4), text, random(5), text]);
    const gz = parallelGzipSync(layer, 6);
    assert.deepEqual(zlib.gunzipSync(gz), layer);
    // Two stored MiB (+ 16 five-byte headers each, 4-5 flush bytes) and two text MiB deflated far below their size.
    const textOnly = zlib.deflateRawSync(text, { level: 6 }).length;
    assert.ok(gz.length < 2 * MiB + 2 * textOnly + 400, `${gz.length} bytes`);
    assert.ok(gz.length >= 2 * MiB, `${gz.length} bytes`);
    const dir = await mkdtemp(join(tmpdir(), 'layerlift-stored-'));
    try {
      const digests: string[] = [];
      for (const workers of [1, 2]) {
        const compressor = new LayerCompressor({ directory: join(dir, String(workers)), workers });
        try {
          const out = await compressor.compress(sha256(layer), chunked(layer, 300_000));
          digests.push(out.digest);
          assert.deepEqual(zlib.gunzipSync(await readFile(out.path)), layer);
          assert.equal(gzipAccepts(out.path), true);
        } finally {
          await compressor.close();
        }
      }
      assert.equal(digests[0], digests[1]);
      assert.equal(digests[0], sha256(gz));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
