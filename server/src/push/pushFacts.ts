// Gathering what a push plan needs (the adapter side of plan.ts): which compressed blobs each
// local layer is known as, and which repositories of the target registry hold them.
//   - the base image's manifest + config (diff_ids pair layers with their published blobs);
//   - the target's current manifest + config (a re-push of a mostly unchanged image);
//   - the local index of earlier pushes and copies;
//   - blobs the source itself holds compressed (an OCI layout).
import type { ImageReference } from '../core/reference';
import { selectManifest } from '../core/platform';
import type { Descriptor, Platform } from '../core/mediaTypes';
import { mirrorCandidates } from '../core/mirrors';
import { runLimited } from '../core/limit';
import { repositoryScope, type Scope } from '../core/authChallenge';
import { isRegistryError } from '../registry/errors';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';
import type { LayerIndex } from './layerIndex';
import type { LocalLayer } from './localImage';
import type { KnownBlob } from './plan';

export interface ImageBlobs {
  /** The platform manifest's digest. */
  manifestDigest: string;
  layers: Descriptor[];
  diffIds: string[];
  /** The config's `created` (ISO 8601), when it has one. */
  created?: string;
  /** The config's bytes, as the registry has them. */
  config?: Buffer;
}

/** A pushed image's layers paired with its config's diff_ids; undefined when the tag does not exist. */
export async function readImageBlobs(client: RegistryClient, ref: ImageReference, platform: Platform, signal?: AbortSignal): Promise<ImageBlobs | undefined> {
  const repo = { registry: ref.registry, repository: ref.repository };
  let top;
  try {
    top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', signal);
  } catch (error) {
    if (isRegistryError(error) && (error.code === 'MANIFEST_UNKNOWN' || error.code === 'NAME_UNKNOWN')) return undefined;
    throw error;
  }
  const image = top.parsed.kind === 'index' ? await client.getManifest(repo, selectManifest(top.parsed.index, platform).digest, signal) : top;
  if (image.parsed.kind !== 'image') return undefined;
  const manifest = image.parsed.manifest;
  const stream = await client.openBlob(repo, manifest.config.digest, { size: manifest.config.size, signal });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  const configBytes = Buffer.concat(chunks);
  const config = JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: unknown }; created?: unknown };
  const diffIds = Array.isArray(config.rootfs?.diff_ids) ? config.rootfs.diff_ids.filter((d): d is string => typeof d === 'string') : [];
  return { manifestDigest: image.digest, layers: manifest.layers, diffIds, config: configBytes, ...(typeof config.created === 'string' ? { created: config.created } : {}) };
}

export class KnownBlobs {
  readonly byDiffId = new Map<string, KnownBlob[]>();

  add(diffId: string, blob: { digest: string; size: number; mediaType: string }, repository?: string): void {
    let list = this.byDiffId.get(diffId);
    if (!list) {
      list = [];
      this.byDiffId.set(diffId, list);
    }
    let known = list.find((k) => k.digest === blob.digest);
    if (!known) {
      known = { digest: blob.digest, size: blob.size, mediaType: blob.mediaType, repositories: [] };
      list.push(known);
    }
    if (repository && !known.repositories.includes(repository)) known.repositories.push(repository);
  }

  addImage(blobs: ImageBlobs, repository: string): void {
    blobs.layers.forEach((layer, i) => {
      const diffId = blobs.diffIds[i];
      if (diffId) this.add(diffId, layer, repository);
    });
  }
}

export interface GatherInput {
  image: { layers: LocalLayer[] };
  target: ImageReference;
  base?: { ref: ImageReference; blobs: ImageBlobs };
  targetBlobs?: ImageBlobs;
  index?: LayerIndex;
  mirrors?: Record<string, string>;
}

/**
 * Where a base may sit in the target registry: the user's mirrors first (the source they
 * declared, shared by every app), then its own path. Mount candidates are tried in this order.
 */
export function baseMountCandidates(target: ImageReference, base: ImageReference, mirrors: Record<string, string> = {}): string[] {
  return [...new Set([...mirrorCandidates(mirrors, `${base.registry}/${base.repository}`), `${target.registry}/${base.repository}`])];
}

/** The mount candidates in the target registry itself, other than the target: repository paths there. */
export function baseMountSourcesIn(target: ImageReference, base: ImageReference, mirrors?: Record<string, string>): string[] {
  const prefix = `${target.registry}/`;
  return baseMountCandidates(target, base, mirrors)
    .filter((repository) => repository.startsWith(prefix) && repository !== `${prefix}${target.repository}`)
    .map((repository) => repository.slice(prefix.length));
}

/**
 * The token scopes a push to `target` will ask for (RegistryClient.expectScopes): push and pull
 * on the target (pull only for a plan), pull on the base's mount candidates in the target registry.
 */
export function pushScopes(target: ImageReference, base: ImageReference | undefined, mirrors: Record<string, string> | undefined, planOnly: boolean): Scope[] {
  const sources = base ? baseMountSourcesIn(target, base, mirrors) : [];
  return [repositoryScope(target.repository, planOnly ? ['pull'] : ['pull', 'push']), ...sources.map((repository) => repositoryScope(repository, ['pull']))];
}

/**
 * The base's blobs each of its mount candidates in the target registry holds, from one manifest
 * HEAD per candidate instead of a HEAD per blob: Distribution accepts a manifest only when every
 * blob it names is in that repository (registry/storage manifest verification; the OCI
 * distribution-spec lets a registry refuse such a manifest, MANIFEST_BLOB_UNKNOWN). Where the
 * manifest is not there (or cannot be read), the blobs are asked one by one, as before. A blob
 * deleted since is caught by its mount, which then falls back to sending it.
 */
export function baseHolders(client: RegistryClient, target: ImageReference, base: { ref: ImageReference; blobs: ImageBlobs }, mirrors: Record<string, string> | undefined, signal?: AbortSignal): Map<string, Promise<ReadonlySet<string>>> {
  const holders = new Map<string, Promise<ReadonlySet<string>>>();
  const digests: ReadonlySet<string> = new Set(base.blobs.layers.map((layer) => layer.digest));
  for (const repository of baseMountSourcesIn(target, base.ref, mirrors)) {
    const held = client.headManifest({ registry: target.registry, repository }, base.blobs.manifestDigest, signal).then(
      (found) => (found?.digest === base.blobs.manifestDigest ? digests : new Set<string>()),
      () => new Set<string>(),
    );
    holders.set(`${target.registry}/${repository}`, held);
  }
  return holders;
}

/** Every blob the local layers are known as, from every source we have. */
export function gatherKnown(input: GatherInput): KnownBlobs {
  const known = new KnownBlobs();
  const targetRepo = `${input.target.registry}/${input.target.repository}`;
  if (input.base) {
    known.addImage(input.base.blobs, `${input.base.ref.registry}/${input.base.ref.repository}`);
    const extra = baseMountCandidates(input.target, input.base.ref, input.mirrors);
    for (const [i, layer] of input.base.blobs.layers.entries()) {
      const diffId = input.base.blobs.diffIds[i];
      if (diffId) for (const repository of extra) known.add(diffId, layer, repository);
    }
  }
  if (input.targetBlobs) known.addImage(input.targetBlobs, targetRepo);
  for (const layer of input.image.layers) {
    for (const entry of input.index?.lookup(layer.diffId) ?? []) {
      for (const repository of entry.repositories) known.add(layer.diffId, entry, repository);
      if (entry.repositories.length === 0) known.add(layer.diffId, entry);
    }
    if (layer.compressed) known.add(layer.diffId, layer.compressed);
  }
  return known;
}

/**
 * HEADs the target and the mount candidates in the target registry for every known blob.
 * Returns `registry/repository|digest` → present. A repository we may not read counts as absent.
 */
export async function probePresence(
  client: RegistryClient,
  target: RepositoryRef,
  known: KnownBlobs,
  /** The config's digest, when its presence matters (the engine checks its own). */
  configDigest: string | undefined,
  signal?: AbortSignal,
  hooks: {
    /** repository → the blobs a manifest there shows it holds (baseHolders): not asked one by one. */
    holders?: ReadonlyMap<string, Promise<ReadonlySet<string>>>;
    onDenied?: (repository: string) => void;
    /** Each answer as it comes (mountAhead.ts mounts on them). */
    onAnswer?: (probe: string, present: boolean) => void;
    /** Probes answered already (an earlier call's result): only the others are asked, and merged in. */
    answered?: Map<string, boolean>;
  } = {},
): Promise<Map<string, boolean>> {
  const { onDenied, onAnswer, answered, holders } = hooks;
  const targetFull = `${target.registry}/${target.repository}`;
  const probes = new Set<string>(configDigest ? [`${targetFull}|${configDigest}`] : []);
  for (const blobs of known.byDiffId.values()) {
    for (const blob of blobs) {
      probes.add(`${targetFull}|${blob.digest}`);
      for (const repository of blob.repositories) if (repository.startsWith(`${target.registry}/`)) probes.add(`${repository}|${blob.digest}`);
    }
  }
  const present = new Map<string, boolean>(answered);
  // All at once, up to 16: a first push of an image on a four-layer base asks nine, and a ninth
  // behind eight lanes waited a whole round trip more (measured on the bench's full image).
  await runLimited([...probes].filter((probe) => !present.has(probe)), 16, async (probe) => {
    const [repository = '', digest = ''] = probe.split('|');
    const repo = { registry: target.registry, repository: repository.slice(target.registry.length + 1) };
    const holder = holders?.get(repository);
    if (holder && (await holder).has(digest)) {
      present.set(probe, true);
      onAnswer?.(probe, true);
      return;
    }
    try {
      present.set(probe, (await client.headBlob(repo, digest, signal)) !== undefined);
      onAnswer?.(probe, present.get(probe) === true);
    } catch (error) {
      // Registries answer a repository that does not exist yet (or may not be read) with 401/403/404:
      // absent, as far as the plan goes; a real auth problem shows on the push itself.
      if (isRegistryError(error) && ['DENIED', 'UNAUTHORIZED', 'NAME_UNKNOWN'].includes(error.code)) {
        present.set(probe, false);
        onAnswer?.(probe, false);
        // A mount source we may not read is worth saying (the target itself shows on the push).
        if (error.code !== 'NAME_UNKNOWN' && repository !== targetFull) onDenied?.(repository);
      } else throw error;
    }
  });
  return present;
}
