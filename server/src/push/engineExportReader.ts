// The engine's export (GET /images/{id}/get, a `docker save` tar) read ONCE for a push: the
// config and the wanted layers are taken as they pass, and the stream is closed after the last
// of them. The export is requested when the image is opened, so the engine prepares it while the
// registry is asked for the plan; the reader stops at the first layer entry until readLayers
// says which layers are wanted (backpressure holds the engine), and goes no further than needed.
//
// Which entry is which layer, known before manifest.json (the archive's last entry):
//   - Docker >= 25 with its own image store: `blobs/sha256/<diff_id>` (moby image/tarexport/save.go
//     writes the uncompressed layer under its diff_id); the config is `blobs/sha256/<image id>`.
//   - Docker < 25: `<v1 id>/layer.tar`; the config is `<image id>.json`. Every v1 id but the top
//     one is predicted from the diff_ids (v1LayerIds.ts); a directory not predicted (the top
//     layer, a daemon not in UTC) is recognised from its `json`, which comes before its layer.tar
//     (tar order: VERSION, json, layer.tar). A layer.tar still unknown while wanted layers are
//     outstanding is spooled to `spoolDirectory` while hashed, and delivered when its sha256 is
//     one of them. Whatever names a layer, deliverLayer checks its diff_id: never a wrong layer.
//   - Podman (containers/image): `<diff_id hex>.tar`, beside legacy directories whose layer.tar
//     is a symlink to it; the config is `<image id>.json`.
//   - containerd image store: the image id names a manifest or index, not a config: this reader
//     says so (UnknownExportLayout) and engineSource.ts reads the export in two passes instead;
//     so does a layout it does not know (no config or a wanted layer under any name it expects).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError } from '../engine/dockerHost';
import { forEachEntry, type ArchiveEntry, type OpenArchive } from './archiveEntries';
import { MAX_METADATA_BYTES, parseImageConfig } from './archiveManifest';
import { deliverLayer, peekStream, sniffCompression, type OnLayer } from './layerStreams';
import { ImageSourceError } from './sourceErrors';
import { chainIds, layerIndexFromJson, predictV1Ids } from './v1LayerIds';
import { deferred, type Deferred } from '../core/deferred';

export interface EngineExportOptions {
  open: OpenArchive;
  /** The image's description, for messages. */
  source: string;
  /** The engine's image id: the config digest in Docker's own image store. */
  imageId: string;
  /** From the engine's inspect (RootFS.Layers), known before the export is read. */
  diffIds: readonly string[];
  /** Where a layer.tar that no name identifies is spooled while it is hashed. */
  spoolDirectory: string;
}

/** The export is not laid out as this reader expects — the image id names a manifest or index
 *  (containerd image store), or the config or a wanted layer was under no name it knows: read it
 *  the slow way (two passes, manifest.json), which also says what is really missing. */
export class UnknownExportLayout extends Error {
  readonly code = 'UNKNOWN_EXPORT_LAYOUT';
}

interface Wanted {
  remaining: Set<string>;
  onLayer: OnLayer;
  signal: AbortSignal | undefined;
  done: Deferred<void>;
}

const LEGACY_LAYER = /^([a-f0-9]{64})\/layer\.tar$/;
const LEGACY_JSON = /^([a-f0-9]{64})\/json$/;

export class EngineExportReader {
  private readonly hex: string;
  private readonly chains: string[];
  /** Archive path → diff_id, for every name known to hold a layer. */
  private readonly paths = new Map<string, string>();
  private readonly configArrival = deferred<{ bytes: Buffer; digest: string }>();
  private readonly declared = deferred<void>();
  /** Settles once the export shows Docker's own layout (a layer or the config under a known name). */
  private readonly layoutArrival = deferred<void>();
  private wanted: Wanted | undefined;
  private readonly delivered = new Set<string>();
  private readonly aborter = new AbortController();
  private failure: unknown;
  private readonly running: Promise<void>;

  constructor(private readonly options: EngineExportOptions) {
    const { diffIds, imageId } = options;
    this.hex = imageId.slice(imageId.indexOf(':') + 1);
    this.chains = chainIds(diffIds);
    predictV1Ids(diffIds).forEach((v1Id, i) => this.paths.set(`${v1Id}/layer.tar`, diffIds[i] ?? ''));
    for (const diffId of diffIds) {
      this.paths.set(`blobs/${diffId.replace(':', '/')}`, diffId);
      // Podman (containers/image docker/internal/tarfile/writer.go physicalLayerPath): `<diff_id hex>.tar`,
      // its `<v1 id>/layer.tar` only symlinks to it.
      this.paths.set(`${diffId.slice(diffId.indexOf(':') + 1)}.tar`, diffId);
    }
    this.running = this.run();
    this.running.catch(() => undefined);
  }

  /** The config's bytes and digest, once the export has passed it. */
  get config(): Promise<{ bytes: Buffer; digest: string }> {
    return this.configArrival.promise;
  }

  /** Resolves when the export is known to be laid out as this reader expects; rejects with
   *  UnknownExportLayout (or the read's failure) otherwise. Never waits for readLayers. */
  get layout(): Promise<void> {
    return this.layoutArrival.promise;
  }

  /** The wanted layers (once per reader), each handed to onLayer as it passes; settles when the last is delivered. */
  readLayers(wanted: readonly string[], onLayer: OnLayer, signal?: AbortSignal): Promise<void> {
    if (this.wanted) return Promise.reject(new Error(`internal error: ${this.options.source} read its layers twice`));
    const done = deferred<void>();
    const remaining = new Set(wanted.filter((diffId) => !this.delivered.has(diffId)));
    this.wanted = { remaining, onLayer, signal, done };
    if (signal) {
      if (signal.aborted) this.aborter.abort();
      else signal.addEventListener('abort', () => this.aborter.abort(), { once: true });
    }
    if (this.failure !== undefined) done.reject(this.failure);
    else if (remaining.size === 0) done.resolve();
    this.declared.resolve();
    return done.promise;
  }

  /** No layer is wanted: read only as far as the config. */
  skipLayers(): void {
    if (!this.wanted) void this.readLayers([], () => Promise.resolve());
  }

  /** Stops reading (the engine stops exporting) and waits until the stream is closed. */
  async close(): Promise<void> {
    this.aborter.abort();
    if (!this.declared.settled) this.declared.reject(this.aborted());
    await this.running.catch(() => undefined);
  }

  private aborted(): ImageSourceError {
    return new ImageSourceError('ABORTED', `${this.options.source}: reading the image was cancelled`, this.options.source);
  }

  private async run(): Promise<void> {
    try {
      // Held still while the plan is made (backpressure): undici's body timeout does not run
      // while the body is paused (measured: a 2 s stall timeout, 6 s paused, the export completes).
      await forEachEntry(this.options.open, this.options.source, this.aborter.signal, async (entry) => {
        if (this.isLayerEntry(entry)) this.layoutArrival.resolve();
        return this.visit(entry);
      });
      if (!this.configArrival.settled) throw new UnknownExportLayout(`${this.options.source}: no config named ${this.options.imageId} in the export`);
      await this.declared.promise;
      const wanted = this.wanted;
      if (wanted && wanted.remaining.size > 0) throw new UnknownExportLayout(`${this.options.source}: layers under names not known: ${[...wanted.remaining].join(', ')}`);
    } catch (error) {
      const failure = this.aborter.signal.aborted && !(error instanceof ImageSourceError || error instanceof EngineError) ? this.aborted() : error;
      this.failure = failure;
      this.configArrival.reject(failure);
      this.layoutArrival.reject(failure);
      this.wanted?.done.reject(failure);
      throw failure;
    }
  }

  private isLayerEntry(entry: ArchiveEntry): boolean {
    return entry.type === 'file' && (this.paths.has(entry.name) || LEGACY_LAYER.test(entry.name));
  }

  private finished(): 'next' | 'stop' {
    return this.configArrival.settled && this.wanted !== undefined && this.wanted.remaining.size === 0 ? 'stop' : 'next';
  }

  private async visit(entry: ArchiveEntry): Promise<'next' | 'stop'> {
    // Directories, and a repeated layer's layer.tar (a symlink to the first): nothing to take.
    if (entry.type !== 'file') return 'next';
    const { name } = entry;
    if (name === `${this.hex}.json` || name === `blobs/sha256/${this.hex}`) {
      if (!this.configArrival.settled) await this.takeConfig(entry);
      return this.finished();
    }
    const json = LEGACY_JSON.exec(name);
    if (json) {
      const dir = json[1] ?? '';
      if (!this.paths.has(`${dir}/layer.tar`) && entry.size <= MAX_METADATA_BYTES) {
        const index = layerIndexFromJson(dir, (await readSmall(entry)).toString('utf8'), this.chains);
        const diffId = index === undefined ? undefined : this.options.diffIds[index];
        if (diffId !== undefined) this.paths.set(`${dir}/layer.tar`, diffId);
      }
      return 'next';
    }
    const diffId = this.paths.get(name);
    if (diffId === undefined && !LEGACY_LAYER.test(name)) return 'next'; // VERSION, manifest.json, repositories, other blobs
    if (!this.wanted) await this.declared.promise;
    const wanted = this.wanted;
    if (!wanted) return 'next';
    if (diffId !== undefined) {
      if (wanted.remaining.delete(diffId)) await this.deliver(wanted, diffId, entry.take());
    } else if (wanted.remaining.size > 0) {
      await this.spoolAndMatch(wanted, entry);
    }
    return this.finished();
  }

  private async takeConfig(entry: ArchiveEntry): Promise<void> {
    const { source, imageId, diffIds } = this.options;
    const invalid = (why: string) => new ImageSourceError('SOURCE_INVALID', `${source}: ${why}`, source);
    if (entry.size > MAX_METADATA_BYTES) throw invalid(`${entry.name} is ${entry.size} bytes, too big for an image config — rebuild the image`);
    const bytes = await readSmall(entry);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest !== imageId) throw invalid(`${entry.name} does not hash to ${imageId}: the export is corrupt — retry`);
    let json: { rootfs?: unknown; manifests?: unknown; layers?: unknown } | undefined;
    try {
      json = JSON.parse(bytes.toString('utf8')) as typeof json;
    } catch {
      json = undefined;
    }
    if (json !== undefined && json !== null && json.rootfs === undefined && (Array.isArray(json.manifests) || Array.isArray(json.layers))) {
      throw new UnknownExportLayout(`${source}: the image id names a manifest (containerd image store)`);
    }
    const facts = parseImageConfig(bytes, source);
    if (facts.diffIds.length !== diffIds.length || facts.diffIds.some((d, i) => d !== diffIds[i])) {
      throw invalid(`the engine's export does not match its image ${imageId} (diff_ids differ) — retry`);
    }
    this.configArrival.resolve({ bytes, digest });
    this.layoutArrival.resolve();
  }

  private async deliver(wanted: Wanted, diffId: string, input: AsyncIterable<Buffer>): Promise<void> {
    const { head, stream } = await peekStream(input);
    await deliverLayer({ source: this.options.source, diffId, input: stream, compression: sniffCompression(head), onLayer: wanted.onLayer, signal: wanted.signal });
    this.delivered.add(diffId);
    if (wanted.remaining.size === 0) wanted.done.resolve();
  }

  /** A layer.tar no name identified: hashed as it is spooled, delivered when it is a wanted one. */
  private async spoolAndMatch(wanted: Wanted, entry: ArchiveEntry): Promise<void> {
    const path = join(this.options.spoolDirectory, `export-${randomBytes(8).toString('hex')}.tar`);
    try {
      const hasher = new Hasher();
      await pipeline(entry.take(), hasher, createWriteStream(path), { signal: this.aborter.signal });
      const diffId = `sha256:${hasher.hex()}`;
      if (!wanted.remaining.delete(diffId)) return;
      await this.deliver(wanted, diffId, createReadStream(path));
    } finally {
      await rm(path, { force: true });
    }
  }
}

class Hasher extends Transform {
  private readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}

async function readSmall(entry: ArchiveEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry.take()) chunks.push(chunk);
  return Buffer.concat(chunks);
}
