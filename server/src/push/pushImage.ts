// A layer-aware push: plan, pre-push the base where it pays, then send only what the target
// lacks — mounts first, uploads of compressed layers (resumable), the config, and the manifest
// last, so a failed or cancelled push never moves the tag.
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatReference, withDigest, type ImageReference } from '../core/reference';
import { RegistryError } from '../registry/errors';
import { DOCKER_IMAGE_CONFIG, DOCKER_LAYER_TAR_GZIP, DOCKER_MANIFEST_V2, OCI_IMAGE_CONFIG, OCI_IMAGE_MANIFEST, OCI_LAYER_TAR_GZIP } from '../core/mediaTypes';
import { runLimited } from '../core/limit';
import { uploadBlob } from '../registry/blobUpload';
import type { RegistryClient } from '../registry/registryClient';
import type { LocalImage } from './imageSource';
import type { LayerCompressor, CompressedLayer } from './compressLayer';
import type { LayerIndex } from './layerIndex';
import { gatherKnown, probePresence, readImageBlobs } from './pushFacts';
import { planPush, prepushTag, type PrepushStrategy, type PushPlan } from './plan';
import { prepushBase } from './prepush';

export type PushEvent =
  | { type: 'plan'; plan: PushPlan }
  | { type: 'prepush-start'; strategy: 'runner' | 'local'; source: string; target: string }
  | { type: 'prepush-done'; seconds: number }
  | { type: 'blob-start'; digest: string; size: number; action: string }
  | { type: 'blob-progress'; digest: string; committed: number; size: number }
  | { type: 'blob-done'; digest: string; size: number; action: string; bytesSent: number }
  | { type: 'manifest'; digest: string; reference: string };

export interface PushOptions {
  target: ImageReference;
  /** The base image (from the Dockerfile's FROM, --base, or found in the engine). */
  base?: ImageReference;
  strategy?: PrepushStrategy;
  runner?: string;
  mirrors?: Record<string, string>;
  concurrency?: number;
  chunkSize?: number;
  planOnly?: boolean;
  /** Delete the `prepush-…` tag once the app's manifest references the blobs. */
  cleanupPrepush?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: PushEvent) => void;
}

export interface PushedBlob {
  digest: string;
  size: number;
  action: 'exists' | 'mount' | 'prepush' | 'upload';
  from?: string;
  bytesSent: number;
}

export interface PushResult {
  target: string;
  digest?: string;
  plan: PushPlan;
  blobs: PushedBlob[];
  bytesUploaded: number;
  seconds: number;
  warnings: string[];
}

export interface PushDependencies {
  client: RegistryClient;
  compressor: LayerCompressor;
  index?: LayerIndex;
}

export async function pushImage(image: LocalImage, options: PushOptions, deps: PushDependencies): Promise<PushResult> {
  const started = Date.now();
  const { client } = deps;
  const target = options.target;
  const targetRepo = { registry: target.registry, repository: target.repository };
  const targetFull = `${target.registry}/${target.repository}`;
  const signal = options.signal;
  const warnings: string[] = [];
  if (!target.tag && target.digest) {
    throw new RegistryError({ code: 'UNSUPPORTED', operation: 'push', ...targetRepo, problem: 'the target names a digest, not a tag', hint: 'give the target a tag, e.g. registry/repo:1' });
  }
  // What the base and the target hold only informs the plan: if it cannot be read, push anyway.
  const soft = async <T>(what: string, read: Promise<T>): Promise<T | undefined> => {
    try {
      return await read;
    } catch (error) {
      if (signal?.aborted) throw error;
      warnings.push(`${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      return undefined;
    }
  };
  const baseBlobs = options.base ? await soft('the base could not be read', readImageBlobs(client, options.base, image.platform, signal)) : undefined;
  if (options.base && !baseBlobs) warnings.push(`the base ${formatReference(options.base)} was not found; its layers are treated as unique`);
  const base = options.base && baseBlobs ? { ref: options.base, blobs: baseBlobs } : undefined;
  const targetBlobs = await soft('the current target could not be read', readImageBlobs(client, target, image.platform, signal));
  const known = gatherKnown({ image, target, base, targetBlobs, index: deps.index, mirrors: options.mirrors });
  let present = await probePresence(client, targetRepo, known, image.configDigest, signal);
  const baseReference = base ? formatReference(withDigest({ ...base.ref, tag: undefined }, base.blobs.manifestDigest)) : undefined;
  const planInput = {
    target: targetFull,
    targetRegistry: target.registry,
    layers: image.layers,
    config: { digest: image.configDigest, size: image.config.length },
    known: known.byDiffId,
    present,
    strategy: options.strategy ?? 'auto',
    runnerConfigured: Boolean(options.runner),
    base: base && baseReference ? { reference: baseReference, repository: `${base.ref.registry}/${base.ref.repository}` } : undefined,
  };
  let plan = planPush(planInput);
  options.onEvent?.({ type: 'plan', plan });
  if (options.planOnly) return { target: formatReference(target), plan, blobs: [], bytesUploaded: 0, seconds: (Date.now() - started) / 1000, warnings };

  // Pre-push: copy the base next to the target (runner where bandwidth is, or through here),
  // then plan again: its blobs are now in the target repository.
  let prepushed: { digest: string } | undefined;
  if (plan.prepush && base && baseReference) {
    options.onEvent?.({ type: 'prepush-start', strategy: plan.prepush.strategy, source: baseReference, target: targetFull });
    prepushed = { digest: base.blobs.manifestDigest };
    const pinned = { ...base.ref, tag: undefined, digest: base.blobs.manifestDigest };
    const done = await prepushBase(client, pinned, target, { strategy: plan.prepush.strategy, runner: options.runner, platform: image.platform, signal });
    options.onEvent?.({ type: 'prepush-done', seconds: done.seconds });
    present = await probePresence(client, targetRepo, known, image.configDigest, signal);
    plan = planPush({ ...planInput, present, strategy: 'mount' });
  }

  // The config is small: it goes in its own lane beside the layers, not behind them.
  const config = image.config;
  const configSent =
    plan.config.action === 'upload'
      ? uploadBlob(client, targetRepo, { digest: image.configDigest, size: config.length, description: image.description, open: (offset) => Promise.resolve(Readable.from([config.subarray(offset)])) }, { signal })
      : Promise.resolve(undefined);
  configSent.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  const blobs = await sendBlobs(image, plan, options, deps, warnings);
  await configSent;
  // The manifest last: the tag moves only when every blob is in.
  const manifest = buildManifest(image, blobs);
  const reference = target.tag ?? 'latest';
  const digest = await client.putManifest(targetRepo, reference, manifest.bytes, manifest.mediaType, signal);
  options.onEvent?.({ type: 'manifest', digest, reference });

  for (const [i, layer] of image.layers.entries()) {
    const blob = blobs[i];
    if (blob && deps.index) deps.index.record(layer.diffId, { digest: blob.digest, size: blob.size, mediaType: blob.mediaType }, targetFull);
  }
  if (prepushed && options.cleanupPrepush) {
    // The app's manifest now references the base blobs; the pre-push tag has done its job.
    // Registries delete manifests by digest (every tag on it goes): only when our tag still
    // points there, so a concurrent push that re-tagged it is left alone.
    try {
      const tagged = await client.headManifest(targetRepo, prepushTag(prepushed.digest), signal);
      if (tagged?.digest === prepushed.digest) await client.deleteManifest(targetRepo, prepushed.digest, signal);
    } catch (error) {
      warnings.push(`could not remove the pre-push tag: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const saved = await deps.index?.save();
  if (saved?.warning) warnings.push(saved.warning);
  return {
    target: formatReference(target),
    digest,
    plan,
    blobs: blobs.map(({ digest: d, size, action, from, bytesSent }) => ({ digest: d, size, action, from, bytesSent })),
    bytesUploaded: blobs.reduce((sum, b) => sum + b.bytesSent, 0),
    seconds: (Date.now() - started) / 1000,
    warnings,
  };
}

interface SentBlob extends PushedBlob {
  mediaType: string;
}

/** Mounts and uploads, largest first; layers to compress stream out of the source once. */
async function sendBlobs(image: LocalImage, plan: PushPlan, options: PushOptions, deps: PushDependencies, warnings: string[]): Promise<SentBlob[]> {
  const { client, compressor } = deps;
  const targetRepo = { registry: options.target.registry, repository: options.target.repository };
  const results: SentBlob[] = new Array<SentBlob>(image.layers.length);
  const uploads: { index: number; diffId: string }[] = [];
  await runLimited(plan.layers.map((action, index) => ({ action, index })), options.concurrency ?? 4, async ({ action, index }) => {
    if (action.action === 'exists' || action.action === 'prepush') {
      results[index] = { digest: action.digest ?? '', size: action.size ?? 0, mediaType: action.mediaType ?? '', action: action.action === 'prepush' ? 'prepush' : 'exists', bytesSent: 0 };
    } else if (action.action === 'mount') {
      options.onEvent?.({ type: 'blob-start', digest: action.digest, size: action.size, action: 'mount' });
      const mounted = await client.startUpload(targetRepo, { digest: action.digest, from: action.from }, options.signal);
      if (mounted.mounted) {
        results[index] = { digest: action.digest, size: action.size, mediaType: action.mediaType, action: 'mount', from: action.from, bytesSent: 0 };
        options.onEvent?.({ type: 'blob-done', digest: action.digest, size: action.size, action: 'mount', bytesSent: 0 });
      } else {
        await client.cancelUpload(mounted.session);
        warnings.push(`the registry would not mount ${action.digest} from ${action.from}; it was uploaded instead`);
        uploads.push({ index, diffId: action.diffId });
      }
    } else if (action.diffId) {
      uploads.push({ index, diffId: action.diffId });
    }
  });
  if (uploads.length === 0) return results;

  // Layers the source holds compressed (an OCI layout) go byte for byte; the rest are compressed here.
  // A diff_id may stand several times in an image (the classic builder's empty layer): every
  // position gets the one blob.
  const positions = new Map<string, number[]>();
  for (const u of uploads) positions.set(u.diffId, [...(positions.get(u.diffId) ?? []), u.index]);
  // The first failed upload stops the rest (no compressing for nothing), and is the error thrown.
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  let firstError: Error | undefined;
  const sending: Promise<void>[] = [];
  const lanes = new Semaphore(options.concurrency ?? 4);
  const send = async (diffId: string, blob: { digest: string; size: number; mediaType: string }, open: (offset: number) => Promise<Readable>) => {
    await lanes.acquire();
    try {
      options.onEvent?.({ type: 'blob-start', digest: blob.digest, size: blob.size, action: 'upload' });
      const exists = await client.headBlob(targetRepo, blob.digest, signal);
      const result = exists !== undefined ? { bytesSent: 0 } : await uploadBlob(client, targetRepo, { ...blob, description: image.description, open }, { chunkSize: options.chunkSize, signal, onProgress: (committed) => options.onEvent?.({ type: 'blob-progress', digest: blob.digest, committed, size: blob.size }) });
      (positions.get(diffId) ?? []).forEach((index, i) => {
        results[index] = { digest: blob.digest, size: blob.size, mediaType: blob.mediaType, action: 'upload', bytesSent: i === 0 ? result.bytesSent : 0 };
      });
      options.onEvent?.({ type: 'blob-done', digest: blob.digest, size: blob.size, action: 'upload', bytesSent: result.bytesSent });
    } finally {
      lanes.release();
    }
  };
  const track = (promise: Promise<void>) => {
    sending.push(
      promise.catch((error: unknown) => {
        firstError ??= error instanceof Error ? error : new Error(String(error));
        failed.abort();
      }),
    );
  };
  const toCompress = new Set<string>();
  // Blobs the source holds compressed start largest first, so the long uploads begin early and
  // small ones fill the lanes; layers compressed here go in the order the source streams them.
  const ready: { diffId: string; blob: NonNullable<LocalImage['layers'][number]['compressed']> }[] = [];
  for (const diffId of positions.keys()) {
    const compressed = image.layers[positions.get(diffId)?.[0] ?? -1]?.compressed;
    if (compressed) ready.push({ diffId, blob: compressed });
    else toCompress.add(diffId);
  }
  for (const { diffId, blob } of ready.sort((a, b) => b.blob.size - a.blob.size)) track(send(diffId, blob, (offset) => blob.open(offset)));
  // Compressed files live in a directory of this push's own: another push of the same layer
  // (CI pushing to two registries at once) never deletes a file this one still reads.
  const files: CompressedLayer[] = [];
  // Layers stream out of the source one after the other (an engine export is one tar), so a layer
  // compressed as it streams holds up the next and only one worker is ever busy. With several
  // layers to compress, each is spooled (uncompressed, at read speed) into the push's scratch
  // directory and compressed from there, as many at once as the compressor has workers. Disk
  // use peaks at the unique layers' size; each spool file goes once its layer is compressed.
  const spool = toCompress.size > 1 && compressor.workers > 1;
  const spooled: string[] = [];
  const sendCompressed = (diffId: string, layer: CompressedLayer) => {
    files.push(layer);
    return send(diffId, layer, (offset) => Promise.resolve(createReadStream(layer.path, { start: offset })));
  };
  try {
    if (toCompress.size > 0) {
      await image
        .readLayers(
          toCompress,
          async (diffId, tar) => {
            if (!spool) {
              // Upload while the next layer compresses.
              track(sendCompressed(diffId, await compressor.compress(diffId, tar, signal)));
              return;
            }
            const path = join(compressor.outputDirectory, `spool-${spooled.length}.tar`);
            spooled.push(path);
            await pipeline(tar, createWriteStream(path), { signal });
            const compressed = compressor.compress(diffId, createReadStream(path), signal).finally(() => rm(path, { force: true }));
            track(compressed.then((layer) => sendCompressed(diffId, layer)));
          },
          signal,
        )
        .catch((error: unknown) => {
          firstError ??= error instanceof Error ? error : new Error(String(error));
        });
    }
    await Promise.all(sending);
    if (firstError !== undefined) throw firstError;
  } finally {
    await Promise.allSettled(sending);
    await Promise.all([...files.map((f) => f.path), ...spooled].map((path) => rm(path, { force: true })));
  }
  const missing = results.findIndex((r) => r === undefined);
  if (missing >= 0 || results.length !== image.layers.length) throw new Error(`internal error: layer ${missing} of ${image.description} has no blob to reference`);
  return results;
}

/** A counting semaphore: at most `limit` holders at once. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** The image manifest: the engine's config, each layer as the blob the target now has. */
function buildManifest(image: LocalImage, blobs: SentBlob[]): { bytes: Buffer; mediaType: string } {
  // A Docker-built config goes in a Docker v2 manifest (what docker push writes); an OCI layout's in an OCI one.
  // zstd has no Docker v2 media type: such an image goes in an OCI manifest too.
  const oci = image.layers.some((l) => l.compressed?.mediaType.startsWith('application/vnd.oci.')) || blobs.some((b) => b.mediaType.endsWith('+zstd'));
  const layerType = (mediaType: string) => {
    if (oci) return mediaType === DOCKER_LAYER_TAR_GZIP || !mediaType ? OCI_LAYER_TAR_GZIP : mediaType;
    return mediaType === OCI_LAYER_TAR_GZIP || !mediaType ? DOCKER_LAYER_TAR_GZIP : mediaType;
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? OCI_IMAGE_MANIFEST : DOCKER_MANIFEST_V2,
    config: { mediaType: oci ? OCI_IMAGE_CONFIG : DOCKER_IMAGE_CONFIG, digest: image.configDigest, size: image.config.length },
    layers: blobs.map((b) => ({ mediaType: layerType(b.mediaType), digest: b.digest, size: b.size })),
  };
  return { bytes: Buffer.from(JSON.stringify(manifest, null, 3)), mediaType: manifest.mediaType };
}
