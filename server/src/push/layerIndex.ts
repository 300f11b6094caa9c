// The local index of layers pushed or copied before: for each diff_id (the sha256 of a layer's
// uncompressed tar), the blobs it was sent as and the repositories ("registry/repo") that got
// them. A later push looks its layers up here to mount or skip blobs instead of compressing and
// uploading them again.
//
// Stored as JSON in the user's cache directory ($XDG_CACHE_HOME/layerlift/index.json, else
// ~/.cache/layerlift/index.json). The index is a cache and never fails a push:
// - it is read lazily, on the first lookup or record;
// - a file that does not parse is moved aside (index.json.corrupt-<time>) and the index starts
//   empty, with a warning;
// - saving writes a temporary file in the same directory, syncs it and renames it over the
//   index, so readers see the old index or the new one, never half of one; entries another
//   process saved in the meantime are merged in first;
// - a full disk (ENOSPC), a read-only directory or any other write failure is a warning;
// - it stays bounded: at most 50 000 diff_ids and 5 MiB, the least recently seen dropped first,
//   with at most 8 blobs per diff_id and 32 repositories per blob.
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { isDigest } from '../core/digest';

export interface IndexEntry {
  /** The blob the layer was sent as. */
  digest: string;
  size: number;
  mediaType: string;
  /** "registry/repository" names known to hold the blob, least recently seen first. */
  repositories: string[];
  /** When the blob was last recorded (ISO 8601, UTC). */
  seenAt: string;
}

export interface IndexBlob {
  digest: string;
  size: number;
  mediaType: string;
}

export type IndexWarningCode = 'INDEX_CORRUPT' | 'INDEX_UNREADABLE' | 'INDEX_TOO_NEW' | 'INDEX_DISK_FULL' | 'INDEX_READ_ONLY' | 'INDEX_SAVE_FAILED';

export interface IndexWarning {
  code: IndexWarningCode;
  /** One line, naming the file. */
  message: string;
}

export interface SaveResult {
  /** Everything worth telling the user since the last save (load and save problems), one line. */
  warning?: string;
  /** The code of the save problem if there was one, else of the first load problem. */
  code?: IndexWarningCode;
  warnings?: IndexWarning[];
}

/** The file operations the index uses (injectable for tests). Errors carry Node's `code`. */
export interface IndexFileSystem {
  statSync(path: string): { size: number };
  readFileSync(path: string): Buffer;
  renameSync(from: string, to: string): void;
  mkdir(path: string): Promise<void>;
  /** Creates `path` exclusively and writes `data` (the temp file the index is renamed from). */
  writeTempFile(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export interface LayerIndexOptions {
  /** The directory holding index.json. Default: $XDG_CACHE_HOME/layerlift, else ~/.cache/layerlift. */
  directory?: string;
  env?: NodeJS.ProcessEnv;
  fs?: IndexFileSystem;
  /** Default 50 000. */
  maxDiffIds?: number;
  /** Bytes of index.json. Default 5 MiB. */
  maxBytes?: number;
  now?: () => Date;
}

export const INDEX_FILE = 'index.json';
const FORMAT_VERSION = 1;
const DEFAULT_MAX_DIFF_IDS = 50_000;
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const MAX_BLOBS_PER_DIFF_ID = 8;
const MAX_REPOSITORIES_PER_BLOB = 32;
/** A file this many times the byte bound is not read at all (it is moved aside). */
const OVERSIZE_FACTOR = 4;

/** $LAYERLIFT_CACHE, else $XDG_CACHE_HOME/layerlift (absolute paths only, as the spec says), else ~/.cache/layerlift. */
export function defaultIndexDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.LAYERLIFT_CACHE;
  if (own !== undefined && own !== '' && isAbsolute(own)) return own;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'layerlift');
  const home = (process.platform === 'win32' ? env.USERPROFILE : env.HOME) || homedir();
  return join(home, '.cache', 'layerlift');
}

export const nodeIndexFileSystem: IndexFileSystem = {
  statSync: (path) => nodeFs.statSync(path),
  readFileSync: (path) => nodeFs.readFileSync(path),
  renameSync: (from, to) => nodeFs.renameSync(from, to),
  mkdir: async (path) => {
    await nodeFs.promises.mkdir(path, { recursive: true });
  },
  // No fsync: it cost up to 80 ms at the end of every push (measured on a rebuild the engine
  // pushed in 190 ms), and the index is a cache. The file is replaced by rename, which ext4
  // (auto_da_alloc) and xfs flush before the rename commits; a file torn by a crash anyway is
  // read as corrupt and replaced (INDEX_CORRUPT), costing one plan its memory, not a push.
  writeTempFile: async (path, data) => {
    const handle = await nodeFs.promises.open(path, 'wx', 0o644);
    try {
      await handle.writeFile(data, 'utf8');
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => nodeFs.promises.rename(from, to),
  unlink: (path) => nodeFs.promises.unlink(path),
};

type Layers = Map<string, IndexEntry[]>;

export class LayerIndex {
  readonly directory: string;
  readonly path: string;
  private readonly fs: IndexFileSystem;
  private readonly maxDiffIds: number;
  private readonly maxBytes: number;
  private readonly now: () => Date;
  private layers: Layers | undefined;
  private dirty = false;
  /** Bumped by record(): tells a save whether records arrived while it was writing. */
  private changes = 0;
  private loadWarning: IndexWarning | undefined;
  /** Set when the file on disk must not be overwritten (written by a newer Layerlift, unreadable). */
  private keepFile: IndexWarning | undefined;
  private readonly pending: IndexWarning[] = [];
  private readonly all: IndexWarning[] = [];
  private saving: Promise<unknown> = Promise.resolve();

  private constructor(options: LayerIndexOptions) {
    this.directory = options.directory ?? defaultIndexDirectory(options.env ?? process.env);
    this.path = join(this.directory, INDEX_FILE);
    this.fs = options.fs ?? nodeIndexFileSystem;
    this.maxDiffIds = options.maxDiffIds ?? DEFAULT_MAX_DIFF_IDS;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.now = options.now ?? (() => new Date());
  }

  /** Nothing is read until the index is first used. */
  static open(options: LayerIndexOptions = {}): LayerIndex {
    return new LayerIndex(options);
  }

  /** Every warning so far (load and save), oldest first. */
  get warnings(): readonly IndexWarning[] {
    return this.all;
  }

  /** Reads the index now if it was not yet; returns the warning reading it gave, if any. */
  load(): { warning?: string; code?: IndexWarningCode } {
    if (this.layers === undefined) {
      const { layers, warning } = this.read();
      this.layers = layers;
      this.loadWarning = warning;
      if (warning !== undefined) this.warn(warning);
    }
    const warning = this.loadWarning;
    return warning === undefined ? {} : { warning: warning.message, code: warning.code };
  }

  /** The blobs `diffId` is known as, most recently seen first (copies: safe to keep). */
  lookup(diffId: string): IndexEntry[] {
    const entries = this.loaded().get(diffId);
    if (entries === undefined) return [];
    return entries
      .map((entry) => ({ ...entry, repositories: [...entry.repositories] }))
      .sort((a, b) => compareStrings(b.seenAt, a.seenAt));
  }

  /**
   * Notes that `diffId` was sent as `blob` to `repository` ("registry/repo"; '' for none).
   * Invalid digests are ignored (the index is a cache: it never throws into a push).
   */
  record(diffId: string, blob: IndexBlob, repository = ''): void {
    if (!isDigest(diffId) || !isDigest(blob.digest) || !Number.isSafeInteger(blob.size) || blob.size < 0) return;
    const layers = this.loaded();
    const seenAt = this.now().toISOString();
    const entries = layers.get(diffId) ?? [];
    let entry = entries.find((e) => e.digest === blob.digest);
    if (entry === undefined) {
      entry = { digest: blob.digest, size: blob.size, mediaType: blob.mediaType, repositories: [], seenAt };
      entries.push(entry);
    }
    entry.size = blob.size;
    entry.mediaType = blob.mediaType;
    entry.seenAt = seenAt;
    if (repository !== '') {
      entry.repositories = entry.repositories.filter((r) => r !== repository);
      entry.repositories.push(repository);
      if (entry.repositories.length > MAX_REPOSITORIES_PER_BLOB) entry.repositories.splice(0, entry.repositories.length - MAX_REPOSITORIES_PER_BLOB);
    }
    entries.sort((a, b) => compareStrings(a.seenAt, b.seenAt));
    if (entries.length > MAX_BLOBS_PER_DIFF_ID) entries.splice(0, entries.length - MAX_BLOBS_PER_DIFF_ID);
    // Most recently used last, so that insertion order is a rough age order too.
    layers.delete(diffId);
    layers.set(diffId, entries);
    this.dirty = true;
    this.changes++;
  }

  /**
   * Writes the index if anything was recorded, merging what another process saved meanwhile.
   * Never rejects: problems come back as a warning (together with any from loading).
   */
  save(): Promise<SaveResult> {
    const run = this.saving.then(() => this.saveNow());
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async saveNow(): Promise<SaveResult> {
    let problem: IndexWarning | undefined;
    try {
      problem = await this.write();
    } catch (error) {
      problem = { code: 'INDEX_SAVE_FAILED', message: `layer index ${this.path} not saved: ${describe(error)}` };
    }
    if (problem !== undefined) this.warn(problem);
    const warnings = this.pending.splice(0);
    if (warnings.length === 0) return {};
    return { warning: warnings.map((w) => w.message).join('; '), code: problem?.code ?? warnings[0]?.code, warnings };
  }

  private async write(): Promise<IndexWarning | undefined> {
    if (!this.dirty || this.layers === undefined) return undefined;
    const changes = this.changes;
    if (this.keepFile !== undefined) {
      return { code: this.keepFile.code, message: `layer index ${this.path} not saved: the file there was left as it is` };
    }
    // Entries saved by another process since we read the file (a corrupt file is replaced).
    const onDisk = this.read({ quiet: true });
    const merged = onDisk.layers.size > 0 ? merge(onDisk.layers, this.layers) : this.layers;
    const { layers, text } = bound(merged, this.maxDiffIds, this.maxBytes);
    const temp = join(this.directory, `${INDEX_FILE}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      await this.fs.mkdir(this.directory);
      await this.fs.writeTempFile(temp, text);
      await this.fs.rename(temp, this.path);
    } catch (error) {
      await this.fs.unlink(temp).catch(() => undefined);
      return saveProblem(this.path, error);
    }
    if (this.changes === changes) {
      this.layers = layers;
      this.dirty = false;
    } else {
      // Recorded while the file was being written: kept, and written by the next save.
      this.layers = merge(layers, this.layers);
    }
    return undefined;
  }

  private loaded(): Layers {
    this.load();
    return this.layers ?? new Map<string, IndexEntry[]>();
  }

  private warn(warning: IndexWarning): void {
    this.pending.push(warning);
    this.all.push(warning);
  }

  /**
   * The index on disk. Missing: empty. Broken: moved aside, empty, warning. `quiet` (before a
   * save) only reads what is there and leaves broken files to be replaced.
   */
  private read(options: { quiet?: boolean } = {}): { layers: Layers; warning?: IndexWarning } {
    const empty = new Map<string, IndexEntry[]>();
    let bytes: Buffer;
    try {
      const { size } = this.fs.statSync(this.path);
      if (size > this.maxBytes * OVERSIZE_FACTOR) {
        if (options.quiet) return { layers: empty };
        return { layers: empty, warning: this.moveAside(`is ${size} bytes, more than an index ever grows to`) };
      }
      bytes = this.fs.readFileSync(this.path);
    } catch (error) {
      // Nothing there yet (ENOTDIR: a file where a directory should be; saving will say so).
      const errno = errnoOf(error);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return { layers: empty };
      if (options.quiet) return { layers: empty };
      const warning: IndexWarning = { code: 'INDEX_UNREADABLE', message: `layer index ${this.path} cannot be read (${describe(error)}); going on without it` };
      this.keepFile = warning;
      return { layers: empty, warning };
    }
    let document: unknown;
    try {
      document = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      if (options.quiet) return { layers: empty };
      return { layers: empty, warning: this.moveAside(`is not valid JSON (${describe(error)})`) };
    }
    const version = isRecord(document) ? document.version : undefined;
    if (typeof version === 'number' && version > FORMAT_VERSION) {
      if (options.quiet) return { layers: empty };
      const warning: IndexWarning = {
        code: 'INDEX_TOO_NEW',
        message: `layer index ${this.path} was written by a newer Layerlift (format ${version}); going on without it`,
      };
      this.keepFile = warning;
      return { layers: empty, warning };
    }
    if (!isRecord(document) || version !== FORMAT_VERSION || !isRecord(document.layers)) {
      if (options.quiet) return { layers: empty };
      return { layers: empty, warning: this.moveAside('is not a Layerlift layer index') };
    }
    return { layers: parseLayers(document.layers) };
  }

  private moveAside(what: string): IndexWarning {
    const aside = `${this.path}.corrupt-${this.now().toISOString().replace(/[:.]/g, '-')}`;
    try {
      this.fs.renameSync(this.path, aside);
      return { code: 'INDEX_CORRUPT', message: `layer index ${this.path} ${what}: moved to ${aside}, starting a new one` };
    } catch (error) {
      return { code: 'INDEX_CORRUPT', message: `layer index ${this.path} ${what} and cannot be moved aside (${describe(error)}); starting a new one` };
    }
  }
}

/** Valid entries of a parsed `layers` object; anything malformed is skipped. */
function parseLayers(raw: Record<string, unknown>): Layers {
  const layers: Layers = new Map();
  for (const [diffId, list] of Object.entries(raw)) {
    if (!isDigest(diffId) || !Array.isArray(list)) continue;
    const entries: IndexEntry[] = [];
    for (const item of list as unknown[]) {
      const entry = parseEntry(item);
      if (entry !== undefined && !entries.some((e) => e.digest === entry.digest)) entries.push(entry);
    }
    if (entries.length > 0) layers.set(diffId, entries.slice(-MAX_BLOBS_PER_DIFF_ID));
  }
  return layers;
}

function parseEntry(item: unknown): IndexEntry | undefined {
  if (!isRecord(item)) return undefined;
  const { digest, size, mediaType, repositories, seenAt } = item;
  if (!isDigest(digest) || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof mediaType !== 'string' || typeof seenAt !== 'string' || Number.isNaN(Date.parse(seenAt))) return undefined;
  if (!Array.isArray(repositories)) return undefined;
  const repos = (repositories as unknown[]).filter((r): r is string => typeof r === 'string' && r !== '');
  return { digest, size, mediaType, repositories: [...new Set(repos)].slice(-MAX_REPOSITORIES_PER_BLOB), seenAt };
}

/** `ours` over `theirs`: per diff_id and blob, repositories united and the latest seenAt kept. */
function merge(theirs: Layers, ours: Layers): Layers {
  const merged: Layers = new Map();
  for (const [diffId, entries] of theirs) merged.set(diffId, entries.map((e) => ({ ...e, repositories: [...e.repositories] })));
  for (const [diffId, entries] of ours) {
    const target = merged.get(diffId) ?? [];
    for (const entry of entries) {
      const existing = target.find((e) => e.digest === entry.digest);
      if (existing === undefined) {
        target.push({ ...entry, repositories: [...entry.repositories] });
        continue;
      }
      const newer = compareStrings(entry.seenAt, existing.seenAt) >= 0;
      const older = newer ? existing : entry;
      const latest = newer ? entry : existing;
      existing.repositories = [...new Set([...older.repositories, ...latest.repositories])].slice(-MAX_REPOSITORIES_PER_BLOB);
      existing.size = latest.size;
      existing.mediaType = latest.mediaType;
      existing.seenAt = latest.seenAt;
    }
    target.sort((a, b) => compareStrings(a.seenAt, b.seenAt));
    merged.set(diffId, target.slice(-MAX_BLOBS_PER_DIFF_ID));
  }
  return merged;
}

/**
 * The most recently seen diff_ids that fit both bounds, and their JSON. The JSON is built from
 * per-diff_id pieces so the byte bound is exact.
 */
export function bound(layers: Layers, maxDiffIds: number, maxBytes: number): { layers: Layers; text: string } {
  const newest = (entries: IndexEntry[]) => entries.reduce((max, e) => (compareStrings(e.seenAt, max) > 0 ? e.seenAt : max), '');
  const ranked = [...layers].map(([diffId, entries]) => ({ diffId, entries, seenAt: newest(entries) }));
  ranked.sort((a, b) => compareStrings(b.seenAt, a.seenAt));
  const head = `{"version":${FORMAT_VERSION},"layers":{`;
  const tail = '}}\n';
  let used = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const kept: typeof ranked = [];
  const pieces: string[] = [];
  for (const item of ranked) {
    if (kept.length >= maxDiffIds) break;
    const piece = `${JSON.stringify(item.diffId)}:${JSON.stringify(item.entries)}`;
    const cost = Buffer.byteLength(piece) + (pieces.length > 0 ? 1 : 0);
    if (used + cost > maxBytes) break;
    used += cost;
    kept.push(item);
    pieces.push(piece);
  }
  // Oldest first in the file, like the map: the order record() keeps.
  kept.reverse();
  pieces.reverse();
  return { layers: new Map(kept.map((item) => [item.diffId, item.entries])), text: `${head}${pieces.join(',')}${tail}` };
}

function saveProblem(path: string, error: unknown): IndexWarning {
  const errno = errnoOf(error);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return { code: 'INDEX_DISK_FULL', message: `layer index ${path} not saved: no space left on device (${errno})` };
  }
  if (errno === 'EROFS' || errno === 'EACCES' || errno === 'EPERM') {
    return { code: 'INDEX_READ_ONLY', message: `layer index ${path} not saved: the directory is not writable (${errno})` };
  }
  return { code: 'INDEX_SAVE_FAILED', message: `layer index ${path} not saved: ${describe(error)}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}
