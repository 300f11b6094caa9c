// Hand-built analyses shared by the reuse-model and LSP-feature tests: plain data, so those
// tests do not depend on the Dockerfile parser.
import type { DockerfileAnalysis, Instruction, Range, Stage } from '../../server/src/analysis/types';
import type { Platform } from '../../server/src/core/mediaTypes';
import type { ImageReference } from '../../server/src/core/reference';

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
