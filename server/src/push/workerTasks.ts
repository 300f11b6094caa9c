// The zstd half of the compression worker (compressWorker.ts): one layer per task, streamed.
//
// For each task the main thread sends `start`, then `chunk`s of the uncompressed tar (moved, not
// copied) and `end`, or `abort`. Each chunk is hashed (the diff_id, unless the source verified
// it) and written to the compressor; it is acknowledged once the compressor has taken it, which
// waits for the file write to keep up (stream backpressure through the pipeline), so the main
// thread never has more than its window of bytes in flight. The compressed bytes are hashed and
// counted (the blob digest and size) on their way to a temporary file, which is renamed to its
// digest's name when the diff_id matches and removed otherwise. Every task gets exactly one
// `done` or `failed` answer, after its temporary file is gone or renamed.
//
// Deterministic output: the bytes depend only on the input, the level and the zstd build in this
// Node.js. (gzip layers: parallelGzip.ts, written by blockWriter.ts.)
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { extensionFor, type FromWorker, type ToWorker } from './compressMessages';

/** Hashes and counts the bytes written. */
class OutputMeter extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

interface ZstdZlib {
  createZstdCompress?: (options: { params: Record<number, number> }) => Transform;
  constants: Record<string, number>;
}

function createZstdCompressor(level: number): Transform {
  const z = zlib as unknown as ZstdZlib;
  if (typeof z.createZstdCompress !== 'function') throw new Error('zstd is not supported by this Node.js');
  // ZSTD_c_compressionLevel is 100 in zstd.h.
  const levelParam = z.constants.ZSTD_c_compressionLevel ?? 100;
  return z.createZstdCompress({ params: { [levelParam]: level } });
}

interface Task {
  id: number;
  start: Extract<ToWorker, { type: 'start' }>;
  /** The diff_id's hash of the input; none when the source verified it. */
  inputHash: Hash | undefined;
  compressor: Transform;
  meter: OutputMeter;
  /** Settles when the pipeline compressor → meter → file has finished or failed. */
  finished: Promise<Error | undefined>;
  aborted: boolean;
}

const tasks = new Map<number, Task>();
let post: (message: FromWorker, transfer?: ArrayBuffer[]) => void = () => undefined;

/** How answers reach the main thread (the worker's parentPort). */
export function setPoster(poster: (message: FromWorker, transfer?: ArrayBuffer[]) => void): void {
  post = poster;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Already gone, or never created.
  }
}

export function startTask(start: Extract<ToWorker, { type: 'start' }>): void {
  const algorithm = start.expectedDiffId.slice(0, start.expectedDiffId.indexOf(':'));
  let compressor: Transform;
  try {
    compressor = createZstdCompressor(start.level);
  } catch (error) {
    post({ type: 'failed', taskId: start.taskId, code: 'WRITE_FAILED', message: describe(error) });
    return;
  }
  const meter = new OutputMeter();
  const file = createWriteStream(start.tempPath, { flags: 'wx' });
  // Settles once the file is closed too: a stream destroyed while its file was still opening
  // creates the file before closing it, and the temporary file must not reappear after removal.
  const fileClosed = new Promise<void>((resolve) => file.once('close', resolve));
  const finished = new Promise<Error | undefined>((resolve) => {
    pipeline(compressor, meter, file, (error) => void fileClosed.then(() => resolve(error ?? undefined)));
  });
  const inputHash = start.verify ? createHash(algorithm) : undefined;
  const task: Task = { id: start.taskId, start, inputHash, compressor, meter, finished, aborted: false };
  tasks.set(task.id, task);
  void settle(task);
}

/** Whether `taskId` is a zstd task of this worker's. */
export function hasTask(taskId: number): boolean {
  return tasks.has(taskId);
}

export function taskChunk(message: Extract<ToWorker, { type: 'chunk' }>): void {
  const task = tasks.get(message.taskId);
  if (task === undefined || task.aborted) return;
  const bytes = Buffer.from(message.data, message.offset, message.length);
  task.inputHash?.update(bytes);
  // The callback runs once the stream has taken the chunk and is below its high-water mark,
  // i.e. once the file write keeps up.
  task.compressor.write(bytes, (error) => {
    if (error == null) post({ type: 'ack', taskId: message.taskId, bytes: bytes.length });
  });
}

export function taskEnd(taskId: number): void {
  tasks.get(taskId)?.compressor.end();
}

export function taskAbort(taskId: number): void {
  const task = tasks.get(taskId);
  if (task === undefined || task.aborted) return;
  task.aborted = true;
  task.compressor.destroy();
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
    post({ type: 'failed', taskId: task.id, code: 'WRITE_FAILED', message: `cannot write ${start.tempPath}: ${describe(error)}`, errno: errnoOf(error) });
    return;
  }
  const algorithm = start.expectedDiffId.slice(0, start.expectedDiffId.indexOf(':'));
  const diffId = task.inputHash === undefined ? start.expectedDiffId : `${algorithm}:${task.inputHash.digest('hex')}`;
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
  const path = join(start.directory, `sha256-${hex}${extensionFor('zstd')}`);
  try {
    await rename(start.tempPath, path);
  } catch (renameError) {
    // Windows refuses to replace a file another process has open. A file named by its own
    // digest only ever appears through this rename, so one that exists already is this blob.
    const existing = await stat(path).catch(() => undefined);
    await removeQuietly(start.tempPath);
    if (existing?.size !== task.meter.size) {
      post({ type: 'failed', taskId: task.id, code: 'WRITE_FAILED', message: `cannot rename ${start.tempPath} to ${path}: ${describe(renameError)}`, errno: errnoOf(renameError) });
      return;
    }
  }
  post({ type: 'done', taskId: task.id, diffId, digest: `sha256:${hex}`, size: task.meter.size, path });
}
