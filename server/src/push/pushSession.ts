// One push (or plan) from a spec, wired the same way for the CLI and the language server: which
// mover (chooseUploader.ts), the image opened as that mover needs it (the engine uploader needs
// only the engine's inspect; Layerlift's uploader reads the layers), base candidates found lazily,
// and everything opened here closed again, whatever fails.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isLoopbackRegistry, type ImageReference } from '../core/reference';
import { defaultRetryPolicy } from '../registry/retryInterceptor';
import { RegistryClient } from '../registry/registryClient';
import type { CredentialSource } from '../registry/credentials';
import { DockerEngineClient, type ResolvedHost } from '../engine/engineClient';
import { describeHost } from '../engine/dockerHost';
import { openLocalImage, type LocalImage } from './imageSource';
import { timing } from '../core/timing';
import { openEngineExport } from './engineSource';
import { ImageSourceError, shortId } from './sourceErrors';
import { LayerCompressor } from './compressLayer';
import { LayerIndex } from './layerIndex';
import { asCacheFullError, cacheDirectory } from './cacheDirectory';
import { findEngineBaseCandidates } from './findBase';
import { chooseUploader, type UploaderFacts } from './chooseUploader';
import { EngineUploader } from './engineUploader';
import { OwnUploader } from './ownUploader';
import { pushImage, type PushOptions, type PushResult } from './pushImage';
import { pushScopes } from './pushFacts';
import type { Mover, PushSubject, UploaderChoice } from './mover';
import { ConfigCache } from './configCache';

export interface PushSessionRequest extends Omit<PushOptions, 'base'> {
  /** REF or docker-daemon:REF (an engine image), oci:DIR[:TAG], docker-archive:FILE[:TAG]. */
  image: string;
  base?: ImageReference;
  uploader?: UploaderChoice;
  compression?: 'gzip' | 'zstd';
  compressionLevel?: number;
}

export interface PushSessionDeps {
  client: RegistryClient;
  credentials: CredentialSource;
  insecureRegistries: readonly string[];
  /** Resolves the engine (DOCKER_HOST, contexts) and the cache directory. */
  env: NodeJS.ProcessEnv;
  /** The cache's environment when it differs from the engine's (the editor's settings). */
  cacheEnv?: NodeJS.ProcessEnv;
  /** An engine client to use (left open); default: one of our own, closed at the end. */
  engine?: DockerEngineClient;
}

export class UploaderRefused extends Error {
  readonly code = 'UPLOADER_REFUSED';
}

export async function runPushSession(request: PushSessionRequest, deps: PushSessionDeps): Promise<PushResult> {
  const cacheEnv = deps.cacheEnv ?? deps.env;
  const imageFile = /^(oci|docker-archive):/.test(request.image);
  const engine = imageFile ? undefined : (deps.engine ?? new DockerEngineClient({ env: deps.env }));
  const closers: (() => Promise<unknown>)[] = [];
  if (engine && !deps.engine) closers.push(() => engine.close());
  const probeClient = new RegistryClient({
    credentials: deps.credentials,
    insecureRegistries: deps.insecureRegistries,
    userAgent: 'layerlift/0.1',
    // A base candidate in a registry that is gone must cost little: one quick retry, short waits.
    retryPolicy: { ...defaultRetryPolicy, maxRetries: 1, maxDelayMs: 300, maxRetryAfterMs: 1000 },
    headersTimeoutMs: 5000,
  });
  closers.push(() => probeClient.close());
  const warnings: string[] = [];
  // The target registry is greeted while the engine is asked about the image (RegistryClient.greet);
  // awaited at the end, so nothing of the session outlives it.
  const greeting = deps.client.greet(request.target.registry, pushScopes(request.target, request.base, request.mirrors, request.planOnly === true), request.signal);
  closers.push(() => greeting);
  try {
    const ref = request.image.replace(/^docker-daemon:/, '');
    timing('session start');
    const inspected = engine ? await engine.imageInspect(ref, { signal: request.signal }) : undefined;
    timing('engine inspect done');
    if (engine && !inspected) throw new ImageSourceError('IMAGE_NOT_FOUND', `engine image ${ref}: not found in the Docker engine at ${hostText(engine)} — build or pull it first, or check the name`, `engine image ${ref}`);
    const decision = chooseUploader(request.uploader ?? 'auto', { imageFile, compression: request.compression ?? 'gzip', engineTransport: engine ? transportOf(engine.host) : undefined });
    if ('refused' in decision) throw new UploaderRefused(decision.refused);
    if (decision.note) warnings.push(decision.note);

    let subject: PushSubject;
    let mover: Mover;
    if (decision.uploader === 'engine' && engine && inspected) {
      const platform = { os: inspected.os, architecture: inspected.architecture, ...(inspected.variant !== undefined ? { variant: inspected.variant } : {}) };
      subject = { description: `engine image ${ref} (${shortId(inspected.id)})`, configDigest: inspected.id, layers: inspected.rootfs.diffIds.map((diffId) => ({ diffId })), repoDigests: inspected.repoDigests, platform };
      mover = new EngineUploader({ id: inspected.id, repoTags: inspected.repoTags, diffIds: inspected.rootfs.diffIds }, { engine, client: deps.client, credentials: deps.credentials, insecure: (registry) => isLoopbackRegistry(registry) || deps.insecureRegistries.includes(registry) });
    } else {
      // A directory of this push's own: a concurrent push of the same layer never removes our file.
      const scratch = await mkdtemp(join(cacheDirectory(cacheEnv, 'layers'), 'push-'));
      closers.push(() => rm(scratch, { recursive: true, force: true }));
      let image: LocalImage;
      if (engine && inspected) {
        // The export is requested now and read once, while the registry is asked for the plan
        // (engineSource.ts); pinned to the inspected id, so a tag moved meanwhile cannot mix two
        // images. The plan needs only what the inspect said.
        const description = `engine image ${ref} (${shortId(inspected.id)})`;
        image = openEngineExport(inspected, engine, { description, spoolDirectory: scratch, startNow: request.planOnly !== true });
        subject = { description, configDigest: inspected.id, layers: image.layers, repoDigests: image.repoDigests, platform: image.platform };
      } else {
        image = await openLocalImage(request.image, { env: deps.env });
        subject = { ...image, configSize: image.config.length };
      }
      closers.push(() => image.close());
      const compressor = new LayerCompressor({ directory: scratch, level: request.compressionLevel, compression: request.compression ?? 'gzip' });
      closers.push(() => compressor.close());
      mover = new OwnUploader(image, { client: deps.client, compressor });
    }
    const base = request.base ?? (engine && inspected ? { find: () => findEngineBaseCandidates(engine, inspected.rootfs.diffIds, inspected.id, request.signal) } : undefined);
    const result = await pushImage(subject, { ...request, base }, { client: deps.client, probeClient, mover, index: LayerIndex.open({ env: cacheEnv }), configs: ConfigCache.open(cacheEnv) });
    return { ...result, warnings: [...warnings, ...result.warnings] };
  } catch (error) {
    // A full cache disk is the user's to fix: say where and how, in one line.
    throw asCacheFullError(error, cacheEnv) ?? error;
  } finally {
    // Closed in reverse: the compressor and scratch before the image, the engine last.
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

function transportOf(host: ResolvedHost): UploaderFacts['engineTransport'] {
  if (host.kind === 'unix') return { kind: 'unix' };
  let hostname = '';
  try {
    hostname = new URL(host.url.replace(/^tcp:/, 'http:')).host;
  } catch {
    // an unparsable URL was refused when the host was resolved
  }
  return { kind: 'tcp', tls: Boolean(host.tls), loopback: isLoopbackRegistry(hostname), url: host.url };
}

function hostText(engine: DockerEngineClient): string {
  try {
    return describeHost(engine.host);
  } catch {
    return 'the configured host';
  }
}
