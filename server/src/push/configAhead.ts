// The config of a legacy-builder image, uploaded while the engine sends the layers (the engine's
// push then finds it with one HEAD instead of four round trips at the very end; see
// engine/classicConfig.ts for how the bytes are rebuilt and why that is safe).
// Best effort throughout: any doubt, and the engine sends the config itself, as docker does.
import { Readable } from 'node:stream';
import { sha256Digest } from '../core/digest';
import { timing } from '../core/timing';
import { layersOf, rebuildClassicConfig, type InspectJson } from '../engine/classicConfig';
import type { DockerEngineClient } from '../engine/engineClient';
import { uploadBlob } from '../registry/blobUpload';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';

/** A base's config bytes by its image id (the sha256 of those bytes), when known. */
export type FindConfig = (imageId: string) => Promise<Buffer | undefined>;

/** A Dockerfile of this many steps is far beyond any real one: the walk gives up there. */
const MAX_STEPS = 1000;

/**
 * Walks the image's parent chain down to an image whose config `findBase` knows (the base) or to
 * its root (FROM scratch), and rebuilds the config from what it met.
 */
export async function classicConfigOf(engine: Pick<DockerEngineClient, 'imageInspectJson'>, imageId: string, findBase: FindConfig, signal?: AbortSignal): Promise<Buffer | undefined> {
  const steps: InspectJson[] = [];
  let base: { config: Buffer; layers: number } | undefined;
  let id = imageId;
  for (let i = 0; i < MAX_STEPS && !base; i++) {
    const inspect = await engine.imageInspectJson(id, { signal });
    if (!inspect || typeof inspect.Id !== 'string') return undefined;
    const config = steps.length > 0 ? await findBase(inspect.Id) : undefined;
    if (config && sha256Digest(config) === inspect.Id) {
      base = { config, layers: layersOf(inspect).length };
      break;
    }
    steps.unshift(inspect);
    if (typeof inspect.Parent !== 'string' || inspect.Parent === '') break; // the root: FROM scratch, or a base not known
    id = inspect.Parent;
  }
  if (steps.at(-1)?.Id !== imageId) return undefined;
  return rebuildClassicConfig({ steps, baseConfig: base?.config, baseLayers: base?.layers ?? 0 });
}

/**
 * Rebuilds and uploads the config; resolves with the bytes sent (0 when it was not rebuilt, or
 * `inTarget` said the target holds it already, or it was not sent). Never throws: the engine's own
 * push still sends the config when this did not.
 */
export async function sendConfigAhead(engine: Pick<DockerEngineClient, 'imageInspectJson'>, client: RegistryClient, target: RepositoryRef, imageId: string, findBase: FindConfig, inTarget: Promise<boolean | undefined>, signal?: AbortSignal): Promise<number> {
  try {
    const [config, present] = await Promise.all([classicConfigOf(engine, imageId, findBase, signal), inTarget]);
    timing(config ? 'config rebuilt' : 'config not rebuilt');
    if (!config || present === true) return 0;
    await uploadBlob(client, target, { digest: imageId, size: config.length, description: `the config of ${imageId.slice(7, 19)}`, open: (offset) => Promise.resolve(Readable.from([config.subarray(offset)])) }, { signal, maxConsecutiveFailures: 1 });
    timing('config sent');
    return config.length;
  } catch {
    return 0;
  }
}
