// Which files a COPY/ADD takes from the build context, and how big the layer it makes will be.
// Pure: works on a snapshot of the context (see server/src/context/contextScanner.ts).
//
// Source semantics (moby builder/dockerfile copy.go, legacy builder; BuildKit agrees on these):
//   - sources are relative to the context root; one leading `/` and one leading `./` are
//     dropped, the rest is cleaned, and `..` cannot leave the context (it is clamped to the root);
//   - `.` is the whole context; a directory source copies its contents (not the directory
//     itself) recursively; a file source copies the file;
//   - a source with `*`, `?` or `[` is a wildcard: every path of the context (at any depth) is
//     matched against it with Go's filepath.Match, so `*` never crosses `/`; each match is then
//     copied like a plain source (a matching directory copies its contents);
//   - what .dockerignore excludes is not in the context at all (the snapshot does not hold it).
// Two sources that land on the same destination path make one file (the later wins).
//
// Sizes. Three numbers describe a layer, and they differ by the tar framing:
//   - `bytes`: the sum of the regular files' sizes. This is what `docker history` (SIZE),
//     `docker image ls`, Docker Desktop and dive report for a layer: dockerd records a layer's
//     size as the sum of the tar entries' sizes when it applies the diff. It is what a user
//     compares against, so it is "the uncompressed layer size".
//   - `tarBytes`: the uncompressed layer tar (the diff, what is hashed into the diffID and what
//     gets gzipped): a 512-byte header per entry (files, directories, symlinks, and the
//     destination's directories), file data padded to 512 bytes, a PAX header for a name USTAR
//     cannot hold, and the 1024-byte end marker. It exceeds `bytes` noticeably for many small files.
//   - `compressedBytes`: the pushed blob. dockerd gzips the layer tar on push with Go's
//     compress/gzip `gzip.NewWriter` (moby distribution/push.go `compress`; pkg/archive's
//     CompressStream does the same), i.e. gzip.DefaultCompression, which compress/flate maps to
//     level 6. Estimated as Σ size × the file's deflate ratio at level 6 (sampled by the scanner)
//     plus the compressed cost of the tar headers and the gzip framing.

import { compileFilepathMatch, containsWildcards, goClean } from './dockerignore';

/** One path of the build context, as the scanner saw it (lstat: symlinks are not followed). */
export interface ContextEntry {
  /** Bytes: the file's size; 0 for a directory; for a symlink, the length of its target. */
  size: number;
  isDirectory: boolean;
  isSymlink?: boolean;
  /** deflate (level 6) output / input for this file's content, sampled; undefined if unknown. */
  compressedRatio?: number;
  /** The content starts like a tar, gzip, bzip2 or xz archive (ADD would unpack it). */
  isArchive?: boolean;
}

/**
 * The build context after .dockerignore: relative posix paths (no `./`, no leading `/`) of every
 * file, symlink and directory Docker sends. The root itself is not listed.
 */
export type ContextSnapshot = ReadonlyMap<string, ContextEntry>;

export interface CopySelection {
  /** Destination-relative path → context path, for every file and symlink copied. */
  files: Map<string, string>;
  /** Destination-relative directories the copy creates (from directory sources). */
  directories: Set<string>;
  /** Sources that match nothing in the context (Docker fails the build on these). */
  missing: string[];
  /** Sources whose effect cannot be known from the context (URLs, symlinked sources, heredocs, archives for ADD). */
  uncertain: string[];
}

export interface CopyEstimate {
  /** Files and symlinks in the layer. */
  files: number;
  /** Uncompressed layer size as `docker history` shows it: the files' sizes. */
  bytes: number;
  /** Uncompressed layer tar size (headers, padding and end marker included). */
  tarBytes: number;
  /** Estimated size of the gzip (level 6) layer blob a push sends. */
  compressedBytes: number;
  /** context: every source resolved; partial: some missing or uncertain; unknown: nothing resolved. */
  basis: 'context' | 'partial' | 'unknown';
  missing: string[];
}

export interface EstimateOptions {
  /** ADD rather than COPY: URLs are remote, local archives are unpacked (sizes unknown). */
  add?: boolean;
  /** The destination as written, for the directory entries and names in the layer tar. */
  destination?: string;
}

/** The ratio assumed for a file whose compressibility was not sampled: stored, not compressed. */
export const UNKNOWN_RATIO = 1;
/** Compressed bytes per tar header in a gzip stream (mostly zeros and similar fields). */
export const COMPRESSED_HEADER_BYTES = 48;
/** gzip header (10) + trailer (8) + the final deflate block's framing. */
export const GZIP_FRAMING_BYTES = 20;
const BLOCK = 512;

const isUrl = (source: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** A COPY source as the builder reads it: context-relative and clean ('.' for the root). */
export function normalizeSource(source: string): string {
  let s = source;
  if (s.startsWith('/')) s = s.slice(1);
  if (s.startsWith('./')) s = s.slice(2);
  // Scoped to the context: `..` cannot climb above the root.
  const clamped = goClean(`/${s}`).slice(1);
  return clamped === '' ? '.' : clamped;
}

/** Resolves COPY/ADD sources against the context snapshot. */
export function resolveCopySources(snapshot: ContextSnapshot, sources: readonly string[], options: EstimateOptions = {}): CopySelection {
  const selection: CopySelection = { files: new Map(), directories: new Set(), missing: [], uncertain: [] };

  const copyDirectoryContents = (dir: string) => {
    const prefix = dir === '.' ? '' : `${dir}/`;
    for (const [path, entry] of snapshot) {
      if (prefix !== '' && !path.startsWith(prefix)) continue;
      const rel = path.slice(prefix.length);
      if (entry.isDirectory) selection.directories.add(rel);
      else selection.files.set(rel, path);
    }
  };

  const copyPath = (source: string, path: string, entry: ContextEntry) => {
    if (entry.isDirectory) copyDirectoryContents(path);
    else {
      // A symlink source is followed by the builder: its target is not in the snapshot's terms.
      if (entry.isSymlink) selection.uncertain.push(source);
      else if (options.add && entry.isArchive) selection.uncertain.push(source);
      selection.files.set(basename(path), path);
    }
  };

  for (const source of sources) {
    if (isUrl(source)) {
      selection.uncertain.push(source);
      continue;
    }
    if (source.startsWith('<<')) {
      selection.uncertain.push(source); // heredoc: content is in the Dockerfile, not the context
      continue;
    }
    const normalized = normalizeSource(source);
    if (containsWildcards(normalized)) {
      let matches: (name: string) => boolean;
      try {
        matches = compileFilepathMatch(normalized);
      } catch {
        selection.missing.push(source); // a malformed pattern matches nothing: the build fails on it
        continue;
      }
      // Only paths that start with the pattern's literal part can match.
      const literal = /^[^*?[\\]*/.exec(normalized)?.[0] ?? '';
      let found = false;
      for (const [path, entry] of snapshot) {
        if (!path.startsWith(literal) || !matches(path)) continue;
        found = true;
        copyPath(source, path, entry);
      }
      if (!found) selection.missing.push(source);
      continue;
    }
    if (normalized === '.') {
      copyDirectoryContents('.');
      continue;
    }
    const entry = snapshot.get(normalized);
    if (!entry) selection.missing.push(source);
    else copyPath(source, normalized, entry);
  }
  return selection;
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');
const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

const isAscii = (s: string): boolean => !/[^\x00-\x7f]/.test(s);

/** Go archive/tar splitUSTARPath: whether a long name fits USTAR's prefix (155) + name (100). */
function splitsForUstar(name: string): boolean {
  let length = name.length;
  if (length <= 100 || !isAscii(name)) return false;
  if (length > 156) length = 156;
  else if (name[length - 1] === '/') length--;
  const slash = name.lastIndexOf('/', length - 1);
  const suffix = name.length - slash - 1;
  return !(slash <= 0 || suffix > 100 || suffix === 0 || slash > 155);
}

/** Length of one PAX record "%d key=value\n", the length counting its own digits. */
function paxRecordLength(key: string, valueBytes: number): number {
  const body = key.length + valueBytes + 3;
  const first = body + String(body).length;
  return body + String(first).length;
}

/**
 * Bytes of the header(s) of one tar entry as Go's archive/tar writes them for moby (FormatPAX
 * requested, USTAR used when it can encode the entry): 512, plus a PAX extended header (512 and
 * the records padded to 512) when the name is not ASCII or is over 100 bytes and cannot be split
 * into USTAR's prefix and name, or a symlink target is over 100 bytes.
 */
function headerBytes(name: string, linkTargetBytes?: number): number {
  let records = 0;
  const ascii = isAscii(name);
  if (!ascii || (name.length > 100 && !splitsForUstar(name))) records += paxRecordLength('path', ascii ? name.length : utf8Length(name));
  if (linkTargetBytes !== undefined && linkTargetBytes > 100) records += paxRecordLength('linkpath', linkTargetBytes);
  return BLOCK + (records > 0 ? BLOCK + padded(records) : 0);
}

/** Directories of the destination that appear in the layer (`/etc/app/` → etc, etc/app). */
function destinationDirectories(destination: string, singleFile: boolean): string[] {
  const cleaned = goClean(`/${destination}`).slice(1);
  if (cleaned === '') return [];
  const parts = cleaned.split('/');
  // `COPY a.txt /x/b.txt` names a file; with a trailing slash, or several sources, it is a directory.
  const dirParts = singleFile && !destination.endsWith('/') ? parts.slice(0, -1) : parts;
  return dirParts.map((_, i) => dirParts.slice(0, i + 1).join('/'));
}

/**
 * Estimates the layer a COPY/ADD of `sources` makes. Files without a sampled ratio are counted
 * as incompressible (UNKNOWN_RATIO).
 */
export function estimateCopy(snapshot: ContextSnapshot, sources: readonly string[], options: EstimateOptions = {}): CopyEstimate {
  const selection = resolveCopySources(snapshot, sources, options);
  const singleFile = sources.length === 1 && selection.directories.size === 0 && selection.files.size === 1 && !containsWildcards(sources[0] ?? '');
  // Without a destination, assume one directory level (`/app`): names only affect PAX headers.
  const destination = options.destination ?? '/app/';
  const destDirs = destinationDirectories(destination, singleFile);
  const destPrefix = goClean(`/${destination}`).slice(1);
  const nameInLayer = (rel: string) => {
    if (singleFile && !destination.endsWith('/')) return destPrefix;
    return destPrefix === '' ? rel : `${destPrefix}/${rel}`;
  };

  let bytes = 0;
  let tarBytes = 2 * BLOCK; // end-of-archive marker
  let compressed = GZIP_FRAMING_BYTES;
  let entries = 0;
  for (const [dest, path] of selection.files) {
    const entry = snapshot.get(path);
    if (!entry) continue;
    entries++;
    const name = nameInLayer(dest);
    if (entry.isSymlink) {
      tarBytes += headerBytes(name, entry.size);
      continue;
    }
    tarBytes += headerBytes(name);
    bytes += entry.size;
    tarBytes += padded(entry.size);
    compressed += entry.size * (entry.compressedRatio ?? UNKNOWN_RATIO);
  }
  for (const dir of selection.directories) {
    entries++;
    tarBytes += headerBytes(`${nameInLayer(dir)}/`);
  }
  for (const dir of destDirs) {
    entries++;
    tarBytes += headerBytes(`${dir}/`);
  }
  compressed += entries * COMPRESSED_HEADER_BYTES;

  const resolvedSomething = selection.files.size > 0 || selection.directories.size > 0 || sources.length > selection.missing.length + selection.uncertain.length;
  let basis: CopyEstimate['basis'];
  if (sources.length === 0 || !resolvedSomething) basis = 'unknown';
  else if (selection.missing.length > 0 || selection.uncertain.length > 0) basis = 'partial';
  else basis = 'context';

  return {
    files: selection.files.size,
    bytes,
    tarBytes,
    compressedBytes: Math.round(compressed),
    basis,
    missing: selection.missing,
  };
}
