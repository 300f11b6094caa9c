// A registry image's layer list for `layers --against registry:REF` (the pushed tag): manifest and
// config — diff_ids, history and compressed sizes; a layer's blob is downloaded only when asked for
// by diff_id (`files`): the first layer that differs, whose file names say why a layer is new.
import { formatReference, parseReference } from '../core/reference';
import { hostPlatform, selectManifest } from '../core/platform';
import { RegistryError } from '../registry/errors';
import type { RegistryClient } from '../registry/registryClient';
import { layerHistory, type ImageLayers } from './readImageLayers';
import { readRegistryLayerFiles } from './registryLayerFiles';

const maxConfigBytes = 16 * 1024 * 1024;

export async function readRegistryLayers(
  client: RegistryClient,
  text: string,
  signal?: AbortSignal,
  /** Which layers' files to read, chosen once the layer list is known (none by default). */
  files: (layers: ImageLayers['layers']) => ReadonlySet<string> = () => new Set(),
): Promise<ImageLayers> {
  const ref = parseReference(text);
  const repo = { registry: ref.registry, repository: ref.repository };
  const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', signal);
  const image = top.parsed.kind === 'index' ? await client.getManifest(repo, selectManifest(top.parsed.index, hostPlatform()).digest, signal) : top;
  if (image.parsed.kind !== 'image') {
    throw new RegistryError({ code: 'UNSUPPORTED', operation: 'pull', ...repo, problem: 'a nested index has no single platform to compare with' });
  }
  const manifest = image.parsed.manifest;
  const stream = await client.openBlob(repo, manifest.config.digest, { size: manifest.config.size, ...(signal ? { signal } : {}) });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxConfigBytes) throw new RegistryError({ code: 'SIZE_INVALID', operation: 'pull', ...repo, problem: 'the image config is too large to be one' });
    chunks.push(chunk);
  }
  const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { rootfs?: { diff_ids?: string[] }; history?: { created_by?: string; empty_layer?: boolean }[] };
  const history = layerHistory(config);
  const layers: ImageLayers['layers'] = (config.rootfs?.diff_ids ?? []).map((diffId, i) => ({
    diffId,
    createdBy: history[i] ?? '',
    ...(manifest.layers[i] ? { compressedSize: manifest.layers[i].size } : {}),
  }));
  const wanted = files(layers);
  for (const [i, layer] of layers.entries()) {
    const blob = manifest.layers[i];
    if (!wanted.has(layer.diffId) || !blob) continue;
    layer.entries = await readRegistryLayerFiles(client, repo, { digest: blob.digest, size: blob.size, mediaType: blob.mediaType }, signal);
  }
  return { description: `registry image ${formatReference(ref)}`, layers };
}
