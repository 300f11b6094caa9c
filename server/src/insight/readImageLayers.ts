// Reads an image's layers as entry lists (the edge of layer insight): the image is opened by the
// push path's openLocalImage (engine export, docker-archive, OCI layout — every layer verified
// against its diff_id there), each layer's uncompressed tar is read once with tar-stream, and
// regular files are hashed so why-new diffs see content changes of the same size.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { openLocalImage, type LocalImage, type OpenLocalImageOptions } from '../push/imageSource';
import { cleanEntryPath, type EntryKind, type LayerEntry } from './layerFiles';
import type { LayerSummary } from './whyNew';

export interface ImageLayers {
  description: string;
  /** One per rootfs.diff_ids entry, in order; `entries` set when the layer was read. */
  layers: (LayerSummary & { compressedSize?: number; /** Uncompressed bytes the engine's history reports, when known. */ size?: number })[];
}

interface ConfigShape {
  rootfs?: { diff_ids?: string[] };
  history?: { created_by?: string; empty_layer?: boolean }[];
}

/** The history entries that made layers, paired with diff_ids (as the engine pairs them). */
export function layerHistory(config: ConfigShape): string[] {
  const diffIds = config.rootfs?.diff_ids ?? [];
  const made = (config.history ?? []).filter((h) => h.empty_layer !== true).map((h) => h.created_by ?? '');
  // A config may hold fewer history entries than layers (history is optional): align the newest.
  const offset = diffIds.length - made.length;
  return diffIds.map((_, i) => (i - offset >= 0 ? made[i - offset] ?? '' : ''));
}

/**
 * Which layers' files to read: all, none, these diff_ids, or those a predicate picks (a cache; the
 * panel: the Dockerfile's own layers, known from the history only once the config is read).
 */
export type Wanted = boolean | ReadonlySet<string> | ((diffId: string, index: number, layers: readonly LayerSummary[]) => boolean);

export async function readImageLayers(
  spec: string,
  options: OpenLocalImageOptions & { files?: Wanted; signal?: AbortSignal } = {},
): Promise<ImageLayers> {
  const image = await openLocalImage(spec, options);
  try {
    return await readOpenImage(image, options.files ?? true, options.signal);
  } finally {
    await image.close();
  }
}

async function readOpenImage(image: LocalImage, files: Wanted, signal?: AbortSignal): Promise<ImageLayers> {
  const config = JSON.parse(image.config.toString('utf8')) as ConfigShape;
  const history = layerHistory(config);
  const summaries: LayerSummary[] = image.layers.map((l, i) => ({ diffId: l.diffId, createdBy: history[i] ?? '' }));
  const wants = (d: string, i: number) => (typeof files === 'boolean' ? files : typeof files === 'function' ? files(d, i, summaries) : files.has(d));
  const wanted = new Set(image.layers.map((l) => l.diffId).filter(wants));
  const read = new Map<string, LayerEntry[]>();
  if (wanted.size > 0) {
    await image.readLayers(wanted, async (diffId, stream) => {
      read.set(diffId, await readTarEntries(stream));
    }, signal);
  }
  return {
    description: image.description,
    layers: image.layers.map((layer, i) => {
      const entries = read.get(layer.diffId);
      return {
        diffId: layer.diffId,
        createdBy: history[i] ?? '',
        ...(entries ? { entries } : {}),
        ...(layer.compressed ? { compressedSize: layer.compressed.size } : {}),
      };
    }),
  };
}

function kindOf(type: string | null | undefined): EntryKind {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    default:
      return 'other';
  }
}

/** Every entry of an uncompressed layer tar, in tar order; regular files hashed (sha256). */
export async function readTarEntries(stream: Readable): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const kind = kindOf(header.type);
      const hash = kind === 'file' ? createHash('sha256') : undefined;
      body.on('data', (chunk: unknown) => {
        if (Buffer.isBuffer(chunk)) hash?.update(chunk);
      });
      body.on('end', () => {
        const path = cleanEntryPath(header.name);
        if (path !== '') entries.push({ path, kind, size: header.size ?? 0, ...(hash ? { digest: `sha256:${hash.digest('hex')}` } : {}) });
        next();
      });
      body.on('error', reject);
      body.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract);
  await done;
  return entries;
}
