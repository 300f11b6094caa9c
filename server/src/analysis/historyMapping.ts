// Which Dockerfile instruction produced which layer of a built image. Pure functions over the
// image's history (as `docker history` / the engine API give it) and its rootfs diff_ids.
//
// The image config's `history` has one entry per committed step, oldest first; entries with
// `empty_layer` add no diff_id, the others add the next one, in order. A Dockerfile build appends
// one entry per instruction after FROM (metadata ones included), so the newest entries belong to
// the target stage's last instructions; everything before them is the base image's.
//
// What builders write as `created_by`:
//   legacy builder, Buildah/Podman:  `/bin/sh -c #(nop)  ENV A=b`, `/bin/sh -c #(nop) WORKDIR /app`,
//                                    `/bin/sh -c #(nop) COPY dir:<hash> in /app `,
//                                    RUN: `/bin/sh -c apk add x`, `|1 V=1 /bin/sh -c …`, exec form as
//                                    its words (`echo hi`); the shell is whatever SHELL says
//   BuildKit:                        `RUN /bin/sh -c apk add x # buildkit`, `COPY . /app # buildkit`,
//                                    `ADD … # buildkit`, `ENV A=b`, `WORKDIR /app`, `LABEL x=y`,
//                                    `ARG V=1`, `EXPOSE map[8080/tcp:{}]`, `CMD ["sh"]`
//   `docker import`:                 empty, comment "Imported from -"
// Which steps add a layer: RUN/COPY/ADD usually (the legacy builder drops a step whose diff is
// empty, e.g. `RUN true`), WORKDIR often (it creates the directory: a layer of size 0), every
// other instruction never.
import type { DockerfileAnalysis, Instruction, ResolvedBase } from './types';

/** Dockerfile keywords a history entry can start with (BuildKit) or name after `#(nop)` (legacy). */
export const HISTORY_KEYWORDS: ReadonlySet<string> = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/** Instructions that never add a filesystem layer (WORKDIR may: it creates its directory). */
const METADATA_ONLY: ReadonlySet<string> = new Set([
  'ARG', 'CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'SHELL',
  'STOPSIGNAL', 'USER', 'VOLUME',
]);

export interface ParsedCreatedBy {
  /** The instruction that made the entry; undefined when it cannot be told (empty, other tools). */
  keyword?: string;
  builder: 'legacy' | 'buildkit' | 'unknown';
}

/** Reads the instruction keyword out of a history entry's `created_by`. */
export function parseCreatedBy(createdBy: string): ParsedCreatedBy {
  const text = createdBy.trim();
  if (text === '') return { builder: 'unknown' };
  // BuildKit marks the steps that ran in a container or copied files.
  if (/\s#\s*buildkit$/.test(text)) {
    const word = /^([A-Za-z]+)\b/.exec(text)?.[1]?.toUpperCase();
    return word !== undefined && HISTORY_KEYWORDS.has(word) ? { keyword: word, builder: 'buildkit' } : { builder: 'buildkit' };
  }
  // Legacy metadata and COPY/ADD: the shell's words, `#(nop)`, the instruction. A RUN carries
  // `|N K=V…` before the shell, so an entry starting with `|` is a RUN whatever it contains.
  if (!text.startsWith('|')) {
    const nop = /^(?:\S+ )*?#\(nop\)\s+([A-Za-z]+)\b/.exec(text);
    if (nop?.[1] !== undefined) {
      const word = nop[1].toUpperCase();
      return HISTORY_KEYWORDS.has(word) ? { keyword: word, builder: 'legacy' } : { builder: 'legacy' };
    }
    // BuildKit metadata entries are the bare instruction: `ENV A=b`, `WORKDIR /app`.
    const bare = /^([A-Z]+)(?:\s|$)/.exec(text)?.[1];
    if (bare !== undefined && HISTORY_KEYWORDS.has(bare) && bare !== 'RUN' && bare !== 'COPY' && bare !== 'ADD') {
      return { keyword: bare, builder: 'buildkit' };
    }
  }
  // Anything else is what a legacy RUN ran (shell form through the shell, or exec form).
  return { keyword: 'RUN', builder: 'legacy' };
}

// ---- which history entries add a layer ------------------------------------------------------------

export interface HistoryLayerInput {
  createdBy: string;
  /** Bytes the layer adds (`docker history` SIZE); 0 for empty steps and for layers of only dirs/metadata. */
  size: number;
}

export interface LayerAssignment {
  /** Per entry, oldest first: whether it adds no diff_id. */
  emptyLayer: boolean[];
  /** Entries whose emptiness could not be derived from sizes, keywords, the layer count and the
   *  anchors, and was guessed (a size-0 RUN/WORKDIR/COPY beside another one). Oldest first. */
  guessed: number[];
  /** False when the entries cannot fit `layerCount` at all (a stripped or rewritten history). */
  consistent: boolean;
}

/** How likely a size-0 entry of this kind is to be a layer anyway (higher: more likely). */
function layerLikelihood(createdBy: string): number {
  const parsed = parseCreatedBy(createdBy);
  if (parsed.builder === 'buildkit' && parsed.keyword !== 'WORKDIR') return 4; // BuildKit keeps empty diffs
  if (parsed.keyword === 'COPY' || parsed.keyword === 'ADD') return 4;
  if (parsed.keyword === 'WORKDIR') return 3;
  if (parsed.keyword === undefined) return 2;
  return 1; // a legacy RUN of size 0 is usually `RUN true`-like, which the legacy builder drops
}

/**
 * Derives `empty_layer` for history entries that lack it — the engine's /images/{id}/history
 * gives only sizes, and a size of 0 is both "no layer" and "a layer of only directories".
 *
 * - size > 0: a layer (the engine measures only non-empty entries);
 * - ENV, LABEL, ARG, USER, EXPOSE, CMD… of size 0: no layer;
 * - the rest (size-0 RUN, COPY, ADD, WORKDIR, unknown): counted. `layerCount` (the number of
 *   diff_ids) fixes how many of them are layers; `cumulative` can pin more points: entry i →
 *   the number of layers of entries 0..i (e.g. the layer count of the legacy builder's
 *   intermediate image for that step). Between two pinned points, when the count allows only
 *   one answer it is used; otherwise the likeliest entries (COPY/ADD and BuildKit steps, then
 *   WORKDIR, then unknown, then legacy RUN) are taken as layers and reported in `guessed`.
 */
export function assignHistoryLayers(
  entries: readonly HistoryLayerInput[],
  layerCount: number,
  cumulative: ReadonlyMap<number, number> = new Map(),
): LayerAssignment {
  const n = entries.length;
  const fixed: (boolean | undefined)[] = entries.map((entry) => {
    if (entry.size > 0) return false;
    const keyword = parseCreatedBy(entry.createdBy).keyword;
    return keyword !== undefined && METADATA_ONLY.has(keyword) ? true : undefined;
  });
  // Pinned points (index → layers up to and including it), -1 → 0 and n-1 → layerCount.
  const points: [number, number][] = [[-1, 0]];
  for (const [index, count] of [...cumulative].sort((a, b) => a[0] - b[0])) {
    const last = points[points.length - 1];
    if (last === undefined || index <= last[0] || index >= n - 1 || !Number.isInteger(index) || index < 0) continue;
    // Drop anchors that contradict what is already pinned (each entry adds 0 or 1 layer).
    if (count < last[1] || count - last[1] > index - last[0] || count > layerCount) continue;
    points.push([index, count]);
  }
  if (n > 0) points.push([n - 1, layerCount]);

  const emptyLayer: boolean[] = fixed.map((value) => value ?? true);
  const guessed: number[] = [];
  let consistent = true;
  for (let p = 1; p < points.length; p++) {
    const [from, fromCount] = points[p - 1] ?? [-1, 0];
    const [to, toCount] = points[p] ?? [n - 1, layerCount];
    const unknown: number[] = [];
    let fixedLayers = 0;
    for (let i = from + 1; i <= to; i++) {
      if (fixed[i] === undefined) unknown.push(i);
      else if (fixed[i] === false) fixedLayers++;
    }
    const need = toCount - fromCount - fixedLayers;
    if (need < 0 || need > unknown.length) consistent = false;
    if (need <= 0) {
      for (const i of unknown) emptyLayer[i] = true;
    } else if (need >= unknown.length) {
      for (const i of unknown) emptyLayer[i] = false;
    } else {
      const ranked = unknown
        .map((i, order) => ({ i, order, score: layerLikelihood(entries[i]?.createdBy ?? '') }))
        .sort((a, b) => b.score - a.score || a.order - b.order);
      ranked.forEach(({ i }, rank) => {
        emptyLayer[i] = rank >= need;
      });
      guessed.push(...unknown);
    }
  }
  return { emptyLayer, guessed, consistent };
}

// ---- history ↔ instructions -----------------------------------------------------------------------

export interface HistoryMappingEntry {
  createdBy: string;
  emptyLayer: boolean;
  size: number;
}

export interface InstructionLayer {
  /** `Instruction.index`. */
  instructionIndex: number;
  /** The history entry it produced (oldest first, as in the image config). */
  historyIndex: number;
  /** The diff_id it added; undefined for metadata-only steps and steps the builder found empty. */
  diffId?: string;
  /** Position of `diffId` in the image's diff_ids. */
  layerIndex?: number;
  /** Uncompressed bytes it added (0 without a layer). */
  size: number;
}

export interface HistoryMatch {
  /** Mapped instructions, in Dockerfile order; the newest ones when the mapping is partial. */
  layers: InstructionLayer[];
  /** Every instruction after FROM was matched. */
  complete: boolean;
  /** Why mapping stopped early: the instruction that did not match and what the history had. */
  mismatch?: { instructionIndex: number; expected: string; found: string };
  /** Layers before the first mapped entry: the base image's when `complete`. */
  baseLayers: number;
}

/**
 * Matches the target stage chain's instructions to the image's history, newest first: the last
 * instruction ↔ the newest entry, and so on back to the first instruction after FROM. Each
 * entry's keyword is checked against the instruction (where `created_by` shows it); the first
 * disagreement stops the mapping, which is then partial (the image was built from another
 * Dockerfile, or an older version of this one). Layer entries get diff_ids in order; if the
 * history has more or fewer layer entries than `diffIds`, they are aligned from the newest.
 *
 * `instructions`: the target stage and the stages it builds FROM, in order; FROM lines and global
 * ARGs (before the first FROM) are skipped, since they commit no history. `baseLayerCount`, when
 * known (the FROM image's layer count), forbids mapping an instruction onto a base layer.
 */
export function matchHistoryToInstructions(
  history: readonly HistoryMappingEntry[],
  diffIds: readonly string[],
  instructions: readonly Instruction[],
  baseLayerCount?: number,
): HistoryMatch {
  const firstFrom = instructions.findIndex((instruction) => instruction.keyword === 'FROM');
  const steps = instructions.filter((instruction, position) => instruction.keyword !== 'FROM' && position > firstFrom);

  // diff_id index of each layer entry, aligned so the newest layer entry gets the last diff_id.
  const layerEntries = history.filter((entry) => !entry.emptyLayer).length;
  const offset = diffIds.length - layerEntries;
  const layerIndexOf: (number | undefined)[] = [];
  let seen = 0;
  for (const entry of history) {
    if (entry.emptyLayer) {
      layerIndexOf.push(undefined);
    } else {
      const index = offset + seen;
      layerIndexOf.push(index >= 0 && index < diffIds.length ? index : undefined);
      seen++;
    }
  }

  const layers: InstructionLayer[] = [];
  let mismatch: HistoryMatch['mismatch'];
  let h = history.length - 1;
  for (let s = steps.length - 1; s >= 0; s--, h--) {
    const step = steps[s];
    if (step === undefined) break;
    const entry = history[h];
    if (entry === undefined) {
      mismatch = { instructionIndex: step.index, expected: step.keyword, found: 'no more history' };
      break;
    }
    const keyword = parseCreatedBy(entry.createdBy).keyword;
    const found = keyword ?? (entry.createdBy.trim() === '' ? 'an entry without created_by' : 'an unknown step');
    if (keyword !== step.keyword) {
      mismatch = { instructionIndex: step.index, expected: step.keyword, found };
      break;
    }
    const layerIndex = layerIndexOf[h];
    if (!entry.emptyLayer && (layerIndex === undefined || (baseLayerCount !== undefined && layerIndex < baseLayerCount))) {
      mismatch = { instructionIndex: step.index, expected: step.keyword, found: `${found} on a base-image layer` };
      break;
    }
    if (!entry.emptyLayer && METADATA_ONLY.has(step.keyword)) {
      mismatch = { instructionIndex: step.index, expected: step.keyword, found: `${found} with a layer` };
      break;
    }
    const diffId = layerIndex === undefined || entry.emptyLayer ? undefined : diffIds[layerIndex];
    layers.push(
      diffId === undefined
        ? { instructionIndex: step.index, historyIndex: h, size: entry.emptyLayer ? 0 : entry.size }
        : { instructionIndex: step.index, historyIndex: h, diffId, layerIndex, size: entry.size },
    );
  }
  layers.reverse();
  const firstMapped = layers[0]?.historyIndex ?? history.length;
  const baseLayers = Math.max(0, history.slice(0, firstMapped).filter((entry) => !entry.emptyLayer).length + offset);
  return mismatch
    ? { layers, complete: false, mismatch, baseLayers }
    : { layers, complete: true, baseLayers };
}

/** `matchHistoryToInstructions(...).layers`: the mapped instructions, partial on a mismatch. */
export function mapHistoryToInstructions(
  history: readonly HistoryMappingEntry[],
  diffIds: readonly string[],
  instructions: readonly Instruction[],
  baseLayerCount?: number,
): InstructionLayer[] {
  return matchHistoryToInstructions(history, diffIds, instructions, baseLayerCount).layers;
}

/** The instructions of the target stage and every stage it is built FROM (not COPY --from), in
 *  Dockerfile order: the chain whose steps are the image's newest history entries. */
export function targetChainInstructions(analysis: Pick<DockerfileAnalysis, 'stages' | 'instructions' | 'targetStage'>): Instruction[] {
  const chain = new Set<number>();
  for (let stage: number | undefined = analysis.targetStage; stage !== undefined && !chain.has(stage); ) {
    chain.add(stage);
    const base: ResolvedBase | undefined = analysis.stages[stage]?.base;
    stage = base?.kind === 'stage' ? base.index : undefined;
  }
  return analysis.instructions.filter((instruction) => chain.has(instruction.stage));
}
