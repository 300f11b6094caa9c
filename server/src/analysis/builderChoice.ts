// Which builder `docker build` uses, decided as the docker CLI decides (cmd/docker/builder.go,
// Docker 23+): DOCKER_BUILDKIT=0 the legacy builder; otherwise buildx where it is installed
// (`docker build` is then an alias of `docker buildx build`); DOCKER_BUILDKIT=1 without buildx
// the CLI's own BuildKit client; else the legacy builder. Pure: whether buildx is installed is
// found at the edge (push/builder.ts chooseBuilder) and passed in. The push's builder
// (push/builder.ts), `layerlift analyze` and the language server's context scanner share it.
import type { IgnoreRules } from './dockerignoreWalk';

/** `buildx` (docker buildx build), `buildkit` (the CLI's own BuildKit), `legacy` (the classic builder). */
export type BuilderKind = 'buildx' | 'buildkit' | 'legacy';

/** Whether the decision needs to know if buildx is installed (not when DOCKER_BUILDKIT=0). */
export function needsBuildxProbe(dockerBuildkit: string | undefined): boolean {
  return dockerBuildkit !== '0';
}

/** The builder for a DOCKER_BUILDKIT value and whether `docker buildx` is installed. */
export function builderKindFor(dockerBuildkit: string | undefined, buildxInstalled: boolean): BuilderKind {
  if (dockerBuildkit === '0') return 'legacy';
  if (buildxInstalled) return 'buildx';
  return dockerBuildkit === '1' ? 'buildkit' : 'legacy';
}

/** Whose .dockerignore walk a builder applies: BuildKit's for buildx and the CLI's BuildKit. */
export function ignoreRulesFor(builder: BuilderKind): IgnoreRules {
  return builder === 'legacy' ? 'legacy' : 'buildkit';
}
