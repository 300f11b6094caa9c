// Compressing uncompressed layer tars (what `docker save` and the engine's image export hold) into
// the blobs a registry stores, off the main thread.
//
// gzip (the default) is pigz-style (parallelGzip.ts, gzipLayer.ts): the layer's tar is cut into
// 1 MiB blocks as it streams, each deflated by whichever worker of the pool (compressPool.ts,
// compressWorker.ts) is idle with the 32 KiB before it as dictionary, and the blocks are written
// back in order into one gzip member by the pool's writer thread, which hashes the output once
// (the blob's digest). One layer thus keeps every worker busy, and the main thread only copies
// the tar into block buffers and routes them: it hashes and writes nothing. zstd streams one layer
// per worker through zlib's zstd compressor (streamLayer.ts).
//
// The sha256 of the input must equal the diff_id the image config announces (else
// DIFF_ID_MISMATCH), checked in a worker (the writer for gzip); a caller whose source verified it
// already (layerStreams.ts) says so, and the input is then not hashed a second time. The result
// is a file `sha256-<hex>.tar.gz` in the given directory, written under a temporary name and
// renamed when complete, so a file with a digest name is always whole. On any failure the
// temporary file is removed before the promise rejects.
// The output is deterministic: gzip header mtime 0, no file name, OS byte 255 (as Go writes it),
// the configured level (default 6, Go's gzip.DefaultCompression that docker uses), fixed block
// boundaries: the same bytes whatever the number of workers or the input's chunking. It is not
// byte-identical to docker's own gzip (Go's deflate differs from zlib's), only reproducible here.
//
// Worker script: bundled (dist/), this module lives in dist/cli-main.js or dist/server.js and the
// worker is dist/compressWorker.js, its own esbuild entry (scripts/build.mjs); run from source
// under tsx, compressPool.ts starts compressWorker.ts through tsx's register API.
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { digestProblem } from '../core/digest';
import { OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD } from '../core/mediaTypes';
import { abortedError, LayerCompressError } from './compressErrors';
import type { Compression } from './compressMessages';
import { WorkerPool, type Slot } from './compressPool';
import { compressGzipLayer } from './gzipLayer';
import { compressStreamLayer } from './streamLayer';

export type { Compression } from './compressMessages';
export { isLayerCompressError, LayerCompressError, type LayerCompressErrorCode } from './compressErrors';
export { workerScript } from './compressPool';

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
   *  once. Default: the machine's cores (at most 8). gzip adds one writer thread, mostly idle. */
  workers?: number;
  /** Default gzip. zstd needs a Node.js whose zlib has it (22.15 and later; not Node 20). */
  compression?: Compression;
}

/** Whether this Node.js can write zstd (zlib.createZstdCompress: Node 22.15+, 23.8+). */
export function zstdSupported(): boolean {
  return typeof (zlib as unknown as { createZstdCompress?: unknown }).createZstdCompress === 'function';
}

/** gzip blocks in flight per layer (between the tar and the file), per worker. */
const BLOCKS_PER_WORKER = 2;

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

export class LayerCompressor {
  private readonly directory: string;
  /** The compression level in use. */
  readonly level: number;
  private readonly maxWorkers: number;
  /** gzip or zstd. */
  readonly compression: Compression;
  private readonly pool: WorkerPool;
  private readonly queue: Job[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly closers = new Set<(error: LayerCompressError) => void>();
  private directoryReady: Promise<void> | undefined;
  private nextTaskId = 0;
  private closed = false;
  private gzipLayers = 0;

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
    // Block buffers kept for reuse: one layer's blocks in flight, and the ones being filled.
    this.pool = new WorkerPool(this.maxWorkers, this.maxInFlight() + 2);
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
    await this.pool.close();
  }

  private maxInFlight(): number {
    return this.maxWorkers * BLOCKS_PER_WORKER + 1;
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const job = this.queue[0];
      if (job === undefined) return;
      let run: Promise<void>;
      if (this.compression === 'gzip') {
        // Layers at once: as many as workers (each keeps its blocks in flight), so memory stays bounded.
        if (this.gzipLayers >= this.maxWorkers) return;
        this.unqueue(job);
        this.gzipLayers++;
        run = this.runGzip(job).finally(() => this.gzipLayers--);
      } else {
        let slot: Slot | undefined;
        try {
          slot = this.pool.idleSlot();
        } catch (error) {
          this.unqueue(job);
          job.tar.destroy();
          job.reject(error);
          continue;
        }
        if (slot === undefined) return;
        this.unqueue(job);
        run = this.runStream(slot, job);
      }
      const settled = run.then(
        () => undefined,
        () => undefined,
      );
      this.active.add(settled);
      void settled.finally(() => {
        this.active.delete(settled);
        this.dispatch();
      });
    }
  }

  private runGzip(job: Job): Promise<void> {
    const settings = {
      pool: this.pool,
      directory: this.directory,
      level: this.level,
      taskId: ++this.nextTaskId,
      maxInFlight: this.maxInFlight(),
      ensureDirectory: () => this.ensureDirectory(),
      onClose: (cancel: (error: LayerCompressError) => void) => this.onClose(cancel),
    };
    return compressGzipLayer(settings, job).then(job.resolve, job.reject);
  }

  private runStream(slot: Slot, job: Job): Promise<void> {
    const settings = {
      pool: this.pool,
      slot,
      directory: this.directory,
      level: this.level,
      taskId: ++this.nextTaskId,
      ensureDirectory: () => this.ensureDirectory(),
      onClose: (cancel: (error: LayerCompressError) => void) => this.onClose(cancel),
    };
    return compressStreamLayer(settings, job).then(
      (result) => job.resolve({ diffId: result.diffId, digest: result.digest, size: result.size, path: result.path, mediaType: this.mediaType }),
      job.reject,
    );
  }

  private onClose(cancel: (error: LayerCompressError) => void): () => void {
    this.closers.add(cancel);
    return () => this.closers.delete(cancel);
  }

  private unqueue(job: Job): void {
    const at = this.queue.indexOf(job);
    if (at >= 0) this.queue.splice(at, 1);
    if (job.dequeue !== undefined) job.signal?.removeEventListener('abort', job.dequeue);
  }

  private ensureDirectory(): Promise<void> {
    if (this.directoryReady === undefined) {
      this.directoryReady = mkdir(this.directory, { recursive: true }).then(() => undefined);
      // A failure is not cached: the next layer tries again.
      this.directoryReady.catch(() => (this.directoryReady = undefined));
    }
    return this.directoryReady;
  }
}
