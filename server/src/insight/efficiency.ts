// Image efficiency and wasted bytes exactly as dive computes them (pure).
// Follows wagoodman/dive: dive/filetree/efficiency.go (Efficiency), dive/image/image.go
// (Analyze: WastedBytes, UserSizeBytes, WastedUserPercent) and the layer tree rules of
// dive/filetree/file_node.go + image_archive.go:
// - each layer is a tree of its entries' clean paths; only its leaves are visited (a directory
//   with entries beneath it in the same layer is not);
// - opaque markers (`.wh..wh..opq`) are never added to the tree (dive ignores them), though the
//   directories on their path are (as empty leaves of size 0);
// - a leaf's size is its tar header size; a whiteout leaf (`.wh.NAME`, path without the prefix)
//   counts the bytes of everything under NAME in the layers beneath when NAME was a directory
//   there (stacked with whiteouts applied, opaque markers ignored), else 0;
// - per path: cumulative size and the smallest size seen; efficiency = Σ smallest / Σ cumulative
//   (1 when nothing was seen); wasted bytes = Σ cumulative over paths seen in two or more layers
//   (the kept copy counts too — dive's definition); user size = every layer but the first.
// One difference: dive aborts the rest of a layer's visit when a whiteout names a path missing
// below (and logs it); here that whiteout counts 0 and the visit goes on.
import { baseName, isWithin, layerBytes, parentOf, whiteoutTarget, type LayerEntry } from './layerFiles';

export interface Inefficiency {
  path: string;
  /** Bytes of this path summed over every layer it appears in (dive's CumulativeSize). */
  cumulativeSize: number;
  /** How many layers hold it (dive's len(Nodes)). */
  occurrences: number;
}

export interface EfficiencyResult {
  /** 0..1; dive prints it ×100 with "%". */
  efficiency: number;
  wastedBytes: number;
  /** Bytes of every layer but the first (dive's UserSizeByes). */
  userSizeBytes: number;
  sizeBytes: number;
  /** wastedBytes / userSizeBytes (0..1+); 0 when there are no user bytes. */
  wastedUserPercent: number;
  /** Largest first. */
  inefficiencies: Inefficiency[];
  /** Per layer: bytes of its files that a later layer overwrites or removes. */
  supersededBytes: number[];
}

interface Leaf {
  path: string;
  size: number;
  whiteout: boolean;
}

/** The leaves of one layer's tree, as dive builds it from the layer's entries. */
export function layerLeaves(entries: readonly LayerEntry[]): Leaf[] {
  const nodes = new Map<string, LayerEntry | undefined>();
  const hasChildren = new Set<string>();
  for (const entry of entries) {
    if (entry.path === '') continue;
    const name = baseName(entry.path);
    // dive's AddChild drops names starting with the double whiteout prefix; the parents stay.
    const dropped = name.startsWith('.wh..wh.');
    for (let parent = parentOf(entry.path); parent !== ''; parent = parentOf(parent)) {
      if (!nodes.has(parent)) nodes.set(parent, undefined);
    }
    const parent = parentOf(entry.path);
    // A dropped marker leaves its parent without this child (possibly a leaf of size 0).
    for (let p = dropped ? parentOf(parent) : parent; p !== ''; p = parentOf(p)) hasChildren.add(p);
    if (dropped) continue;
    nodes.set(entry.path, entry);
  }
  const leaves: Leaf[] = [];
  for (const [path, entry] of nodes) {
    if (hasChildren.has(path)) continue;
    const target = whiteoutTarget(path);
    leaves.push(target === undefined ? { path, size: entry?.size ?? 0, whiteout: false } : { path: target, size: 0, whiteout: true });
  }
  return leaves;
}

/** The stacked tree (explicit entries only, as dive's FileInfo.IsDir needs) after a layer. */
function stackLayer(stack: Map<string, LayerEntry>, entries: readonly LayerEntry[]): void {
  for (const entry of entries) {
    if (entry.path === '' || baseName(entry.path).startsWith('.wh..wh.')) continue;
    const target = whiteoutTarget(entry.path);
    if (target !== undefined) {
      const own = stack.get(target);
      if (own !== undefined && own.kind !== 'directory') stack.delete(target);
      else for (const p of [...stack.keys()]) if (isWithin(p, target)) stack.delete(p);
    } else {
      stack.set(entry.path, entry);
    }
  }
}

export function imageEfficiency(layers: readonly (readonly LayerEntry[])[]): EfficiencyResult {
  const data = new Map<string, { cumulative: number; min: number; count: number; layers: { layer: number; size: number }[] }>();
  const stack = new Map<string, LayerEntry>();
  layers.forEach((entries, index) => {
    for (const leaf of layerLeaves(entries)) {
      let size = leaf.size;
      if (leaf.whiteout) {
        size = 0;
        if (stack.get(leaf.path)?.kind === 'directory') {
          for (const [p, e] of stack) if (isWithin(p, leaf.path)) size += e.size;
        }
      }
      const seen = data.get(leaf.path) ?? { cumulative: 0, min: -1, count: 0, layers: [] };
      seen.cumulative += size;
      if (seen.min < 0 || size < seen.min) seen.min = size;
      seen.count += 1;
      seen.layers.push({ layer: index, size: leaf.whiteout ? 0 : size });
      data.set(leaf.path, seen);
    }
    stackLayer(stack, entries);
  });
  let minimum = 0;
  let discovered = 0;
  const inefficiencies: Inefficiency[] = [];
  const supersededBytes = layers.map(() => 0);
  for (const [path, seen] of data) {
    minimum += seen.min;
    discovered += seen.cumulative;
    if (seen.count < 2) continue;
    inefficiencies.push({ path, cumulativeSize: seen.cumulative, occurrences: seen.count });
    for (const { layer, size } of seen.layers.slice(0, -1)) supersededBytes[layer] = (supersededBytes[layer] ?? 0) + size;
  }
  inefficiencies.sort((a, b) => b.cumulativeSize - a.cumulativeSize || a.path.localeCompare(b.path));
  const wastedBytes = inefficiencies.reduce((sum, i) => sum + i.cumulativeSize, 0);
  const sizes = layers.map(layerBytes);
  const sizeBytes = sizes.reduce((a, b) => a + b, 0);
  const userSizeBytes = sizeBytes - (sizes[0] ?? 0);
  return {
    efficiency: discovered === 0 ? 1 : minimum / discovered,
    wastedBytes,
    userSizeBytes,
    sizeBytes,
    wastedUserPercent: userSizeBytes === 0 ? 0 : wastedBytes / userSizeBytes,
    inefficiencies,
    supersededBytes,
  };
}
