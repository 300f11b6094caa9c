// The formats shared by image archives: `docker save`'s manifest.json, the image config's
// rootfs and platform, and path handling inside a tar.
//
// manifest.json (moby image/tarexport): [{ "Config": PATH, "RepoTags": [..] | null, "Layers": [PATH..] }]
// where PATH is `<hex>.json` and `<v1 id>/layer.tar` (Docker < 25) or `blobs/sha256/<hex>`
// (Docker >= 25, which also writes an OCI layout's index.json and oci-layout beside it).
import { posix } from 'node:path';
import { isDigest } from '../core/digest';
import { ImageSourceError } from './sourceErrors';

export const MANIFEST_JSON = 'manifest.json';
/** Bound on a config or manifest read into memory. */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

export interface ArchiveManifestItem {
  config: string;
  repoTags: string[];
  layers: string[];
}

export interface ImageConfigFacts {
  diffIds: string[];
  platform: { os: string; architecture: string; variant?: string };
}

/** A path inside an archive: no leading "/" or "./", no trailing "/", "." and ".." folded. */
export function normalizeArchivePath(path: string): string {
  const normalized = posix.normalize(path.replace(/^\/+/, ''));
  return normalized === '.' ? '' : normalized.replace(/\/+$/, '');
}

/** Where a link entry points: hard links name a path from the archive root, symlinks are
 *  relative to their own directory (absolute ones to the archive root). */
export function linkTarget(name: string, type: 'symlink' | 'hardlink', linkname: string): string {
  if (type === 'hardlink' || linkname.startsWith('/')) return normalizeArchivePath(linkname);
  return normalizeArchivePath(posix.join(posix.dirname(name), linkname));
}

/** Whether bytes look like the start of JSON (an object or array after optional whitespace). */
export function looksLikeJson(head: Uint8Array): boolean {
  for (const byte of head) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b;
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Buffer, fail: (why: string) => ImageSourceError): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
  } catch {
    throw fail('not UTF-8 JSON');
  }
}

/** manifest.json of a `docker save` archive; throws SOURCE_INVALID. */
export function parseArchiveManifest(bytes: Buffer, source: string): ArchiveManifestItem[] {
  const fail = (why: string) =>
    new ImageSourceError('SOURCE_INVALID', `${source}: manifest.json is not a docker save manifest (${why}) — export the image again with "docker save -o FILE IMAGE"`, source);
  const value = parseJson(bytes, fail);
  if (!Array.isArray(value)) throw fail('not a list');
  if (value.length === 0) throw fail('it lists no image');
  return value.map((item: unknown, i): ArchiveManifestItem => {
    if (!isObject(item)) throw fail(`entry ${i} is not an object`);
    if (typeof item.Config !== 'string' || item.Config === '') throw fail(`entry ${i} has no "Config"`);
    if (!Array.isArray(item.Layers) || !item.Layers.every((l): l is string => typeof l === 'string' && l !== '')) {
      throw fail(`entry ${i} has no "Layers" list`);
    }
    const tags = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { config: normalizeArchivePath(item.Config), repoTags: tags, layers: item.Layers.map(normalizeArchivePath) };
  });
}

/** The item named by `ref` (one of its RepoTags; ":latest" implied), or the only one. */
export function pickArchiveImage(items: ArchiveManifestItem[], ref: string | undefined, source: string): ArchiveManifestItem {
  const tags = items.flatMap((item) => item.repoTags);
  const listed = tags.length > 0 ? tags.join(', ') : 'none tagged';
  if (ref === undefined) {
    const only = items[0];
    if (items.length === 1 && only) return only;
    throw new ImageSourceError('IMAGE_AMBIGUOUS', `${source}: the archive holds ${items.length} images (${listed}) — name one as docker-archive:FILE:TAG`, source);
  }
  const wanted = new Set([ref, /:[^/]*$/.test(ref) ? ref : `${ref}:latest`]);
  const found = items.find((item) => item.repoTags.some((tag) => wanted.has(tag)));
  if (found) return found;
  throw new ImageSourceError('IMAGE_NOT_FOUND', `${source}: no image tagged "${ref}" in the archive (tags: ${listed}) — check the tag`, source);
}

/** The parts of an image config a push needs; throws SOURCE_INVALID for anything that is not one. */
export function parseImageConfig(bytes: Buffer, source: string): ImageConfigFacts {
  const fail = (why: string) =>
    new ImageSourceError('SOURCE_INVALID', `${source}: the image config is invalid (${why}) — rebuild or re-export the image`, source);
  const value = parseJson(bytes, fail);
  if (!isObject(value)) throw fail('not a JSON object');
  const rootfs = value.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) throw fail('no rootfs.diff_ids');
  const diffIds: string[] = [];
  for (const diffId of rootfs.diff_ids) {
    if (!isDigest(diffId)) throw fail(`rootfs.diff_ids holds ${JSON.stringify(diffId)?.slice(0, 80) ?? 'a non-string'}, not a digest`);
    diffIds.push(diffId);
  }
  const text = (key: string): string => (typeof value[key] === 'string' ? value[key] : '');
  const platform: ImageConfigFacts['platform'] = { os: text('os'), architecture: text('architecture') };
  if (text('variant') !== '') platform.variant = text('variant');
  return { diffIds, platform };
}

/** The digest a content-addressed archive path names: `blobs/<algorithm>/<hex>`, or the
 *  `<hex>.json` config of Docker < 25 (sha256). */
export function digestOfPath(path: string): string | undefined {
  const blob = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path);
  if (blob) {
    const digest = `${blob[1]}:${blob[2]}`;
    return isDigest(digest) ? digest : undefined;
  }
  const config = /^([a-f0-9]{64})\.json$/.exec(path);
  return config ? `sha256:${config[1]}` : undefined;
}
