// Which image a local image was built FROM, when nobody said: among the engine's images that
// came from a registry (they have RepoDigests), the one whose layers (diff_ids) are the longest
// prefix of this image's. Every one of its RepoDigests is a candidate (the same base may have been
// pulled from several registries, some gone since): baseCandidates.ts reads them side by side.
import { parseReference, type ImageReference } from '../core/reference';
import type { DockerEngineClient } from '../engine/engineClient';

export async function findEngineBaseCandidates(engine: DockerEngineClient, diffIds: readonly string[], ownId?: string, signal?: AbortSignal): Promise<ImageReference[]> {
  let best: { refs: ImageReference[]; layers: number } | undefined;
  for (const summary of await engine.listImages({ signal })) {
    if (summary.id === ownId || summary.repoDigests.length === 0) continue;
    const image = await engine.imageInspect(summary.id, { signal });
    const layers = image?.rootfs.diffIds ?? [];
    if (layers.length === 0 || layers.length > diffIds.length || (best && layers.length <= best.layers)) continue;
    if (!layers.every((d, i) => d === diffIds[i])) continue;
    const refs: ImageReference[] = [];
    for (const repoDigest of summary.repoDigests) {
      try {
        refs.push(parseReference(repoDigest));
      } catch {
        // a RepoDigest we cannot parse (<none>@<none>): try the next
      }
    }
    if (refs.length > 0) best = { refs, layers: layers.length };
  }
  return best?.refs ?? [];
}
