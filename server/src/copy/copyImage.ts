// Copying an image between or within registries, blob by blob, as skopeo and crane do but
// resumable: skip what the target has, mount within a registry, stream otherwise (bounded
// memory, no temp files). Manifests are pushed last and byte for byte, so digests are kept and
// a failed or cancelled copy never moves the target tag.
import type { ImageReference } from '../core/reference';
import { formatPlatform, hostPlatform, selectManifest } from '../core/platform';
import { isForeignLayerMediaType, type Descriptor, type Platform } from '../core/mediaTypes';
import { RegistryError, isRegistryError } from '../registry/errors';
import type { FetchedManifest, RegistryClient, RepositoryRef } from '../registry/registryClient';
import { uploadBlob, type BlobSource } from '../registry/blobUpload';
import { runLimited } from '../core/limit';

export type BlobAction = 'exists' | 'mounted' | 'uploaded' | 'skipped-foreign';

export type CopyEvent =
  | { type: 'plan'; blobs: number; bytes: number }
  | { type: 'blob-start'; digest: string; size: number }
  | { type: 'blob-progress'; digest: string; committed: number; size: number }
  | { type: 'blob-done'; digest: string; size: number; action: BlobAction; bytesSent: number }
  | { type: 'manifest'; digest: string; reference: string };

export interface CopyOptions {
  /** Copy an index with every platform; otherwise one platform is picked from an index. */
  all?: boolean;
  platform?: Platform;
  /** Blobs in flight at once. Default 4. */
  concurrency?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  onEvent?: (event: CopyEvent) => void;
}

export interface CopiedBlob {
  digest: string;
  size: number;
  action: BlobAction;
  bytesSent: number;
  resumes: number;
  restarts: number;
}

export interface CopyResult {
  /** The digest the target reference now points at. */
  digest: string;
  mediaType: string;
  /** The platform copied, when one was picked from an index. */
  platform?: string;
  blobs: CopiedBlob[];
  /** Blob body bytes sent to the target, re-sends included. */
  bytesSent: number;
  /** Compressed size of every blob the image refers to. */
  totalBytes: number;
}

export async function copyImage(client: RegistryClient, source: ImageReference, target: ImageReference, options: CopyOptions = {}): Promise<CopyResult> {
  const from: RepositoryRef = { registry: source.registry, repository: source.repository };
  const to: RepositoryRef = { registry: target.registry, repository: target.repository };
  const sourceRef = source.digest ?? source.tag ?? 'latest';
  const top = await client.getManifest(from, sourceRef, options.signal);

  // What goes across: [manifest to push by digest, ...], then the one the target tag names.
  const images: FetchedManifest[] = [];
  let root: FetchedManifest = top;
  let platform: string | undefined;
  if (top.parsed.kind === 'index') {
    if (options.all) {
      for (const child of top.parsed.index.manifests) images.push(...(await expand(client, from, child, options.signal)));
    } else {
      const wanted = options.platform ?? hostPlatform();
      const chosen = selectManifest(top.parsed.index, wanted);
      root = await client.getManifest(from, chosen.digest, options.signal);
      if (root.parsed.kind !== 'image') throw new RegistryError({ code: 'UNSUPPORTED', operation: 'copy', ...from, problem: `the ${formatPlatform(wanted)} entry is itself an index`, hint: 'copy it with --all' });
      platform = formatPlatform(chosen.platform ?? wanted);
    }
  }
  if (target.digest && target.digest !== root.digest) {
    throw new RegistryError({ code: 'DIGEST_MISMATCH', operation: 'copy', ...to, problem: `the target names digest ${target.digest}, but the source is ${root.digest}`, hint: 'name the target by tag, or by the source digest' });
  }

  const blobs = uniqueBlobs([...images.map((m) => m.parsed), root.parsed]);
  const totalBytes = blobs.reduce((sum, b) => sum + b.size, 0);
  options.onEvent?.({ type: 'plan', blobs: blobs.length, bytes: totalBytes });
  // Largest first: the long uploads start early and the small ones fill the gaps.
  const ordered = [...blobs].sort((a, b) => b.size - a.size);
  const copied = await runLimited(ordered, options.concurrency ?? 4, (blob) => copyBlob(client, from, to, blob, options));

  for (const image of images) {
    await client.putManifest(to, image.digest, image.bytes, image.mediaType, options.signal);
    options.onEvent?.({ type: 'manifest', digest: image.digest, reference: image.digest });
  }
  const reference = target.tag ?? root.digest;
  await client.putManifest(to, reference, root.bytes, root.mediaType, options.signal);
  options.onEvent?.({ type: 'manifest', digest: root.digest, reference });
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    platform,
    blobs: copied,
    bytesSent: copied.reduce((sum, b) => sum + b.bytesSent, 0),
    totalBytes,
  };
}

/** The image manifests under an index entry (indexes nest), children before parents. */
async function expand(client: RegistryClient, repo: RepositoryRef, descriptor: Descriptor, signal?: AbortSignal): Promise<FetchedManifest[]> {
  const fetched = await client.getManifest(repo, descriptor.digest, signal);
  if (fetched.parsed.kind === 'image') return [fetched];
  const nested: FetchedManifest[] = [];
  for (const child of fetched.parsed.index.manifests) nested.push(...(await expand(client, repo, child, signal)));
  return [...nested, fetched];
}

function uniqueBlobs(manifests: FetchedManifest['parsed'][]): Descriptor[] {
  const byDigest = new Map<string, Descriptor>();
  for (const parsed of manifests) {
    if (parsed.kind !== 'image') continue;
    for (const blob of [parsed.manifest.config, ...parsed.manifest.layers]) byDigest.set(blob.digest, blob);
  }
  return [...byDigest.values()];
}

async function copyBlob(client: RegistryClient, from: RepositoryRef, to: RepositoryRef, blob: Descriptor, options: CopyOptions): Promise<CopiedBlob> {
  const done = (action: BlobAction, upload = { bytesSent: 0, resumes: 0, restarts: 0 }): CopiedBlob => {
    options.onEvent?.({ type: 'blob-done', digest: blob.digest, size: blob.size, action, bytesSent: upload.bytesSent });
    return { digest: blob.digest, size: blob.size, action, ...upload };
  };
  // Foreign layers (Windows base layers) are never pushed: their URLs point elsewhere.
  if (isForeignLayerMediaType(blob.mediaType) && blob.urls && blob.urls.length > 0) return done('skipped-foreign');
  options.onEvent?.({ type: 'blob-start', digest: blob.digest, size: blob.size });
  const existing = await client.headBlob(to, blob.digest, options.signal);
  if (existing !== undefined) return done('exists');

  // Within a registry, ask it to mount; across registries, an anonymous mount (OCI 1.1) costs
  // nothing where unsupported: the 202 is the upload session we would have opened anyway.
  const sameRegistry = from.registry === to.registry;
  let started: Awaited<ReturnType<RegistryClient['startUpload']>>;
  try {
    started = await client.startUpload(to, { digest: blob.digest, from: sameRegistry ? from.repository : undefined }, options.signal);
  } catch (error) {
    // No pull right on the source repository for the mount: a plain upload still works.
    if (!isRegistryError(error) || !['DENIED', 'UNAUTHORIZED'].includes(error.code) || !sameRegistry) throw error;
    started = await client.startUpload(to, undefined, options.signal);
  }
  if (started.mounted) return done('mounted');

  const source: BlobSource = {
    digest: blob.digest,
    size: blob.size,
    description: `${from.registry}/${from.repository}`,
    open: (offset, signal) => client.openBlob(from, blob.digest, { offset, signal, verify: false }),
  };
  const upload = await uploadBlob(client, to, source, {
    session: started.session,
    chunkSize: options.chunkSize,
    signal: options.signal,
    onProgress: (committed) => options.onEvent?.({ type: 'blob-progress', digest: blob.digest, committed, size: blob.size }),
  });
  return done('uploaded', upload);
}
