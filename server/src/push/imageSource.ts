// Opening the local image a push sends, from wherever it is:
//   oci:DIR[:TAG]              an OCI image layout (ociLayoutSource.ts)
//   docker-archive:FILE[:TAG]  a `docker save` archive, plain or gzip/zstd-compressed (dockerArchiveSource.ts)
//   docker-daemon:REF, or REF  an image in the Docker engine, by reference or id (engineSource.ts)
// Errors are ImageSourceErrors (sourceErrors.ts), or EngineErrors when the engine cannot be
// reached; both have a stable `code` and a one-line message naming the source and what to do.
import { stat } from 'node:fs/promises';
import { DockerEngineClient } from '../engine/engineClient';
import { openDockerArchive } from './dockerArchiveSource';
import { openEngineImage } from './engineSource';
import { openOciLayout } from './ociLayoutSource';
import type { LocalImage } from './localImage';
import { ImageSourceError } from './sourceErrors';

export type { LocalImage, LocalLayer } from './localImage';
export type { OnLayer } from './layerStreams';
export { ImageSourceError, isImageSourceError, type ImageSourceErrorCode } from './sourceErrors';

export interface OpenLocalImageOptions {
  /** The engine to read engine images from; left open by close(). Default: one of our own,
   *  resolved from `env`, closed by close(). */
  engine?: DockerEngineClient;
  /** For resolving the engine (DOCKER_HOST, DOCKER_CONTEXT…). Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

export async function openLocalImage(spec: string, options: OpenLocalImageOptions = {}): Promise<LocalImage> {
  if (spec.startsWith('oci:')) {
    const { path, tag } = await splitPathSpec(spec.slice('oci:'.length), 'oci:DIR[:TAG]', spec);
    return openOciLayout(path, tag);
  }
  if (spec.startsWith('docker-archive:')) {
    const { path, tag } = await splitPathSpec(spec.slice('docker-archive:'.length), 'docker-archive:FILE[:TAG]', spec);
    return openDockerArchive(path, tag);
  }
  const ref = spec.startsWith('docker-daemon:') ? spec.slice('docker-daemon:'.length) : spec;
  if (ref.trim() === '') {
    throw new ImageSourceError('IMAGE_NOT_FOUND', 'no image named — give an image reference, oci:DIR[:TAG] or docker-archive:FILE[:TAG]', spec);
  }
  const engine = options.engine ?? new DockerEngineClient({ env: options.env ?? process.env });
  return openEngineImage(ref, engine, options.engine === undefined);
}

/**
 * PATH[:TAG]: the whole text when that path exists, else the longest existing path before a
 * colon (tags and references may hold colons themselves: app.tar:localhost:5000/app:1).
 */
export async function splitPathSpec(rest: string, form: string, spec: string): Promise<{ path: string; tag?: string }> {
  if (rest === '') throw new ImageSourceError('IMAGE_NOT_FOUND', `"${spec}" names no path — use ${form}`, spec);
  const exists = (path: string) => stat(path).then(() => true, () => false);
  if (await exists(rest)) return { path: rest };
  for (let colon = rest.lastIndexOf(':'); colon > 0; colon = rest.lastIndexOf(':', colon - 1)) {
    const path = rest.slice(0, colon);
    if (await exists(path)) {
      const tag = rest.slice(colon + 1);
      return tag === '' ? { path } : { path, tag };
    }
  }
  return { path: rest };
}
