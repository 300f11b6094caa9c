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
import { mirrorCandidates } from '../core/mirrors';
import { isRegistryError } from '../registry/errors';

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
  options: { strategy: BasePrepushStrategy; runner?: string; platform: Platform; mirrors?: Record<string, string>; signal?: AbortSignal; onOutput?: (text: string) => void },
): Promise<PrepushResult> {
  const started = Date.now();
  const blobs = await readImageBlobs(client, base, options.platform, options.signal);
  if (!blobs) throw new RegistryError({ code: 'MANIFEST_UNKNOWN', operation: 'prepush', registry: base.registry, repository: base.repository, problem: `${formatReference(base)} was not found`, hint: 'check the base reference' });
  const source: ImageReference = { ...base, tag: undefined, digest: blobs.manifestDigest };
  const target = withTag({ ...targetRepository, digest: undefined }, prepushTag(blobs.manifestDigest));
  // Mount candidates, as a push plans them: the base's own registry when it is the target's, the
  // base's path in the target registry, and the user's mirrors — each holding this exact manifest.
  const mountFrom = await mountCandidate(client, base, blobs.manifestDigest, targetRepository, options.mirrors ?? {}, options.signal);
  const strategy = options.strategy === 'auto' ? (mountFrom ? 'mount' : options.runner ? 'runner' : 'local') : options.strategy;
  if (strategy === 'mount' && !mountFrom) {
    throw new RegistryError({ code: 'UNSUPPORTED', operation: 'prepush', registry: targetRepository.registry, repository: targetRepository.repository, problem: `${targetRepository.registry} holds ${formatReference(source)} nowhere Layerlift looked (${base.registry === targetRepository.registry ? '' : `${targetRepository.registry}/${base.repository}, `}the mirrors)`, hint: 'use the runner or local strategy, or add a mirror rule (layerlift.mirrors / --mirror)' });
  }
  if (strategy === 'runner') await runPrepushRunner(options.runner ?? '', { source: formatReference(source), target: formatReference(target) }, options.signal, options.onOutput);
  else if (strategy === 'mount' && mountFrom) await copyImage(client, mountFrom, target, { signal: options.signal }); // within one registry: every blob mounted
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

/** The first repository of the target registry that holds the base's manifest (so all its blobs). */
async function mountCandidate(client: RegistryClient, base: ImageReference, digest: string, target: ImageReference, mirrors: Record<string, string>, signal?: AbortSignal): Promise<ImageReference | undefined> {
  const baseFull = `${base.registry}/${base.repository}`;
  const repositories = [...(base.registry === target.registry ? [baseFull] : []), `${target.registry}/${base.repository}`, ...mirrorCandidates(mirrors, baseFull)];
  for (const full of [...new Set(repositories)]) {
    if (!full.startsWith(`${target.registry}/`)) continue;
    const repository = full.slice(target.registry.length + 1);
    try {
      if ((await client.headManifest({ registry: target.registry, repository }, digest, signal)) !== undefined) return { registry: target.registry, repository, digest };
    } catch (error) {
      // A repository we may not read, or that does not exist, is no candidate.
      if (!isRegistryError(error) || !['DENIED', 'UNAUTHORIZED', 'NAME_UNKNOWN', 'MANIFEST_UNKNOWN'].includes(error.code)) throw error;
    }
  }
  return undefined;
}
