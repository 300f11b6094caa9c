// Layer tars on their way out of an image source: decompression (gzip via node:zlib; zstd where
// this Node has it), verification against the diff_id while streaming, and handing each layer to
// the caller's onLayer with the checks that it was read to the end.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { parseDigest } from '../core/digest';
import { isLayerMediaType } from '../core/mediaTypes';
import { EngineError } from '../engine/dockerHost';
import { ImageSourceError } from './sourceErrors';

export type Compression = 'none' | 'gzip' | 'zstd';

/** By magic bytes: gzip (RFC 1952) 1f 8b, zstd (RFC 8878) 28 b5 2f fd; anything else is a plain tar. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** A layer media type's compression; undefined when it is not a layer media type at all. */
export function compressionOfMediaType(mediaType: string): Compression | undefined {
  if (!isLayerMediaType(mediaType)) return undefined;
  if (/[+.]gzip$/.test(mediaType)) return 'gzip';
  if (/[+.]zstd$/.test(mediaType)) return 'zstd';
  return 'none';
}

type DecompressorFactory = () => Transform;

/** node:zlib's zstd decompressor (Node >= 22.15 / 23.8), when this Node has one. */
function zstdFactory(): DecompressorFactory | undefined {
  const candidate = (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress;
  return typeof candidate === 'function' ? (candidate as DecompressorFactory) : undefined;
}

export function canDecompress(compression: Compression): boolean {
  return compression !== 'zstd' || zstdFactory() !== undefined;
}

/** A fresh decompressing stream for `compression` (none for plain tars); throws UNSUPPORTED_COMPRESSION. */
export function decompressor(compression: Compression, source: string, what: string): Transform | undefined {
  if (compression === 'none') return undefined;
  if (compression === 'gzip') return zlib.createGunzip();
  const factory = zstdFactory();
  if (factory === undefined) {
    throw new ImageSourceError(
      'UNSUPPORTED_COMPRESSION',
      `${source}: ${what} is zstd-compressed, which Node ${process.version} cannot decompress — run Layerlift on Node 22.15 or newer, or export the image with gzip layers`,
      source,
    );
  }
  return factory();
}

/** Passes bytes through while hashing them; fails at the end when they are not `diffId`. */
export class DiffIdVerifier extends Transform {
  private readonly hash: Hash;
  private bytes = 0;
  private handedOver = false;

  /**
   * The consumer checks the diff_id itself (the compressor's writer thread hashes its input
   * anyway): this stage stops hashing and checking. Whatever passed before is checked there too,
   * as the consumer reads the stream from its first byte.
   */
  handOver(): void {
    this.handedOver = true;
  }

  constructor(
    private readonly diffId: string,
    private readonly source: string,
  ) {
    super({ highWaterMark: 64 * 1024 });
    this.hash = createHash(parseDigest(diffId).algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.handedOver) this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.handedOver) {
      callback();
      return;
    }
    const algorithm = this.diffId.slice(0, this.diffId.indexOf(':'));
    const actual = `${algorithm}:${this.hash.digest('hex')}`;
    if (actual === this.diffId) {
      callback();
      return;
    }
    callback(
      new ImageSourceError(
        'DIFF_ID_MISMATCH',
        `${this.source}: layer ${this.diffId} is corrupt: its ${this.bytes} uncompressed bytes hash to ${actual} — export or rebuild the image`,
        this.source,
      ),
    );
  }
}

/**
 * Lets the consumer of a delivered layer check its diff_id instead of the source (one hash of
 * the layer, off the main thread, instead of two). True when the stream is a source's verifying
 * stage and now leaves the check to the consumer; false when the caller must keep trusting the source.
 */
export function handOverDiffIdCheck(tar: Readable): boolean {
  if (!(tar instanceof DiffIdVerifier)) return false;
  tar.handOver();
  return true;
}

export type OnLayer = (diffId: string, tar: Readable) => Promise<void>;

export interface LayerDelivery {
  /** The source's description, for messages. */
  source: string;
  diffId: string;
  /** The layer as stored (compressed or not). */
  input: Readable | AsyncIterable<Buffer>;
  compression: Compression;
  onLayer: OnLayer;
  signal?: AbortSignal | undefined;
}

/**
 * Hands the uncompressed, verified tar of one layer to onLayer and settles once both are done.
 * Rejects with DIFF_ID_MISMATCH (also when onLayer swallowed that error), with the source's own
 * error when the source failed, with onLayer's error when only it failed, and with
 * LAYER_NOT_CONSUMED when onLayer returned before the stream ended.
 */
export async function deliverLayer(delivery: LayerDelivery): Promise<void> {
  const { source, diffId, signal } = delivery;
  if (signal?.aborted) throw aborted(source, diffId);
  const inflate = decompressor(delivery.compression, source, `layer ${diffId}`);
  const verifier = new DiffIdVerifier(diffId, source);
  const stages: Transform[] = inflate ? [inflate, verifier] : [verifier];
  const flowing = signal
    ? pipeline(delivery.input, ...(stages as [Transform]), { signal })
    : pipeline(delivery.input, ...(stages as [Transform]));
  // Never rejects: the source side's failure, mapped, or undefined.
  const outcome: Promise<Error | undefined> = flowing.then(
    () => undefined,
    (error: unknown) => mapStreamError(error, source, diffId, delivery.compression, signal),
  );

  try {
    await delivery.onLayer(diffId, verifier);
  } catch (callbackError) {
    verifier.destroy();
    const own = await outcome;
    // A source failure is the root cause of whatever onLayer made of it.
    if (own instanceof ImageSourceError || own instanceof EngineError) throw own;
    throw callbackError;
  }
  // The stream must have been read to its end; give a just-drained one a turn to say so.
  const early = await Promise.race([outcome, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
  if (early instanceof Error) throw early;
  if (!verifier.readableEnded) {
    verifier.destroy();
    const own = await outcome;
    if (own instanceof ImageSourceError || own instanceof EngineError) throw own;
    throw new ImageSourceError(
      'LAYER_NOT_CONSUMED',
      `${source}: onLayer returned before reading layer ${diffId} to its end — consume every layer stream`,
      source,
    );
  }
  const own = await outcome;
  if (own) throw own;
}

function aborted(source: string, diffId: string, cause?: unknown): ImageSourceError {
  return new ImageSourceError('ABORTED', `${source}: reading layer ${diffId} was cancelled`, source, { cause });
}

/** Errors out of a layer pipeline, as what the user can act on. */
export function mapStreamError(error: unknown, source: string, diffId: string, compression: Compression, signal?: AbortSignal): Error {
  if (error instanceof ImageSourceError || error instanceof EngineError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; name?: unknown; message?: unknown };
  if (signal?.aborted || e.name === 'AbortError') return aborted(source, diffId, error);
  if (typeof e.code === 'string' && e.code.startsWith('Z_') && compression !== 'none') {
    const why = typeof e.message === 'string' ? e.message : e.code;
    return new ImageSourceError(
      'SOURCE_INVALID',
      `${source}: layer ${diffId} is not valid ${compression} data (${why}) — the source is corrupt or truncated; export or rebuild it`,
      source,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** The first bytes of a stream (at least `min` unless it is shorter) and the whole stream again. */
export async function peekStream(
  input: AsyncIterable<Buffer>,
  min = 4,
): Promise<{ head: Buffer; stream: AsyncIterable<Buffer> }> {
  const iterator = input[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let length = 0;
  let finished = false;
  while (length < min) {
    const next = await iterator.next();
    if (next.done === true) {
      finished = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    taken.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(taken);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      for (const chunk of taken) yield chunk;
      if (finished) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) {
          finished = true;
          return;
        }
        yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      }
    } finally {
      if (!finished) await iterator.return?.();
    }
  }
  return { head, stream: replay() };
}
