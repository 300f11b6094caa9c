// The movers: what sends the blobs a push plan leaves to upload, then the config and the
// manifest. Two implement this one interface — the engine's own push (engineUploader.ts) and
// Layerlift's uploader (ownUploader.ts) — so the CLI, the editor and the bench take the same
// plan and read the same events whichever ran.
import type { FindConfig } from './configAhead';
import type { ImageReference } from '../core/reference';
import type { Platform } from '../core/mediaTypes';
import type { LocalLayer } from './localImage';
import type { PushPlan } from './plan';

export type UploaderKind = 'engine' | 'layerlift';
export type UploaderChoice = UploaderKind | 'auto';

/** What a push sends: a local image, as far as planning needs to know it. */
export interface PushSubject {
  description: string;
  configDigest: string;
  /** Bytes of the config; undefined where only the engine holds it (engine uploader). */
  configSize?: number;
  layers: LocalLayer[];
  repoDigests: string[];
  platform: Platform;
}

export type PushEvent =
  | { type: 'plan'; plan: PushPlan }
  | { type: 'prepush-start'; strategy: 'runner' | 'local'; source: string; target: string }
  | { type: 'prepush-done'; seconds: number }
  /** `digest` names the blob; the engine uploader names a layer by its diff_id until its blob is known. */
  | { type: 'blob-start'; digest: string; size: number; action: string }
  | { type: 'blob-progress'; digest: string; committed: number; size: number }
  | { type: 'blob-done'; digest: string; size: number; action: string; bytesSent: number }
  | { type: 'manifest'; digest: string; reference: string };

export interface PushedBlob {
  digest: string;
  size: number;
  action: 'exists' | 'mount' | 'prepush' | 'upload';
  from?: string;
  bytesSent: number;
}

export interface SentBlob extends PushedBlob {
  mediaType: string;
}

export interface MoveRequest {
  subject: PushSubject;
  plan: PushPlan;
  target: ImageReference;
  concurrency: number;
  chunkSize?: number;
  /** Digests the plan's HEADs found missing from the target repository moments ago: the mover
   *  sends them without asking the registry again (one round trip per blob saved). */
  absent?: ReadonlySet<string>;
  /** Digests mounted into the target while the plan was made (mountAhead.ts): reported as the
   *  plan's mounts, not asked for again. */
  mounted?: ReadonlySet<string>;
  /** Base configs by image id: what the push read, and the cache of earlier pushes' (configAhead.ts). */
  findConfig?: FindConfig;
  signal?: AbortSignal;
  onEvent?: (event: PushEvent) => void;
  /** Things the user should hear about that did not stop the push. */
  warnings: string[];
}

export interface MovedImage {
  /** The manifest the target tag now points at. */
  digest: string;
  /** Per layer, in image order: the blob the manifest references and how it got there. */
  blobs: SentBlob[];
  /** Bytes of the config the mover sent (0 when the registry had it). */
  configBytesSent: number;
}

export interface Mover {
  readonly kind: UploaderKind;
  /** Gets ready for a push to `target` while the plan is made (the engine: its tag for the push). */
  prepare?(target: ImageReference, signal?: AbortSignal): void;
  /** Undoes prepare when the push stops before move (a plan that failed). */
  discard?(): Promise<void>;
  move(request: MoveRequest): Promise<MovedImage>;
}
