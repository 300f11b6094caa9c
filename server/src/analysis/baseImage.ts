// The image a stage is ultimately built FROM: follow `FROM <stage>` links back to an image.
import type { ImageReference } from '../core/reference';
import type { DockerfileAnalysis } from './types';

/** The image base of `stageIndex` (default: the target stage), or undefined for scratch/unresolved. */
export function imageBaseOf(analysis: Pick<DockerfileAnalysis, 'stages' | 'targetStage'>, stageIndex = analysis.targetStage): ImageReference | undefined {
  const seen = new Set<number>();
  let stage = analysis.stages[stageIndex];
  while (stage?.base?.kind === 'stage' && !seen.has(stage.index)) {
    seen.add(stage.index);
    stage = analysis.stages[stage.base.index];
  }
  return stage?.base?.kind === 'image' ? stage.base.ref : undefined;
}
