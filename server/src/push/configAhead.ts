// The config of a legacy-builder image, uploaded while the engine sends the layers (the engine's
// push then finds it with one HEAD instead of four round trips at the very end; see
// engine/classicConfig.ts for how the bytes are rebuilt and why that is safe).
// Best effort throughout: any doubt, and the engine sends the config itself, as docker does.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { timing } from '../core/timing';
import { rebuildClassicConfig, type InspectJson } from '../engine/classicConfig';
import type { DockerEngineClient } from '../engine/engineClient';
import { uploadBlob } from '../registry/blobUpload';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';

/** The base as the registry had it: its config bytes and layer count. */
export interface BaseConfig {
  config: Buffer;
  layers: number;
}

/** A Dockerfile of this many steps is far beyond any real one: the walk gives up there. */
const MAX_STEPS = 1000;

/** Walks the image's parent chain down to the base (by its id) and rebuilds the config. */
export async function classicConfigOf(engine: Pick<DockerEngineClient, 'imageInspectJson'>, imageId: string, base: BaseConfig | undefined, signal?: AbortSignal): Promise<Buffer | undefined> {
  const baseId = base ? `sha256:${createHash('sha256').update(base.config).digest('hex')}` : undefined;
  const steps: InspectJson[] = [];
  let id = imageId;
  for (let i = 0; i < MAX_STEPS; i++) {
    const inspect = await engine.imageInspectJson(id, { signal });
    if (!inspect || inspect.Id === baseId) break;
    steps.unshift(inspect);
    if (typeof inspect.Parent !== 'string' || inspect.Parent === '') {
      // The chain's root: the base was not found below it (a pulled image has no parent).
      if (baseId) return undefined;
      break;
    }
    id = inspect.Parent;
  }
  if (steps.length === 0 || steps.at(-1)?.Id !== imageId) return undefined;
  return rebuildClassicConfig({ steps, baseConfig: base?.config, baseLayers: base?.layers ?? 0 });
}

/**
 * Rebuilds and uploads the config; resolves with the bytes sent (0 when it was not rebuilt or
 * not sent). Never throws: the engine's own push still sends the config when this did not.
 */
export async function sendConfigAhead(engine: Pick<DockerEngineClient, 'imageInspectJson'>, client: RegistryClient, target: RepositoryRef, imageId: string, base: BaseConfig | undefined, signal?: AbortSignal): Promise<number> {
  try {
    const config = await classicConfigOf(engine, imageId, base, signal);
    timing(config ? 'config rebuilt' : 'config not rebuilt');
    if (!config) return 0;
    await uploadBlob(client, target, { digest: imageId, size: config.length, description: `the config of ${imageId.slice(7, 19)}`, open: (offset) => Promise.resolve(Readable.from([config.subarray(offset)])) }, { signal, maxConsecutiveFailures: 1 });
    timing('config sent');
    return config.length;
  } catch {
    return 0;
  }
}
