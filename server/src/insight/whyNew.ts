// Why a layer is new: two images' layer lists compared (pure). Layers match by position and
// diff_id, as the engine's build cache and a registry's blob store match them: the first layer
// whose diff_id differs is where the images part; every layer after it is rebuilt (a changed
// layer changes the parent of every later one). For that first layer, the files that differ
// (by content digest when both sides hashed them, else by kind and size) name the cause.
import type { LayerEntry } from './layerFiles';

export interface LayerSummary {
  diffId: string;
  /** The history entry that made the layer (`created_by`), e.g. `COPY file:… in /app`. */
  createdBy: string;
  /** The layer's entries, when read. */
  entries?: readonly LayerEntry[];
}

export interface FileDifference {
  path: string;
  change: 'added' | 'changed' | 'removed';
}

export interface WhyNew {
  /** Index of the first layer that differs; undefined when none does (same layers). */
  firstDifferent?: number;
  /** Layers only the current image has (its indexes): the first different one and all after. */
  newLayers: number[];
  /** Files that differ in the first different layer (both sides read), sorted by path. */
  files?: FileDifference[];
  /** Whether the first different layer's instruction text differs too. */
  instructionChanged?: boolean;
}

export function whyNew(current: readonly LayerSummary[], previous: readonly LayerSummary[]): WhyNew {
  let index = 0;
  while (index < current.length && index < previous.length && current[index]?.diffId === previous[index]?.diffId) index++;
  if (index === current.length) return { newLayers: [] };
  const previousIds = new Set(previous.map((l) => l.diffId));
  const newLayers: number[] = [];
  for (let i = index; i < current.length; i++) if (!previousIds.has(current[i]?.diffId ?? '')) newLayers.push(i);
  const mine = current[index];
  const theirs = previous[index];
  const result: WhyNew = { firstDifferent: index, newLayers };
  if (mine && theirs) {
    result.instructionChanged = normaliseCreatedBy(mine.createdBy) !== normaliseCreatedBy(theirs.createdBy);
    if (mine.entries && theirs.entries) result.files = fileDifferences(mine.entries, theirs.entries);
  }
  return result;
}

/** created_by without the legacy builder's `/bin/sh -c #(nop) ` prefix and BuildKit's comment. */
export function normaliseCreatedBy(createdBy: string): string {
  return createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/ # buildkit$/, '')
    .trim();
}

/** For display: created_by normalised, shell steps as `RUN …`, the legacy builder's 64-hex source digests cut to 12. */
export function shortCreatedBy(createdBy: string): string {
  return normaliseCreatedBy(createdBy)
    .replace(/^(?:RUN )?\/bin\/sh -c /, 'RUN ')
    .replace(/\b(file|dir|multi):([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1:$2…');
}

/** Differences between two layers' entries (directories left out: their files say it). */
export function fileDifferences(mine: readonly LayerEntry[], theirs: readonly LayerEntry[]): FileDifference[] {
  const before = new Map(theirs.filter((e) => e.kind !== 'directory').map((e) => [e.path, e]));
  const differences: FileDifference[] = [];
  for (const entry of mine) {
    if (entry.kind === 'directory') continue;
    const old = before.get(entry.path);
    before.delete(entry.path);
    if (old === undefined) differences.push({ path: entry.path, change: 'added' });
    else if (!sameContent(entry, old)) differences.push({ path: entry.path, change: 'changed' });
  }
  for (const path of before.keys()) differences.push({ path, change: 'removed' });
  return differences.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function sameContent(a: LayerEntry, b: LayerEntry): boolean {
  if (a.kind !== b.kind || a.size !== b.size) return false;
  return a.digest === undefined || b.digest === undefined || a.digest === b.digest;
}

/** One sentence, e.g. `layer 3 (COPY a.txt /app/) is new: 1 file changed (app/a.txt); layers 4–5 rebuilt after it`. */
/**
 * With `lines` (each layer's 0-based Dockerfile line, the panel's), the layers are named by line:
 * `line 7 (COPY . /app) is new against …; lines 8–11 rebuilt after it`.
 */
export function describeWhyNew(why: WhyNew, current: readonly LayerSummary[], against: string, lines: readonly (number | undefined)[] = []): string {
  if (why.firstDifferent === undefined) return `every layer is the same as in ${against}`;
  const first = why.firstDifferent;
  const instruction = shortCreatedBy(current[first]?.createdBy ?? '') || '(no history)';
  const name = (i: number) => (lines[i] === undefined ? `layer ${i + 1}` : `line ${(lines[i] ?? 0) + 1}`);
  let text = `${name(first)} (${clip(instruction, 80)}) is new against ${against}`;
  if (why.files !== undefined) {
    const shown = why.files.slice(0, 5).map((f) => (f.change === 'changed' ? f.path : `${f.path} ${f.change}`));
    const more = why.files.length > 5 ? `, ${why.files.length - 5} more` : '';
    const count = `${why.files.length} file${why.files.length === 1 ? '' : 's'} differ${why.files.length === 1 ? 's' : ''}`;
    text += why.files.length === 0 ? ': same files, other metadata' : `: ${count} (${shown.join(', ')}${more})`;
  } else if (why.instructionChanged) {
    text += ': its instruction changed';
  }
  const after = why.newLayers.filter((i) => i > first);
  // Lines only when every later layer has one (a layer from another stage has none).
  const byLine = after.every((i) => lines[i] !== undefined);
  const word = byLine ? 'line' : 'layer';
  const number = (i: number) => (byLine ? (lines[i] ?? 0) + 1 : i + 1);
  if (after.length === 1) text += `; ${word} ${number(after[0] ?? 0)} rebuilt after it`;
  else if (after.length > 1) text += `; ${word}s ${number(after[0] ?? 0)}–${number(after[after.length - 1] ?? 0)} rebuilt after it`;
  return text;
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
