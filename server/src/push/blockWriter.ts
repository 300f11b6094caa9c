// The writer of a LayerCompressor's gzip layers, in a worker thread (compressWorker.ts): a
// 'gzip-blocks' task receives one layer's gzip member in order (header, deflated blocks, trailer;
// gzipLayer.ts), hashes it (the blob's digest) and, when asked, each block's input (the diff_id),
// and writes it to the temporary file, one write after the other. Once a chunk is on disk its
// buffers go back to the main thread with the ack: the block input buffer to carry a later block,
// the deflated bytes to be freed there (this thread allocates next to nothing, so it would
// collect them rarely and hold tens of MiB meanwhile). At the end the diff_id is checked and the
// file renamed to its digest's name; every task gets exactly one `done` or `failed` answer, after
// its temporary file is gone or renamed.
import { createHash, type Hash } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { extensionFor, type FromWorker, type ToWorker } from './compressMessages';

type Post = (message: FromWorker, transfer?: ArrayBuffer[]) => void;

interface BlockTask {
  start: Extract<ToWorker, { type: 'start' }>;
  inputHash: Hash | undefined;
  outputHash: Hash;
  size: number;
  file: FileHandle | undefined;
  /** The temporary file was created by this task (so it is this task's to remove). */
  created: boolean;
  /** Every step (open, each chunk, the end) runs after the previous one. */
  chain: Promise<void>;
  /** Why the task stopped: the main thread's abort, or the first write error. */
  failure: Extract<FromWorker, { type: 'failed' }> | undefined;
  answered: boolean;
}

const tasks = new Map<number, BlockTask>();

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** Closes and removes the temporary file, then sends the task's failure (once). */
async function fail(task: BlockTask, post: Post): Promise<void> {
  if (task.answered || task.failure === undefined) return;
  task.answered = true;
  tasks.delete(task.start.taskId);
  await task.file?.close().catch(() => undefined);
  task.file = undefined;
  if (task.created) await unlink(task.start.tempPath).catch(() => undefined);
  post(task.failure);
}

export function startBlockTask(start: Extract<ToWorker, { type: 'start' }>, post: Post): void {
  const algorithm = start.expectedDiffId.slice(0, start.expectedDiffId.indexOf(':'));
  const task: BlockTask = {
    start,
    inputHash: start.verify ? createHash(algorithm) : undefined,
    outputHash: createHash('sha256'),
    size: 0,
    file: undefined,
    created: false,
    chain: Promise.resolve(),
    failure: undefined,
    answered: false,
  };
  tasks.set(start.taskId, task);
  task.chain = (async () => {
    try {
      task.file = await open(start.tempPath, 'wx');
      task.created = true;
      post({ type: 'opened', taskId: start.taskId });
    } catch (error) {
      task.failure ??= { type: 'failed', taskId: start.taskId, code: 'WRITE_FAILED', message: `cannot write ${start.tempPath}: ${describe(error)}`, errno: errnoOf(error) };
    }
    // An abort that came while opening.
    await fail(task, post);
  })();
}

export function blockChunk(message: Extract<ToWorker, { type: 'chunk' }>, post: Post): void {
  const task = tasks.get(message.taskId);
  const giveBack = () => {
    const transfer = message.input === undefined ? [message.data] : [message.data, message.input.data];
    post({ type: 'ack', taskId: message.taskId, bytes: 0, input: message.input?.data, written: message.data }, transfer);
  };
  if (task === undefined) return giveBack();
  task.chain = task.chain.then(async () => {
    if (task.failure !== undefined || task.file === undefined) return giveBack();
    const bytes = new Uint8Array(message.data, message.offset, message.length);
    if (message.input !== undefined) task.inputHash?.update(new Uint8Array(message.input.data, message.input.offset, message.input.length));
    task.outputHash.update(bytes);
    task.size += bytes.length;
    try {
      await writeAll(task.file, bytes);
    } catch (error) {
      task.failure ??= { type: 'failed', taskId: task.start.taskId, code: 'WRITE_FAILED', message: `cannot write ${task.start.tempPath}: ${describe(error)}`, errno: errnoOf(error) };
      giveBack();
      return fail(task, post);
    }
    const transfer = message.input === undefined ? [message.data] : [message.data, message.input.data];
    post({ type: 'ack', taskId: task.start.taskId, bytes: bytes.length, input: message.input?.data, written: message.data }, transfer);
  });
}

export function blockEnd(taskId: number, post: Post): void {
  const task = tasks.get(taskId);
  if (task === undefined) return;
  task.chain = task.chain.then(() => finish(task, post));
}

export function blockAbort(taskId: number, post: Post): void {
  const task = tasks.get(taskId);
  if (task === undefined || task.answered) return;
  task.failure ??= { type: 'failed', taskId, code: 'ABORTED', message: 'compression aborted' };
  // After the write in progress, if any: the file is closed and removed once.
  task.chain = task.chain.then(() => fail(task, post));
}

async function finish(task: BlockTask, post: Post): Promise<void> {
  const { start } = task;
  if (task.failure !== undefined || task.file === undefined) return fail(task, post);
  try {
    await task.file.close();
    task.file = undefined;
  } catch (error) {
    task.failure = { type: 'failed', taskId: start.taskId, code: 'WRITE_FAILED', message: `cannot write ${start.tempPath}: ${describe(error)}`, errno: errnoOf(error) };
    return fail(task, post);
  }
  const algorithm = start.expectedDiffId.slice(0, start.expectedDiffId.indexOf(':'));
  const diffId = task.inputHash === undefined ? start.expectedDiffId : `${algorithm}:${task.inputHash.digest('hex')}`;
  if (diffId !== start.expectedDiffId) {
    task.failure = {
      type: 'failed',
      taskId: start.taskId,
      code: 'DIFF_ID_MISMATCH',
      message: `layer content does not match its diff_id: expected ${start.expectedDiffId}, got ${diffId}`,
      actualDiffId: diffId,
    };
    return fail(task, post);
  }
  const hex = task.outputHash.digest('hex');
  const path = join(start.directory, `sha256-${hex}${extensionFor('gzip')}`);
  try {
    await rename(start.tempPath, path);
  } catch (renameError) {
    // Windows refuses to replace a file another process has open. A file named by its own
    // digest only ever appears through this rename, so one that exists already is this blob.
    const existing = await stat(path).catch(() => undefined);
    if (existing?.size !== task.size) {
      task.failure = { type: 'failed', taskId: start.taskId, code: 'WRITE_FAILED', message: `cannot rename ${start.tempPath} to ${path}: ${describe(renameError)}`, errno: errnoOf(renameError) };
      return fail(task, post);
    }
    await unlink(start.tempPath).catch(() => undefined);
  }
  task.answered = true;
  tasks.delete(start.taskId);
  post({ type: 'done', taskId: start.taskId, diffId, digest: `sha256:${hex}`, size: task.size, path });
}
