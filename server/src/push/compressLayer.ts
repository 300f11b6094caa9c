// Compressing uncompressed layer tars (what `docker save` and the engine's image export hold) into
// the blobs a registry stores, off the main thread.
//
// gzip (the default) is pigz-style (parallelGzip.ts): the main thread cuts the layer's tar into
// 1 MiB blocks as it streams and transfers each (the ArrayBuffer moves, nothing is copied across
// threads) with the 32 KiB before it to whichever worker of the pool (compressWorker.ts) is idle;
// the worker deflates it and checksums it (CRC-32); the main thread writes the blocks back in
// order into one gzip member, hashing the output once (the blob's digest). One layer thus keeps
// every worker busy. At most a few blocks per worker are in flight, and the main thread stops
// reading the tar until the oldest is written, so memory stays bounded (a few MiB per worker)
// whatever the layer's size, and a slow disk slows the reading instead of filling memory.
// zstd streams one layer per worker through zlib's zstd compressor.
//
// The sha256 of the input must equal the diff_id the image config announces (else
// DIFF_ID_MISMATCH); a caller whose source verified it already (layerStreams.ts) says so, and the
// input is then not hashed a second time. The result is a file `sha256-<hex>.tar.gz` in the given
// directory, written under a temporary name and renamed when complete, so a file with a digest
// name is always whole.
// The output is deterministic: gzip header mtime 0, no file name, OS byte 255 (as Go writes it),
// the configured level (default 6, Go's gzip.DefaultCompression that docker uses), fixed block
// boundaries: the same bytes whatever the number of workers or the input's chunking. It is not
// byte-identical to docker's own gzip (Go's deflate differs from zlib's), only reproducible here.
//
// Worker script: bundled (dist/), this module lives in dist/cli.js or dist/server.js and the
// worker is dist/compressWorker.js, its own esbuild entry (scripts/build.mjs). Run from source
// under tsx, the worker is compressWorker.ts, started through tsx's CommonJS register API,
// because Node 20 workers do not inherit the `--import tsx` loader.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { digestProblem } from '../core/digest';
import { OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD } from '../core/mediaTypes';
import type { Compression, FromWorker, ToWorker, WorkerFailureCode } from './compressWorker';
import { crc32Combine, DICTIONARY_SIZE, GZIP_BLOCK_SIZE, gzipHeader, gzipTrailer } from './parallelGzip';

export type { Compression } from './compressWorker';

export type CompressedMediaType = 'application/vnd.oci.image.layer.v1.tar+gzip' | 'application/vnd.oci.image.layer.v1.tar+zstd';

export interface CompressedLayer {
  /** sha256 of the uncompressed tar, verified. */
  diffId: string;
  /** sha256 of the compressed blob. */
  digest: string;
  /** Bytes of the compressed blob. */
  size: number;
  /** The compressed blob: `<directory>/sha256-<hex>.tar.gz` (`.tar.zst` for zstd). */
  path: string;
  /** `application/vnd.oci.image.layer.v1.tar+gzip` (or `+zstd` when asked for and available). */
  mediaType: CompressedMediaType;
}

export interface LayerCompressorOptions {
  /** Where compressed blobs are written (the user's cache directory); created when missing. */
  directory: string;
  /** gzip 0-9, default 6 (Go's gzip.DefaultCompression); zstd 1-22, default 3. */
  level?: number;
  /** Worker threads. gzip: every worker deflates blocks of any layer; zstd: layers compressed at
   *  once. Default: the machine's cores (at most 8). */
  workers?: number;
  /** Default gzip. zstd needs a Node.js whose zlib has it (22.15 and later; not Node 20). */
  compression?: Compression;
}

export type LayerCompressErrorCode =
  | 'DIFF_ID_MISMATCH'
  | 'INVALID_DIFF_ID'
  | 'INVALID_OPTIONS'
  | 'UNSUPPORTED_COMPRESSION'
  | 'ABORTED'
  | 'CLOSED'
  | 'INPUT_FAILED'
  | 'WRITE_FAILED'
  | 'WORKER_FAILED';

/** A compression that did not produce a blob. `code` is stable; the message is one line. */
export class LayerCompressError extends Error {
  override readonly name = 'LayerCompressError';
  readonly code: LayerCompressErrorCode;
  /** DIFF_ID_MISMATCH: the diff_id the layer was expected to have. */
  readonly expectedDiffId: string | undefined;
  /** DIFF_ID_MISMATCH: the sha256 of the bytes actually read. */
  readonly actualDiffId: string | undefined;
  /** WRITE_FAILED: the file system's error code (ENOSPC, EACCES...), when there was one. */
  readonly errno: string | undefined;

  constructor(
    code: LayerCompressErrorCode,
    message: string,
    extra: { cause?: unknown; expectedDiffId?: string; actualDiffId?: string; errno?: string } = {},
  ) {
    super(message.replace(/\s+/g, ' ').trim(), extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.expectedDiffId = extra.expectedDiffId;
    this.actualDiffId = extra.actualDiffId;
    this.errno = extra.errno;
  }
}

export function isLayerCompressError(value: unknown): value is LayerCompressError {
  return value instanceof LayerCompressError;
}

/** Whether this Node.js can write zstd (zlib.createZstdCompress: Node 22.15+, 23.8+). */
export function zstdSupported(): boolean {
  return typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === 'function';
}

/** Bytes gathered before a transfer to the worker. */
const BATCH_BYTES = 256 * 1024;
/** Unacknowledged bytes after which the main thread stops reading the tar. */
const WINDOW_BYTES = 1024 * 1024;

interface Job {
  diffId: string;
  tar: Readable;
  signal: AbortSignal | undefined;
  /** The source verified the diff_id itself: do not hash the input again. */
  verified: boolean;
  resolve: (layer: CompressedLayer) => void;
  reject: (error: unknown) => void;
  /** The abort listener while the job waits in the queue. */
  dequeue?: () => void;
}

type Outcome = Extract<FromWorker, { type: 'done' }> | { type: 'failed'; code: WorkerFailureCode | 'WORKER_FAILED'; message: string; actualDiffId?: string; errno?: string };

/** The task a worker is running, as the main thread tracks it. */
interface Running {
  taskId: number;
  onAck: (bytes: number) => void;
  /** The worker's answer (or its death); called once. */
  onOutcome: (outcome: Outcome) => void;
}

interface Slot {
  worker: Worker;
  running: Running | undefined;
  /** The gzip block this worker is deflating. */
  block: BlockJob | undefined;
  dead: boolean;
}

/** One gzip block waiting for, or on, a worker. */
interface BlockJob {
  message: Extract<ToWorker, { type: 'block' }>;
  transfer: ArrayBuffer[];
  onDone: (result: { data: ArrayBuffer; crc: number; inputLength: number }) => void;
  onFail: (message: string) => void;
}

/** gzip blocks in flight per layer (dispatched, not yet written), per worker. */
const BLOCKS_PER_WORKER = 2;

interface WorkerScript {
  filename: string;
  eval: boolean;
}

/**
 * How to start the worker: next to this module's bundle (dist/compressWorker.js), or, when this
 * module runs from its TypeScript source (tsx), the .ts worker through tsx's register API.
 */
export function workerScript(): WorkerScript {
  if (__filename.endsWith('.ts')) {
    const source = join(__dirname, 'compressWorker.ts');
    let tsx: string;
    try {
      tsx = require.resolve('tsx/cjs/api');
    } catch {
      throw new LayerCompressError('WORKER_FAILED', `cannot start ${source}: running from TypeScript source needs tsx (npm install), or run the bundle in dist/`);
    }
    return { filename: `require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(source)});`, eval: true };
  }
  const bundled = join(__dirname, 'compressWorker.js');
  if (!existsSync(bundled)) {
    throw new LayerCompressError('WORKER_FAILED', `cannot start the compression worker: ${bundled} is missing (run npm run compile)`);
  }
  return { filename: bundled, eval: false };
}

export class LayerCompressor {
  private readonly directory: string;
  /** The compression level in use. */
  readonly level: number;
  private readonly maxWorkers: number;
  /** gzip or zstd. */
  readonly compression: Compression;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly closers = new Set<(error: LayerCompressError) => void>();
  private directoryReady: Promise<void> | undefined;
  private script: WorkerScript | undefined;
  private nextTaskId = 0;
  private closed = false;
  private gzipLayers = 0;
  private readonly blockQueue: BlockJob[] = [];

  constructor(options: LayerCompressorOptions) {
    this.compression = options.compression ?? 'gzip';
    if (this.compression !== 'gzip' && this.compression !== 'zstd') {
      throw new LayerCompressError('INVALID_OPTIONS', `unknown compression "${String(this.compression)}" (expected gzip or zstd)`);
    }
    if (this.compression === 'zstd' && !zstdSupported()) {
      throw new LayerCompressError(
        'UNSUPPORTED_COMPRESSION',
        `zstd compression needs Node.js 22.15 or later (this is Node.js ${process.version}); use gzip`,
      );
    }
    const [minLevel, maxLevel, defaultLevel] = this.compression === 'gzip' ? [0, 9, 6] : [1, 22, 3];
    this.level = options.level ?? defaultLevel;
    if (!Number.isInteger(this.level) || this.level < minLevel || this.level > maxLevel) {
      throw new LayerCompressError('INVALID_OPTIONS', `${this.compression} level must be an integer from ${minLevel} to ${maxLevel}, got ${this.level}`);
    }
    this.maxWorkers = options.workers ?? Math.min(8, availableParallelism());
    if (!Number.isInteger(this.maxWorkers) || this.maxWorkers < 1) {
      throw new LayerCompressError('INVALID_OPTIONS', `workers must be a positive integer, got ${this.maxWorkers}`);
    }
    if (options.directory === '') throw new LayerCompressError('INVALID_OPTIONS', 'directory must not be empty');
    this.directory = options.directory;
  }

  /** Where compressed blobs go; also room for the push's other scratch files. */
  get outputDirectory(): string {
    return this.directory;
  }

  /** Layers compressed at once at most. */
  get workers(): number {
    return this.maxWorkers;
  }

  get mediaType(): CompressedMediaType {
    return this.compression === 'zstd' ? OCI_LAYER_TAR_ZSTD : OCI_LAYER_TAR_GZIP;
  }

  /**
   * Compresses one uncompressed layer tar, verifying it hashes to `diffId`. Layers beyond the
   * pool's size wait their turn (their streams are not read meanwhile). On any failure the
   * temporary file is removed before the promise rejects, and `tar` is destroyed (as
   * stream.pipeline does), which releases the connection it may come from.
   */
  compress(diffId: string, tar: Readable, signal?: AbortSignal, options: { verified?: boolean } = {}): Promise<CompressedLayer> {
    return new Promise<CompressedLayer>((resolve, reject) => {
      const fail = (error: LayerCompressError) => {
        tar.destroy();
        reject(error);
      };
      if (this.closed) return fail(new LayerCompressError('CLOSED', 'the layer compressor is closed'));
      const problem = digestProblem(diffId);
      if (problem !== undefined) return fail(new LayerCompressError('INVALID_DIFF_ID', `invalid diff_id "${diffId.slice(0, 80)}": ${problem}`));
      if (signal?.aborted) return fail(abortedError(signal));
      const job: Job = { diffId, tar, signal, verified: options.verified === true, resolve, reject };
      if (signal !== undefined) {
        // Aborted while waiting for a worker: out of the queue at once.
        job.dequeue = () => {
          const at = this.queue.indexOf(job);
          if (at < 0) return;
          this.queue.splice(at, 1);
          fail(abortedError(signal));
        };
        signal.addEventListener('abort', job.dequeue, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /**
   * Stops the pool: layers not finished yet are cancelled (they reject with CLOSED, their
   * temporary files removed) and the workers end. Later compress() calls reject with CLOSED.
   */
  async close(): Promise<void> {
    this.closed = true;
    const error = new LayerCompressError('CLOSED', 'the layer compressor was closed before the layer was compressed');
    for (const job of [...this.queue]) {
      this.unqueue(job);
      job.tar.destroy();
      job.reject(error);
    }
    for (const cancel of [...this.closers]) cancel(error);
    await Promise.allSettled([...this.active]);
    // Held (ref) while they stop: an unref'd worker's terminate() does not keep the event loop alive
    // (and a worker that ends first must not unref the others: unrefIdle() checks `closed`).
    await Promise.allSettled(
      this.slots.map((slot) => {
        slot.worker.ref();
        return slot.worker.terminate();
      }),
    );
    this.slots.length = 0;
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const job = this.queue[0];
      if (job === undefined) return;
      if (this.compression === 'gzip') {
        // Layers at once: as many as workers (each keeps its blocks in flight), so memory stays bounded.
        if (this.gzipLayers >= this.maxWorkers) return;
        this.unqueue(job);
        this.gzipLayers++;
        const run = this.runGzip(job).then(job.resolve, job.reject);
        this.active.add(run);
        void run.finally(() => {
          this.gzipLayers--;
          this.active.delete(run);
          this.dispatch();
        });
        continue;
      }
      let slot: Slot | undefined;
      try {
        slot = this.idleSlot();
      } catch (error) {
        this.unqueue(job);
        job.tar.destroy();
        job.reject(error);
        continue;
      }
      if (slot === undefined) return;
      this.unqueue(job);
      const run = this.run(slot, job).then(job.resolve, job.reject);
      this.active.add(run);
      void run.finally(() => {
        this.active.delete(run);
        this.dispatch();
      });
    }
  }

  private unqueue(job: Job): void {
    const at = this.queue.indexOf(job);
    if (at >= 0) this.queue.splice(at, 1);
    if (job.dequeue !== undefined) job.signal?.removeEventListener('abort', job.dequeue);
  }

  private idleSlot(): Slot | undefined {
    for (let i = this.slots.length - 1; i >= 0; i--) {
      if (this.slots[i]?.dead) this.slots.splice(i, 1);
    }
    const idle = this.slots.find((slot) => slot.running === undefined && slot.block === undefined);
    if (idle !== undefined) return idle;
    if (this.slots.length >= this.maxWorkers) return undefined;
    return this.startWorker();
  }

  private startWorker(): Slot {
    this.script ??= workerScript();
    const worker = new Worker(this.script.filename, { eval: this.script.eval });
    const slot: Slot = { worker, running: undefined, block: undefined, dead: false };
    const die = (reason: string) => {
      if (slot.dead) return;
      slot.dead = true;
      const running = slot.running;
      slot.running = undefined;
      running?.onOutcome({ type: 'failed', code: 'WORKER_FAILED', message: `the compression worker stopped: ${reason}` });
      const block = slot.block;
      slot.block = undefined;
      block?.onFail(`the compression worker stopped: ${reason}`);
      this.pumpBlocks();
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'block-done' || message.type === 'block-failed') {
        const block = slot.block;
        if (block === undefined || block.message.taskId !== message.taskId || block.message.seq !== message.seq) return;
        slot.block = undefined;
        if (message.type === 'block-done') block.onDone(message);
        else block.onFail(message.message);
        this.pumpBlocks();
        return;
      }
      const running = slot.running;
      if (running === undefined || message.taskId !== running.taskId) return;
      if (message.type === 'ack') running.onAck(message.bytes);
      else {
        slot.running = undefined;
        running.onOutcome(message);
      }
    });
    worker.on('error', (error) => die(error.message));
    worker.on('exit', (code) => die(`exit code ${code}`));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** Hands queued gzip blocks to idle workers (starting workers up to the pool's size). */
  private pumpBlocks(): void {
    while (this.blockQueue.length > 0) {
      let slot: Slot | undefined;
      try {
        slot = this.closed ? undefined : this.idleSlot();
      } catch (error) {
        for (const block of this.blockQueue.splice(0)) block.onFail(messageOf(error));
        return;
      }
      if (slot === undefined) {
        this.unrefIdle();
        return;
      }
      const block = this.blockQueue.shift();
      if (block === undefined) return;
      slot.block = block;
      slot.worker.ref();
      slot.worker.postMessage(block.message, block.transfer);
    }
    this.unrefIdle();
  }

  /** Idle workers do not hold the process open; while closing, every worker is held until it ends. */
  private unrefIdle(): void {
    if (this.closed) return;
    for (const s of this.slots) if (s.block === undefined && s.running === undefined) s.worker.unref();
  }

  private ensureDirectory(): Promise<void> {
    if (this.directoryReady === undefined) {
      this.directoryReady = mkdir(this.directory, { recursive: true }).then(() => undefined);
      // A failure is not cached: the next layer tries again.
      this.directoryReady.catch(() => (this.directoryReady = undefined));
    }
    return this.directoryReady;
  }

  /** One layer, gzip, pigz-style: blocks to any worker, written back in order (parallelGzip.ts). */
  private async runGzip(job: Job): Promise<CompressedLayer> {
    const taskId = ++this.nextTaskId;
    const tempPath = join(this.directory, `.layerlift-${randomUUID()}.tmp`);
    let cancelled: LayerCompressError | undefined;
    let sink: Writable | undefined;
    let wake: (() => void) | undefined;
    const cancel = (error: LayerCompressError) => {
      if (cancelled !== undefined) return;
      cancelled = error;
      sink?.destroy(error);
      // Blocks still queued go; those on a worker are ignored when they come back.
      for (let i = this.blockQueue.length - 1; i >= 0; i--) if (this.blockQueue[i]?.message.taskId === taskId) this.blockQueue.splice(i, 1);
      wake?.();
    };
    const stopIfCancelled = () => {
      if (cancelled !== undefined) throw cancelled;
    };
    const onAbort = () => cancel(abortedError(job.signal));
    job.signal?.addEventListener('abort', onAbort, { once: true });
    this.closers.add(cancel);
    let file: FileHandle | undefined;
    let writing: Promise<void> = Promise.resolve();
    try {
      try {
        await this.ensureDirectory();
        file = await open(tempPath, 'wx');
      } catch (error) {
        throw new LayerCompressError('WRITE_FAILED', `cannot write ${tempPath}: ${messageOf(error)}`, { cause: error, errno: errnoOf(error) });
      }
      if (cancelled !== undefined) throw cancelled;
      const out = file;
      const level = this.level;
      const inputHash = job.verified ? undefined : createHash(job.diffId.slice(0, job.diffId.indexOf(':')));
      const outputHash = createHash('sha256');
      let outputSize = 0;
      let writeError: LayerCompressError | undefined;
      const writeOut = (bytes: Uint8Array) => {
        outputHash.update(bytes);
        outputSize += bytes.length;
        writing = writing.then(async () => {
          if (writeError !== undefined || cancelled !== undefined) return;
          try {
            await writeAll(out, bytes);
          } catch (error) {
            writeError = new LayerCompressError('WRITE_FAILED', `cannot write ${tempPath}: ${messageOf(error)}`, { cause: error, errno: errnoOf(error) });
            cancel(writeError);
          }
        });
        return writing;
      };
      void writeOut(gzipHeader(level));

      // Blocks: dispatched in order (seq), deflated in any order, written in order.
      const maxInFlight = this.maxWorkers * BLOCKS_PER_WORKER + 1;
      const finished = new Map<number, { data: ArrayBuffer; crc: number; inputLength: number }>();
      let dispatched = 0;
      let written = 0;
      let inFlight = 0;
      let crc = 0;
      let inputSize = 0;
      let ended = false;
      let resume: (() => void) | undefined;
      const progressed = () => {
        if (inFlight < maxInFlight && resume !== undefined) {
          const next = resume;
          resume = undefined;
          next();
        }
        wake?.();
      };
      const onDone = (seq: number, result: { data: ArrayBuffer; crc: number; inputLength: number }) => {
        if (cancelled !== undefined) return;
        finished.set(seq, result);
        for (let next = finished.get(written); next !== undefined; next = finished.get(written)) {
          finished.delete(written);
          written++;
          crc = crc32Combine(crc, next.crc, next.inputLength);
          inputSize += next.inputLength;
          void writeOut(new Uint8Array(next.data)).then(() => {
            inFlight--;
            progressed();
          });
        }
      };
      const onFail = (message: string) => cancel(new LayerCompressError('WORKER_FAILED', `cannot compress the layer ${job.diffId}: ${message}`));

      let current = new Uint8Array(GZIP_BLOCK_SIZE);
      let filled = 0;
      let tail: ArrayBuffer | undefined;
      const ship = (last: boolean) => {
        const block = filled === current.length ? current : current.slice(0, filled);
        inputHash?.update(block);
        const dictionary = tail;
        // The next block's dictionary: a copy of this one's last 32 KiB, taken before the block moves away.
        tail = block.slice(Math.max(0, block.length - DICTIONARY_SIZE)).buffer;
        const seq = dispatched++;
        inFlight++;
        const data = block.buffer;
        this.blockQueue.push({
          message: { type: 'block', taskId, seq, data, dictionary, level, last },
          transfer: dictionary === undefined ? [data] : [data, dictionary],
          onDone: (result) => onDone(seq, result),
          onFail,
        });
        this.pumpBlocks();
        current = new Uint8Array(GZIP_BLOCK_SIZE);
        filled = 0;
      };
      sink = new Writable({
        highWaterMark: GZIP_BLOCK_SIZE,
        write: (bytes: Buffer, _encoding, callback) => {
          for (let offset = 0; offset < bytes.length; ) {
            // A full block leaves only once more input shows it is not the last (Z_FINISH goes on the last).
            if (filled === GZIP_BLOCK_SIZE) ship(false);
            const take = Math.min(bytes.length - offset, GZIP_BLOCK_SIZE - filled);
            current.set(bytes.subarray(offset, offset + take), filled);
            filled += take;
            offset += take;
          }
          if (inFlight >= maxInFlight) resume = () => callback();
          else callback();
        },
        final: (callback) => {
          ship(true);
          ended = true;
          callback();
        },
        destroy: (error, callback) => {
          resume = undefined;
          callback(error);
        },
      });
      if (cancelled !== undefined) sink.destroy(cancelled);
      try {
        await pipeline(job.tar, sink);
      } catch (error) {
        throw cancelled ?? new LayerCompressError('INPUT_FAILED', `cannot read the layer ${job.diffId}: ${messageOf(error)}`, { cause: error });
      }
      // Every block back and written (or a failure).
      while (cancelled === undefined && !(ended && written === dispatched && inFlight === 0)) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      // (read through a function: the loop above narrowed `cancelled` to undefined for the compiler)
      stopIfCancelled();
      await writeOut(gzipTrailer(crc, inputSize));
      stopIfCancelled();
      await out.close();
      file = undefined;
      if (inputHash !== undefined) {
        const actual = `${job.diffId.slice(0, job.diffId.indexOf(':'))}:${inputHash.digest('hex')}`;
        if (actual !== job.diffId) {
          throw new LayerCompressError('DIFF_ID_MISMATCH', `layer content does not match its diff_id: expected ${job.diffId}, got ${actual}`, { expectedDiffId: job.diffId, actualDiffId: actual });
        }
      }
      const hex = outputHash.digest('hex');
      const path = join(this.directory, `sha256-${hex}.tar.gz`);
      try {
        await rename(tempPath, path);
      } catch (renameError) {
        // As in the worker: a file named by its own digest only ever appears through this rename.
        const existing = await stat(path).catch(() => undefined);
        if (existing?.size !== outputSize) throw new LayerCompressError('WRITE_FAILED', `cannot rename ${tempPath} to ${path}: ${messageOf(renameError)}`, { cause: renameError, errno: errnoOf(renameError) });
        await unlink(tempPath).catch(() => undefined);
      }
      return { diffId: job.diffId, digest: `sha256:${hex}`, size: outputSize, path, mediaType: OCI_LAYER_TAR_GZIP };
    } catch (error) {
      cancel(error instanceof LayerCompressError ? error : new LayerCompressError('WRITE_FAILED', messageOf(error), { cause: error }));
      job.tar.destroy();
      await writing.catch(() => undefined);
      await file?.close().catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      throw error;
    } finally {
      job.signal?.removeEventListener('abort', onAbort);
      this.closers.delete(cancel);
    }
  }

  private async run(slot: Slot, job: Job): Promise<CompressedLayer> {
    const directoryReady = this.ensureDirectory();
    const taskId = ++this.nextTaskId;
    const tempPath = join(this.directory, `.layerlift-${randomUUID()}.tmp`);
    const send = (message: ToWorker, transfer?: ArrayBuffer[]) => {
      if (!slot.dead) slot.worker.postMessage(message, transfer);
    };

    let answered = false;
    let outcome!: (value: Outcome) => void;
    const answer = new Promise<Outcome>((resolve) => (outcome = resolve));
    let inFlight = 0;
    let resume: (() => void) | undefined;
    let sinkError: LayerCompressError | undefined;
    let sink: Writable | undefined;
    const stopStreaming = (error: LayerCompressError) => {
      sinkError ??= error;
      sink?.destroy(error);
    };

    slot.running = {
      taskId,
      onAck: (bytes) => {
        inFlight -= bytes;
        if (inFlight < WINDOW_BYTES && resume !== undefined) {
          const next = resume;
          resume = undefined;
          next();
        }
      },
      onOutcome: (value) => {
        answered = true;
        if (value.type === 'failed') stopStreaming(fromOutcome(value, job.diffId));
        outcome(value);
      },
    };
    slot.worker.ref();

    // Why this task stopped early, if it did (abort, close): the worker is told to abort.
    let cancelled: LayerCompressError | undefined;
    const cancel = (error: LayerCompressError) => {
      if (cancelled !== undefined) return;
      cancelled = error;
      stopStreaming(error);
      if (!answered) send({ type: 'abort', taskId });
    };
    const onAbort = () => cancel(abortedError(job.signal));
    job.signal?.addEventListener('abort', onAbort, { once: true });
    this.closers.add(cancel);

    try {
      try {
        await directoryReady;
      } catch (error) {
        slot.running = undefined;
        job.tar.destroy();
        throw new LayerCompressError('WRITE_FAILED', `cannot create ${this.directory}: ${messageOf(error)}`, { cause: error, errno: errnoOf(error) });
      }
      if (cancelled !== undefined) {
        slot.running = undefined;
        job.tar.destroy();
        throw cancelled;
      }
      send({ type: 'start', taskId, tempPath, directory: this.directory, compression: this.compression, level: this.level, expectedDiffId: job.diffId });

      let batch = new Uint8Array(BATCH_BYTES);
      let filled = 0;
      const flush = () => {
        if (filled === 0) return;
        const data = filled === batch.length ? batch.buffer : batch.buffer.slice(0, filled);
        inFlight += filled;
        send({ type: 'chunk', taskId, data }, [data]);
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
          if (inFlight >= WINDOW_BYTES) resume = () => callback();
          else callback();
        },
        final: (callback) => {
          flush();
          send({ type: 'end', taskId });
          callback();
        },
        destroy: (error, callback) => {
          resume = undefined;
          callback(error);
        },
      });
      if (cancelled !== undefined) sink.destroy(cancelled);

      try {
        await pipeline(job.tar, sink);
      } catch (error) {
        // The input failed, or the sink was destroyed (abort, close, worker failure).
        const reason = sinkError ?? new LayerCompressError('INPUT_FAILED', `cannot read the layer ${job.diffId}: ${messageOf(error)}`, { cause: error });
        if (!answered) send({ type: 'abort', taskId });
        const last = await answer;
        if (last.type === 'failed' && last.code === 'WORKER_FAILED') await unlink(tempPath).catch(() => undefined);
        throw reason;
      }

      const result = await answer;
      if (result.type === 'failed') {
        if (result.code === 'WORKER_FAILED') await unlink(tempPath).catch(() => undefined);
        throw cancelled ?? fromOutcome(result, job.diffId);
      }
      return { diffId: result.diffId, digest: result.digest, size: result.size, path: result.path, mediaType: this.mediaType };
    } finally {
      job.signal?.removeEventListener('abort', onAbort);
      this.closers.delete(cancel);
      if (!slot.dead && slot.running === undefined && slot.block === undefined && !this.closed) slot.worker.unref();
    }
  }
}

/** Writes all of `bytes` (a write may take fewer than asked). */
async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

function fromOutcome(outcome: Extract<Outcome, { type: 'failed' }>, expectedDiffId: string): LayerCompressError {
  switch (outcome.code) {
    case 'DIFF_ID_MISMATCH':
      return new LayerCompressError('DIFF_ID_MISMATCH', outcome.message, { expectedDiffId, actualDiffId: outcome.actualDiffId });
    case 'ABORTED':
      return new LayerCompressError('ABORTED', outcome.message);
    case 'WRITE_FAILED':
      return new LayerCompressError('WRITE_FAILED', outcome.message, { errno: outcome.errno });
    case 'WORKER_FAILED':
      return new LayerCompressError('WORKER_FAILED', outcome.message);
  }
}

function abortedError(signal: AbortSignal | undefined): LayerCompressError {
  const reason: unknown = signal?.reason;
  const detail = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new LayerCompressError('ABORTED', `layer compression aborted${detail}`, { cause: reason });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
