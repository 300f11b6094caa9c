// The worker-thread half of LayerCompressor (compressLayer.ts). gzip: deflates single 1 MiB
// blocks of any layer (`block`, parallelGzip.ts), so one layer keeps every worker busy. zstd (and
// the streaming path below): compresses one layer at a time.
//
// For each task the main thread sends `start`, then `chunk`s of the uncompressed tar (their
// ArrayBuffers transferred, not copied) and `end`, or `abort`. Each chunk is hashed (the
// diff_id) and written to the compressor; it is acknowledged once the compressor has taken it,
// which waits for the file write to keep up (stream backpressure through the pipeline), so the
// main thread never has more than its window of bytes in flight. The compressed bytes are hashed
// and counted (the blob digest and size) on their way to a temporary file, which is renamed to
// its digest's name when the diff_id matches and removed otherwise. Every task gets exactly one
// `done` or `failed` answer, after its temporary file is gone or renamed.
//
// Deterministic output: the gzip header zlib writes has mtime 0, no name, no comment and an XFL
// byte set by the level; its OS byte (3 on Unix, another value on Windows) is overwritten with 255
// ("unknown", what Go's compress/gzip writes), so the bytes depend only on the input, the level
// and the zlib build in this Node.js.
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { deflateBlock } from './parallelGzip';

export type Compression = 'gzip' | 'zstd';

export type ToWorker =
  | {
      type: 'start';
      taskId: number;
      /** Where the compressed bytes go while being written (created exclusively). */
      tempPath: string;
      /** Where the finished file is renamed to: `<directory>/<algorithm>-<hex><extension>`. */
      directory: string;
      compression: Compression;
      level: number;
      expectedDiffId: string;
    }
  | { type: 'chunk'; taskId: number; data: ArrayBuffer }
  | { type: 'end'; taskId: number }
  | { type: 'abort'; taskId: number }
  /** One gzip block of a layer (parallelGzip.ts): any worker may take any block. */
  | { type: 'block'; taskId: number; seq: number; data: ArrayBuffer; dictionary: ArrayBuffer | undefined; level: number; last: boolean };

export type WorkerFailureCode = 'DIFF_ID_MISMATCH' | 'WRITE_FAILED' | 'ABORTED';

export type FromWorker =
  | { type: 'ack'; taskId: number; bytes: number }
  | { type: 'done'; taskId: number; diffId: string; digest: string; size: number; path: string }
  | { type: 'failed'; taskId: number; code: WorkerFailureCode; message: string; actualDiffId?: string; errno?: string }
  /** A block deflated: its raw deflate bytes (transferred) and the CRC-32 of its input. */
  | { type: 'block-done'; taskId: number; seq: number; data: ArrayBuffer; crc: number; inputLength: number }
  | { type: 'block-failed'; taskId: number; seq: number; message: string };

/** The file extension of a compressed layer kept in the cache directory. */
export function extensionFor(compression: Compression): string {
  return compression === 'zstd' ? '.tar.zst' : '.tar.gz';
}

/** Go's compress/gzip OS byte (header offset 9): 255, "unknown". */
const GZIP_OS_UNKNOWN = 255;
const GZIP_OS_OFFSET = 9;

/** Hashes and counts the compressed bytes; fixes the gzip OS byte on the way. */
class OutputMeter extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;

  constructor(private readonly patchGzipOs: boolean) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.patchGzipOs && this.size <= GZIP_OS_OFFSET && this.size + chunk.length > GZIP_OS_OFFSET) {
      chunk[GZIP_OS_OFFSET - this.size] = GZIP_OS_UNKNOWN;
    }
    this.size += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

interface ZstdZlib {
  createZstdCompress?: (options: { params: Record<number, number> }) => Transform;
  constants: Record<string, number>;
}

/** zlib's output buffer. Its 16 KiB default costs a thread-pool round trip per 16 KiB of output;
 *  128 KiB made compression ~10 % faster here. The bytes written do not depend on it. */
const OUTPUT_CHUNK = 128 * 1024;

function createCompressor(compression: Compression, level: number): Transform {
  if (compression === 'gzip') return zlib.createGzip({ level, chunkSize: OUTPUT_CHUNK });
  const z = zlib as unknown as ZstdZlib;
  if (typeof z.createZstdCompress !== 'function') throw new Error('zstd is not supported by this Node.js');
  // ZSTD_c_compressionLevel is 100 in zstd.h.
  const levelParam = z.constants.ZSTD_c_compressionLevel ?? 100;
  return z.createZstdCompress({ params: { [levelParam]: level } });
}

interface Task {
  id: number;
  start: Extract<ToWorker, { type: 'start' }>;
  inputHash: Hash;
  compressor: Transform;
  meter: OutputMeter;
  /** Settles when the pipeline compressor → meter → file has finished or failed. */
  finished: Promise<Error | undefined>;
  aborted: boolean;
}

const port = parentPort;
const tasks = new Map<number, Task>();

function post(message: FromWorker): void {
  port?.postMessage(message);
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Already gone, or never created.
  }
}

function startTask(start: Extract<ToWorker, { type: 'start' }>): void {
  const algorithm = start.expectedDiffId.slice(0, start.expectedDiffId.indexOf(':'));
  let compressor: Transform;
  try {
    compressor = createCompressor(start.compression, start.level);
  } catch (error) {
    post({ type: 'failed', taskId: start.taskId, code: 'WRITE_FAILED', message: describe(error) });
    return;
  }
  const meter = new OutputMeter(start.compression === 'gzip');
  const file = createWriteStream(start.tempPath, { flags: 'wx' });
  // Settles once the file is closed too: a stream destroyed while its file was still opening
  // creates the file before closing it, and the temporary file must not reappear after removal.
  const fileClosed = new Promise<void>((resolve) => file.once('close', resolve));
  const finished = new Promise<Error | undefined>((resolve) => {
    pipeline(compressor, meter, file, (error) => {
      void fileClosed.then(() => resolve(error ?? undefined));
    });
  });
  const task: Task = { id: start.taskId, start, inputHash: createHash(algorithm), compressor, meter, finished, aborted: false };
  tasks.set(task.id, task);
  void settle(task);
}

/** Waits for the task's pipeline and sends its one answer. */
async function settle(task: Task): Promise<void> {
  const error = await task.finished;
  const { start } = task;
  tasks.delete(task.id);
  if (task.aborted) {
    await removeQuietly(start.tempPath);
    post({ type: 'failed', taskId: task.id, code: 'ABORTED', message: 'compression aborted' });
    return;
  }
  if (error !== undefined) {
    await removeQuietly(start.tempPath);
    post({
      type: 'failed',
      taskId: task.id,
      code: 'WRITE_FAILED',
      message: `cannot write ${start.tempPath}: ${describe(error)}`,
      errno: errnoOf(error),
    });
    return;
  }
  const algorithm = start.expectedDiffId.slice(0, start.expectedDiffId.indexOf(':'));
  const diffId = `${algorithm}:${task.inputHash.digest('hex')}`;
  if (diffId !== start.expectedDiffId) {
    await removeQuietly(start.tempPath);
    post({
      type: 'failed',
      taskId: task.id,
      code: 'DIFF_ID_MISMATCH',
      message: `layer content does not match its diff_id: expected ${start.expectedDiffId}, got ${diffId}`,
      actualDiffId: diffId,
    });
    return;
  }
  const hex = task.meter.hash.digest('hex');
  const path = join(start.directory, `sha256-${hex}${extensionFor(start.compression)}`);
  try {
    await rename(start.tempPath, path);
  } catch (renameError) {
    // Windows refuses to replace a file another process has open. A file named by its own
    // digest only ever appears through this rename, so one that exists already is this blob.
    const existing = await stat(path).catch(() => undefined);
    await removeQuietly(start.tempPath);
    if (existing?.size !== task.meter.size) {
      post({
        type: 'failed',
        taskId: task.id,
        code: 'WRITE_FAILED',
        message: `cannot rename ${start.tempPath} to ${path}: ${describe(renameError)}`,
        errno: errnoOf(renameError),
      });
      return;
    }
  }
  post({ type: 'done', taskId: task.id, diffId, digest: `sha256:${hex}`, size: task.meter.size, path });
}

/** Deflates one block and answers with the bytes moved (not copied) back to the main thread. */
function runBlock(message: Extract<ToWorker, { type: 'block' }>): void {
  try {
    const input = new Uint8Array(message.data);
    const dictionary = message.dictionary === undefined ? undefined : new Uint8Array(message.dictionary);
    const { crc, deflated } = deflateBlock(input, dictionary, message.level, message.last);
    // Transfer only a buffer the result owns whole (zlib may hand back a view into a bigger one).
    const data = deflated.byteOffset === 0 && deflated.buffer.byteLength === deflated.length ? (deflated.buffer as ArrayBuffer) : new Uint8Array(deflated).buffer;
    port?.postMessage({ type: 'block-done', taskId: message.taskId, seq: message.seq, data, crc, inputLength: input.length } satisfies FromWorker, [data]);
  } catch (error) {
    post({ type: 'block-failed', taskId: message.taskId, seq: message.seq, message: describe(error) });
  }
}

function onMessage(message: ToWorker): void {
  switch (message.type) {
    case 'block':
      runBlock(message);
      return;
    case 'start':
      startTask(message);
      return;
    case 'chunk': {
      const task = tasks.get(message.taskId);
      if (task === undefined || task.aborted) return;
      const bytes = Buffer.from(message.data);
      task.inputHash.update(bytes);
      // The callback runs once the compressor has consumed the chunk and its output side is
      // below its high-water mark, i.e. once the file write keeps up.
      task.compressor.write(bytes, (error) => {
        if (error == null) post({ type: 'ack', taskId: message.taskId, bytes: bytes.length });
      });
      return;
    }
    case 'end':
      tasks.get(message.taskId)?.compressor.end();
      return;
    case 'abort': {
      const task = tasks.get(message.taskId);
      if (task === undefined || task.aborted) return;
      task.aborted = true;
      task.compressor.destroy();
      return;
    }
  }
}

port?.on('message', onMessage);
