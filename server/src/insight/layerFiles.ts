// What each layer of an image does to the file system, from the entries of its tar (pure).
// Whiteouts follow the OCI image spec (image-spec layer.md "Whiteouts"): `DIR/.wh.NAME` removes
// NAME (and everything below it) from the layers beneath; `DIR/.wh..wh..opq` makes DIR opaque —
// everything beneath it in lower layers is hidden, this layer's own entries in DIR stay.

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** One tar entry as a layer holds it; `path` is clean (no leading `/` or `./`, no trailing `/`). */
export interface LayerEntry {
  path: string;
  kind: EntryKind;
  /** The tar header's size (0 for directories, links and whiteouts), as dive counts it. */
  size: number;
  /** sha256 of a regular file's content, when the reader hashed it (why-new diffs use it). */
  digest?: string;
}

export type ChangeKind = 'added' | 'changed' | 'removed';

export interface FileChange {
  path: string;
  change: ChangeKind;
  kind: EntryKind;
  /** added/changed: this layer's size; removed: the bytes the removed path held below. */
  size: number;
}

export const whiteoutPrefix = '.wh.';
export const opaqueMarker = '.wh..wh..opq';

/** A tar entry name made clean as Go's path.Clean does for dive; '' for the root itself. */
export function cleanEntryPath(name: string): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The path a whiteout entry removes, or undefined when the entry is not a (plain) whiteout. */
export function whiteoutTarget(path: string): string | undefined {
  const name = baseName(path);
  if (!name.startsWith(whiteoutPrefix) || name === opaqueMarker || name.startsWith('.wh..wh.')) return undefined;
  const parent = parentOf(path);
  const target = name.slice(whiteoutPrefix.length);
  return parent === '' ? target : `${parent}/${target}`;
}

/** The directory an opaque marker makes opaque, or undefined. */
export function opaqueDirectory(path: string): string | undefined {
  return baseName(path) === opaqueMarker ? parentOf(path) : undefined;
}

/** True when `path` is `dir` or lies below it ('' is the root, above everything). */
export function isWithin(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/** The merged file system after some layers: path → the entry that put it there. */
export type Stack = Map<string, LayerEntry>;

function hasWithin(stack: Stack, path: string): boolean {
  for (const p of stack.keys()) if (isWithin(p, path)) return true;
  return false;
}

/** Total bytes held at `path` in the stack: its own size plus everything beneath it. */
export function bytesAt(stack: Stack, path: string): number {
  const own = stack.get(path);
  if (own !== undefined && own.kind !== 'directory') return own.size;
  let total = 0;
  for (const [p, entry] of stack) if (isWithin(p, path)) total += entry.size;
  return total;
}

function removeWithin(stack: Stack, dir: string, keep?: (path: string) => boolean): void {
  // A file has nothing beneath it: no need to walk the stack.
  const own = stack.get(dir);
  if (own !== undefined && own.kind !== 'directory' && dir !== '') {
    if (!(keep?.(dir) ?? false)) stack.delete(dir);
    return;
  }
  for (const p of [...stack.keys()]) if (isWithin(p, dir) && !(keep?.(p) ?? false)) stack.delete(p);
}

/**
 * Per layer, what it added, changed and removed against the layers beneath it. Directories that
 * already existed and are only repeated (as every layer's tar repeats parent directories) are
 * not listed. Removed entries carry the bytes they held below.
 */
export function layerChanges(layers: readonly (readonly LayerEntry[])[]): FileChange[][] {
  const stack: Stack = new Map();
  return layers.map((entries) => applyLayer(stack, entries));
}

/** Applies one layer to the stack (mutating it) and says what it changed. */
export function applyLayer(stack: Stack, entries: readonly LayerEntry[]): FileChange[] {
  const changes: FileChange[] = [];
  const own = new Set<string>();
  for (const entry of entries) {
    if (whiteoutTarget(entry.path) === undefined && opaqueDirectory(entry.path) === undefined) own.add(entry.path);
  }
  for (const entry of entries) {
    const opaque = opaqueDirectory(entry.path);
    if (opaque === undefined) continue;
    // Everything beneath the opaque directory from lower layers goes; this layer's own stays.
    const hidden = [...stack.keys()].filter((p) => p !== opaque && isWithin(p, opaque) && !own.has(p));
    const hiddenSet = new Set(hidden);
    const tops = hidden.filter((p) => !hiddenSet.has(parentOf(p)));
    for (const p of tops) {
      const lower = stack.get(p);
      changes.push({ path: p, change: 'removed', kind: lower?.kind ?? 'other', size: bytesAt(stack, p) });
    }
    removeWithin(stack, opaque, (p) => p === opaque || own.has(p));
  }
  for (const entry of entries) {
    const target = whiteoutTarget(entry.path);
    if (target === undefined) continue;
    const lower = stack.get(target);
    if (lower === undefined && !hasWithin(stack, target)) continue;
    changes.push({ path: target, change: 'removed', kind: lower?.kind ?? 'directory', size: bytesAt(stack, target) });
    removeWithin(stack, target);
  }
  for (const entry of entries) {
    if (!own.has(entry.path) || entry.path === '') continue;
    const lower = stack.get(entry.path);
    if (lower === undefined) changes.push({ path: entry.path, change: 'added', kind: entry.kind, size: entry.size });
    else if (!(entry.kind === 'directory' && lower.kind === 'directory')) {
      changes.push({ path: entry.path, change: 'changed', kind: entry.kind, size: entry.size });
    }
    if (lower?.kind === 'directory' && entry.kind !== 'directory') removeWithin(stack, entry.path);
    stack.set(entry.path, entry);
  }
  return changes;
}

/** Bytes a layer's tar holds, as dive sizes a layer: the sum of every entry's header size. */
export function layerBytes(entries: readonly LayerEntry[]): number {
  let total = 0;
  for (const entry of entries) total += entry.size;
  return total;
}
