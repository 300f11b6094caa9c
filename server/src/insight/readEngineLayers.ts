// An engine image's layers for the layer panel, without reading what the panel does not show:
// the rows come from the engine's inspect (diff_ids) and history (instructions, uncompressed
// sizes) — no export at all when no layer's files are wanted (all cached); the wanted layers are
// read from ONE export pass (the push's reader, push/engineSource.ts openEngineExport: layers known
// by name, read until the last wanted one has gone by, every layer verified against its diff_id).
// readImageLayers (openEngineImage) would first stream the whole export to find the config and the
// layer paths (dockerd < 25 writes manifest.json last), then read it again for the layers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngineClient } from '../engine/engineClient';
import { openEngineExport } from '../push/engineSource';
import { ImageSourceError, shortId } from '../push/sourceErrors';
import type { LayerEntry } from './layerFiles';
import { readTarEntries, type ImageLayers, type Wanted } from './readImageLayers';
import type { LayerSummary } from './whyNew';

export async function readEngineLayers(ref: string, env: NodeJS.ProcessEnv, files: Wanted, signal?: AbortSignal): Promise<ImageLayers> {
  const engine = new DockerEngineClient({ env });
  try {
    const image = await engine.imageInspect(ref, signal ? { signal } : {});
    const source = `engine image ${ref}`;
    if (!image) throw new ImageSourceError('IMAGE_NOT_FOUND', `${source}: not found in the Docker engine — build or pull it first, or check the name`, source);
    // By id: the tag may move while the panel reads.
    const history = await engine.imageHistory(image.id, signal ? { signal } : {});
    const byIndex = new Map(history.flatMap((h) => (h.layerIndex !== undefined ? [[h.layerIndex, h] as const] : [])));
    const summaries: LayerSummary[] = image.rootfs.diffIds.map((diffId, i) => ({ diffId, createdBy: byIndex.get(i)?.createdBy ?? '' }));
    const wants = (d: string, i: number) => (typeof files === 'boolean' ? files : typeof files === 'function' ? files(d, i, summaries) : files.has(d));
    const wanted = new Set(summaries.filter((l, i) => wants(l.diffId, i)).map((l) => l.diffId));
    const description = `${source} (${shortId(image.id)})`;
    const read = new Map<string, LayerEntry[]>();
    if (wanted.size > 0) {
      // The reader spools only a containerd-store export's blobs; a private directory, removed after.
      const spool = await mkdtemp(join(tmpdir(), 'layerlift-panel-'));
      const exported = openEngineExport(image, engine, { description, spoolDirectory: spool });
      try {
        await exported.readLayers(wanted, async (diffId, stream) => {
          read.set(diffId, await readTarEntries(stream));
        }, signal);
      } finally {
        await exported.close();
        await rm(spool, { recursive: true, force: true });
      }
    }
    return {
      description,
      layers: summaries.map((layer, i) => {
        const entries = read.get(layer.diffId);
        const size = byIndex.get(i)?.size;
        return { ...layer, ...(entries ? { entries } : {}), ...(size !== undefined ? { size } : {}) };
      }),
    };
  } finally {
    await engine.close();
  }
}
