// What a push reads from a local image, whatever holds it (imageSource.ts opens one).
import type { Readable } from 'node:stream';
import type { OnLayer } from './layerStreams';
import { ImageSourceError } from './sourceErrors';

export interface LocalLayer {
  /** sha256 of the uncompressed tar (from the config). */
  diffId: string;
  /** When the source already holds this layer compressed (OCI layout, or docker-archive of an
   *  OCI-style save): the blob, byte for byte. In an OCI layout this is whatever blob the manifest
   *  names, so `mediaType` may also be a plain tar. */
  compressed?: { digest: string; size: number; mediaType: string; open(offset: number): Promise<Readable>; /** The blob is this whole file (an OCI layout's blob). */ file?: string };
}

export interface LocalImage {
  /** e.g. 'engine image 127.0.0.1:5000/team/app:1 (sha256:abcd…)' */
  description: string;
  /** The exact config bytes; sha256 = configDigest. */
  config: Buffer;
  configDigest: string;
  /** In rootfs.diff_ids order. */
  layers: LocalLayer[];
  /** Engine only: e.g. ['127.0.0.1:5000/library/base@sha256:…']. */
  repoDigests: string[];
  platform: { os: string; architecture: string; variant?: string };
  /**
   * Streams the UNCOMPRESSED tar of each wanted layer (by diffId), calling onLayer for each and
   * awaiting it before the next; layers not wanted are skipped without buffering (bounded memory).
   * The caller must consume each stream to its end. Each stream is verified against its diffId
   * (sha256 while streaming; an error at the end on mismatch, DIFF_ID_MISMATCH).
   *
   * Order: image order for sources with random access (OCI layouts, docker-archive files); the
   * order of the archive for the engine and for compressed archives (a `docker save` stream is
   * sorted by path, so that order is unrelated to the image's: see streamedArchive.ts). A layer
   * that appears twice in the image is delivered once. A wanted diffId that is not one of the
   * image's is an error (LAYER_MISSING).
   */
  readLayers(wanted: ReadonlySet<string>, onLayer: OnLayer, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The wanted diff_ids, in image order, each once; throws LAYER_MISSING for strangers. */
export function wantedInOrder(diffIds: readonly string[], wanted: ReadonlySet<string>, source: string): string[] {
  const known = new Set(diffIds);
  for (const diffId of wanted) {
    if (!known.has(diffId)) {
      throw new ImageSourceError('LAYER_MISSING', `${source}: layer ${diffId} is not part of this image — ask only for the image's own diff_ids`, source);
    }
  }
  return [...new Set(diffIds.filter((diffId) => wanted.has(diffId)))];
}

export function closedError(source: string): ImageSourceError {
  return new ImageSourceError('SOURCE_INVALID', `${source}: the image was closed — open it again to read layers`, source);
}
