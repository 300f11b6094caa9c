// Parallel, deterministic gzip as pigz writes it (Mark Adler, pigz.c): the input is cut into
// fixed 1 MiB blocks; each block is raw-deflated on its own (RFC 1951) with the 32 KiB before it
// as preset dictionary (zlib deflateSetDictionary, Node's `dictionary` option), ended by a sync
// flush (Z_SYNC_FLUSH: an empty stored block, byte-aligned, not final) — the last block by
// Z_FINISH (final bit set). The deflate streams then concatenate into one valid deflate stream
// inside ONE gzip member (RFC 1952): a 10-byte header, the blocks, CRC-32 and ISIZE (input
// size mod 2^32). Block CRCs are joined with crc32_combine (zlib crc32.c), so whoever deflates a
// block can also checksum it.
//
// The output depends only on the input bytes, the level and this Node's zlib: never on how the
// input was chunked or how many workers deflated it. Each sync flush costs 4-5 bytes per MiB and
// the restart per block a little more; measured here ≈ 0.02 % over one stream.
import * as zlib from 'node:zlib';

/** Input bytes per block (pigz's default -b 128 is 128 KiB; 1 MiB keeps the overhead ~0.02 %). */
export const GZIP_BLOCK_SIZE = 1024 * 1024;
/** The deflate window (RFC 1951 §2: distances up to 32768): the preset dictionary's length. */
export const DICTIONARY_SIZE = 32 * 1024;
/**
 * zlib's output buffer for a block of `length` bytes: more than zlib's deflateBound (the input
 * plus about 0.03 %, plus a few bytes for the flush), so one buffer always holds the deflated
 * block and zlib never joins pieces with a copy (the result is then a view into that buffer).
 * The output bytes do not depend on it.
 */
function deflateChunk(length: number): number {
  return length + (length >> 10) + 1024;
}
/** Where a block's input starts in the buffer that carries it to a worker: after room for the dictionary. */
export const BLOCK_INPUT_OFFSET = DICTIONARY_SIZE;
/** The buffer that carries one block to a worker: the dictionary's room, then the block. */
export const BLOCK_BUFFER_SIZE = BLOCK_INPUT_OFFSET + GZIP_BLOCK_SIZE;

/**
 * The gzip member header (RFC 1952 §2.3): ID1 ID2, CM=8 (deflate), FLG=0 (no name, comment or
 * extra field), MTIME=0, XFL as zlib's deflate.c sets it for the level (2: level 9, 4: levels
 * 0-1, else 0), OS=255 "unknown" (what Go's compress/gzip writes), so nothing in it depends on
 * the machine.
 */
export function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
}

/** The gzip trailer (RFC 1952 §2.3.1): CRC32 then ISIZE (the input's size mod 2^32), little-endian. */
export function gzipTrailer(crc: number, inputSize: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(inputSize % 2 ** 32, 4);
  return trailer;
}

/**
 * One block: its CRC-32 and its raw deflate stream, sync-flushed, or finished when `last`.
 * `dictionary` is the (up to) 32 KiB of input right before the block; none for the first.
 */
export function deflateBlock(input: Uint8Array, dictionary: Uint8Array | undefined, level: number, last: boolean): { crc: number; deflated: Buffer } {
  const crc = zlib.crc32(input);
  // Random-looking blocks are stored (level 0: stored blocks, the dictionary unused), not deflated.
  if (level > 0 && looksIncompressible(input)) level = 0;
  const options: zlib.ZlibOptions = { level, chunkSize: deflateChunk(input.length), finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
  if (dictionary !== undefined && dictionary.length > 0) options.dictionary = dictionary;
  return { crc, deflated: zlib.deflateRawSync(input, options) };
}

/** Bytes sampled at the start of every PROBE_STRIDE bytes of a block. */
const PROBE_BYTES = 2048;
const PROBE_STRIDE = 64 * 1024;
/** Order-0 entropy, bits per byte, every sample must reach: random bytes give ≈ 7.91 on 2 KiB
 *  (the estimate's small-sample bias), compressed files 7.85–7.92; text, code and executables 4.5–6.5. */
const INCOMPRESSIBLE_BITS = 7.8;

/**
 * Whether a block looks like bytes deflate cannot shrink: compressed files inside a layer
 * (.gz, .jpg, .whl, .jar…) or random data. zlib spends as long on them as on text — measured
 * here 51 MB/s at level 6 on random bytes, for 0.03 % more than storing them (494 MB/s) — so
 * such a block is stored. As zstd and igzip do, the test is a cheap estimate: 2 KiB at the start
 * of every 64 KiB must each show the entropy of random bytes; a block with text between the
 * samples (< 62 KiB of it) loses that text's compression, nothing else. The bytes alone decide,
 * so the output stays the same for any number of workers.
 */
export function looksIncompressible(input: Uint8Array): boolean {
  if (input.length < PROBE_STRIDE) return false;
  const counts = new Uint32Array(256);
  for (let start = 0; start + PROBE_BYTES <= input.length; start += PROBE_STRIDE) {
    counts.fill(0);
    for (let i = start; i < start + PROBE_BYTES; i++) counts[input[i] as number] = (counts[input[i] as number] as number) + 1;
    let bits = 0;
    for (let b = 0; b < 256; b++) {
      const n = counts[b] as number;
      if (n > 0) bits -= (n / PROBE_BYTES) * Math.log2(n / PROBE_BYTES);
    }
    if (bits < INCOMPRESSIBLE_BITS) return false;
  }
  return true;
}

// crc32_combine, after zlib's crc32.c (1.2.12+): CRC-32 arithmetic in GF(2)[x] modulo the
// reflected polynomial 0xedb88320.
const POLY = 0xedb88320;

/** a(x) * b(x) mod p(x), both reflected (zlib's multmodp). */
function multmodp(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p = (p ^ b) >>> 0;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? ((b >>> 1) ^ POLY) >>> 0 : b >>> 1;
  }
  return p >>> 0;
}

/** x2n_table[k] = x^(2^k) mod p(x). */
const X2N_TABLE: number[] = (() => {
  const table: number[] = [];
  let p = 1 << 30; // x^1
  table.push(p);
  for (let n = 1; n < 32; n++) table.push((p = multmodp(p, p)));
  return table;
})();

/** x^(n * 2^k) mod p(x) (zlib's x2nmodp). */
function x2nmodp(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multmodp(X2N_TABLE[k & 31] ?? 0, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** The CRC-32 of A‖B from crc(A), crc(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multmodp(x2nmodp(lengthB, 3), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}

/**
 * The whole member in one call, one block after the other: the reference the workers' output
 * must equal byte for byte (tests, small blobs).
 */
export function parallelGzipSync(input: Uint8Array, level = 6): Buffer {
  const parts: Buffer[] = [gzipHeader(level)];
  let crc = 0;
  let offset = 0;
  do {
    const end = Math.min(offset + GZIP_BLOCK_SIZE, input.length);
    const block = input.subarray(offset, end);
    const dictionary = offset === 0 ? undefined : input.subarray(Math.max(0, offset - DICTIONARY_SIZE), offset);
    const { crc: blockCrc, deflated } = deflateBlock(block, dictionary, level, end === input.length);
    crc = crc32Combine(crc, blockCrc, block.length);
    parts.push(deflated);
    offset = end;
  } while (offset < input.length);
  parts.push(gzipTrailer(crc, input.length));
  return Buffer.concat(parts);
}
