// One layer streamed whole to one worker of a LayerCompressor's pool (compressPool.ts) and
// compressed there (zstd: one layer per worker). The main thread gathers the tar into 256 KiB
// batches and moves each to the worker (transferred, not copied); the worker hashes the input
// (unless the source verified it), compresses, hashes and writes the output (workerTasks.ts).
// At most WINDOW_BYTES are unacknowledged; beyond that the main thread stops reading the tar.
import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { abortedError, errnoOf, fromOutcome, LayerCompressError, messageOf, type Outcome } from './compressErrors';
import { CreditWindow, type Running, type Slot, type WorkerPool } from './compressPool';

/** Bytes gathered before a transfer to the worker. */
const BATCH_BYTES = 256 * 1024;
/** Unacknowledged bytes after which the main thread stops reading the tar. */
const WINDOW_BYTES = 1024 * 1024;

export interface StreamJob {
  diffId: string;
  tar: Readable;
  signal: AbortSignal | undefined;
  verified: boolean;
}

export interface StreamSettings {
  pool: WorkerPool;
  slot: Slot;
  directory: string;
  level: number;
  taskId: number;
  ensureDirectory: () => Promise<void>;
  onClose: (cancel: (error: LayerCompressError) => void) => () => void;
}

export async function compressStreamLayer(settings: StreamSettings, job: StreamJob): Promise<Extract<Outcome, { type: 'done' }>> {
  const { pool, slot, taskId } = settings;
  const directoryReady = settings.ensureDirectory();
  const tempPath = join(settings.directory, `.layerlift-${randomUUID()}.tmp`);

  let answered = false;
  let outcome!: (value: Outcome) => void;
  const answer = new Promise<Outcome>((resolve) => (outcome = resolve));
  const credit = new CreditWindow(WINDOW_BYTES);
  let sinkError: LayerCompressError | undefined;
  let sink: Writable | undefined;
  const stopStreaming = (error: LayerCompressError) => {
    sinkError ??= error;
    sink?.destroy(error);
  };
  // The slot is this layer's from now on (the pool sees it busy), the task started once the directory is there.
  const running: Running = {
    onAck: (message) => {
      credit.give(message.bytes);
    },
    onOutcome: (value) => {
      answered = true;
      if (value.type === 'failed') stopStreaming(fromOutcome(value, job.diffId));
      outcome(value);
    },
  };
  slot.tasks.set(taskId, running);

  // Why this task stopped early, if it did (abort, close): the worker is told to abort.
  let cancelled: LayerCompressError | undefined;
  let started = false;
  const cancel = (error: LayerCompressError) => {
    if (cancelled !== undefined) return;
    cancelled = error;
    stopStreaming(error);
    if (started && !answered) pool.send(slot, { type: 'abort', taskId });
  };
  const onAbort = () => cancel(abortedError(job.signal));
  job.signal?.addEventListener('abort', onAbort, { once: true });
  const unregister = settings.onClose(cancel);

  try {
    try {
      await directoryReady;
    } catch (error) {
      pool.endTask(slot, taskId);
      job.tar.destroy();
      throw new LayerCompressError('WRITE_FAILED', `cannot create ${settings.directory}: ${messageOf(error)}`, { cause: error, errno: errnoOf(error) });
    }
    if (cancelled !== undefined || slot.dead) {
      pool.endTask(slot, taskId);
      job.tar.destroy();
      throw cancelled ?? new LayerCompressError('WORKER_FAILED', 'the compression worker stopped');
    }
    started = true;
    pool.startTask(slot, taskId, running, { type: 'start', taskId, tempPath, directory: settings.directory, kind: 'zstd', level: settings.level, expectedDiffId: job.diffId, verify: !job.verified });

    let batch = new Uint8Array(BATCH_BYTES);
    let filled = 0;
    const flush = () => {
      if (filled === 0) return;
      const data = filled === batch.length ? batch.buffer : batch.buffer.slice(0, filled);
      credit.take(filled);
      pool.send(slot, { type: 'chunk', taskId, data, offset: 0, length: filled }, [data]);
      batch = new Uint8Array(BATCH_BYTES);
      filled = 0;
    };
    sink = new Writable({
      highWaterMark: BATCH_BYTES,
      // decodeStrings (the default) turns strings into Buffers before they get here.
      write: (bytes: Buffer, _encoding, callback) => {
        for (let offset = 0; offset < bytes.length; ) {
          const take = Math.min(bytes.length - offset, BATCH_BYTES - filled);
          batch.set(bytes.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === BATCH_BYTES) flush();
        }
        credit.whenRoom(() => callback());
      },
      final: (callback) => {
        flush();
        pool.send(slot, { type: 'end', taskId });
        callback();
      },
      destroy: (error, callback) => {
        credit.drop();
        callback(error);
      },
    });
    if (cancelled !== undefined) sink.destroy(cancelled);

    try {
      await pipeline(job.tar, sink);
    } catch (error) {
      // The input failed, or the sink was destroyed (abort, close, worker failure).
      const reason = sinkError ?? new LayerCompressError('INPUT_FAILED', `cannot read the layer ${job.diffId}: ${messageOf(error)}`, { cause: error });
      if (!answered) pool.send(slot, { type: 'abort', taskId });
      const last = await answer;
      if (last.type === 'failed' && last.code === 'WORKER_FAILED') await unlink(tempPath).catch(() => undefined);
      throw reason;
    }

    const result = await answer;
    if (result.type === 'failed') {
      if (result.code === 'WORKER_FAILED') await unlink(tempPath).catch(() => undefined);
      throw cancelled ?? fromOutcome(result, job.diffId);
    }
    return result;
  } finally {
    job.signal?.removeEventListener('abort', onAbort);
    unregister();
  }
}
