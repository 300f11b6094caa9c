// Which mover sends a push (mover.ts), decided before anything is opened. Pure.
//   engine     the engine's own push: the default for engine images (it reads its own layer
//              store and remembers what it pushed, so later plain `docker push`es stay fast)
//   layerlift  Layerlift's uploader: image files (no engine holds them), and what only it does
//              (zstd, resumable uploads)
// X-Registry-Auth carries the user's login to the engine, so the engine uploader is only used
// where that header cannot be read on the way: a unix socket, or TLS.
import type { UploaderChoice, UploaderKind } from './mover';

export interface UploaderFacts {
  /** oci:DIR or docker-archive:FILE. */
  imageFile: boolean;
  compression: 'gzip' | 'zstd';
  /** How the engine is reached (undefined for image files). */
  engineTransport?: { kind: 'unix' } | { kind: 'tcp'; tls: boolean; loopback: boolean; url: string };
}

export type UploaderDecision = { uploader: UploaderKind; note?: string } | { refused: string };

export function chooseUploader(choice: UploaderChoice, facts: UploaderFacts): UploaderDecision {
  const auto = choice === 'auto';
  if (facts.imageFile) {
    return auto || choice === 'layerlift' ? { uploader: 'layerlift' } : { refused: '--uploader engine pushes images in a Docker or Podman engine; an image file goes with --uploader layerlift (or auto)' };
  }
  if (choice === 'layerlift') return { uploader: 'layerlift' };
  if (facts.compression === 'zstd') {
    return auto ? { uploader: 'layerlift', note: 'zstd: Layerlift uploads this push itself (the engine pushes gzip)' } : { refused: '--compression zstd needs --uploader layerlift: the engine pushes gzip' };
  }
  const transport = facts.engineTransport;
  if (transport?.kind === 'tcp' && !transport.tls && !transport.loopback) {
    const why = `the engine at ${transport.url} is reached over plain TCP, which would carry your registry login in the clear`;
    return auto ? { uploader: 'layerlift', note: `${why}: Layerlift uploads this push itself` } : { refused: `${why} — use TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), a unix socket, or --uploader layerlift` };
  }
  return { uploader: 'engine' };
}
