// Deterministic fixture images as OCI image layouts (oci-layout, index.json, blobs/sha256/…),
// and pushing them into a registry with skopeo — an independent, real client — so that tests
// of our own push code start from a registry state that our code did not produce.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from './process';
import { run } from './dockerEngine';
import { layerBlob, type LayerSpec } from './fixturesLayers';

export { fixtureCacheDir, randomBlob, seededChunks, writeBusyboxRootfsTar, type LayerSpec } from './fixturesLayers';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType: typeof OCI_MANIFEST;
  config: Descriptor;
  layers: Descriptor[];
}

export interface FixtureSpec {
  layers: LayerSpec[];
  /** The layout ref name (org.opencontainers.image.ref.name); default 'latest'. */
  tag?: string;
  /** Platform of a single-platform image; default linux/amd64. */
  platform?: Platform;
  /** Make an image index for linux/amd64 + linux/arm64 instead of a single manifest. Both
   *  platforms share the layers (the arm64 one is not runnable: it only differs in config). */
  multiPlatform?: boolean;
  /** Extra text that goes into the config (e.g. to make two images with equal layers differ). */
  label?: string;
}

export interface FixtureLayer {
  digest: string;
  size: number;
  diffId: string;
  mediaType: string;
}

export interface FixtureImage {
  layoutDir: string;
  tag: string;
  /** Digest of what the tag points at: the manifest, or the index when multiPlatform. */
  manifestDigest: string;
  mediaType: string;
  /** The (first platform's) image manifest and its config. */
  manifest: OciManifest;
  configDigest: string;
  layers: FixtureLayer[];
  /** Sum of the layers' (compressed) sizes. */
  layerBytes: number;
  /** Sum of every distinct blob the tag reaches: layers, configs, manifests, index. */
  totalSize: number;
  /** For multiPlatform images: the index and each platform's manifest. */
  index?: { digest: string; json: string; manifests: { platform: Platform; digest: string; configDigest: string }[] };
}

const LINUX_AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const LINUX_ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const EPOCH = '1970-01-01T00:00:00Z';

function digestOf(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Writes one blob into the layout (no-op if present) and returns its descriptor. */
async function putBlob(layoutDir: string, mediaType: string, data: string): Promise<Descriptor> {
  const digest = digestOf(data);
  const path = join(layoutDir, 'blobs', 'sha256', digest.slice(7));
  await writeFile(path, data, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return { mediaType, digest, size: Buffer.byteLength(data) };
}

/** Places a cached layer blob into the layout: a hard link when possible (instant even for
 *  1 GB), else a copy (reflink where the filesystem can). */
async function placeLayer(layoutDir: string, source: string, digest: string): Promise<void> {
  const target = join(layoutDir, 'blobs', 'sha256', digest.slice(7));
  if (await stat(target).then(() => true, () => false)) return;
  await link(source, target).catch(() => copyFile(source, target, constants.COPYFILE_FICLONE));
}

function configJson(platform: Platform, layers: FixtureLayer[], spec: FixtureSpec): string {
  // Key order is fixed by construction, so the config digest is stable.
  const config = {
    created: EPOCH,
    architecture: platform.architecture,
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
    os: platform.os,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      ...(spec.label !== undefined ? { Labels: { 'layerlift.fixture': spec.label } } : {}),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: spec.layers.map((layer) => ({
      created: EPOCH,
      created_by:
        layer.kind === 'busybox'
          ? 'layerlift fixture: busybox-static rootfs'
          : `layerlift fixture: ${layer.bytes} ${layer.compressible ? 'compressible' : 'random'} bytes, seed ${String(layer.seed)}`,
    })),
  };
  return JSON.stringify(config);
}

/** Adds or replaces the tag's entry in the layout's index.json. */
async function tagInLayout(layoutDir: string, tag: string, descriptor: Descriptor): Promise<void> {
  const indexPath = join(layoutDir, 'index.json');
  let index: { schemaVersion: 2; mediaType?: string; manifests: Descriptor[] } = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [],
  };
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8')) as typeof index;
  } catch {
    // new layout
  }
  const refName = 'org.opencontainers.image.ref.name';
  index.manifests = index.manifests.filter((entry) => entry.annotations?.[refName] !== tag);
  index.manifests.push({ ...descriptor, annotations: { [refName]: tag } });
  await writeFile(indexPath, JSON.stringify(index, null, 2));
}

/**
 * Writes the image described by `spec` into the OCI layout at `dir` (created if needed; an
 * existing layout keeps its other tags, so several images can share one layout and its blobs).
 * Layer blobs come from the shared cache, so the same spec always yields the same digests.
 */
export async function writeFixtureImage(dir: string, spec: FixtureSpec): Promise<FixtureImage> {
  const tag = spec.tag ?? 'latest';
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const layers: FixtureLayer[] = [];
  for (const layerSpec of spec.layers) {
    const blob = await layerBlob(layerSpec);
    await placeLayer(dir, blob.path, blob.digest);
    layers.push({ digest: blob.digest, size: blob.size, diffId: blob.diffId, mediaType: OCI_LAYER_GZIP });
  }
  const layerBytes = layers.reduce((sum, layer) => sum + layer.size, 0);
  const distinctLayerBytes = [...new Map(layers.map((layer) => [layer.digest, layer.size])).values()].reduce(
    (sum, size) => sum + size,
    0,
  );

  const platforms = spec.multiPlatform ? [LINUX_AMD64, LINUX_ARM64] : [spec.platform ?? LINUX_AMD64];
  const perPlatform: { platform: Platform; manifest: OciManifest; descriptor: Descriptor; config: Descriptor }[] = [];
  let metadataBytes = 0;
  for (const platform of platforms) {
    const config = await putBlob(dir, OCI_CONFIG, configJson(platform, layers, spec));
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    };
    const descriptor = await putBlob(dir, OCI_MANIFEST, JSON.stringify(manifest));
    metadataBytes += config.size + descriptor.size;
    perPlatform.push({ platform, manifest, descriptor, config });
  }
  const first = perPlatform[0];
  if (!first) throw new Error('no platform');

  let top = first.descriptor;
  let index: FixtureImage['index'];
  if (spec.multiPlatform) {
    const json = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: perPlatform.map(({ descriptor, platform }) => ({ ...descriptor, platform })),
    });
    top = await putBlob(dir, OCI_INDEX, json);
    metadataBytes += top.size;
    index = {
      digest: top.digest,
      json,
      manifests: perPlatform.map(({ platform, descriptor, config }) => ({
        platform,
        digest: descriptor.digest,
        configDigest: config.digest,
      })),
    };
  }
  await tagInLayout(dir, tag, top);
  return {
    layoutDir: dir,
    tag,
    manifestDigest: top.digest,
    mediaType: top.mediaType,
    manifest: first.manifest,
    configDigest: first.config.digest,
    layers,
    layerBytes,
    totalSize: distinctLayerBytes + metadataBytes,
    ...(index ? { index } : {}),
  };
}

export interface SeedOptions {
  /** Registry credentials (basic auth, or the token flow that skopeo follows by itself). */
  creds?: { username: string; password: string };
  /** Destination tag; default: the layout tag. */
  destTag?: string;
}

/**
 * `skopeo copy --all --preserve-digests oci:LAYOUT:TAG docker://HOST/REPO:TAG` over plain HTTP.
 * skopeo runs with a temp HOME, auth file and signature policy, so it neither reads nor writes
 * the user's container config.
 */
export async function seedImage(
  layoutDir: string,
  tag: string,
  registryHost: string,
  repo: string,
  options: SeedOptions = {},
): Promise<void> {
  await skopeo([
    'copy', '--all', '--preserve-digests', '--dest-tls-verify=false',
    ...(options.creds ? ['--dest-creds', `${options.creds.username}:${options.creds.password}`] : []),
    `oci:${layoutDir}:${tag}`,
    `docker://${registryHost}/${repo}:${options.destTag ?? tag}`,
  ]);
}

/** Runs skopeo with an isolated HOME, auth file and an accept-anything signature policy. */
export async function skopeo(args: string[]): Promise<string> {
  const home = await makeTempDir('skopeo');
  try {
    const authFile = join(home.path, 'auth.json');
    const policy = join(home.path, 'policy.json');
    await writeFile(authFile, '{"auths":{}}');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const result = await run('skopeo', ['--policy', policy, ...args], {
      env: { ...process.env, HOME: home.path, REGISTRY_AUTH_FILE: authFile, XDG_RUNTIME_DIR: home.path },
    });
    return result.stdout;
  } finally {
    await home.remove();
  }
}
