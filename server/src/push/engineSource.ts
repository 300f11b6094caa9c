// An image in the Docker engine as a LocalImage. The engine API has no call for an image's raw
// config or single layers, only the whole `docker save` export (GET /images/{id}/get), so:
//   open: imageInspect (id, diff_ids, RepoDigests, platform), then one export read only as far as
//         the config and the layer paths (pass 1 of streamedArchive.ts) and closed;
//   readLayers: a second export, read until the last wanted layer has gone by (pass 2), and only
//         when some layer is wanted at all.
// Both exports are pinned to the image id, so a tag moved meanwhile cannot mix two images.
import { describeHost } from '../engine/dockerHost';
import type { DockerEngineClient } from '../engine/engineClient';
import { wantedInOrder, closedError, type LocalImage } from './localImage';
import { ImageSourceError, shortId } from './sourceErrors';
import { readArchiveLayers, scanArchive, type OpenArchive } from './streamedArchive';

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
