// Why a layer compression (compressLayer.ts) did not produce a blob, as one-line typed errors.
import type { FromWorker, WorkerFailureCode } from './compressMessages';

export type LayerCompressErrorCode =
  | 'DIFF_ID_MISMATCH'
  | 'INVALID_DIFF_ID'
  | 'INVALID_OPTIONS'
  | 'UNSUPPORTED_COMPRESSION'
  | 'ABORTED'
  | 'CLOSED'
  | 'INPUT_FAILED'
  | 'WRITE_FAILED'
  | 'WORKER_FAILED';

/** A compression that did not produce a blob. `code` is stable; the message is one line. */
export class LayerCompressError extends Error {
  override readonly name = 'LayerCompressError';
  readonly code: LayerCompressErrorCode;
  /** DIFF_ID_MISMATCH: the diff_id the layer was expected to have. */
  readonly expectedDiffId: string | undefined;
  /** DIFF_ID_MISMATCH: the sha256 of the bytes actually read. */
  readonly actualDiffId: string | undefined;
  /** WRITE_FAILED: the file system's error code (ENOSPC, EACCES...), when there was one. */
  readonly errno: string | undefined;

  constructor(
    code: LayerCompressErrorCode,
    message: string,
    extra: { cause?: unknown; expectedDiffId?: string; actualDiffId?: string; errno?: string } = {},
  ) {
    super(message.replace(/\s+/g, ' ').trim(), extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.expectedDiffId = extra.expectedDiffId;
    this.actualDiffId = extra.actualDiffId;
    this.errno = extra.errno;
  }
}

export function isLayerCompressError(value: unknown): value is LayerCompressError {
  return value instanceof LayerCompressError;
}

/** A task's answer from its worker, or the worker's death. */
export type Outcome = Extract<FromWorker, { type: 'done' }> | { type: 'failed'; code: WorkerFailureCode | 'WORKER_FAILED'; message: string; actualDiffId?: string; errno?: string };

export function fromOutcome(outcome: Extract<Outcome, { type: 'failed' }>, expectedDiffId: string): LayerCompressError {
  switch (outcome.code) {
    case 'DIFF_ID_MISMATCH':
      return new LayerCompressError('DIFF_ID_MISMATCH', outcome.message, { expectedDiffId, actualDiffId: outcome.actualDiffId });
    case 'ABORTED':
      return new LayerCompressError('ABORTED', outcome.message);
    case 'WRITE_FAILED':
      return new LayerCompressError('WRITE_FAILED', outcome.message, { errno: outcome.errno });
    case 'WORKER_FAILED':
      return new LayerCompressError('WORKER_FAILED', outcome.message);
  }
}

export function abortedError(signal: AbortSignal | undefined): LayerCompressError {
  const reason: unknown = signal?.reason;
  const detail = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new LayerCompressError('ABORTED', `layer compression aborted${detail}`, { cause: reason });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
