// Layerlift's own uploader: mounts the plan's mounts, then streams the layers to upload out of
// the local image once, gzips them on every core (pigz-style, compressLayer.ts) and uploads them resumably (blobUpload.ts),
// the config beside them, and the manifest last, so a failed or cancelled push never moves the
// tag. The path for image files (OCI layouts, `docker save` archives) and for what only it does
// (zstd, resumable uploads); engine images go through engineUploader.ts by default.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DOCKER_IMAGE_CONFIG, DOCKER_LAYER_TAR_GZIP, DOCKER_MANIFEST_V2, OCI_IMAGE_CONFIG, OCI_IMAGE_MANIFEST, OCI_LAYER_TAR_GZIP } from '../core/mediaTypes';
import { runLimited, Semaphore } from '../core/limit';
import { defaultChunkSize, uploadBlob } from '../registry/blobUpload';
import { isRegistryError } from '../registry/errors';
import type { RegistryClient, UploadSession } from '../registry/registryClient';
import { UploadSessions, type HeldSession } from './uploadSessions';
import type { LocalImage } from './imageSource';
import { configInStream } from './engineSource';
import type { LayerCompressor, CompressedLayer } from './compressLayer';
import { LayerCompressError } from './compressErrors';
import { handOverDiffIdCheck } from './layerStreams';
import { ImageSourceError } from './sourceErrors';
import type { PushPlan } from './plan';
import type { MovedImage, MoveRequest, Mover, SentBlob } from './mover';

export class OwnUploader implements Mover {
  readonly kind = 'layerlift' as const;
  constructor(
    private readonly image: LocalImage,
    /** sessions: where open uploads are kept across runs; default `<cache>/sessions` beside the
     *  compressor's scratch directory, null for none. */
    private readonly deps: { client: RegistryClient; compressor: LayerCompressor; sessions?: UploadSessions | null },
  ) {}

  async move(request: MoveRequest): Promise<MovedImage> {
    const { image } = this;
    const { client } = this.deps;
    const { plan, target, signal } = request;
    const targetRepo = { registry: target.registry, repository: target.repository };
    // An engine export read once brings the config on the way (engineSource.ts): it arrives once
    // the stream has passed it, which it does only after readLayers/skipLayers said what is wanted.
    const inStream = configInStream(image);
    // The config is small: it goes in its own lane beside the layers, not behind them. The plan
    // named the image id as the config; should the config turn out to be another blob (a
    // containerd-store export), it is uploaded whatever the plan said.
    const configSent = (inStream?.configArrived() ?? Promise.resolve()).then(() => {
      const config = image.config;
      if (plan.config.action !== 'upload' && plan.config.digest === image.configDigest) return undefined;
      return uploadBlob(client, targetRepo, { digest: image.configDigest, size: config.length, description: image.description, open: (offset) => Promise.resolve(Readable.from([config.subarray(offset)])) }, { signal });
    });
    configSent.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    // Compressed files this push made: removed once the manifest is in (unlinking ~80 MB of
    // files took 0.1 s here, which the push need not wait for before its manifest).
    const scratch: string[] = [];
    try {
      let blobs: SentBlob[];
      try {
        blobs = await sendBlobs(image, plan, request, this.deps, scratch);
      } finally {
        inStream?.skipLayers(); // nothing (more) wanted: the stream goes on to the config only
      }
      const configResult = await configSent;
      // The manifest last: the tag moves only when every blob is in.
      const manifest = buildManifest(image, blobs);
      const reference = target.tag ?? 'latest';
      const digest = await client.putManifest(targetRepo, reference, manifest.bytes, manifest.mediaType, signal);
      request.onEvent?.({ type: 'manifest', digest, reference });
      return { digest, blobs, configBytesSent: configResult?.bytesSent ?? 0 };
    } finally {
      await Promise.all(scratch.map((path) => rm(path, { force: true })));
    }
  }
}

/** Mounts and uploads, largest first; layers to compress stream out of the source once. */
async function sendBlobs(image: LocalImage, plan: PushPlan, options: MoveRequest, deps: { client: RegistryClient; compressor: LayerCompressor; sessions?: UploadSessions | null }, scratch: string[]): Promise<SentBlob[]> {
  const warnings = options.warnings;
  const { client, compressor } = deps;
  const targetRepo = { registry: options.target.registry, repository: options.target.repository };
  const results: SentBlob[] = new Array<SentBlob>(image.layers.length);
  const uploads: { index: number; diffId: string }[] = [];
  await runLimited(plan.layers.map((action, index) => ({ action, index })), options.concurrency ?? 4, async ({ action, index }) => {
    if (action.action === 'exists' || action.action === 'prepush') {
      results[index] = { digest: action.digest ?? '', size: action.size ?? 0, mediaType: action.mediaType ?? '', action: action.action === 'prepush' ? 'prepush' : 'exists', bytesSent: 0 };
    } else if (action.action === 'mount') {
      options.onEvent?.({ type: 'blob-start', digest: action.digest, size: action.size, action: 'mount' });
      const mounted = options.mounted?.has(action.digest) ? { mounted: true as const } : await client.startUpload(targetRepo, { digest: action.digest, from: action.from }, options.signal);
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
  const send = async (diffId: string, blob: { digest: string; size: number; mediaType: string; file?: string; digestKnown?: boolean }, open: (offset: number) => Promise<Readable>, held?: HeldSession) => {
    await lanes.acquire();
    try {
      options.onEvent?.({ type: 'blob-start', digest: blob.digest, size: blob.size, action: 'upload' });
      // A blob the plan just found missing is not asked for again; a digest new since the plan
      // (a layer compressed here) is: an earlier push may have sent the same bytes.
      const exists = options.absent?.has(blob.digest) ? undefined : await client.headBlob(targetRepo, blob.digest, signal);
      // A held session is recorded after every acknowledged chunk, so a run that dies goes on from there next time.
      const record = (session: UploadSession, committed: number) =>
        held?.save({ registry: targetRepo.registry, repository: targetRepo.repository, digest: blob.digest, size: blob.size, mediaType: blob.mediaType, diffId, compression: compressor.compression, level: compressor.level, location: session.location, offset: committed, updatedAt: new Date().toISOString() }) ?? Promise.resolve();
      const resume = held?.record !== undefined ? { target: targetRepo, location: held.record.location } : undefined;
      const result =
        exists !== undefined
          ? { bytesSent: 0 }
          : await uploadBlob(client, targetRepo, { ...blob, description: image.description, open }, { chunkSize: options.chunkSize, signal, resume, onSession: held ? record : undefined, onProgress: (committed) => options.onEvent?.({ type: 'blob-progress', digest: blob.digest, committed, size: blob.size }) }).catch(async (error: unknown) => {
              // A kept blob that does not hash to its name must not be resumed again.
              if (isRegistryError(error) && (error.code === 'DIGEST_MISMATCH' || error.code === 'SIZE_MISMATCH')) await held?.finish();
              throw error;
            });
      await held?.finish();
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
  // An engine export knows which layers it holds compressed (a containerd store) once it has seen its layout.
  const inStream = configInStream(image);
  await inStream?.layoutKnown();
  const toCompress = new Set<string>();
  // Blobs the source holds compressed start largest first, so the long uploads begin early and
  // small ones fill the lanes; layers compressed here go in the order the source streams them.
  const ready: { diffId: string; blob: NonNullable<LocalImage['layers'][number]['compressed']> }[] = [];
  for (const diffId of positions.keys()) {
    const compressed = image.layers[positions.get(diffId)?.[0] ?? -1]?.compressed;
    if (compressed) ready.push({ diffId, blob: compressed });
    else toCompress.add(diffId);
  }
  inStream?.prefetch(ready.map((r) => r.blob.digest));
  for (const { diffId, blob } of ready.sort((a, b) => b.blob.size - a.blob.size)) track(send(diffId, blob, (offset) => blob.open(offset)));
  // Compressed files live in a directory of this push's own: another push of the same layer
  // (CI pushing to two registries at once) never deletes a file this one still reads.

  // Layers stream out of the source one after the other (an engine export is one tar). Each is
  // gzipped pigz-style as it streams (compressLayer.ts: 1 MiB blocks on every worker), so one
  // layer already uses every core: no spooling to disk to compress several side by side.
  // A layer uploaded in chunks keeps its session and blob in the cache's session store until it is
  // in (uploadSessions.ts): the next run, after a crash, goes on from the registry's offset.
  const sessions = deps.sessions === undefined ? UploadSessions.besideScratch(compressor.outputDirectory) : (deps.sessions ?? undefined);
  const chunked = (size: number) => size > (options.chunkSize ?? defaultChunkSize);
  const heldSessions: HeldSession[] = [];
  const fromFile = (path: string) => (offset: number) => Promise.resolve(createReadStream(path, { start: offset }));
  const withFile = <T extends object>(blob: T, path: string) => ({ ...blob, file: path });
  const sendCompressed = async (diffId: string, layer: CompressedLayer) => {
    const held = sessions && chunked(layer.size) ? await sessions.hold(targetRepo.registry, targetRepo.repository, layer.digest, layer.path).catch(() => undefined) : undefined;
    if (held === undefined) {
      scratch.push(layer.path);
      // The compressor's writer hashed these very bytes into layer.digest: not hashed again here
      // (the registry checks the digest when the upload is closed).
      return send(diffId, { ...withFile(layer, layer.path), digestKnown: true }, fromFile(layer.path));
    }
    heldSessions.push(held);
    return send(diffId, withFile(layer, held.blobPath), fromFile(held.blobPath), held);
  };
  if (sessions !== undefined) {
    await sessions.removeExpired().catch(() => 0);
    for (const diffId of [...toCompress]) {
      const held = await sessions.findByLayer(targetRepo.registry, targetRepo.repository, { diffId, compression: compressor.compression, level: compressor.level }).catch(() => undefined);
      const record = held?.record;
      if (held === undefined || record === undefined) continue;
      // Compressed by an earlier run that died: no need to read or compress the layer again.
      toCompress.delete(diffId);
      heldSessions.push(held);
      track(send(diffId, { digest: record.digest, size: record.size, mediaType: record.mediaType, file: held.blobPath }, fromFile(held.blobPath), held));
    }
  }
  try {
    if (toCompress.size > 0) {
      await image
        .readLayers(
          toCompress,
          async (diffId, tar) => {
            // One hash of the layer: the compressor's writer thread checks the diff_id, off the
            // main thread, where the source lets it (layerStreams.ts handOverDiffIdCheck);
            // otherwise the source has checked it. Upload while the next layer compresses.
            const checkedHere = handOverDiffIdCheck(tar);
            const compressed = await compressor.compress(diffId, tar, signal, { verified: !checkedHere }).catch((error: unknown) => {
              if (error instanceof LayerCompressError && error.code === 'DIFF_ID_MISMATCH') {
                throw new ImageSourceError('DIFF_ID_MISMATCH', `${image.description}: layer ${diffId} is corrupt: its uncompressed bytes hash to ${error.actualDiffId ?? 'another digest'} — export or rebuild the image`, image.description);
              }
              throw error;
            });
            track(sendCompressed(diffId, compressed));
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
    // Sessions not finished stay for the next run; this run's locks go.
    await Promise.all(heldSessions.map((held) => held.release()));
  }
  const missing = results.findIndex((r) => r === undefined);
  if (missing >= 0 || results.length !== image.layers.length) throw new Error(`internal error: layer ${missing} of ${image.description} has no blob to reference`);
  return results;
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
