// The build context on disk → a ContextSnapshot (server/src/analysis/copyEstimate.ts). The
// fs adapter: walks the context as the builder does (honouring .dockerignore under BuildKit's or
// the legacy builder's walk rules, analysis/dockerignoreWalk.ts; never entering an excluded
// directory the builder would not enter: node_modules, .git), keeps the result, samples
// compressibility (./compressibility.ts), and updates one path at a time on file changes.
//
// Walking uses synchronous readdir/lstat in slices of ~8 ms with a yield to the event loop in
// between: on Linux that is 3–4× faster than one promise per lstat (the libuv pool round trip
// dominates for a cached stat), and the language server's event loop never waits long.
import { lstatSync, readdirSync, readFileSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ContextEntry, ContextSnapshot } from '../analysis/copyEstimate';
import { IgnoreMatcher, normalizeRelative, parseDockerignore, type IgnorePattern, type IgnoreRules, type MatchState } from '../analysis/dockerignore';
import {
  EXTENSION_SAMPLE_BYTES,
  FILE_SAMPLE_BYTES,
  deflateRatio,
  deflateRatioSync,
  extensionKey,
  forEachLimited,
  looksLikeArchive,
  readHead,
  readSample,
  readSampleSync,
} from './compressibility';

export interface ContextScannerOptions {
  /** The ignore file, relative to the root (default `.dockerignore`). */
  ignoreFile?: string;
  /**
   * Whose walk rules apply (default BuildKit's): the builder the build uses, or a promise of it
   * (the language server finds out in the background; scans wait for it).
   */
  ignoreRules?: IgnoreRules | Promise<IgnoreRules>;
  /** Files of at least this size get a compressibility ratio of their own (default 64 KiB). */
  largeFileBytes?: number;
  /** At most this many files sampled one by one per scan, largest first (default 256). */
  maxFileSamples?: number;
  /** Files sampled per extension for the extension's ratio (default 8). */
  samplesPerExtension?: number;
  /** Upper bound on the bytes read for sampling in one scan (default 24 MiB). */
  sampleBudgetBytes?: number;
  /** Concurrent sample reads (default 4). */
  concurrency?: number;
}

export interface ScanStats {
  files: number;
  directories: number;
  /** Excluded directories Docker (and we) never enter. */
  skippedDirectories: number;
  /** Excluded files seen while walking. */
  excludedFiles: number;
  /** Files whose own content was sampled (cache hits included). */
  fileSamples: number;
  /** Extensions with a sampled ratio. */
  extensionSamples: number;
  /** Bytes read for sampling by the last scan. */
  sampledBytes: number;
  walkMs: number;
  sampleMs: number;
  totalMs: number;
}

interface Entry extends ContextEntry {
  mtimeMs: number;
  /** Where the ratio comes from: the file's own sample, its extension, the context mean, none. */
  ratioSource?: 'file' | 'extension' | 'mean' | 'none';
}

interface CachedSample {
  size: number;
  mtimeMs: number;
  ratio: number | undefined;
  isArchive: boolean;
}

interface ExtensionRatio {
  ratio: number;
  bytes: number;
}

const SLICE_MS = 8;
/** Files read for sampling by one incremental update (a new directory): bounds the update time. */
const UPDATE_SAMPLES = 8;

export class ContextScanner {
  readonly root: string;
  private readonly options: Required<Omit<ContextScannerOptions, 'ignoreRules'>>;
  private readonly rules: Promise<IgnoreRules>;
  private entries = new Map<string, Entry>();
  private matcher = new IgnoreMatcher([]);
  private patterns: IgnorePattern[] = [];
  private readonly samples = new Map<string, CachedSample>();
  private extensionRatios = new Map<string, ExtensionRatio>();
  private meanRatio: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private scanned = false;
  private version = 0;
  private lastStats: ScanStats = emptyStats();

  constructor(root: string, options: ContextScannerOptions = {}) {
    this.root = root;
    this.rules = Promise.resolve(options.ignoreRules ?? 'buildkit').catch((): IgnoreRules => 'buildkit');
    this.options = {
      ignoreFile: options.ignoreFile ?? '.dockerignore',
      largeFileBytes: options.largeFileBytes ?? FILE_SAMPLE_BYTES,
      maxFileSamples: options.maxFileSamples ?? 256,
      samplesPerExtension: options.samplesPerExtension ?? 8,
      sampleBudgetBytes: options.sampleBudgetBytes ?? 24 * 1024 * 1024,
      concurrency: options.concurrency ?? 4,
    };
  }

  /** Walks the whole context and samples it. Calls are serialised with fileChanged. */
  scan(): Promise<ContextSnapshot> {
    return this.enqueue(async () => {
      await this.fullScan();
      return this.entries;
    });
  }

  /**
   * Re-reads one path (created, changed or deleted; a file or a directory) and updates the
   * snapshot. A change to the ignore file rescans everything (sample caches make that cheap).
   * Before the first scan, it scans.
   */
  fileChanged(relativePath: string): Promise<void> {
    return this.enqueue(async () => {
      const rel = normalizeRelative(relativePath);
      if (rel === '..' || rel.startsWith('../')) return; // outside the context
      if (!this.scanned || rel === '.' || rel === normalizeRelative(this.options.ignoreFile)) {
        await this.fullScan();
        return;
      }
      await this.updatePath(rel);
    });
  }

  /** The current snapshot (the scanner's live map: re-read it after scan/fileChanged). */
  snapshot(): ContextSnapshot {
    return this.entries;
  }

  /** Bumped on every change to the snapshot. */
  get snapshotVersion(): number {
    return this.version;
  }

  /** The .dockerignore patterns in force (errors included: Docker fails the build on those). */
  ignorePatterns(): readonly IgnorePattern[] {
    return this.patterns;
  }

  /** Whose walk rules the last scan applied (BuildKit's or the legacy builder's). */
  ignoreRules(): IgnoreRules {
    return this.matcher.rules;
  }

  /** The matcher in force. */
  ignoreMatcher(): IgnoreMatcher {
    return this.matcher;
  }

  /** Figures of the last full scan. */
  stats(): ScanStats {
    return this.lastStats;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private abs(rel: string): string {
    return join(this.root, rel);
  }

  private loadIgnore(rules: IgnoreRules): void {
    let text = '';
    try {
      text = readFileSync(this.abs(this.options.ignoreFile), 'utf8');
    } catch {
      // no ignore file: nothing excluded
    }
    this.patterns = parseDockerignore(text);
    this.matcher = new IgnoreMatcher(this.patterns, { rules });
  }

  private async fullScan(): Promise<void> {
    const rules = await this.rules; // before the clock: the builder probe is not the scan's time
    const started = performance.now();
    const stats = emptyStats();
    this.loadIgnore(rules);
    const entries = new Map<string, Entry>();
    await this.walk('', undefined, entries, stats);
    const walked = performance.now();
    stats.walkMs = walked - started;
    this.entries = entries;
    await this.sampleAll(stats);
    stats.sampleMs = performance.now() - walked;
    stats.totalMs = performance.now() - started;
    stats.files = 0;
    stats.directories = 0;
    for (const entry of entries.values()) {
      if (entry.isDirectory) stats.directories++;
      else stats.files++;
    }
    this.lastStats = stats;
    this.scanned = true;
    this.version++;
  }

  /**
   * Walks the directory `startRel` ('' for the root) whose match state is `startState`, adding
   * what Docker would send to `entries`. Excluded directories are entered only when an
   * exception could re-include something below them; they appear in the snapshot only if
   * something below them is sent (the daemon's context then has them as parents).
   */
  private async walk(startRel: string, startState: MatchState | undefined, entries: Map<string, Entry>, stats: ScanStats): Promise<void> {
    const matcher = this.matcher;
    const stack: { rel: string; state: MatchState | undefined }[] = [{ rel: startRel, state: startState }];
    let sliceStart = performance.now();
    while (stack.length > 0) {
      const { rel, state } = stack.pop()!;
      let dirents: Dirent[];
      try {
        dirents = readdirSync(rel === '' ? this.root : this.abs(rel), { withFileTypes: true });
      } catch {
        continue; // vanished or unreadable
      }
      for (const dirent of dirents) {
        const childRel = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
        const verdict = matcher.empty ? undefined : matcher.match(childRel, state);
        const excluded = verdict?.excluded ?? false;
        let isDirectory = dirent.isDirectory();
        let stat: Stats | undefined;
        if (!isDirectory && !dirent.isFile() && !dirent.isSymbolicLink()) {
          // DT_UNKNOWN on some filesystems, or a special file: ask lstat.
          stat = safeLstat(this.abs(childRel));
          if (!stat) continue;
          isDirectory = stat.isDirectory();
        }
        if (isDirectory) {
          if (excluded && matcher.canSkipDirectory(childRel)) {
            stats.skippedDirectories++;
            continue;
          }
          if (!excluded) addEntry(entries, childRel, { size: 0, isDirectory: true, mtimeMs: 0 });
          stack.push({ rel: childRel, state: verdict?.state });
          continue;
        }
        if (excluded) {
          stats.excludedFiles++;
          continue;
        }
        stat ??= safeLstat(this.abs(childRel));
        if (!stat) continue;
        addEntry(entries, childRel, fileEntry(stat));
      }
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
  }

  /** Samples compressibility for the whole snapshot (see compressibility.ts for the strategy). */
  private async sampleAll(stats: ScanStats): Promise<void> {
    const { largeFileBytes, maxFileSamples, samplesPerExtension, concurrency } = this.options;
    let budget = this.options.sampleBudgetBytes;
    const files: [string, Entry][] = [];
    for (const item of this.entries) if (!item[1].isDirectory && !item[1].isSymlink && item[1].size > 0) files.push(item);

    // Forget cached samples of files that are gone.
    for (const path of this.samples.keys()) if (!this.entries.has(path)) this.samples.delete(path);

    // 1. The largest files, one by one.
    const large = files.filter(([, e]) => e.size >= largeFileBytes).sort((a, b) => b[1].size - a[1].size).slice(0, maxFileSamples);
    const own = new Set<string>();
    const toSample: [string, Entry][] = [];
    for (const [path, entry] of large) {
      const cached = this.samples.get(path);
      if (cached && cached.size === entry.size && cached.mtimeMs === entry.mtimeMs) {
        own.add(path);
        continue;
      }
      const cost = Math.min(entry.size, FILE_SAMPLE_BYTES);
      if (cost > budget) continue;
      budget -= cost;
      toSample.push([path, entry]);
    }
    await forEachLimited(toSample, concurrency, async ([path, entry]) => {
      try {
        const { sample, isArchive } = await readSample(this.abs(path), entry.size, FILE_SAMPLE_BYTES);
        stats.sampledBytes += sample.length;
        this.samples.set(path, { size: entry.size, mtimeMs: entry.mtimeMs, ratio: await deflateRatio(sample), isArchive });
        own.add(path);
      } catch {
        // vanished meanwhile: it will be found missing by the next update
      }
    });
    stats.fileSamples = own.size;

    // 2. One ratio per extension, from a few files of that extension spread over its sizes.
    const byExtension = new Map<string, [string, Entry][]>();
    for (const item of files) {
      if (own.has(item[0])) continue;
      const key = extensionKey(item[0]);
      let list = byExtension.get(key);
      if (!list) byExtension.set(key, (list = []));
      list.push(item);
    }
    const groups = [...byExtension.entries()]
      .map(([key, list]) => ({ key, list, bytes: list.reduce((sum, [, e]) => sum + e.size, 0) }))
      .sort((a, b) => b.bytes - a.bytes);
    const extensionRatios = new Map<string, ExtensionRatio>();
    const plans: { key: string; picks: [string, Entry][] }[] = [];
    for (const { key, list } of groups) {
      if (budget <= 0) break;
      const sorted = [...list].sort((a, b) => a[1].size - b[1].size);
      const count = Math.min(samplesPerExtension, sorted.length);
      const picks: [string, Entry][] = [];
      for (let i = 0; i < count; i++) {
        const pick = sorted[Math.floor(((sorted.length - 1) * i) / Math.max(1, count - 1))]!;
        if (!picks.includes(pick)) picks.push(pick);
      }
      budget -= picks.reduce((sum, [, e]) => sum + Math.min(e.size, EXTENSION_SAMPLE_BYTES), 0);
      plans.push({ key, picks });
    }
    await forEachLimited(plans, concurrency, async ({ key, picks }) => {
      const buffers: Buffer[] = [];
      for (const [path, entry] of picks) {
        try {
          const head = await readHead(this.abs(path), entry.size, EXTENSION_SAMPLE_BYTES);
          buffers.push(head);
          if (entry.size <= EXTENSION_SAMPLE_BYTES) entry.isArchive = looksLikeArchive(head);
        } catch {
          // vanished meanwhile
        }
      }
      const joined = Buffer.concat(buffers);
      stats.sampledBytes += joined.length;
      const ratio = await deflateRatio(joined);
      if (ratio !== undefined) extensionRatios.set(key, { ratio, bytes: joined.length });
    });
    stats.extensionSamples = extensionRatios.size;
    this.extensionRatios = extensionRatios;

    // 3. The byte-weighted mean, for extensions nothing was sampled of.
    let weighted = 0;
    let weight = 0;
    for (const path of own) {
      const cached = this.samples.get(path);
      const entry = this.entries.get(path);
      if (cached?.ratio === undefined || !entry) continue;
      weighted += cached.ratio * entry.size;
      weight += entry.size;
    }
    for (const { key, bytes } of groups) {
      const ext = extensionRatios.get(key);
      if (!ext) continue;
      weighted += ext.ratio * bytes;
      weight += bytes;
    }
    this.meanRatio = weight > 0 ? weighted / weight : undefined;

    // 4. Assign.
    for (const [path, entry] of this.entries) {
      if (entry.isDirectory) continue;
      this.assignRatio(path, entry, own.has(path));
    }
  }

  private assignRatio(path: string, entry: Entry, sampledItself: boolean): void {
    if (entry.isSymlink) {
      entry.compressedRatio = undefined;
      entry.ratioSource = undefined;
      return;
    }
    const cached = sampledItself ? this.samples.get(path) : undefined;
    if (cached && cached.ratio !== undefined) {
      entry.compressedRatio = cached.ratio;
      entry.isArchive = cached.isArchive;
      entry.ratioSource = 'file';
      return;
    }
    const ext = this.extensionRatios.get(extensionKey(path));
    if (ext) {
      entry.compressedRatio = ext.ratio;
      entry.ratioSource = 'extension';
    } else if (this.meanRatio !== undefined) {
      entry.compressedRatio = this.meanRatio;
      entry.ratioSource = 'mean';
    } else {
      entry.compressedRatio = entry.size === 0 ? 1 : undefined;
      entry.ratioSource = 'none';
    }
  }

  /** Incremental update of one path. */
  private async updatePath(rel: string): Promise<void> {
    this.version++;
    // Inside something Docker does not send: make sure nothing of it is in the snapshot.
    if (this.matcher.isExcluded(rel)) {
      const wasDirectory = this.entries.get(rel)?.isDirectory === true;
      this.entries.delete(rel);
      if (wasDirectory) this.removeBelow(rel);
      this.pruneUnsentParents(rel);
      // An excluded directory entered for an exception: its sent children keep it; check them.
      const stat = safeLstat(this.abs(rel));
      if (stat?.isDirectory() && !this.matcher.canSkipDirectory(rel)) await this.rewalkDirectory(rel);
      return;
    }
    const stat = safeLstat(this.abs(rel));
    const previous = this.entries.get(rel);
    if (!stat) {
      this.entries.delete(rel);
      if (previous?.isDirectory === true) this.removeBelow(rel);
      this.pruneUnsentParents(rel);
      return;
    }
    if (stat.isDirectory()) {
      if (previous?.isDirectory) this.removeBelow(rel);
      addEntry(this.entries, rel, { size: 0, isDirectory: true, mtimeMs: 0 });
      await this.rewalkDirectory(rel);
      return;
    }
    if (previous?.isDirectory) this.removeBelow(rel);
    const entry = fileEntry(stat);
    addEntry(this.entries, rel, entry);
    this.sampleOne(rel, entry);
  }

  /** Walks one directory again (its match state recomputed from the root down). */
  private async rewalkDirectory(rel: string): Promise<void> {
    const parts = rel.split('/');
    let state: MatchState | undefined;
    if (!this.matcher.empty) for (let i = 1; i <= parts.length; i++) state = this.matcher.match(parts.slice(0, i).join('/'), state).state;
    const added = new Map<string, Entry>();
    await this.walk(rel, state, added, emptyStats());
    for (const [path, entry] of added) this.entries.set(path, entry);
    // Bounded like a scan: the largest files first, at most UPDATE_SAMPLES files read; the rest
    // take their extension's (or the mean) ratio. A full scan refines them later.
    const files = [...added].filter(([, e]) => !e.isDirectory).sort((a, b) => b[1].size - a[1].size);
    let reads = 0;
    for (const [path, entry] of files) {
      if (this.sampleOne(path, entry, reads < UPDATE_SAMPLES)) reads++;
    }
  }

  /**
   * Gives one new or changed file a ratio: its own sample when it is large, or when its
   * extension has none yet; else its extension's ratio. At most 64 KiB read, and nothing when
   * `mayRead` is false. Resolves whether it read the file.
   */
  private sampleOne(path: string, entry: Entry, mayRead = true): boolean {
    const key = extensionKey(path);
    const large = entry.size >= this.options.largeFileBytes;
    let read = false;
    if (mayRead && !entry.isSymlink && entry.size > 0 && (large || !this.extensionRatios.has(key))) {
      const cached = this.samples.get(path);
      if (!(cached && cached.size === entry.size && cached.mtimeMs === entry.mtimeMs)) {
        read = true;
        try {
          // Synchronous on purpose: ≤ 64 KiB read and deflated, a few ms, with no wait for a
          // busy libuv pool (which made single updates take tens of ms under load).
          const { sample, isArchive } = readSampleSync(this.abs(path), entry.size, FILE_SAMPLE_BYTES);
          const ratio = deflateRatioSync(sample);
          if (large) this.samples.set(path, { size: entry.size, mtimeMs: entry.mtimeMs, ratio, isArchive });
          else {
            entry.isArchive = isArchive;
            if (ratio !== undefined) this.extensionRatios.set(key, { ratio, bytes: sample.length });
          }
        } catch {
          // vanished meanwhile
        }
      }
    }
    const cached = this.samples.get(path);
    this.assignRatio(path, entry, large && cached?.size === entry.size && cached.mtimeMs === entry.mtimeMs);
    return read;
  }

  /**
   * An excluded directory is in the snapshot only as the parent of something sent (Docker's
   * context has it then, and only then). After a removal below one, drop it if it is now empty.
   */
  private pruneUnsentParents(rel: string): void {
    for (let slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) {
      const parent = rel.slice(0, slash);
      if (!this.entries.has(parent) || !this.matcher.isExcluded(parent)) return;
      const prefix = `${parent}/`;
      for (const path of this.entries.keys()) if (path.startsWith(prefix)) return;
      this.entries.delete(parent);
    }
  }

  private removeBelow(rel: string): void {
    const prefix = `${rel}/`;
    for (const path of this.entries.keys()) if (path.startsWith(prefix)) this.entries.delete(path);
  }
}

function emptyStats(): ScanStats {
  return {
    files: 0,
    directories: 0,
    skippedDirectories: 0,
    excludedFiles: 0,
    fileSamples: 0,
    extensionSamples: 0,
    sampledBytes: 0,
    walkMs: 0,
    sampleMs: 0,
    totalMs: 0,
  };
}

function safeLstat(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function fileEntry(stat: Stats): Entry {
  if (stat.isSymbolicLink()) return { size: stat.size, isDirectory: false, isSymlink: true, mtimeMs: stat.mtimeMs };
  // Regular files; FIFOs and devices are sent as headers only (no content).
  return { size: stat.isFile() ? stat.size : 0, isDirectory: false, mtimeMs: stat.mtimeMs };
}

/** Adds an entry and, for a path below an excluded-but-entered directory, its parents. */
function addEntry(entries: Map<string, Entry>, rel: string, entry: Entry): void {
  entries.set(rel, entry);
  for (let slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) {
    const parent = rel.slice(0, slash);
    if (entries.has(parent)) return;
    entries.set(parent, { size: 0, isDirectory: true, mtimeMs: 0 });
  }
}
