// Walking a `docker save` archive stream entry by entry (tar-stream), shared by the two-pass
// reader (streamedArchive.ts) and the one-pass engine export reader (engineExportReader.ts):
// entries not taken are drained, the stream is closed as soon as the visitor says stop, and
// failures are mapped to one-line ImageSourceErrors.
import { addAbortSignal, PassThrough, type Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { EngineError } from '../engine/dockerHost';
import { normalizeArchivePath } from './archiveManifest';
import { fileError, ImageSourceError } from './sourceErrors';

/** Opens a fresh stream of the archive (uncompressed tar bytes). */
export type OpenArchive = (signal: AbortSignal | undefined) => Promise<Readable>;

export interface ArchiveEntry {
  name: string;
  type: string;
  size: number;
  linkname: string;
  /** The content; whoever takes it must read it to its end. */
  take(): AsyncIterable<Buffer>;
}

export type Visit = (entry: ArchiveEntry) => Promise<'next' | 'stop'>;

/** Runs `visit` on each entry in order (draining entries it did not take) until it says stop. */
export async function forEachEntry(open: OpenArchive, source: string, signal: AbortSignal | undefined, visit: Visit): Promise<void> {
  const body = await open(signal).catch((error: unknown) => {
    throw mapArchiveError(error, source, signal);
  });
  if (signal) addAbortSignal(signal, body);
  const extract = tar.extract();
  let feedError: unknown;
  const feeding = feed(body, extract).catch((error: unknown) => {
    feedError = error;
    extract.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  let visitFailed = false;
  try {
    for await (const raw of extract) {
      const header = raw.header;
      let taken = false;
      const entry: ArchiveEntry = {
        name: normalizeArchivePath(header.name),
        type: header.type ?? 'file',
        size: header.size ?? 0,
        linkname: header.linkname ?? '',
        take: () => {
          taken = true;
          return chunksOf(raw);
        },
      };
      let verdict: 'next' | 'stop';
      try {
        if (signal?.aborted) throw new ImageSourceError('ABORTED', `${source}: reading the archive was cancelled`, source);
        verdict = await visit(entry);
      } catch (error) {
        visitFailed = true;
        throw error;
      }
      if (verdict === 'stop') break;
      if (!taken) raw.resume();
    }
  } catch (error) {
    if (visitFailed) throw error;
    throw mapArchiveError(feedError ?? error, source, signal);
  } finally {
    body.destroy();
    extract.destroy();
    await feeding;
  }
}

async function* chunksOf(entry: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of entry) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
}

/** Writes the body into the extractor, honouring its backpressure. */
async function feed(body: Readable, extract: tar.Extract): Promise<void> {
  for await (const chunk of body) {
    if ((extract as unknown as { destroyed: boolean }).destroyed) return;
    if (!extract.write(chunk as Buffer)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          extract.off('drain', done);
          extract.off('close', done);
          resolve();
        };
        extract.on('drain', done);
        extract.on('close', done);
      });
    }
  }
  extract.end(null); // streamx: null is "no final chunk"
}

/** What a failed archive read means to the user. */
export function mapArchiveError(error: unknown, source: string, signal?: AbortSignal): Error {
  if (error instanceof ImageSourceError || error instanceof EngineError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; name?: unknown; message?: unknown };
  const why = typeof e.message === 'string' ? e.message : String(error);
  if (signal?.aborted || e.name === 'AbortError') return new ImageSourceError('ABORTED', `${source}: reading the archive was cancelled`, source, { cause: error });
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new ImageSourceError('SOURCE_INVALID', `${source}: the archive is not valid compressed data (${why}) — export it again`, source, { cause: error });
  }
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return fileError(error, source, 'the archive');
  return new ImageSourceError('SOURCE_INVALID', `${source}: not a readable tar archive (${why}) — export it again with "docker save -o FILE IMAGE"`, source, { cause: error });
}

/** `stream` with its errors mapped (e.g. a gunzip's zlib errors into SOURCE_INVALID). */
export function withMappedErrors(stream: Readable, map: (error: unknown) => Error): Readable {
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  stream.on('error', (error) => out.destroy(map(error)));
  out.on('close', () => stream.destroy());
  stream.pipe(out);
  return out;
}
