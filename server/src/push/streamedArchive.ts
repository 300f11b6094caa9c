// `docker save` archives that can only be read front to back, in two passes: compressed archive
// files, the engine's export (GET /images/{id}/get) for layer insight, and a containerd-store
// export. A push reads an engine export ONCE instead (engineExportReader.ts). Memory stays bounded whatever the image's
// size: layer tars are never buffered, only small JSON entries (configs, manifests; each at most
// 16 MiB, 64 MiB in all) are kept.
//
// The order problem: the archive is a tar of a directory, sorted by path (moby pkg/archive), so
// manifest.json, which maps layer paths to the image's layers, comes AFTER every layer, and the
// config (`<id>.json`, or `blobs/sha256/<id>` since Docker 25) sits anywhere among them. So:
//
//   pass 1, scanArchive (when the image is opened): reads the archive, draining layer tars
//     without looking at them, until it knows the exact config bytes and which path holds which
//     layer, then closes the stream. The engine's image id tells where to look:
//       - Docker >= 25 (OCI-style save): the config is `blobs/sha256/<id>` and each layer is the
//         uncompressed tar `blobs/sha256/<diff_id>`, so the scan stops at the config;
//       - containerd image store: the id is the manifest (or index) digest; the scan follows
//         index → manifest → config through `blobs/`, and stops when it has both;
//       - Docker < 25: layers are `<v1 id>/layer.tar` (an id that is not the diff_id), so the
//         scan reads up to manifest.json, i.e. the whole archive.
//     Without an id (a compressed archive file), the scan reads up to manifest.json.
//   pass 2, readArchiveLayers (only when some layer is wanted): a fresh stream; each entry whose
//     path maps to a wanted diff_id is sniffed (gzip, zstd or plain tar), decompressed, verified
//     and handed to onLayer as it passes; everything else is drained. The stream is closed as soon
//     as the last wanted layer has been delivered. Layers arrive in archive order.
import { createHash } from 'node:crypto';
import { parseManifest, type Platform } from '../core/mediaTypes';
import { hostPlatform, PlatformNotFoundError, selectManifest } from '../core/platform';
import { forEachEntry, type OpenArchive } from './archiveEntries';
import {
  digestOfPath,
  linkTarget,
  looksLikeJson,
  MANIFEST_JSON,
  MAX_METADATA_BYTES,
  parseArchiveManifest,
  parseImageConfig,
  pickArchiveImage,
  type ImageConfigFacts,
} from './archiveManifest';
import { deliverLayer, peekStream, sniffCompression, type OnLayer } from './layerStreams';
import { ImageSourceError } from './sourceErrors';

export { mapArchiveError, withMappedErrors, type OpenArchive } from './archiveEntries';

export interface ScanHints {
  /** The engine's image id: the config digest (Docker's image store) or the manifest/index
   *  digest (containerd image store). */
  imageId?: string;
  /** Chooses among an index's manifests (containerd store). */
  platform?: Platform;
  /** Picks one of several images in manifest.json by RepoTag. */
  ref?: string;
}

export interface ScannedArchive {
  config: Buffer;
  configDigest: string;
  facts: ImageConfigFacts;
  /** Archive path holding a layer's content (links resolved) → its diff_id. */
  layerPaths: Map<string, string>;
  repoTags: string[];
  /** containerd image store: the manifest's layer descriptors (the stored blobs), in image order. */
  layerBlobs?: { digest: string; size: number; mediaType: string }[];
}

const MAX_BUFFERED_TOTAL = 64 * 1024 * 1024;

/** Pass 1: the config and the layer paths, reading no further than needed. */
export async function scanArchive(open: OpenArchive, source: string, hints: ScanHints, signal?: AbortSignal): Promise<ScannedArchive> {
  const invalid = (why: string) => new ImageSourceError('SOURCE_INVALID', `${source}: ${why} — export the image again`, source);
  const small = new Map<string, Buffer>();
  let smallBytes = 0;
  const links = new Map<string, string>();
  let items: ReturnType<typeof parseArchiveManifest> | undefined;
  // Following the chain from the image id (index → manifest → config).
  let chasing = hints.imageId;
  let config: { bytes: Buffer; digest: string; path: string } | undefined;
  let layerList: string[] | undefined;
  let layerBlobs: ScannedArchive['layerBlobs'];
  let repoTags: string[] = [];
  let facts: ImageConfigFacts | undefined;
  let result: ScannedArchive | undefined;

  const resolve = (path: string): string => {
    let current = path;
    for (let hops = 0; links.has(current) && hops <= 16; hops++) current = links.get(current) ?? current;
    return current;
  };
  const lookup = (digest: string): { bytes: Buffer; path: string } | undefined => {
    const hex = digest.slice(digest.indexOf(':') + 1);
    for (const path of [`blobs/${digest.slice(0, digest.indexOf(':'))}/${hex}`, `${hex}.json`]) {
      const bytes = small.get(resolve(path));
      if (bytes) return { bytes, path };
    }
    return undefined;
  };
  const advance = (): void => {
    while (chasing !== undefined && config === undefined) {
      const found = lookup(chasing);
      if (!found) break;
      if (`sha256:${createHash('sha256').update(found.bytes).digest('hex')}` !== chasing) throw invalid(`${found.path} does not hash to ${chasing}: the archive is corrupt`);
      const json = safeJson(found.bytes) as { rootfs?: unknown; manifests?: unknown; layers?: unknown } | undefined;
      if (json !== undefined && json.rootfs !== undefined) {
        config = { bytes: found.bytes, digest: chasing, path: found.path };
      } else if (json !== undefined && (Array.isArray(json.manifests) || Array.isArray(json.layers))) {
        const parsed = parseManifest(found.bytes);
        if (parsed.kind === 'index') {
          chasing = selectManifest(parsed.index, hints.platform ?? hostPlatform()).digest;
        } else {
          layerList = parsed.manifest.layers.map((l) => `blobs/${l.digest.replace(':', '/')}`);
          layerBlobs = parsed.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
          chasing = parsed.manifest.config.digest;
        }
      } else {
        throw invalid(`${found.path} is neither an image config nor a manifest`);
      }
    }
    if (items !== undefined && config === undefined) {
      const item = pickArchiveImage(items, hints.ref, source);
      const bytes = small.get(resolve(item.config));
      if (bytes) config = { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, path: item.config };
    }
    if (config === undefined) return;
    facts ??= parseImageConfig(config.bytes, source);
    if (items !== undefined) {
      const item = pickArchiveImage(items, hints.ref, source);
      layerList = item.layers;
      repoTags = item.repoTags;
    } else if (layerList === undefined && config.path.startsWith('blobs/') && hints.imageId === config.digest) {
      // Docker >= 25 with its own image store: each layer is its uncompressed tar, named by diff_id.
      layerList = facts.diffIds.map((d) => `blobs/${d.replace(':', '/')}`);
    }
    if (layerList === undefined) return;
    if (layerList.length !== facts.diffIds.length) {
      throw invalid(`the archive lists ${layerList.length} layers but the config ${facts.diffIds.length} diff_ids`);
    }
    const layerPaths = new Map<string, string>();
    const diffIds = facts.diffIds;
    layerList.forEach((path, i) => layerPaths.set(resolve(path), diffIds[i] ?? ''));
    result = { config: config.bytes, configDigest: config.digest, facts, layerPaths, repoTags, ...(layerBlobs?.length === facts.diffIds.length ? { layerBlobs } : {}) };
  };

  await forEachEntry(open, source, signal, async (entry) => {
    if (entry.type === 'symlink' || entry.type === 'link') {
      links.set(entry.name, linkTarget(entry.name, entry.type === 'link' ? 'hardlink' : 'symlink', entry.linkname));
      return 'next';
    }
    const wanted = entry.name === MANIFEST_JSON || entry.name === 'index.json' || digestOfPath(entry.name) !== undefined;
    if (entry.type !== 'file' || !wanted || entry.size > MAX_METADATA_BYTES || smallBytes + entry.size > MAX_BUFFERED_TOTAL) return 'next';
    const { head, stream } = await peekStream(entry.take(), 1);
    const chunks: Buffer[] = [];
    const keep = looksLikeJson(head);
    for await (const chunk of stream) if (keep) chunks.push(chunk);
    if (!keep) return 'next';
    const bytes = Buffer.concat(chunks);
    small.set(entry.name, bytes);
    smallBytes += bytes.length;
    if (entry.name === MANIFEST_JSON) items = parseArchiveManifest(bytes, source);
    try {
      advance();
    } catch (error) {
      if (error instanceof ImageSourceError) throw error;
      if (error instanceof PlatformNotFoundError) {
        throw new ImageSourceError('IMAGE_NOT_FOUND', `${source}: ${error.message} — name a single-platform image`, source, { cause: error });
      }
      throw invalid(`${entry.name} is invalid (${error instanceof Error ? error.message : String(error)})`);
    }
    return result ? 'stop' : 'next';
  });
  if (result) return result;
  if (items === undefined) throw invalid('the archive has no manifest.json: it is not a docker save archive');
  const item = pickArchiveImage(items, hints.ref, source);
  throw invalid(`the config ${item.config} is missing from the archive (or bigger than ${MAX_METADATA_BYTES / 1024 / 1024} MiB)`);
}

/** Pass 2: the wanted layers (diff_ids), in archive order, each once. */
export async function readArchiveLayers(
  open: OpenArchive,
  source: string,
  layerPaths: ReadonlyMap<string, string>,
  wanted: readonly string[],
  onLayer: OnLayer,
  signal?: AbortSignal,
): Promise<void> {
  const remaining = new Set(wanted);
  if (remaining.size === 0) return;
  await forEachEntry(open, source, signal, async (entry) => {
    const diffId = entry.type === 'file' ? layerPaths.get(entry.name) : undefined;
    if (diffId === undefined || !remaining.has(diffId)) return 'next';
    remaining.delete(diffId);
    const { head, stream } = await peekStream(entry.take());
    await deliverLayer({ source, diffId, input: stream, compression: sniffCompression(head), onLayer, signal });
    return remaining.size === 0 ? 'stop' : 'next';
  });
  if (remaining.size > 0) {
    throw new ImageSourceError(
      'LAYER_MISSING',
      `${source}: layer ${[...remaining].join(', ')} is not in the archive — the image changed or the archive is truncated; export it again`,
      source,
    );
  }
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
