// A pushed layer's file list, read from its registry blob only when a why-new sentence needs the
// file names (the first layer that differs) or the user opens a base layer. Blobs are immutable,
// so entries are cached by blob digest for the process: a second ask downloads nothing.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';
import type { LayerEntry } from './layerFiles';
import { readTarEntries } from './readImageLayers';

export interface LayerBlob {
  digest: string;
  size: number;
  mediaType?: string;
}

type BlobOpener = Pick<RegistryClient, 'openBlob'>;

const cache = new Map<string, Promise<readonly LayerEntry[]>>();
const maxCached = 200;

/**
 * The blob's entries (regular files hashed), gunzipped unless its media type says uncompressed.
 * With `diffId`, the uncompressed tar must hash to it: the panel pairs a base's registry blobs with
 * the built image's layers by position, and a base tag moved since the build would pair wrongly.
 */
export function readRegistryLayerFiles(client: BlobOpener, repo: RepositoryRef, blob: LayerBlob, signal?: AbortSignal, diffId?: string): Promise<readonly LayerEntry[]> {
  const held = cache.get(blob.digest);
  if (held) return held;
  const read = (async () => {
    const stream = await client.openBlob(repo, blob.digest, { size: blob.size, ...(signal ? { signal } : {}) });
    // zstd layers are rare in pushed tags and Node has no stable zstd: say so in one line.
    if (blob.mediaType?.includes('zstd')) {
      stream.destroy();
      throw new Error(`layer ${blob.digest.slice(0, 19)} is zstd-compressed: its files cannot be listed`);
    }
    const plain = blob.mediaType !== undefined && /tar$/.test(blob.mediaType) && !/gzip/.test(blob.mediaType);
    const tarStream: Readable = plain ? stream : stream.pipe(createGunzip());
    if (!plain) stream.on('error', (error) => tarStream.destroy(error));
    const hash = diffId ? createHash('sha256') : undefined;
    if (hash) tarStream.on('data', (chunk: Buffer) => hash.update(chunk));
    const entries = await readTarEntries(tarStream);
    const got = hash ? `sha256:${hash.digest('hex')}` : undefined;
    if (got !== undefined && got !== diffId) {
      throw new Error(`the registry blob ${blob.digest.slice(0, 19)}… is not this layer (its content is ${got.slice(0, 19)}…, the image's layer ${diffId?.slice(0, 19) ?? ''}…): the base moved since the build`);
    }
    return entries;
  })();
  cache.set(blob.digest, read);
  // A failed read is not cached: the next ask tries again.
  read.catch(() => cache.delete(blob.digest));
  if (cache.size > maxCached) cache.delete(cache.keys().next().value as string);
  return read;
}

/** For tests: forget every cached blob. */
export function clearRegistryLayerFiles(): void {
  cache.clear();
}
