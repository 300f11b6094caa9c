// The typed error of everything that can go wrong reading a local image (an OCI layout, a
// `docker save` archive, or an image in the engine). Transport problems with the engine itself
// stay EngineErrors (engine/dockerHost.ts); both carry a stable `code` and a one-line message.
import { oneLine } from '../engine/dockerHost';

export type ImageSourceErrorCode =
  /** No such file, directory, tag or engine image. */
  | 'IMAGE_NOT_FOUND'
  /** The source holds several images and the spec did not say which (add a TAG). */
  | 'IMAGE_AMBIGUOUS'
  /** The layout or archive is malformed (bad JSON, missing entries, not a tar, not an image). */
  | 'SOURCE_INVALID'
  /** The file system refused (permissions, I/O errors). */
  | 'SOURCE_UNREADABLE'
  /** A layer the caller wants is not in the source (a layout without that blob, a truncated archive). */
  | 'LAYER_MISSING'
  /** A layer's uncompressed content does not hash to its diff_id. */
  | 'DIFF_ID_MISMATCH'
  /** A layer compressed in a way this Node cannot decompress (zstd before Node 22.15). */
  | 'UNSUPPORTED_COMPRESSION'
  /** onLayer returned without reading its layer stream to the end. */
  | 'LAYER_NOT_CONSUMED'
  | 'ABORTED';

/** A failure reading a local image. The message names the source, the problem and what to do. */
export class ImageSourceError extends Error {
  override readonly name = 'ImageSourceError';

  constructor(
    readonly code: ImageSourceErrorCode,
    message: string,
    /** The source as the user named it, e.g. `OCI layout ./out`. */
    readonly source: string,
    options: { cause?: unknown } = {},
  ) {
    super(oneLine(message), options.cause !== undefined ? { cause: options.cause } : undefined);
  }
}

export function isImageSourceError(value: unknown): value is ImageSourceError {
  return value instanceof ImageSourceError;
}

/** A file system error while reading `what` of `source`, as an ImageSourceError. */
export function fileError(error: unknown, source: string, what: string): ImageSourceError {
  if (error instanceof ImageSourceError) return error;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ImageSourceError('IMAGE_NOT_FOUND', `${source}: ${what} does not exist — check the path`, source, { cause: error });
  }
  const shown = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  return new ImageSourceError('SOURCE_UNREADABLE', `${source}: cannot read ${what} (${shown}) — check its permissions`, source, { cause: error });
}

/** `sha256:0123456789ab…` for messages and descriptions. */
export function shortId(digest: string): string {
  const colon = digest.indexOf(':');
  return `${digest.slice(0, colon + 1)}${digest.slice(colon + 1, colon + 13)}…`;
}
