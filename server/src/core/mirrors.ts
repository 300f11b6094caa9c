// Mirror rules (`layerlift.mirrors`, `--mirror`): where a base image may already sit in the
// target registry. Shared by the editor's reuse model and the push plan, so it lives below both.

/**
 * Where a base image may already sit in the target registry, by the user's mirror rules:
 * `docker.io/library/*` → `registry.example.com/hub/library/*` maps docker.io/library/python
 * to registry.example.com/hub/library/python. Returns full repository strings.
 */
export function mirrorCandidates(mirrors: Record<string, string>, baseRepository: string): string[] {
  const out: string[] = [];
  for (const [from, to] of Object.entries(mirrors)) {
    const star = from.indexOf('*');
    if (star < 0) {
      if (from === baseRepository) out.push(to);
      continue;
    }
    const prefix = from.slice(0, star);
    const suffix = from.slice(star + 1);
    if (baseRepository.startsWith(prefix) && baseRepository.endsWith(suffix) && baseRepository.length >= prefix.length + suffix.length) {
      const middle = baseRepository.slice(prefix.length, baseRepository.length - suffix.length);
      out.push(to.replace('*', middle));
    }
  }
  return out;
}

/**
 * The mirror a pre-push fills for a base, when a rule maps it into `registry`: the repository
 * path there (`hub/library/python`). The pre-push tag then lives in the mirror, shared by every
 * app repository that mounts from it, and app repositories stay clean.
 */
export function mirrorRepositoryIn(registry: string, mirrors: Record<string, string>, baseRepository: string): string | undefined {
  const inRegistry = mirrorCandidates(mirrors, baseRepository).find((m) => m.startsWith(`${registry}/`));
  return inRegistry?.slice(registry.length + 1);
}
