// Which cache a CI build reads and writes — the seed's hand-written recipe (pull the previous
// image, `docker build --cache-from`, for a multi-stage Dockerfile also build and push the
// builder stage) as one pure plan:
//   --cache-from REF   a cache source; the legacy builder needs it pulled first (a missing one is
//                      a cold build), BuildKit reads it from the registry (buildx:
//                      `type=registry,ref=REF`) and images it builds carry their cache inline
//                      (BUILDKIT_INLINE_CACHE=1, as the BuildKit docs describe)
//   --cache auto       the target's current tag, and per stage the target needs a cache tag
//                      `TARGET-REPO:cache-<stage>`, built with `--target <stage>` and pushed back
// Every stage before the target is built (and tagged) on its own first, so its cache image exists
// to be pushed; the target's build then finds those steps cached.
import { formatReference, type ImageReference } from '../core/reference';

export type BuilderKind = 'buildx' | 'buildkit' | 'legacy';

export interface CachePlanInput {
  /** -t REFs; the first names the repository cache tags live in. */
  targets: ImageReference[];
  stages: { index: number; name?: string }[];
  /** The stages the target needs, ascending (analysis.neededStages); the last is the target. */
  neededStages: number[];
  /** --target as the user gave it (undefined: the last stage). */
  target?: string;
  cacheFrom: string[];
  auto: boolean;
  builder: BuilderKind;
}

export interface BuildStep {
  /** --target for this build (undefined: the Dockerfile's last stage). */
  target?: string;
  tags: string[];
  /** As the builder takes them (`REF`, or `type=registry,ref=REF` for BuildKit). */
  cacheFrom: string[];
}

export interface CachePlan {
  /** Cache images to pull before building (legacy builder only); a missing one is fine. */
  pulls: string[];
  steps: BuildStep[];
  /** Extra build args (BUILDKIT_INLINE_CACHE=1 with BuildKit and a cache). */
  buildArgs: Record<string, string>;
  /** Cache tags to push after a successful build (besides the targets). */
  cacheTags: string[];
}

/** A stage's cache tag: `cache-<name>` (`cache-stage-N` for an unnamed stage), as a valid tag. */
export function cacheTagFor(target: ImageReference, stage: { index: number; name?: string }): string {
  const name = (stage.name ?? `stage-${stage.index}`).toLowerCase().replace(/[^a-z0-9_.-]/g, '-');
  return formatReference({ registry: target.registry, repository: target.repository, tag: `cache-${name}`.slice(0, 128) });
}

export function planBuildCache(input: CachePlanInput): CachePlan {
  const first = input.targets[0];
  if (!first) throw new Error('planBuildCache needs a target');
  const tags = input.targets.map(formatReference);
  // Builders take --target by name only: an unnamed stage is built with the target, uncached.
  const before = input.auto ? input.neededStages.slice(0, -1).flatMap((i) => (input.stages[i]?.name ? [input.stages[i] as { index: number; name: string }] : [])) : [];
  const stageCaches = before.map((stage) => ({ stage, tag: cacheTagFor(first, stage) }));
  // Every source goes to the final build; builders try each.
  const sources = [...new Set([...input.cacheFrom, ...(input.auto ? [tags[0] as string, ...stageCaches.map((c) => c.tag)] : [])])];
  const buildkit = input.builder !== 'legacy';
  // buildx names the source's kind; the docker CLI's own BuildKit (DOCKER_BUILDKIT=1) and the
  // legacy builder take the image reference.
  const asSource = (ref: string) => (input.builder === 'buildx' ? `type=registry,ref=${ref}` : ref);
  const steps: BuildStep[] = stageCaches.map(({ stage, tag }, i) => ({
    target: stage.name,
    tags: [tag],
    // A stage's build reads its own cache tag and those of the stages before it.
    cacheFrom: [...new Set([...input.cacheFrom, ...stageCaches.slice(0, i + 1).map((c) => c.tag)])].map(asSource),
  }));
  steps.push({ ...(input.target !== undefined ? { target: input.target } : {}), tags, cacheFrom: sources.map(asSource) });
  return {
    pulls: buildkit ? [] : sources,
    steps,
    buildArgs: buildkit && sources.length > 0 ? { BUILDKIT_INLINE_CACHE: '1' } : {},
    cacheTags: stageCaches.map((c) => c.tag),
  };
}
