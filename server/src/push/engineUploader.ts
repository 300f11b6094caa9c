// The engine uploader: after the plan's mounts, the engine's own push (Engine API
// `POST /images/{name}/push?tag=`) sends what remains. The engine reads its own layer store,
// compresses as it always does and remembers what it pushed (moby's v2 metadata), so a later
// plain `docker push` finds the same blobs: Layerlift and docker never make two blobs of one layer.
//   - The target name is tagged in the engine first when the image does not carry it, and put
//     back as it was afterwards (our tag removed, or a tag we moved returned to its image).
//   - X-Registry-Auth carries the login Layerlift uses (core/registryAuthHeader.ts).
//   - The message stream becomes Layerlift's push events; an `errorDetail` a typed one-line error.
//   - The engine writes the manifest last; afterwards the pushed manifest is read once and
//     checked against the image (config digest, layer count) before the push is reported.
import { timing } from '../core/timing';
import { encodeRegistryAuth } from '../core/registryAuthHeader';
import { diffIdForProgressId, LineSplitter, parseEnginePushLine, type EnginePushMessage } from '../core/enginePushMessages';
import { runLimited } from '../core/limit';
import { configKeyFor, type CredentialSource } from '../registry/credentials';
import { RegistryError } from '../registry/errors';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';
import { encodeImageRef, type DockerEngineClient, type EngineFlavour } from '../engine/engineClient';
import { engineFailure } from './engineErrors';
import { sendConfigAhead } from './configAhead';
import type { BlobAction } from './plan';
import type { ImageReference } from '../core/reference';
import type { MovedImage, MoveRequest, Mover, PushEvent, SentBlob } from './mover';

export interface EngineImageRef {
  /** The image id (`sha256:` of its config). */
  id: string;
  repoTags: string[];
  diffIds: string[];
}

export interface EngineUploaderDeps {
  engine: DockerEngineClient;
  client: RegistryClient;
  credentials: CredentialSource;
  /** Registries reached over plain HTTP (loopback and the user's insecure ones): Podman needs telling. */
  insecure: (registry: string) => boolean;
}

/** Longest silence of the engine's message stream (a layer compressing says nothing for a while). */
const STALL_MS = 10 * 60_000;

type Readied = Promise<[EngineFlavour, () => Promise<void>]>;

export class EngineUploader implements Mover {
  readonly kind = 'engine' as const;
  private prepared?: { key: string; readied: Readied };
  constructor(
    private readonly image: EngineImageRef,
    private readonly deps: EngineUploaderDeps,
  ) {}

  /** The engine is readied (its flavour, the target's tag) while the registry is asked for the plan. */
  prepare(target: ImageReference, signal?: AbortSignal): void {
    const name = `${target.registry}/${target.repository}`;
    const readied: Readied = Promise.all([this.deps.engine.flavourOf({ signal }), this.ensureTag(name, target.tag ?? 'latest', signal)]);
    readied.catch(() => undefined); // move() or discard() reports or undoes it
    this.prepared = { key: `${name}:${target.tag ?? 'latest'}`, readied };
  }

  async discard(): Promise<void> {
    const prepared = this.prepared;
    this.prepared = undefined;
    const [, undo] = (await prepared?.readied.catch(() => undefined)) ?? [];
    await undo?.().catch(() => undefined);
  }

  async move(request: MoveRequest): Promise<MovedImage> {
    const { target, plan, signal } = request;
    const where: RepositoryRef = { registry: target.registry, repository: target.repository };
    const tag = target.tag ?? 'latest';
    const name = `${target.registry}/${target.repository}`;
    // Readied by prepare() while the plan was made, or now, beside the mounts.
    const prepared = this.prepared?.key === `${name}:${tag}` ? this.prepared.readied : undefined;
    if (!prepared) await this.discard();
    this.prepared = undefined;
    const readied = prepared ?? Promise.all([this.deps.engine.flavourOf({ signal }), this.ensureTag(name, tag, signal)]);
    try {
      await mountPlanned(this.deps.client, where, plan.layers, request);
      timing('mounts done');
    } catch (error) {
      const [, undo] = (await readied.catch(() => undefined)) ?? [];
      await undo?.().catch(() => undefined);
      throw error;
    }
    const [flavour, restore] = await readied;
    const reported = new Map<string, 'pushed' | 'exists' | 'mounted'>();
    // While the engine pushes, a token for reading the result is fetched and a connection opened
    // (a HEAD of the config blob), so the check afterwards costs one round trip. Its answer also
    // says whether the target already holds the config (pushed before: nothing to send ahead).
    const warm = this.deps.client.headBlob(where, this.image.id, signal).then(
      (size) => size !== undefined,
      () => undefined,
    );
    // The config, rebuilt and sent while the engine sends the layers (configAhead.ts): its push
    // then finds it with one HEAD instead of four round trips after the last layer.
    const configAhead = flavour === 'docker' ? sendConfigAhead(this.deps.engine, this.deps.client, where, this.image.id, request.findConfig ?? (() => Promise.resolve(undefined)), warm, signal) : Promise.resolve(0);
    let digest: string | undefined;
    try {
      digest = await this.pushInEngine(name, tag, where, flavour, plan.layers, reported, request);
    } catch (error) {
      await Promise.all([restore().catch(() => undefined), configAhead]);
      if (signal?.aborted && !(error instanceof RegistryError)) throw new RegistryError({ code: 'ABORTED', operation: 'push', ...where, problem: 'cancelled', hint: 'the tag was not moved; run the same command again to push' });
      throw error;
    }
    timing('engine push done');
    await warm;
    // Putting the engine's tag back and reading the pushed manifest go side by side.
    const [blobs] = await Promise.all([
      this.verify(where, digest, plan.layers, reported, signal),
      restore().catch((error: unknown) => request.warnings.push(`could not put the engine's tag ${name}:${tag} back: ${error instanceof Error ? error.message : String(error)}`)),
    ]);
    return { digest, blobs, configBytesSent: await configAhead };
  }

  /** The engine's push, its messages followed as they come; resolves with the pushed manifest's digest. */
  private async pushInEngine(name: string, tag: string, where: RepositoryRef, flavour: EngineFlavour, planned: BlobAction[], reported: Map<string, 'pushed' | 'exists' | 'mounted'>, request: MoveRequest): Promise<string> {
    const { engine } = this.deps;
    const engineName = flavour === 'podman' ? 'Podman service' : 'Docker engine';
    const login = await this.deps.credentials.get(where.registry);
    const auth = encodeRegistryAuth(login, configKeyFor(where.registry));
    // Podman refuses plain HTTP unless told (measured: "server gave HTTP response to HTTPS
    // client" without tlsVerify=false); dockerd decides that itself (--insecure-registry, loopback).
    const query = `?tag=${encodeURIComponent(tag)}${flavour === 'podman' && this.deps.insecure(where.registry) ? '&tlsVerify=false' : ''}`;
    const operation = `push ${name}:${tag}`;
    timing('engine push requested');
    const response = await engine.send('POST', `/images/${encodeImageRef(name)}/push${query}`, { operation, headers: { 'x-registry-auth': auth }, signal: request.signal, stallTimeoutMs: STALL_MS });
    if (response.statusCode !== 200) await engine.expectOk(response, operation);
    const lines = new LineSplitter();
    const track = new LayerTracker(this.image.diffIds, planned, request.onEvent, reported);
    let digest: string | undefined;
    const handle = (message: EnginePushMessage | undefined) => {
      if (!message) return;
      if (message.kind === 'error') throw engineFailure(message.message, where, engineName);
      if (message.kind === 'digest') digest = message.digest;
      if (message.kind === 'layer') track.update(message);
    };
    response.body.setEncoding('utf8');
    timing('engine push answered');
    for await (const chunk of response.body as AsyncIterable<string>) for (const line of lines.push(chunk)) handle(parseEnginePushLine(line));
    for (const line of lines.end()) handle(parseEnginePushLine(line));
    if (!digest) throw engineFailure(`the ${engineName} ended the push without naming the pushed manifest`, where, engineName);
    return digest;
  }

  /**
   * Makes `name:tag` in the engine point at our image; returns how to put things back: remove the
   * tag we added, or return a tag we moved to the image it named. An image known only by id keeps
   * the tag (removing its only name would delete it).
   */
  private async ensureTag(name: string, tag: string, signal?: AbortSignal): Promise<() => Promise<void>> {
    const { engine } = this.deps;
    const full = `${name}:${tag}`;
    const before = await engine.imageInspect(full, { signal });
    if (before?.id === this.image.id) return () => Promise.resolve();
    const tagIt = async (id: string) => {
      const response = await engine.send('POST', `/images/${encodeImageRef(id)}/tag?repo=${encodeURIComponent(name)}&tag=${encodeURIComponent(tag)}`, { operation: `tag ${full}` });
      await engine.expectOk(response, `tag ${full}`);
    };
    await tagIt(this.image.id);
    return async () => {
      if (before) return tagIt(before.id);
      if (this.image.repoTags.length === 0) return;
      // Untag only: the image keeps its other names; noprune keeps its parents.
      const response = await engine.send('DELETE', `/images/${encodeImageRef(full)}?noprune=1`, { operation: `untag ${full}` });
      await engine.expectOk(response, `untag ${full}`);
    };
  }

  /** The pushed manifest, read once: it must be this image, and it names each layer's blob. */
  private async verify(where: RepositoryRef, digest: string, planned: BlobAction[], reported: Map<string, string>, signal?: AbortSignal): Promise<SentBlob[]> {
    const manifest = await this.deps.client.getManifest(where, digest, signal);
    const fail = (problem: string) => new RegistryError({ code: 'MANIFEST_INVALID', operation: 'push', ...where, problem, hint: 'push again; if it repeats, try --uploader layerlift' });
    if (manifest.parsed.kind !== 'image') throw fail(`the engine pushed ${digest}, which is not an image manifest`);
    const m = manifest.parsed.manifest;
    if (m.config.digest !== this.image.id) throw fail(`the engine pushed ${digest} with config ${m.config.digest}, not the image ${this.image.id}`);
    if (m.layers.length !== this.image.diffIds.length) throw fail(`the engine pushed ${m.layers.length} layers, the image has ${this.image.diffIds.length}`);
    return m.layers.map((layer, i) => {
      const action = planned[i];
      const base = { digest: layer.digest, size: layer.size, mediaType: layer.mediaType };
      if (action && action.action !== 'upload') return { ...base, action: action.action, ...(action.action === 'mount' ? { from: action.from } : {}), bytesSent: 0 };
      const said = reported.get(this.image.diffIds[i] ?? '');
      // Podman names no layers: what the plan left to upload counts as sent (an upper bound).
      if (said === 'exists' || said === 'mounted') return { ...base, action: said === 'exists' ? 'exists' : 'mount', bytesSent: 0 };
      return { ...base, action: 'upload', bytesSent: firstPosition(this.image.diffIds, i) ? layer.size : 0 };
    });
  }
}

const firstPosition = (diffIds: string[], i: number) => diffIds.indexOf(diffIds[i] ?? '') === i;

/** The plan's cross-repository mounts, before the engine looks: then it finds those blobs there. */
async function mountPlanned(client: RegistryClient, where: RepositoryRef, layers: BlobAction[], request: MoveRequest): Promise<void> {
  const mounts = [...new Map(layers.flatMap((l) => (l.action === 'mount' ? [[l.digest, l] as const] : []))).values()];
  await runLimited(mounts, request.concurrency, async (action) => {
    request.onEvent?.({ type: 'blob-start', digest: action.digest, size: action.size, action: 'mount' });
    const mounted = request.mounted?.has(action.digest) ? { mounted: true as const } : await client.startUpload(where, { digest: action.digest, from: action.from }, request.signal);
    if (!mounted.mounted) {
      await client.cancelUpload(mounted.session);
      request.warnings.push(`the registry would not mount ${action.digest} from ${action.from}; the engine sends it instead`);
    }
    request.onEvent?.({ type: 'blob-done', digest: action.digest, size: action.size, action: 'mount', bytesSent: 0 });
  });
}

/**
 * The engine's per-layer messages as push events, for the layers the plan left to the engine
 * (those the plan settled were counted when it was made). Docker names a layer by its diff_id's
 * first 12 hex digits; its byte counts are uncompressed (current may pass total while gzip runs).
 */
class LayerTracker {
  private readonly open = new Map<string, number>();
  private readonly leftToEngine: Set<string>;
  constructor(
    private readonly diffIds: string[],
    planned: BlobAction[],
    private readonly onEvent: ((event: PushEvent) => void) | undefined,
    private readonly reported: Map<string, 'pushed' | 'exists' | 'mounted'>,
  ) {
    this.leftToEngine = new Set(diffIds.filter((_, i) => planned[i]?.action === 'upload'));
  }

  update(message: Extract<EnginePushMessage, { kind: 'layer' }>): void {
    const diffId = diffIdForProgressId(message.id, this.diffIds);
    if (!diffId || !this.leftToEngine.has(diffId) || this.reported.has(diffId)) return;
    const emit = (event: PushEvent) => this.onEvent?.(event);
    if (message.state === 'exists' || message.state === 'mounted') {
      this.reported.set(diffId, message.state);
      emit({ type: 'blob-done', digest: diffId, size: 0, action: message.state === 'exists' ? 'exists' : 'mount', bytesSent: 0 });
    } else if (message.state === 'pushing' && message.total !== undefined) {
      if (!this.open.has(diffId)) {
        this.open.set(diffId, message.total);
        emit({ type: 'blob-start', digest: diffId, size: message.total, action: 'upload' });
      }
      emit({ type: 'blob-progress', digest: diffId, committed: Math.min(message.current ?? 0, message.total), size: message.total });
    } else if (message.state === 'pushed') {
      this.reported.set(diffId, 'pushed');
      const size = this.open.get(diffId) ?? 0;
      emit({ type: 'blob-done', digest: diffId, size, action: 'upload', bytesSent: size });
    }
  }
}
