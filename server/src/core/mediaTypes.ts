// Media types, descriptors and manifests of the OCI image spec (v1.1: manifest.md,
// image-index.md, descriptor.md, config.md) and of Docker Image Manifest V2 Schema 2, which
// registries and engines still serve side by side.
import { digestProblem } from './digest';

// OCI image-spec media-types.md.
export const OCI_IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_EMPTY_JSON = 'application/vnd.oci.empty.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_TAR_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
/** Deprecated by image-spec v1.1 but still found in Windows base images. */
export const OCI_LAYER_NONDISTRIBUTABLE_TAR = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
export const OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
export const OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd';

// Docker Image Manifest V2 Schema 2 (distribution docs/spec/manifest-v2-2.md); the uncompressed
// and zstd layer types are containerd's (core/images/mediatypes.go).
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST_V2 = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_IMAGE_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_TAR_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
export const DOCKER_LAYER_TAR_ZSTD = 'application/vnd.docker.image.rootfs.diff.tar.zstd';
export const DOCKER_FOREIGN_LAYER_TAR_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
export const DOCKER_FOREIGN_LAYER_TAR = 'application/vnd.docker.image.rootfs.foreign.diff.tar';
/** Schema 1, removed from Docker Hub and the engine; recognised only to refuse it clearly. */
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** Index entries BuildKit adds for provenance/SBOM attestations (buildkit docs/attestations). */
export const DOCKER_REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';
export const ATTESTATION_MANIFEST_TYPE = 'attestation-manifest';

/** What a manifest GET accepts: both index kinds first so multi-platform images stay whole. */
export const MANIFEST_ACCEPT: readonly string[] = [OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST_V2, OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_V2];
export const MANIFEST_ACCEPT_HEADER = MANIFEST_ACCEPT.join(', ');

export type IndexMediaType = typeof OCI_IMAGE_INDEX | typeof DOCKER_MANIFEST_LIST_V2;
export type ImageManifestMediaType = typeof OCI_IMAGE_MANIFEST | typeof DOCKER_MANIFEST_V2;

const LAYER_TYPES: ReadonlySet<string> = new Set([
  OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD,
  OCI_LAYER_NONDISTRIBUTABLE_TAR, OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP, OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD,
  DOCKER_LAYER_TAR_GZIP, DOCKER_LAYER_TAR, DOCKER_LAYER_TAR_ZSTD, DOCKER_FOREIGN_LAYER_TAR_GZIP, DOCKER_FOREIGN_LAYER_TAR,
]);
const FOREIGN_LAYER_TYPES: ReadonlySet<string> = new Set([
  OCI_LAYER_NONDISTRIBUTABLE_TAR, OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP, OCI_LAYER_NONDISTRIBUTABLE_TAR_ZSTD,
  DOCKER_FOREIGN_LAYER_TAR_GZIP, DOCKER_FOREIGN_LAYER_TAR,
]);

export function isIndexMediaType(mediaType: string | undefined): mediaType is IndexMediaType {
  return mediaType === OCI_IMAGE_INDEX || mediaType === DOCKER_MANIFEST_LIST_V2;
}

export function isImageManifestMediaType(mediaType: string | undefined): mediaType is ImageManifestMediaType {
  return mediaType === OCI_IMAGE_MANIFEST || mediaType === DOCKER_MANIFEST_V2;
}

export function isLayerMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && LAYER_TYPES.has(mediaType);
}

/** Layers a registry need not hold (their `urls` point elsewhere): never upload these by default. */
export function isForeignLayerMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && FOREIGN_LAYER_TYPES.has(mediaType);
}

export function isSchema1MediaType(mediaType: string | undefined): boolean {
  return mediaType === DOCKER_MANIFEST_V1 || mediaType === DOCKER_MANIFEST_V1_SIGNED;
}

/** A Content-Type header's media type: parameters dropped, lower-cased (RFC 9110 8.3.1). */
export function normalizeMediaType(contentType: string): string {
  return (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
}

/** OCI image-index.md / config.md platform object. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** OCI descriptor.md. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  /** Base64 of the content, embedded. */
  data?: string;
}

/** OCI manifest.md, also the shape of Docker schema 2. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** OCI image-index.md, also the shape of a Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The parts of OCI config.md (= Docker's image JSON) Layerlift reads. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'image'; mediaType: string; manifest: ImageManifest };

export class ManifestInvalidError extends Error {
  readonly code = 'MANIFEST_INVALID';
  constructor(readonly reason: string) {
    super(`invalid manifest: ${reason}`);
    this.name = 'ManifestInvalidError';
  }
}

type Json = Record<string, unknown>;

/**
 * Parses and validates manifest bytes from a registry or an engine. The media type comes from
 * the body's `mediaType` (the digested bytes are authoritative), else from the Content-Type
 * header, else from the shape (image-spec v1.0 made `mediaType` optional). Throws
 * ManifestInvalidError with a one-line reason.
 */
export function parseManifest(bytes: Uint8Array | string, contentTypeHeader?: string): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ManifestInvalidError('body is not valid UTF-8 JSON');
  }
  if (!isObject(body)) throw new ManifestInvalidError('body is not a JSON object');
  const header = contentTypeHeader === undefined ? undefined : normalizeMediaType(contentTypeHeader);
  const declared = body.mediaType;
  if (declared !== undefined && (typeof declared !== 'string' || declared === '')) throw new ManifestInvalidError('mediaType must be a non-empty string');
  if (body.schemaVersion === 1 || isSchema1MediaType(declared) || (declared === undefined && isSchema1MediaType(header))) {
    throw new ManifestInvalidError('Docker image manifest schema 1 is deprecated and not supported; rebuild or re-push the image with a current Docker');
  }
  if (body.schemaVersion !== 2) throw new ManifestInvalidError(`schemaVersion must be 2, got ${body.schemaVersion === undefined ? 'none' : JSON.stringify(body.schemaVersion)}`);

  let mediaType = declared;
  if (mediaType === undefined && (isIndexMediaType(header) || isImageManifestMediaType(header))) mediaType = header;
  if (mediaType === undefined && Array.isArray(body.manifests)) mediaType = OCI_IMAGE_INDEX;
  if (mediaType === undefined && (body.config !== undefined || body.layers !== undefined)) mediaType = OCI_IMAGE_MANIFEST;
  if (mediaType === undefined) throw new ManifestInvalidError('no mediaType, and the body has neither "manifests" nor "config"/"layers"');

  checkOptionalString(body, 'artifactType');
  if (body.subject !== undefined) checkDescriptor(body.subject, 'subject');
  checkAnnotations(body.annotations, 'annotations');

  if (isIndexMediaType(mediaType)) {
    // image-spec v1.1 "Guidance": an index carrying config/layers is ambiguous; refuse it.
    if (body.config !== undefined || body.layers !== undefined) throw new ManifestInvalidError(`${mediaType} must not contain "config" or "layers"`);
    if (!Array.isArray(body.manifests)) throw new ManifestInvalidError('index has no "manifests" array');
    body.manifests.forEach((d: unknown, i) => checkDescriptor(d, `manifests[${i}]`));
    return { kind: 'index', mediaType, index: body as unknown as ImageIndex };
  }
  if (isImageManifestMediaType(mediaType)) {
    if (body.manifests !== undefined) throw new ManifestInvalidError(`${mediaType} must not contain "manifests"`);
    checkDescriptor(body.config, 'config');
    if (!Array.isArray(body.layers)) throw new ManifestInvalidError('manifest has no "layers" array');
    body.layers.forEach((d: unknown, i) => checkDescriptor(d, `layers[${i}]`));
    return { kind: 'image', mediaType, manifest: body as unknown as ImageManifest };
  }
  throw new ManifestInvalidError(`unsupported manifest media type "${mediaType}"`);
}

/** descriptor.md: mediaType, digest and size are required; the rest typed when present. */
function checkDescriptor(value: unknown, where: string): void {
  if (!isObject(value)) throw new ManifestInvalidError(`${where} is not a descriptor object`);
  if (typeof value.mediaType !== 'string' || !/^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*$/.test(value.mediaType)) {
    throw new ManifestInvalidError(`${where}.mediaType is missing or not a media type`);
  }
  if (typeof value.digest !== 'string') throw new ManifestInvalidError(`${where}.digest is missing`);
  const problem = digestProblem(value.digest);
  if (problem !== undefined) throw new ManifestInvalidError(`${where}.digest "${value.digest.slice(0, 80)}" is invalid: ${problem}`);
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    throw new ManifestInvalidError(`${where}.size must be a non-negative integer`);
  }
  if (value.urls !== undefined && !isStringArray(value.urls)) throw new ManifestInvalidError(`${where}.urls must be an array of strings`);
  checkAnnotations(value.annotations, `${where}.annotations`);
  checkOptionalString(value, 'artifactType', where);
  checkOptionalString(value, 'data', where);
  if (value.platform !== undefined) checkPlatform(value.platform, `${where}.platform`);
}

function checkPlatform(value: unknown, where: string): void {
  if (!isObject(value)) throw new ManifestInvalidError(`${where} is not an object`);
  if (typeof value.os !== 'string' || typeof value.architecture !== 'string') {
    throw new ManifestInvalidError(`${where} needs string "os" and "architecture"`);
  }
  checkOptionalString(value, 'variant', where);
  checkOptionalString(value, 'os.version', where);
  if (value['os.features'] !== undefined && !isStringArray(value['os.features'])) {
    throw new ManifestInvalidError(`${where}.os.features must be an array of strings`);
  }
}

function checkAnnotations(value: unknown, where: string): void {
  if (value === undefined) return;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new ManifestInvalidError(`${where} must map strings to strings`);
  }
}

function checkOptionalString(object: Json, key: string, where?: string): void {
  if (object[key] !== undefined && typeof object[key] !== 'string') {
    throw new ManifestInvalidError(`${where !== undefined ? `${where}.` : ''}${key} must be a string`);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
