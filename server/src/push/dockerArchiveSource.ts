// A `docker save` archive file (docker-archive:FILE[:TAG]) as a LocalImage.
//
// A plain tar is indexed once (headers only, see tarIndex.ts), so the config is read directly and
// each layer streams from its byte range, in image order, at any time. Both layouts are read:
// Docker < 25 (`<v1 id>/layer.tar`, `<id>.json`) and Docker >= 25 (`blobs/sha256/<hex>` beside an
// OCI index.json). Layers are uncompressed tars, or compressed blobs (detected by magic bytes);
// compressed blobs named by their digest are offered as `compressed`, byte for byte.
// A gzip- or zstd-compressed archive (`docker save IMAGE | gzip > FILE`) cannot be indexed, so it
// is read front to back like the engine's export (streamedArchive.ts).
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { sha256Digest } from '../core/digest';
import {
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_LAYER_TAR_ZSTD,
  OCI_LAYER_TAR_GZIP,
  OCI_LAYER_TAR_ZSTD,
} from '../core/mediaTypes';
import {
  digestOfPath,
  MANIFEST_JSON,
  MAX_METADATA_BYTES,
  parseArchiveManifest,
  parseImageConfig,
  pickArchiveImage,
} from './archiveManifest';
import { decompressor, deliverLayer, sniffCompression, type Compression } from './layerStreams';
import { closedError, wantedInOrder, type LocalImage, type LocalLayer } from './localImage';
import { fileError, ImageSourceError, shortId } from './sourceErrors';
import { mapArchiveError, readArchiveLayers, scanArchive, withMappedErrors, type OpenArchive } from './streamedArchive';
import { indexTar, readTarEntry, resolveTarEntry, type TarEntry } from './tarIndex';

interface ArchiveLayer {
  diffId: string;
  entry: TarEntry | undefined;
  compression: Compression;
}

export async function openDockerArchive(file: string, ref: string | undefined): Promise<LocalImage> {
  const source = `docker archive ${file}${ref !== undefined ? `:${ref}` : ''}`;
  const invalid = (why: string) => new ImageSourceError('SOURCE_INVALID', `${source}: ${why}`, source);
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw fileError(error, source, `file ${file}`);
  }
  let compression: Compression;
  let image: Awaited<ReturnType<typeof indexArchive>>;
  try {
    const info = await handle.stat().catch((error: unknown) => {
      throw fileError(error, source, `file ${file}`);
    });
    if (info.isDirectory()) throw invalid(`${file} is a directory — for an OCI layout use oci:${file}`);
    const head = Buffer.alloc(Math.min(4, info.size));
    await handle.read(head, 0, head.length, 0);
    compression = sniffCompression(head);
    if (compression !== 'none') return await openCompressedArchive(file, ref, compression, source);
    image = await indexArchive(handle, info.size, file, ref, source);
  } catch (error) {
    throw mapArchiveError(error, source);
  } finally {
    await handle.close().catch(() => undefined);
  }

  const { layout } = image;
  const description = `docker archive ${file}${ref !== undefined ? `:${ref}` : ''} (${shortId(image.configDigest)})`;
  let closed = false;
  return {
    description,
    config: image.config,
    configDigest: image.configDigest,
    layers: image.layers,
    repoDigests: [],
    platform: image.platform,
    async readLayers(wanted, onLayer, signal) {
      if (closed) throw closedError(description);
      const diffIds = layout.map((l) => l.diffId);
      for (const diffId of wantedInOrder(diffIds, wanted, description)) {
        const layer = layout.find((l) => l.diffId === diffId);
        if (layer?.entry === undefined) {
          throw new ImageSourceError('LAYER_MISSING', `${description}: layer ${diffId} is not in the archive — export the image again`, description);
        }
        const input = rangeStream(file, layer.entry, 0);
        await deliverLayer({ source: description, diffId, input, compression: layer.compression, onLayer, signal });
      }
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** Reads manifest.json, the config and each layer's first bytes from an indexed archive. */
async function indexArchive(handle: FileHandle, size: number, file: string, ref: string | undefined, source: string) {
  const invalid = (why: string) => new ImageSourceError('SOURCE_INVALID', `${source}: ${why}`, source);
  const entries = await indexTar(handle, size, source);
  const readSmall = async (entry: TarEntry, what: string): Promise<Buffer> => {
    if (entry.size > MAX_METADATA_BYTES) throw invalid(`${what} is ${entry.size} bytes, too big for image metadata — export the image again`);
    return readTarEntry(handle, entry);
  };
  const manifestEntry = resolveTarEntry(entries, MANIFEST_JSON);
  if (manifestEntry?.type !== 'file') {
    const hint = entries.has('index.json') ? ' (an OCI layout tar: extract it and use oci:DIR)' : '';
    throw invalid(`no manifest.json: not a docker save archive${hint} — export the image with "docker save -o FILE IMAGE"`);
  }
  const item = pickArchiveImage(parseArchiveManifest(await readSmall(manifestEntry, MANIFEST_JSON), source), ref, source);
  const configEntry = resolveTarEntry(entries, item.config);
  if (configEntry?.type !== 'file') throw invalid(`the config ${item.config} named by manifest.json is missing — export the image again`);
  const config = await readSmall(configEntry, `the config ${item.config}`);
  const configDigest = sha256Digest(config);
  const named = digestOfPath(item.config) ?? digestOfPath(configEntry.name);
  if (named !== undefined && named.startsWith('sha256:') && named !== configDigest) {
    throw invalid(`the config ${item.config} hashes to ${configDigest}: the archive is corrupt — export the image again`);
  }
  const facts = parseImageConfig(config, source);
  if (item.layers.length !== facts.diffIds.length) {
    throw invalid(`manifest.json lists ${item.layers.length} layers but the config ${facts.diffIds.length} diff_ids — export the image again`);
  }
  const oci = entries.has('oci-layout') || entries.has('index.json');
  const layout: ArchiveLayer[] = [];
  const layers: LocalLayer[] = [];
  for (const [i, path] of item.layers.entries()) {
    const diffId = facts.diffIds[i] ?? '';
    const entry = resolveTarEntry(entries, path);
    const usable = entry?.type === 'file' ? entry : undefined;
    const compression = usable ? sniffCompression(await readTarEntry(handle, usable, 4)) : 'none';
    layout.push({ diffId, entry: usable, compression });
    const digest = usable && compression !== 'none' ? (digestOfPath(path) ?? digestOfPath(usable.name)) : undefined;
    if (usable && digest !== undefined && usable.size > 0) {
      const mediaType = compression === 'gzip' ? (oci ? OCI_LAYER_TAR_GZIP : DOCKER_LAYER_TAR_GZIP) : oci ? OCI_LAYER_TAR_ZSTD : DOCKER_LAYER_TAR_ZSTD;
      const size = usable.size;
      const open = (offset: number): Promise<Readable> => {
        if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
          return Promise.reject(new RangeError(`${source}: offset ${offset} is outside the blob's ${size} bytes`));
        }
        return Promise.resolve(rangeStream(file, usable, offset));
      };
      layers.push({ diffId, compressed: { digest, size, mediaType, open } });
    } else {
      layers.push({ diffId });
    }
  }
  return { config, configDigest, layers, layout, platform: facts.platform };
}

/** An entry's content from `offset` on, straight from the archive file. */
function rangeStream(file: string, entry: TarEntry, offset: number): Readable {
  if (offset >= entry.size) return Readable.from([]);
  return createReadStream(file, { start: entry.offset + offset, end: entry.offset + entry.size - 1 });
}

/** `docker save IMAGE | gzip > FILE`: read front to back, twice at most (streamedArchive.ts). */
async function openCompressedArchive(file: string, ref: string | undefined, compression: Compression, source: string): Promise<LocalImage> {
  decompressor(compression, source, 'the archive'); // UNSUPPORTED_COMPRESSION now, not on first read
  const openStream: OpenArchive = (signal) => {
    const raw = createReadStream(file);
    const inflate = decompressor(compression, source, 'the archive');
    if (!inflate) return Promise.resolve(raw);
    pipeline(raw, inflate, () => undefined);
    return Promise.resolve(withMappedErrors(inflate, (error) => mapArchiveError(error, source, signal)));
  };
  const scanned = await scanArchive(openStream, source, ref !== undefined ? { ref } : {});
  const description = `docker archive ${file}${ref !== undefined ? `:${ref}` : ''} (${shortId(scanned.configDigest)})`;
  let closed = false;
  return {
    description,
    config: scanned.config,
    configDigest: scanned.configDigest,
    layers: scanned.facts.diffIds.map((diffId) => ({ diffId })),
    repoDigests: [],
    platform: scanned.facts.platform,
    async readLayers(wanted, onLayer, signal) {
      if (closed) throw closedError(description);
      const list = wantedInOrder(scanned.facts.diffIds, wanted, description);
      await readArchiveLayers(openStream, description, scanned.layerPaths, list, onLayer, signal);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
