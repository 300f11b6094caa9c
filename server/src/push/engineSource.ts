// An image in the Docker engine as a LocalImage. The engine API has no call for an image's raw
// config or single layers, only the whole `docker save` export (GET /images/{id}/get), so:
//   open: imageInspect (id, diff_ids, RepoDigests, platform), then one export read only as far as
//         the config and the layer paths (pass 1 of streamedArchive.ts) and closed;
//   readLayers: a second export, read until the last wanted layer has gone by (pass 2), and only
//         when some layer is wanted at all.
// Both exports are pinned to the image id, so a tag moved meanwhile cannot mix two images.
// That is openEngineImage (layer insight, tests). A push opens the image with openEngineExport:
// one export, requested at once and read once (engineExportReader.ts), its config arriving on
// the way (ConfigInStream).
import { describeHost } from '../engine/dockerHost';
import type { DockerEngineClient, EngineImage } from '../engine/engineClient';
import { EngineExportReader, UnknownExportLayout } from './engineExportReader';
import { ExportBlobSpool } from './exportBlobSpool';
import { wantedInOrder, closedError, type LocalImage, type LocalLayer } from './localImage';
import { compressionOfMediaType, type OnLayer } from './layerStreams';
import { ImageSourceError, shortId } from './sourceErrors';
import { readArchiveLayers, scanArchive, type OpenArchive, type ScannedArchive } from './streamedArchive';

/**
 * A LocalImage whose config is read from the same stream as its layers: `config` is valid once
 * configArrived() has resolved. The stream waits at its first layer until readLayers (or
 * skipLayers) says which layers are wanted, so a caller tells that BEFORE awaiting the config.
 */
export interface ConfigInStream {
  configArrived(): Promise<void>;
  skipLayers(): void;
  /** Resolves once the layers' `compressed` blobs are known (a containerd-store export: the
   *  stored blobs); never waits for readLayers. */
  layoutKnown(): Promise<void>;
  /** These `compressed` blobs will be uploaded: spool them in one pass. */
  prefetch(digests: readonly string[]): void;
}

export function configInStream(image: LocalImage): ConfigInStream | undefined {
  const candidate = image as Partial<ConfigInStream>;
  return typeof candidate.configArrived === 'function' && typeof candidate.layoutKnown === 'function' ? (candidate as ConfigInStream) : undefined;
}

/**
 * An inspected engine image for a push: the export is requested now (the engine prepares it
 * while the registry is asked) and read once. `configDigest` is the image id until the config
 * arrives (Docker's image store: the same); an export the one-pass reader cannot lay out (a
 * containerd-store export, whose id names a manifest; an unknown engine) is read in two passes
 * instead, as openEngineImage does — only the layers not yet delivered.
 */
export function openEngineExport(
  image: EngineImage,
  engine: DockerEngineClient,
  options: { description: string; spoolDirectory: string; /** false: request the export only when first used (a plan never is). */ startNow?: boolean },
): LocalImage & ConfigInStream {
  const { description } = options;
  const diffIds = image.rootfs.diffIds;
  const platform = { os: image.os, architecture: image.architecture, ...(image.variant !== undefined ? { variant: image.variant } : {}) };
  const open: OpenArchive = (signal) => engine.saveImage(image.id, signal ? { signal } : {});
  let config: { bytes: Buffer; digest: string } | undefined;
  let twoPass: Promise<ScannedArchive> | undefined;
  const scan = () => (twoPass ??= scanArchive(open, description, { imageId: image.id, platform }));
  let closed = false;
  const layers: LocalLayer[] = diffIds.map((diffId) => ({ diffId }));
  const spool = new ExportBlobSpool(open, description, options.spoolDirectory);
  // A containerd-store export: the stored blobs go up as they are (exportBlobSpool.ts).
  const fromScan = async () => {
    const scanned = await scan();
    config = { bytes: scanned.config, digest: scanned.configDigest };
    scanned.layerBlobs?.forEach((blob, i) => {
      const layer = layers[i];
      const compression = compressionOfMediaType(blob.mediaType);
      if (layer && (compression === 'gzip' || compression === 'zstd')) layer.compressed = { ...blob, open: (offset) => spool.openBlob(blob.digest, offset) };
    });
  };
  let started: { reader: EngineExportReader; arrived: Promise<void>; layout: Promise<void> } | undefined;
  const start = () => {
    if (started) return started;
    const reader = new EngineExportReader({ open, source: description, imageId: image.id, diffIds, spoolDirectory: options.spoolDirectory });
    const orScan = (error: unknown) => {
      if (error instanceof UnknownExportLayout) return fromScan();
      throw error;
    };
    const arrived = reader.config.then((c) => {
      config = c;
    }, orScan);
    const layout = reader.layout.catch(orScan);
    arrived.catch(() => undefined);
    layout.catch(() => undefined);
    started = { reader, arrived, layout };
    return started;
  };
  if (options.startNow !== false) start();
  const delivered = new Set<string>();
  return {
    description,
    get config(): Buffer {
      if (!config) throw new Error(`internal error: the config of ${description} was used before it arrived`);
      return config.bytes;
    },
    get configDigest(): string {
      return config?.digest ?? image.id;
    },
    layers,
    repoDigests: image.repoDigests,
    platform,
    configArrived: () => start().arrived,
    layoutKnown: () => start().layout,
    prefetch: (digests) => spool.prefetch(digests),
    skipLayers: () => start().reader.skipLayers(),
    async readLayers(wanted, onLayer, signal) {
      if (closed) throw closedError(description);
      const list = wantedInOrder(diffIds, wanted, description);
      const tracked: OnLayer = async (diffId, tar) => {
        delivered.add(diffId);
        await onLayer(diffId, tar);
      };
      try {
        await start().reader.readLayers(list, tracked, signal);
      } catch (error) {
        if (!(error instanceof UnknownExportLayout)) throw error;
        const scanned = await scan();
        const rest = list.filter((diffId) => !delivered.has(diffId));
        if (rest.length > 0) await readArchiveLayers(open, description, scanned.layerPaths, rest, onLayer, signal);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await started?.reader.close();
      await spool.close();
    },
  };
}

export async function openEngineImage(ref: string, engine: DockerEngineClient, ownsEngine: boolean): Promise<LocalImage> {
  const source = `engine image ${ref}`;
  try {
    const image = await engine.imageInspect(ref);
    if (!image) {
      let where = 'the Docker engine';
      try {
        where = `the Docker engine at ${describeHost(engine.host)}`;
      } catch {
        // the host resolved for imageInspect; keep the plain wording if it cannot be shown
      }
      throw new ImageSourceError('IMAGE_NOT_FOUND', `${source}: not found in ${where} — build or pull it first, or check the name`, source);
    }
    const platform = { os: image.os, architecture: image.architecture, ...(image.variant !== undefined ? { variant: image.variant } : {}) };
    const open: OpenArchive = (signal) => engine.saveImage(image.id, signal ? { signal } : {});
    const scanned = await scanArchive(open, source, { imageId: image.id, platform });
    const diffIds = scanned.facts.diffIds;
    const inspected = image.rootfs.diffIds;
    if (inspected.length > 0 && (inspected.length !== diffIds.length || inspected.some((d, i) => d !== diffIds[i]))) {
      throw new ImageSourceError('SOURCE_INVALID', `${source}: the engine's export does not match its image ${image.id} (diff_ids differ) — retry`, source);
    }
    const description = `engine image ${ref} (${shortId(image.id)})`;
    let closed = false;
    return {
      description,
      config: scanned.config,
      configDigest: scanned.configDigest,
      layers: diffIds.map((diffId) => ({ diffId })),
      repoDigests: image.repoDigests,
      platform: scanned.facts.platform.os !== '' ? scanned.facts.platform : platform,
      async readLayers(wanted, onLayer, signal) {
        if (closed) throw closedError(description);
        const list = wantedInOrder(diffIds, wanted, description);
        if (list.length === 0) return;
        await readArchiveLayers(open, description, scanned.layerPaths, list, onLayer, signal);
      },
      async close() {
        if (closed) return;
        closed = true;
        if (ownsEngine) await engine.close();
      },
    };
  } catch (error) {
    if (ownsEngine) await engine.close().catch(() => undefined);
    throw error;
  }
}
