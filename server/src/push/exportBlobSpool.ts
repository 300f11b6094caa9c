// The stored compressed blobs of a containerd-store export (blobs/sha256/<digest>), uploaded as
// they are: the same digests the registry already knows, no decompress-and-recompress. An
// upload needs random access (`open(offset)` to resume), and the export can only be read front
// to back, so the blobs to upload are spooled to the push's scratch directory in ONE pass (each
// hashed on the way: a blob that does not hash to its name is refused), then read from there.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deferred, type Deferred } from '../core/deferred';
import { forEachEntry, type OpenArchive } from './archiveEntries';
import { digestOfPath } from './archiveManifest';
import { ImageSourceError } from './sourceErrors';

export class ExportBlobSpool {
  private readonly files = new Map<string, Deferred<string>>();
  private readonly aborter = new AbortController();
  private readonly passes: Promise<void>[] = [];

  constructor(
    private readonly open: OpenArchive,
    private readonly source: string,
    private readonly directory: string,
  ) {}

  /** Spools these blobs, all in one pass of the export (those not asked for before). */
  prefetch(digests: readonly string[]): void {
    const fresh = new Map<string, Deferred<string>>();
    for (const digest of digests) {
      if (this.files.has(digest) || fresh.has(digest)) continue;
      const p = deferred<string>();
      fresh.set(digest, p);
      this.files.set(digest, p);
    }
    if (fresh.size > 0) this.passes.push(this.pass(fresh));
  }

  /** The blob from `offset` on, once spooled. */
  async openBlob(digest: string, offset: number): Promise<Readable> {
    this.prefetch([digest]);
    const path = await this.files.get(digest)?.promise;
    if (path === undefined) throw new Error(`internal error: ${digest} was not spooled`);
    return createReadStream(path, { start: offset });
  }

  async close(): Promise<void> {
    this.aborter.abort();
    await Promise.allSettled(this.passes);
    await Promise.all([...this.files.keys()].map((digest) => rm(this.pathOf(digest), { force: true })));
  }

  private pathOf(digest: string): string {
    return join(this.directory, `blob-${digest.replace(':', '-')}`);
  }

  private async pass(wanted: Map<string, Deferred<string>>): Promise<void> {
    try {
      await forEachEntry(this.open, this.source, this.aborter.signal, async (entry) => {
        const digest = entry.type === 'file' ? digestOfPath(entry.name) : undefined;
        const target = digest === undefined ? undefined : wanted.get(digest);
        if (digest === undefined || target === undefined || target.settled) return 'next';
        const hash = createHash(digest.slice(0, digest.indexOf(':')));
        const hasher = new Transform({
          transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
            hash.update(chunk);
            callback(null, chunk);
          },
        });
        const path = this.pathOf(digest);
        await pipeline(entry.take(), hasher, createWriteStream(path));
        const actual = `${digest.slice(0, digest.indexOf(':'))}:${hash.digest('hex')}`;
        if (actual === digest) target.resolve(path);
        else target.reject(new ImageSourceError('SOURCE_INVALID', `${this.source}: the stored blob ${digest} hashes to ${actual}: the export is corrupt — retry`, this.source));
        return [...wanted.values()].every((p) => p.settled) ? 'stop' : 'next';
      });
      const missing = [...wanted.entries()].filter(([, p]) => !p.settled).map(([digest]) => digest);
      const error = new ImageSourceError('LAYER_MISSING', `${this.source}: blob ${missing.join(', ')} is not in the engine's export — the image changed meanwhile; push again`, this.source);
      for (const digest of missing) wanted.get(digest)?.reject(error);
    } catch (error) {
      for (const p of wanted.values()) if (!p.settled) p.reject(error);
    }
  }
}
