// Which image a local image was built FROM, when nobody said: among the engine's images that
// came from a registry (they have RepoDigests), the one whose layers (diff_ids) are the longest
// prefix of this image's. Its RepoDigest pins the base, so its published blobs can be reused.
import { parseReference, type ImageReference } from '../core/reference';
import type { DockerEngineClient } from '../engine/engineClient';

export async function findEngineBase(engine: DockerEngineClient, diffIds: readonly string[], ownId?: string, signal?: AbortSignal): Promise<ImageReference | undefined> {
  let best: { ref: ImageReference; layers: number } | undefined;
  for (const summary of await engine.listImages({ signal })) {
    if (summary.id === ownId || summary.repoDigests.length === 0) continue;
    const image = await engine.imageInspect(summary.id, { signal });
    const layers = image?.rootfs.diffIds ?? [];
    if (layers.length === 0 || layers.length > diffIds.length || (best && layers.length <= best.layers)) continue;
    if (!layers.every((d, i) => d === diffIds[i])) continue;
    for (const repoDigest of summary.repoDigests) {
      try {
        best = { ref: parseReference(repoDigest), layers: layers.length };
        break;
      } catch {
        // a RepoDigest we cannot parse (<none>@<none>): try the next
      }
    }
  }
  return best?.ref;
}
