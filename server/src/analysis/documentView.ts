// The reuse model: what a push of this Dockerfile's image to its target would send, layer by
// layer. Pure over its inputs: the analysis, the target, and a FactsSource whose reads are
// synchronous (the server's RegistryState answers from cache and fetches in the background).
import { familiarReference, formatReference, type ImageReference } from '../core/reference';
import type { Platform } from '../core/mediaTypes';
import { mirrorCandidates } from '../core/mirrors';
import type { DockerfileAnalysis, Instruction, Stage } from './types';

export type Fact<T> =
  | { state: 'unknown' }
  | { state: 'known'; value: T; checkedAt: number; stale: boolean }
  | { state: 'error'; message: string; code: string; checkedAt: number };

export interface BaseLayers {
  digest: string;
  layers: { digest: string; size: number }[];
}

export interface LayerEstimate {
  bytes: number | null;
  compressedBytes: number | null;
  /** Where the figure comes from: the build context (before a build), a built image, or nothing yet. */
  basis: 'context' | 'built' | 'unknown';
}

/** A layer of the image last built from this Dockerfile (engine history mapped to the line). */
export interface BuiltLayer {
  /** Uncompressed bytes, as `docker history` reports them. */
  bytes: number;
  diffId?: string;
  /** Whether the target image already has this layer (its config lists the diff_id). */
  inTarget?: boolean;
  /** The compressed blob size, when the target has it. */
  compressedBytes?: number;
}

export interface FactsSource {
  baseImage(ref: ImageReference, platform: Platform): Fact<BaseLayers>;
  /** The built layer an instruction produced, when an image built from this Dockerfile exists. */
  built?(instruction: Instruction): BuiltLayer | undefined;
  blobPresent(repo: { registry: string; repository: string }, digest: string): Fact<boolean>;
  estimate(instruction: Instruction): LayerEstimate;
  isUnreachable(registry: string): boolean;
  /** Why registry facts are not looked up at all (an untrusted workspace), if they are not. */
  notChecked?(): string | undefined;
  /** Repositories (`registry/repository`) seen holding a blob before: more mount candidates. */
  knownHolders?(digest: string): string[];
}

export type LayerStatus = 'in-target' | 'mountable' | 'upload' | 'checking' | 'unknown';

export interface BaseLayerRow {
  digest: string;
  compressedBytes: number;
  status: LayerStatus;
  mountFrom?: string;
  checkedAt?: number;
}

export interface StageView {
  stage: Stage;
  /** What the FROM resolves to, as a user reads it: `python:3.12-slim`, `stage build`, `scratch`. */
  label: string;
  /** Whether the pushed image contains this stage's layers. */
  inTargetImage: boolean;
  base?:
    | { state: 'checking' }
    | { state: 'not-checked'; reason: string }
    | { state: 'error'; message: string; offline: boolean }
    | { state: 'known'; digest: string; rows: BaseLayerRow[]; compressedBytes: number; checkedAt: number; stale: boolean };
}

export interface LayerView {
  instruction: Instruction;
  estimate: LayerEstimate;
  inTargetImage: boolean;
  /** After a build: whether the target already holds this exact layer (a cache hit pushed before). */
  inTarget?: boolean;
}

export interface DocumentView {
  /** `source`: where the target came from when not from the settings (a Compose service). */
  target?: { ref: ImageReference; text: string; source?: string };
  stages: StageView[];
  layers: LayerView[];
  /** Compressed bytes a push would send, and of how many; null parts are unknown until built. */
  totals: { uploadBytes: number; totalBytes: number; unknownLayers: number };
  offline: boolean;
  /** Why registry and engine facts are not looked up (an untrusted workspace), when they are not. */
  notChecked?: string;
}

export interface ViewOptions {
  target?: ImageReference;
  targetSource?: string;
  mirrors?: Record<string, string>;
}

export function buildDocumentView(analysis: DockerfileAnalysis, facts: FactsSource, options: ViewOptions = {}): DocumentView {
  const target = options.target ? { ref: options.target, text: familiarReference(options.target), ...(options.targetSource ? { source: options.targetSource } : {}) } : undefined;
  const chain = imageChain(analysis);
  const stages = analysis.stages.map((stage) => stageView(stage, analysis, chain.has(stage.index), facts, options));
  const layers = analysis.instructions.filter((i) => i.createsLayer).map((instruction) => layerView(instruction, chain.has(instruction.stage), facts));
  let uploadBytes = 0;
  let totalBytes = 0;
  let unknownLayers = 0;
  for (const view of stages) {
    if (!view.inTargetImage || view.base?.state !== 'known') continue;
    for (const row of view.base.rows) {
      totalBytes += row.compressedBytes;
      if (row.status === 'upload') uploadBytes += row.compressedBytes;
    }
  }
  for (const layer of layers) {
    if (!layer.inTargetImage) continue;
    if (layer.estimate.compressedBytes === null) {
      unknownLayers++;
      continue;
    }
    totalBytes += layer.estimate.compressedBytes;
    if (!layer.inTarget) uploadBytes += layer.estimate.compressedBytes;
  }
  const offline = [...new Set(stages.flatMap((s) => (s.stage.base?.kind === 'image' ? [s.stage.base.ref.registry] : [])).concat(target ? [target.ref.registry] : []))].some((r) => facts.isUnreachable(r));
  const notChecked = facts.notChecked?.();
  return { target, stages, layers, totals: { uploadBytes, totalBytes, unknownLayers }, offline, ...(notChecked ? { notChecked } : {}) };
}

/**
 * A layer line's figures: after a build, the real layer (size from the engine; compressed size
 * from the target when it has the layer, else scaled by the context estimate's ratio); before,
 * the estimate from the build context.
 */
function layerView(instruction: Instruction, inTargetImage: boolean, facts: FactsSource): LayerView {
  const estimate = facts.estimate(instruction);
  const built = inTargetImage ? facts.built?.(instruction) : undefined;
  if (!built) return { instruction, estimate, inTargetImage };
  const ratio = estimate.bytes && estimate.compressedBytes !== null && estimate.bytes > 0 ? estimate.compressedBytes / estimate.bytes : undefined;
  const compressedBytes = built.compressedBytes ?? (ratio !== undefined ? Math.round(built.bytes * ratio) : built.bytes);
  return { instruction, estimate: { bytes: built.bytes, compressedBytes, basis: 'built' }, inTargetImage, inTarget: built.inTarget };
}

/** The stages whose layers end up in the pushed image: the target and the stages it is FROM. */
function imageChain(analysis: DockerfileAnalysis): Set<number> {
  const chain = new Set<number>();
  let index: number | undefined = analysis.targetStage;
  while (index !== undefined && !chain.has(index)) {
    chain.add(index);
    const base: Stage['base'] = analysis.stages[index]?.base;
    index = base?.kind === 'stage' ? base.index : undefined;
  }
  return chain;
}

function stageView(stage: Stage, analysis: DockerfileAnalysis, inTargetImage: boolean, facts: FactsSource, options: ViewOptions): StageView {
  const base = stage.base;
  if (!base) return { stage, label: stage.imageText, inTargetImage };
  if (base.kind === 'scratch') return { stage, label: 'scratch', inTargetImage };
  if (base.kind === 'stage') return { stage, label: `stage ${analysis.stages[base.index]?.name ?? base.index}`, inTargetImage };
  const label = familiarReference(base.ref);
  const notChecked = facts.notChecked?.();
  if (notChecked) return { stage, label, inTargetImage, base: { state: 'not-checked', reason: notChecked } };
  const fact = facts.baseImage(base.ref, stage.platform);
  if (fact.state === 'unknown') return { stage, label, inTargetImage, base: { state: 'checking' } };
  if (fact.state === 'error') return { stage, label, inTargetImage, base: { state: 'error', message: fact.message, offline: facts.isUnreachable(base.ref.registry) } };
  const rows = fact.value.layers.map((layer) => baseLayerRow(layer, base.ref, facts, options));
  return {
    stage,
    label,
    inTargetImage,
    base: { state: 'known', digest: fact.value.digest, rows, compressedBytes: rows.reduce((s, r) => s + r.compressedBytes, 0), checkedAt: fact.checkedAt, stale: fact.stale },
  };
}

/** Where a base layer stands in the target: there, mountable from a repository there, or to send. */
function baseLayerRow(layer: { digest: string; size: number }, baseRef: ImageReference, facts: FactsSource, options: ViewOptions): BaseLayerRow {
  const row: BaseLayerRow = { digest: layer.digest, compressedBytes: layer.size, status: 'unknown' };
  const target = options.target;
  if (!target) return row;
  const inTarget = facts.blobPresent(target, layer.digest);
  if (inTarget.state === 'unknown') return { ...row, status: 'checking' };
  if (inTarget.state === 'error') return row;
  if (inTarget.value) return { ...row, status: 'in-target', checkedAt: inTarget.checkedAt };
  let pending = false;
  const seen = (facts.knownHolders?.(layer.digest) ?? []).filter((r) => r.startsWith(`${target.registry}/`)).map((r) => r.slice(target.registry.length + 1));
  const candidates = [...new Set([...mountCandidates(baseRef, target, options.mirrors ?? {}), ...seen])].filter((r) => r !== target.repository);
  for (const repository of candidates) {
    const there = facts.blobPresent({ registry: target.registry, repository }, layer.digest);
    if (there.state === 'known' && there.value) return { ...row, status: 'mountable', mountFrom: `${target.registry}/${repository}`, checkedAt: there.checkedAt };
    if (there.state === 'unknown') pending = true;
  }
  return { ...row, status: pending ? 'checking' : 'upload', checkedAt: inTarget.checkedAt };
}

/**
 * Repositories of the target registry that may hold the base's blobs: the base's own path when
 * it lives in that registry or is mirrored under the same name, and the user's mirror rules.
 */
export function mountCandidates(baseRef: ImageReference, target: ImageReference, mirrors: Record<string, string>): string[] {
  const candidates = new Set<string>();
  if (baseRef.repository !== target.repository) candidates.add(baseRef.repository);
  const full = `${baseRef.registry}/${baseRef.repository}`;
  for (const mirrored of mirrorCandidates(mirrors, full)) {
    const slash = mirrored.indexOf('/');
    if (slash > 0 && mirrored.slice(0, slash) === target.registry) candidates.add(mirrored.slice(slash + 1));
  }
  candidates.delete(target.repository);
  return [...candidates];
}

export function describeTarget(ref: ImageReference): string {
  return formatReference({ ...ref, tag: undefined, digest: undefined });
}
