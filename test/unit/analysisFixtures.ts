// Hand-built analyses and a hand-set FactsSource shared by the reuse-model and LSP-feature tests:
// plain data, so those tests depend on neither the Dockerfile parser nor a registry.
import type { BaseLayers, Fact, FactsSource, LayerEstimate } from '../../server/src/analysis/documentView';
import type { DockerfileAnalysis, Instruction, Range, Stage } from '../../server/src/analysis/types';
import type { Platform } from '../../server/src/core/mediaTypes';
import { formatReference, type ImageReference } from '../../server/src/core/reference';

export const linux: Platform = { os: 'linux', architecture: 'amd64' };
export const python: ImageReference = { registry: 'docker.io', repository: 'library/python', tag: '3.12-slim' };
export const golang: ImageReference = { registry: 'docker.io', repository: 'library/golang', tag: '1.22' };
export const target: ImageReference = { registry: 'registry.example.com', repository: 'team/app', tag: '1' };
export const teamRepo = { registry: 'registry.example.com', repository: 'team/app' };
export const hubMirrors = { 'docker.io/library/*': 'registry.example.com/hub/library/*' };

export function range(line: number, start: number, endLine: number, end: number): Range {
  return { start: { line, character: start }, end: { line: endLine, character: end } };
}

export function scratchStage(index: number, line: number): Stage {
  return { index, line, range: range(line, 0, line, 12), imageRange: range(line, 5, line, 12), imageText: 'scratch', base: { kind: 'scratch' }, platform: linux };
}

export function instruction(index: number, stage: number, keyword: string, line: number, endLine = line): Instruction {
  return {
    index,
    stage,
    keyword,
    line,
    endLine,
    range: range(line, 0, endLine, 20),
    flags: {},
    args: [],
    createsLayer: keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD',
  };
}

export function analysis(stages: Stage[], instructions: Instruction[], targetStage = stages.length - 1): DockerfileAnalysis {
  return { stages, instructions, targetStage, neededStages: stages.map((s) => s.index), errors: [], escape: '\\' };
}

export function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(2, '0').repeat(32)}`;
}

// --- a FactsSource set by hand, recording what the view asked ---------------------------

export function known<T>(value: T, checkedAt = 1_000, stale = false): Fact<T> {
  return { state: 'known', value, checkedAt, stale };
}

export class FakeFacts implements FactsSource {
  readonly bases = new Map<string, Fact<BaseLayers>>();
  readonly blobs = new Map<string, Fact<boolean>>();
  readonly estimates = new Map<number, LayerEstimate>();
  readonly unreachable = new Set<string>();
  readonly blobQueries: string[] = [];
  readonly baseQueries: string[] = [];

  setBase(ref: ImageReference, fact: Fact<BaseLayers>): this {
    this.bases.set(formatReference(ref), fact);
    return this;
  }

  setBlob(repo: { registry: string; repository: string }, blob: string, fact: Fact<boolean>): this {
    this.blobs.set(`${repo.registry}/${repo.repository}|${blob}`, fact);
    return this;
  }

  baseImage(ref: ImageReference, platform: Platform): Fact<BaseLayers> {
    this.baseQueries.push(`${formatReference(ref)} ${platform.os}/${platform.architecture}`);
    return this.bases.get(formatReference(ref)) ?? { state: 'unknown' };
  }

  blobPresent(repo: { registry: string; repository: string }, blob: string): Fact<boolean> {
    const key = `${repo.registry}/${repo.repository}|${blob}`;
    this.blobQueries.push(key);
    return this.blobs.get(key) ?? { state: 'unknown' };
  }

  estimate(i: Instruction): LayerEstimate {
    return this.estimates.get(i.index) ?? { bytes: null, compressedBytes: null, basis: 'unknown' };
  }

  isUnreachable(registry: string): boolean {
    return this.unreachable.has(registry);
  }
}
