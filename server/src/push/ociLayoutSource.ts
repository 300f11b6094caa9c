// An OCI image layout on disk (image-spec image-layout.md: oci-layout, index.json, blobs/<alg>/<hex>)
// as a LocalImage. The tag is matched against the `org.opencontainers.image.ref.name` annotation of
// index.json's entries; an index (multi-platform) resolves to the host platform, as `docker pull`
// would. Every blob read into memory is verified against its descriptor; layer blobs are streamed.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DigestMismatchError, verifyDigest } from '../core/digest';
import {
  DOCKER_IMAGE_CONFIG,
  ManifestInvalidError,
  OCI_IMAGE_CONFIG,
  parseManifest,
  type Descriptor,
  type ImageManifest,
} from '../core/mediaTypes';
import { hostPlatform, PlatformNotFoundError, selectManifest } from '../core/platform';
import { MAX_METADATA_BYTES, parseImageConfig } from './archiveManifest';
import { compressionOfMediaType, deliverLayer, type Compression } from './layerStreams';
import { closedError, wantedInOrder, type LocalImage, type LocalLayer } from './localImage';
import { fileError, ImageSourceError, shortId } from './sourceErrors';

const REF_NAME = 'org.opencontainers.image.ref.name';
/** Nested indexes followed before giving up. */
const MAX_INDEX_DEPTH = 4;

interface LayoutLayer {
  diffId: string;
  path: string;
  descriptor: Descriptor;
  compression: Compression;
  present: boolean;
}

export async function openOciLayout(dir: string, tag: string | undefined): Promise<LocalImage> {
  const source = `OCI layout ${dir}${tag !== undefined ? `:${tag}` : ''}`;
  const invalid = (why: string) => new ImageSourceError('SOURCE_INVALID', `${source}: ${why}`, source);
  const info = await stat(dir).catch((error: unknown) => {
    throw fileError(error, source, `directory ${dir}`);
  });
  if (!info.isDirectory()) throw invalid(`${dir} is not a directory — an OCI layout is a directory with index.json and blobs/`);

  const indexBytes = await readSmallFile(join(dir, 'index.json'), source).catch((error: unknown) => {
    if (error instanceof ImageSourceError && error.code === 'IMAGE_NOT_FOUND') {
      throw invalid('no index.json: not an OCI image layout — write one with "skopeo copy … oci:DIR:TAG" or "docker buildx build --output type=oci,tar=false"');
    }
    throw error;
  });
  const top = parseOrFail(indexBytes, undefined, 'index.json', source);
  if (top.kind !== 'index') throw invalid('index.json is an image manifest, not an index — check the layout');

  // The entry the spec names.
  const entries = top.index.manifests;
  const tagOf = (d: Descriptor) => d.annotations?.[REF_NAME];
  const tags = [...new Set(entries.map(tagOf).filter((t): t is string => t !== undefined))];
  const listed = tags.length > 0 ? tags.join(', ') : 'none';
  const candidates = tag === undefined ? entries : entries.filter((d) => tagOf(d) === tag);
  if (candidates.length === 0) {
    if (tag === undefined) throw invalid('index.json lists no image — check the layout');
    throw new ImageSourceError('IMAGE_NOT_FOUND', `${source}: no image tagged "${tag}" in the layout (tags: ${listed}) — check the tag`, source);
  }
  let descriptor: Descriptor;
  const only = candidates[0];
  if (candidates.length === 1 && only) descriptor = only;
  else if (candidates.every((d) => d.platform !== undefined)) descriptor = selectPlatform({ manifests: candidates }, source);
  else {
    throw new ImageSourceError('IMAGE_AMBIGUOUS', `${source}: the layout holds ${candidates.length} images (tags: ${listed}) — name one as oci:DIR:TAG`, source);
  }

  // Down through indexes to the image manifest.
  let manifest: ImageManifest | undefined;
  for (let depth = 0; manifest === undefined; depth++) {
    if (depth > MAX_INDEX_DEPTH) throw invalid(`indexes nested more than ${MAX_INDEX_DEPTH} deep — check the layout`);
    const parsed = parseOrFail(await readBlob(dir, descriptor, source), descriptor.mediaType, `manifest ${descriptor.digest}`, source);
    if (parsed.kind === 'index') descriptor = selectPlatform(parsed.index, source);
    else manifest = parsed.manifest;
  }
  const configType = manifest.config.mediaType;
  if (configType !== OCI_IMAGE_CONFIG && configType !== DOCKER_IMAGE_CONFIG) {
    throw invalid(`manifest ${descriptor.digest} is not a container image (config media type "${configType}") — push artifacts with oras`);
  }
  const config = await readBlob(dir, manifest.config, source);
  const facts = parseImageConfig(config, source);
  if (facts.diffIds.length !== manifest.layers.length) {
    throw invalid(`the manifest has ${manifest.layers.length} layers but the config ${facts.diffIds.length} diff_ids — the image is corrupt`);
  }

  const layouts: LayoutLayer[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    const compression = compressionOfMediaType(layer.mediaType);
    if (compression === undefined) throw invalid(`layer ${i} has media type "${layer.mediaType}", which is not an image layer`);
    const path = blobPath(dir, layer.digest);
    const size = await stat(path).then((s) => (s.isFile() ? s.size : -1), () => undefined);
    if (size !== undefined && size !== layer.size) {
      throw invalid(`blob ${layer.digest} is ${size} bytes, the manifest says ${layer.size} — the layout is corrupt`);
    }
    layouts.push({ diffId: facts.diffIds[i] ?? '', path, descriptor: layer, compression, present: size !== undefined });
  }

  const layers = layouts.map((l): LocalLayer => {
    if (!l.present) return { diffId: l.diffId };
    const { digest, size, mediaType } = l.descriptor;
    return { diffId: l.diffId, compressed: { digest, size, mediaType, file: l.path, open: (offset) => openRange(l.path, offset, size, source) } };
  });
  let closed = false;
  const description = `OCI layout ${dir}${tag !== undefined ? `:${tag}` : ''} (${shortId(manifest.config.digest)})`;
  return {
    description,
    config,
    configDigest: manifest.config.digest,
    layers,
    repoDigests: [],
    platform: facts.platform.os !== '' ? facts.platform : { os: descriptor.platform?.os ?? '', architecture: descriptor.platform?.architecture ?? '' },
    async readLayers(wanted, onLayer, signal) {
      if (closed) throw closedError(description);
      for (const diffId of wantedInOrder(facts.diffIds, wanted, description)) {
        const layer = layouts.find((l) => l.diffId === diffId);
        if (!layer?.present) {
          throw new ImageSourceError('LAYER_MISSING', `${description}: blob ${layer?.descriptor.digest ?? diffId} of layer ${diffId} is not in the layout — copy the image with all its blobs`, description);
        }
        await deliverLayer({ source: description, diffId, input: createReadStream(layer.path), compression: layer.compression, onLayer, signal });
      }
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

function blobPath(dir: string, digest: string): string {
  const colon = digest.indexOf(':');
  return join(dir, 'blobs', digest.slice(0, colon), digest.slice(colon + 1));
}

function parseOrFail(bytes: Buffer, mediaType: string | undefined, what: string, source: string) {
  try {
    return parseManifest(bytes, mediaType);
  } catch (error) {
    if (error instanceof ManifestInvalidError) {
      throw new ImageSourceError('SOURCE_INVALID', `${source}: ${what} is invalid (${error.reason}) — check the layout`, source, { cause: error });
    }
    throw error;
  }
}

function selectPlatform(index: { manifests: Descriptor[] }, source: string): Descriptor {
  try {
    return selectManifest({ schemaVersion: 2, manifests: index.manifests }, hostPlatform());
  } catch (error) {
    if (error instanceof PlatformNotFoundError) {
      throw new ImageSourceError('IMAGE_NOT_FOUND', `${source}: ${error.message} — name a single-platform tag`, source, { cause: error });
    }
    throw error;
  }
}

/** A metadata blob, verified against its descriptor (size first, then digest). */
async function readBlob(dir: string, descriptor: Descriptor, source: string): Promise<Buffer> {
  const what = `blob ${descriptor.digest}`;
  if (descriptor.size > MAX_METADATA_BYTES) {
    throw new ImageSourceError('SOURCE_INVALID', `${source}: ${what} is ${descriptor.size} bytes, too big for a manifest or config — check the layout`, source);
  }
  const bytes = await readSmallFile(blobPath(dir, descriptor.digest), source).catch((error: unknown) => {
    if (error instanceof ImageSourceError && error.code === 'IMAGE_NOT_FOUND') {
      throw new ImageSourceError('SOURCE_INVALID', `${source}: ${what} is missing from blobs/ — the layout is incomplete`, source);
    }
    throw error;
  });
  try {
    if (bytes.length !== descriptor.size) throw new DigestMismatchError(`${descriptor.size} bytes`, `${bytes.length} bytes`);
    verifyDigest(bytes, descriptor.digest);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ImageSourceError('SOURCE_INVALID', `${source}: ${what} is corrupt (${why}) — copy the image into the layout again`, source, { cause: error });
  }
  return bytes;
}

async function readSmallFile(path: string, source: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size > MAX_METADATA_BYTES) {
      throw new ImageSourceError('SOURCE_INVALID', `${source}: ${path} is ${size} bytes, too big for image metadata — check the layout`, source);
    }
    return await handle.readFile();
  } catch (error) {
    throw fileError(error, source, path);
  } finally {
    await handle?.close();
  }
}

/** The blob from `offset` on. */
export function openRange(path: string, offset: number, size: number, source: string): Promise<Readable> {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
    return Promise.reject(new RangeError(`${source}: offset ${offset} is outside the blob's ${size} bytes`));
  }
  return Promise.resolve(createReadStream(path, { start: offset }));
}
