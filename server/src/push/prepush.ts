// Pre-pushing a base image next to the target: by mount (same registry), by the user's runner
// (where bandwidth is), or through this machine. Writes `TARGET-REPO:prepush-<digest>` so
// registry GC keeps the blobs until the app's manifest references them, then checks they arrived.
import { formatReference, withTag, type ImageReference } from '../core/reference';
import type { Platform } from '../core/mediaTypes';
import { copyImage } from '../copy/copyImage';
import { RegistryError } from '../registry/errors';
import type { RegistryClient } from '../registry/registryClient';
import { readImageBlobs } from './pushFacts';
import { prepushTag } from './plan';
import { runPrepushRunner } from './runner';

export type BasePrepushStrategy = 'auto' | 'mount' | 'runner' | 'local';

export interface PrepushResult {
  source: string;
  target: string;
  strategy: 'mount' | 'runner' | 'local';
  layers: number;
  seconds: number;
}

export async function prepushBase(
  client: RegistryClient,
  base: ImageReference,
  targetRepository: ImageReference,
  options: { strategy: BasePrepushStrategy; runner?: string; platform: Platform; signal?: AbortSignal; onOutput?: (text: string) => void },
): Promise<PrepushResult> {
  const started = Date.now();
  const blobs = await readImageBlobs(client, base, options.platform, options.signal);
  if (!blobs) throw new RegistryError({ code: 'MANIFEST_UNKNOWN', operation: 'prepush', registry: base.registry, repository: base.repository, problem: `${formatReference(base)} was not found`, hint: 'check the base reference' });
  const source: ImageReference = { ...base, tag: undefined, digest: blobs.manifestDigest };
  const target = withTag({ ...targetRepository, digest: undefined }, prepushTag(blobs.manifestDigest));
  const sameRegistry = base.registry === targetRepository.registry;
  const strategy = options.strategy === 'auto' ? (sameRegistry ? 'mount' : options.runner ? 'runner' : 'local') : options.strategy;
  if (strategy === 'mount' && !sameRegistry) {
    throw new RegistryError({ code: 'UNSUPPORTED', operation: 'prepush', registry: targetRepository.registry, repository: targetRepository.repository, problem: `a mount needs the base in ${targetRepository.registry}, but it is in ${base.registry}`, hint: 'use the runner or local strategy' });
  }
  if (strategy === 'runner') await runPrepushRunner(options.runner ?? '', { source: formatReference(source), target: formatReference(target) }, options.signal, options.onOutput);
  else await copyImage(client, source, target, { signal: options.signal }); // mounts within a registry, streams across
  // Whatever ran, check that every base layer arrived.
  const repo = { registry: target.registry, repository: target.repository };
  const missing: string[] = [];
  for (const layer of blobs.layers) if ((await client.headBlob(repo, layer.digest, options.signal)) === undefined) missing.push(layer.digest);
  if (missing.length > 0) {
    throw new RegistryError({ code: 'BLOB_UNKNOWN', operation: 'prepush', ...repo, problem: `${missing.length} of ${blobs.layers.length} base layers did not arrive`, hint: 'check the runner command: it must copy {source} to {target}' });
  }
  return { source: formatReference(source), target: formatReference(target), strategy, layers: blobs.layers.length, seconds: (Date.now() - started) / 1000 };
}
