// One layer gzipped pigz-style (parallelGzip.ts) by a LayerCompressor's pool (compressPool.ts).
//
// The main thread only cuts and routes: it copies the streaming tar into 1 MiB block buffers
// (reused, see compressPool.ts), each with the 32 KiB before it as the dictionary, and moves
// each to whichever worker is idle; the worker deflates it, checksums it (CRC-32) and moves the
// deflated bytes and the buffer back. The main thread passes the deflated blocks on in order, with
// the gzip header before them and the trailer (the CRC-32s combined, the size) after, to the
// pool's writer thread, which hashes them (the blob's digest) and, unless the source verified the
// input already, the blocks' input (the diff_id), writes the file and renames it to its digest's
// name. No byte is hashed, written or copied twice on the main thread.
//
// At most `maxInFlight` blocks are between the tar and the file; beyond that the main thread stops
// reading the tar until the writer has written the oldest, so memory stays bounded (a few MiB per
// worker) whatever the layer's size, and a slow disk slows the reading instead of filling memory.
import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { OCI_LAYER_TAR_GZIP } from '../core/mediaTypes';
import { abortedError, errnoOf, fromOutcome, LayerCompressError, messageOf, type Outcome } from './compressErrors';
import type { FromWorker } from './compressMessages';
import { CreditWindow, type WorkerPool } from './compressPool';
import { BLOCK_INPUT_OFFSET, crc32Combine, DICTIONARY_SIZE, GZIP_BLOCK_SIZE, gzipHeader, gzipTrailer } from './parallelGzip';

export interface GzipJob {
  diffId: string;
  tar: Readable;
  signal: AbortSignal | undefined;
  /** The source verified the diff_id itself: the input is not hashed again. */
  verified: boolean;
}

export interface GzipSettings {
  pool: WorkerPool;
  directory: string;
  level: number;
  taskId: number;
  /** Blocks between the tar and the file at most. */
  maxInFlight: number;
  ensureDirectory: () => Promise<void>;
  /** Registers how close() cancels this layer; returns the unregistration. */
  onClose: (cancel: (error: LayerCompressError) => void) => () => void;
}

export interface GzipResult {
  diffId: string;
  digest: string;
  size: number;
  path: string;
  mediaType: typeof OCI_LAYER_TAR_GZIP;
}

type BlockDone = Extract<FromWorker, { type: 'block-done' }>;

/** A small buffer of its own (Buffer.from may hand out a view into Node's shared pool), to move. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

export async function compressGzipLayer(settings: GzipSettings, job: GzipJob): Promise<GzipResult> {
  const { pool, level, taskId, maxInFlight } = settings;
  const tempPath = join(settings.directory, `.layerlift-${randomUUID()}.tmp`);
  const verify = !job.verified;
  let cancelled: LayerCompressError | undefined;
  let sink: Writable | undefined;
  let wake: (() => void) | undefined;
  let writer: ReturnType<WorkerPool['writer']> | undefined;
  let answered = false;
  let answer: Promise<Outcome> | undefined;
  const cancel = (error: LayerCompressError) => {
    if (cancelled !== undefined) return;
    cancelled = error;
    sink?.destroy(error);
    // Blocks still queued go; those on a worker are dropped when they come back.
    pool.dropBlocks(taskId);
    if (writer !== undefined && !answered) pool.send(writer, { type: 'abort', taskId });
    wake?.();
  };
  const stopIfCancelled = () => {
    if (cancelled !== undefined) throw cancelled;
  };
  const onAbort = () => cancel(abortedError(job.signal));
  job.signal?.addEventListener('abort', onAbort, { once: true });
  const unregister = settings.onClose(cancel);

  // Blocks: dispatched in order (seq), deflated in any order, passed to the writer in order.
  const deflated = new Map<number, BlockDone>();
  /** What each chunk sent to the writer was, oldest first: its acks come back in that order. */
  const unacked: ('block' | 'other')[] = [];
  let dispatched = 0;
  let forwarded = 0;
  const credit = new CreditWindow(maxInFlight);
  let crc = 0;
  let inputSize = 0;
  let ended = false;

  try {
    try {
      await settings.ensureDirectory();
      writer = pool.writer();
    } catch (error) {
      if (error instanceof LayerCompressError) throw error;
      throw new LayerCompressError('WRITE_FAILED', `cannot write ${tempPath}: ${messageOf(error)}`, { cause: error, errno: errnoOf(error) });
    }
    stopIfCancelled();
    const out = writer;
    let opened: (() => void) | undefined;
    const fileOpen = new Promise<void>((resolve) => (opened = resolve));
    answer = new Promise<Outcome>((resolve) => {
      pool.startTask(
        out,
        taskId,
        {
          onAck: (message) => {
            pool.giveBuffer(message.input);
            credit.give(unacked.shift() === 'block' ? 1 : 0);
            wake?.();
          },
          onOpened: () => opened?.(),
          onOutcome: (outcome) => {
            answered = true;
            if (outcome.type === 'failed') cancel(fromOutcome(outcome, job.diffId));
            resolve(outcome);
            opened?.();
            wake?.();
          },
        },
        { type: 'start', taskId, tempPath, directory: settings.directory, kind: 'gzip-blocks', level, expectedDiffId: job.diffId, verify },
      );
    });
    const sendBytes = (bytes: Uint8Array) => {
      const data = ownBuffer(bytes);
      unacked.push('other');
      pool.send(out, { type: 'chunk', taskId, data, offset: 0, length: data.byteLength }, [data]);
    };
    sendBytes(gzipHeader(level));
    // The tar is read once the file is there: a cache directory that cannot take it fails the
    // layer before the source is consumed.
    await fileOpen;
    stopIfCancelled();

    const onDone = (seq: number, result: BlockDone) => {
      if (cancelled !== undefined) {
        pool.giveBuffer(result.input);
        return;
      }
      deflated.set(seq, result);
      for (let next = deflated.get(forwarded); next !== undefined; next = deflated.get(forwarded)) {
        deflated.delete(forwarded);
        forwarded++;
        crc = crc32Combine(crc, next.crc, next.inputLength);
        inputSize += next.inputLength;
        unacked.push('block');
        if (verify) {
          // The input goes along to be hashed for the diff_id, and comes back with the ack.
          const input = { data: next.input, offset: BLOCK_INPUT_OFFSET, length: next.inputLength };
          pool.send(out, { type: 'chunk', taskId, data: next.data, offset: next.offset, length: next.length, input }, [next.data, next.input]);
        } else {
          pool.giveBuffer(next.input);
          pool.send(out, { type: 'chunk', taskId, data: next.data, offset: next.offset, length: next.length }, [next.data]);
        }
      }
      wake?.();
    };
    const onFail = (message: string) => cancel(new LayerCompressError('WORKER_FAILED', `cannot compress the layer ${job.diffId}: ${message}`));

    // The block being filled: its dictionary (the previous block's last 32 KiB) then its input.
    let current = new Uint8Array(pool.takeBuffer());
    let dictionaryLength = 0;
    let filled = 0;
    const ship = (last: boolean) => {
      const seq = dispatched++;
      credit.take(1);
      const data = current.buffer;
      const message = { type: 'block' as const, taskId, seq, data, dictionaryLength, length: filled, level, last };
      if (!last) {
        // The next block's dictionary, copied before this block moves away.
        const next = new Uint8Array(pool.takeBuffer());
        const end = BLOCK_INPUT_OFFSET + filled;
        next.set(current.subarray(end - DICTIONARY_SIZE, end), BLOCK_INPUT_OFFSET - DICTIONARY_SIZE);
        current = next;
        dictionaryLength = DICTIONARY_SIZE;
        filled = 0;
      }
      pool.queueBlock({ message, onDone: (result) => onDone(seq, result), onFail });
    };
    sink = new Writable({
      highWaterMark: GZIP_BLOCK_SIZE,
      write: (bytes: Buffer, _encoding, callback) => {
        for (let offset = 0; offset < bytes.length; ) {
          // A full block leaves only once more input shows it is not the last (Z_FINISH goes on the last).
          if (filled === GZIP_BLOCK_SIZE) ship(false);
          const take = Math.min(bytes.length - offset, GZIP_BLOCK_SIZE - filled);
          current.set(bytes.subarray(offset, offset + take), BLOCK_INPUT_OFFSET + filled);
          filled += take;
          offset += take;
        }
        credit.whenRoom(() => callback());
      },
      final: (callback) => {
        ship(true);
        ended = true;
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
      throw cancelled ?? new LayerCompressError('INPUT_FAILED', `cannot read the layer ${job.diffId}: ${messageOf(error)}`, { cause: error });
    }
    // Every block deflated and passed on to the writer (or a failure).
    while (cancelled === undefined && !(ended && forwarded === dispatched)) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    // (read through a function: the loop above narrowed `cancelled` to undefined for the compiler)
    stopIfCancelled();
    sendBytes(gzipTrailer(crc, inputSize));
    pool.send(out, { type: 'end', taskId });
    const result = await answer;
    stopIfCancelled();
    if (result.type !== 'done') throw fromOutcome(result, job.diffId);
    return { diffId: result.diffId, digest: result.digest, size: result.size, path: result.path, mediaType: OCI_LAYER_TAR_GZIP };
  } catch (error) {
    cancel(error instanceof LayerCompressError ? error : new LayerCompressError('WRITE_FAILED', messageOf(error), { cause: error }));
    job.tar.destroy();
    // The writer answers once its temporary file is gone; a writer that died could not remove it.
    const last = answer === undefined ? undefined : await answer;
    if (last === undefined || (last.type === 'failed' && last.code === 'WORKER_FAILED')) await unlink(tempPath).catch(() => undefined);
    throw error;
  } finally {
    job.signal?.removeEventListener('abort', onAbort);
    unregister();
  }
}
