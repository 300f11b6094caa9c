// How well a file compresses under the gzip level a push uses (6: Go's gzip.DefaultCompression,
// which dockerd's push uses — see server/src/analysis/copyEstimate.ts), measured on a sample.
//
// Strategy (bounded work, sound where the bytes are):
//   - A layer's compressed size is dominated by its big files, so files of at least
//     `largeFileBytes` (64 KiB) get a ratio of their own, largest first, up to `maxFileSamples`
//     per scan: 64 KiB read as 4 chunks of 16 KiB spread over the file (head, two middles,
//     tail), so a file with a text header and a binary body is not judged by its header alone.
//   - Every other file takes the ratio of its extension: up to `samplesPerExtension` files of
//     that extension, spread over its size range, up to 16 KiB each, are concatenated and
//     compressed together. Compressing small files together (as the tar stream does) avoids
//     charging each tiny file deflate's fixed block overhead.
//   - A file whose extension has no sample takes the byte-weighted mean of everything sampled;
//     with nothing sampled at all, it is counted as incompressible (ratio 1).
//   - Ratios are deflate output / input at level 6 (raw deflate: the gzip framing is counted once
//     per layer by the estimate), capped at 1 (deflate stores what it cannot shrink).
//   - One scan reads at most `sampleBudgetBytes` for sampling; per-file ratios are cached by
//     (size, mtime) across scans, so a rescan only samples what changed.
//   - An incremental update (one changed file) reads at most one 64 KiB sample, synchronously
//     (a few ms), and only for a large file or an extension not seen yet; a new directory
//     reads at most 8 such samples, largest files first.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, constants as zlibConstants } from 'node:zlib';

export const GZIP_LEVEL = 6;
export const FILE_SAMPLE_BYTES = 64 * 1024;
export const EXTENSION_SAMPLE_BYTES = 16 * 1024;
const CHUNKS = 4;

const deflateRawAsync = promisify(deflateRaw);

/** deflate (level 6) output / input for `data`, at most 1; undefined for no data. */
export async function deflateRatio(data: Buffer): Promise<number | undefined> {
  if (data.length === 0) return undefined;
  const compressed = await deflateRawAsync(data, { level: GZIP_LEVEL, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  return Math.min(1, compressed.length / data.length);
}

/** deflateRatio, synchronously: for one bounded sample (≤ 64 KiB: a few ms), where a round trip
 *  through the libuv pool would cost more than the work when the pool is busy. */
export function deflateRatioSync(data: Buffer): number | undefined {
  if (data.length === 0) return undefined;
  return Math.min(1, deflateRawSync(data, { level: GZIP_LEVEL }).length / data.length);
}

/** Where a large file's sample chunks start: CHUNKS of them spread evenly, the last at the end. */
function samplePositions(size: number, maxBytes: number): { chunk: number; positions: number[] } {
  const chunk = Math.floor(maxBytes / CHUNKS);
  const positions = Array.from({ length: CHUNKS }, (_, i) => (i === CHUNKS - 1 ? size - chunk : Math.floor(((size - chunk) * i) / (CHUNKS - 1))));
  return { chunk, positions };
}

/** readSample, synchronously (same chunks). */
export function readSampleSync(absolutePath: string, size: number, maxBytes: number): { sample: Buffer; isArchive: boolean } {
  if (size <= maxBytes) {
    const sample = readFileSync(absolutePath);
    return { sample, isArchive: looksLikeArchive(sample) };
  }
  const fd = openSync(absolutePath, 'r');
  try {
    const { chunk, positions } = samplePositions(size, maxBytes);
    const buffers: Buffer[] = [];
    for (const position of positions) {
      const buffer = Buffer.alloc(chunk);
      const bytesRead = readSync(fd, buffer, 0, chunk, position);
      buffers.push(buffer.subarray(0, bytesRead));
    }
    return { sample: Buffer.concat(buffers), isArchive: looksLikeArchive(buffers[0] ?? Buffer.alloc(0)) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a sample of a file: all of it when it is at most `maxBytes`, else `maxBytes` in chunks
 * spread over the file. Also reports whether the file starts like an archive ADD would unpack.
 */
export async function readSample(absolutePath: string, size: number, maxBytes: number): Promise<{ sample: Buffer; isArchive: boolean }> {
  if (size <= maxBytes) {
    const sample = await readFile(absolutePath);
    return { sample, isArchive: looksLikeArchive(sample) };
  }
  const handle = await open(absolutePath, 'r');
  try {
    const { chunk, positions } = samplePositions(size, maxBytes);
    const buffers: Buffer[] = [];
    for (const position of positions) {
      const buffer = Buffer.alloc(chunk);
      const { bytesRead } = await handle.read(buffer, 0, chunk, position);
      buffers.push(buffer.subarray(0, bytesRead));
    }
    const sample = Buffer.concat(buffers);
    return { sample, isArchive: looksLikeArchive(buffers[0] ?? Buffer.alloc(0)) };
  } finally {
    await handle.close();
  }
}

/** Reads the first `maxBytes` of a file (or all of it). */
export async function readHead(absolutePath: string, size: number, maxBytes: number): Promise<Buffer> {
  if (size <= maxBytes) return readFile(absolutePath);
  const handle = await open(absolutePath, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Whether content starts like an archive that ADD unpacks (moby archive.IsArchivePath: a
 * gzip/bzip2/xz stream, or a tar header whose checksum verifies).
 */
export function looksLikeArchive(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return true; // bzip2
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true; // xz
  if (head.length < 512) return false;
  const stored = parseInt(head.toString('latin1', 148, 156).replace(/[\0 ]+$/g, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : head[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** The key files share an extension ratio by: the lower-cased extension, '' for none. */
export function extensionKey(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
