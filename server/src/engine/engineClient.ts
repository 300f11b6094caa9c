// The adapter to the Docker Engine API (and Podman's Docker-compatible API): the few read-only
// calls Layerlift needs about local images, over undici, with API version negotiation, bounded
// waits and typed one-line errors. Everything the engine sends is treated as untrusted data.
//
// Engine API references (v1.41): GET /_ping (API-Version header), GET /images/{name}/json,
// GET /images/{name}/history (newest first; sizes only for entries that have a layer),
// GET /images/{name}/get (`docker save`: a tar stream, sent only once the export is ready).
import type { Dispatcher } from 'undici';
import { Agent, type AgentOptions } from '../transport/agent';
import { readFileSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { assignHistoryLayers } from '../analysis/historyMapping';
import { describeHost, EngineError, oneLine, resolveDockerHost, type ResolvedHost } from './dockerHost';

export { EngineError, isEngineError, type EngineErrorCode, type ResolvedHost } from './dockerHost';

/** The newest API version we speak; older engines are spoken to in their own version. */
export const MAX_API_VERSION = '1.41';
/** What the Go client assumes when an engine's /_ping sends no API-Version. */
const FALLBACK_API_VERSION = '1.24';
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Bound on the extra image lookups used to settle which history entries carry a layer. */
const MAX_ANCHOR_LOOKUPS = 64;

export type EngineFlavour = 'docker' | 'podman';

export interface EngineClientOptions {
  /** Where the engine is; default: resolveDockerHost({ env }) on first use. */
  host?: ResolvedHost;
  /** Used instead of an Agent of our own (tests, proxies); close() leaves it open. */
  dispatcher?: Dispatcher;
  /** For resolving the host (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG…). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Longest wait for one request, connection included. Default 30 s. */
  timeoutMs?: number;
  /** Longest wait for the connection. Default 5 s. */
  connectTimeoutMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface SaveImageOptions extends RequestOptions {
  /** Longest wait for the archive to start. The engine writes the whole export to a temp dir
   *  before it sends a byte (minutes for big images on slow disks). Default 15 min. */
  startTimeoutMs?: number;
  /** Longest pause between two chunks of the archive; the body has no overall limit. Default 60 s. */
  stallTimeoutMs?: number;
}

export interface EngineImageConfig {
  env: string[];
  cmd?: string[];
  entrypoint?: string[];
  workingDir?: string;
  user?: string;
  labels: Record<string, string>;
  exposedPorts: string[];
  volumes: string[];
}

export interface EngineImage {
  /** `sha256:…` of the image config. */
  id: string;
  /** `name:tag`, without the `<none>:<none>` placeholders. */
  repoTags: string[];
  /** `name@sha256:…` of manifests the image was pushed as or pulled from. */
  repoDigests: string[];
  /** The legacy builder's parent image (the previous step), when the engine has it. */
  parent?: string;
  architecture: string;
  os: string;
  variant?: string;
  /** Uncompressed bytes of all layers. */
  size: number;
  rootfs: { diffIds: string[] };
  config?: EngineImageConfig;
  /** ISO 8601. */
  created: string;
}

export interface HistoryEntry {
  /** The image this step produced, while the engine has it (the legacy builder's intermediate
   *  images); undefined where the engine says `<missing>` (pulled or BuildKit-built history). */
  id?: string;
  /** ISO 8601, to the second. */
  created: string;
  createdBy: string;
  comment: string;
  tags: string[];
  /** Uncompressed bytes the step added; 0 for empty steps and for layers of only directories. */
  size: number;
  /** The step added no diff_id (the config's `empty_layer`, which this API does not return: see
   *  imageHistory). */
  emptyLayer: boolean;
  /** False when `emptyLayer` had to be guessed (see assignHistoryLayers). */
  emptyLayerCertain: boolean;
  /** For layer steps: the diff_id it added and its position in `rootfs.diffIds`. */
  diffId?: string;
  layerIndex?: number;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class DockerEngineClient {
  private resolved: ResolvedHost | undefined;
  private ownDispatcher: Agent | undefined;
  private version: Promise<string> | undefined;
  private closed = false;
  private flavour: EngineFlavour | undefined;

  constructor(private readonly options: EngineClientOptions = {}) {
    this.resolved = options.host;
  }

  /** The engine this client talks to (resolving it now if needed; may throw HOST_INVALID). */
  get host(): ResolvedHost {
    this.resolved ??= resolveDockerHost({ env: this.options.env ?? process.env });
    return this.resolved;
  }

  /** Checks the engine answers and settles the API version used for every other call. */
  async ping(options: RequestOptions = {}): Promise<{ apiVersion: string; serverApiVersion?: string; osType?: string }> {
    const reply = await this.get('/_ping', 'answer a ping', options.signal);
    if (reply.status !== 200) throw this.engineFailure(reply, 'answer a ping');
    const serverApiVersion = header(reply.headers, 'api-version');
    const osType = header(reply.headers, 'ostype');
    const apiVersion = negotiateApiVersion(serverApiVersion);
    this.version = Promise.resolve(apiVersion);
    // Podman's service answers the Docker API too, and says so in Libpod-Api-Version.
    this.flavour = header(reply.headers, 'libpod-api-version') !== undefined ? 'podman' : 'docker';
    return {
      apiVersion,
      ...(serverApiVersion !== undefined ? { serverApiVersion } : {}),
      ...(osType !== undefined ? { osType } : {}),
    };
  }

  /** Every image the engine has: ID, tags and RepoDigests (GET /images/json). */
  async listImages(options: RequestOptions = {}): Promise<{ id: string; repoTags: string[]; repoDigests: string[] }[]> {
    const path = `${await this.apiPrefix(options.signal)}/images/json`;
    const operation = 'list images';
    const reply = await this.get(path, operation, options.signal);
    if (reply.status !== 200) throw this.engineFailure(reply, operation);
    const list = this.parseJson(reply, operation);
    if (!Array.isArray(list)) throw this.protocolError(operation, 'the answer is not a list');
    const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
    return list
      .filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null && typeof (item as { Id?: unknown }).Id === 'string')
      .map((item) => ({ id: item.Id as string, repoTags: strings(item.RepoTags), repoDigests: strings(item.RepoDigests) }));
  }

  /** The image, or undefined when the engine has no such image. */
  async imageInspect(ref: string, options: RequestOptions = {}): Promise<EngineImage | undefined> {
    const raw = await this.imageInspectJson(ref, options);
    return raw === undefined ? undefined : parseImage(raw, (why) => this.protocolError(`inspect image "${oneLine(ref, 200)}"`, why));
  }

  /** The inspect as the engine wrote it, every field kept (classicConfig.ts rebuilds a config from it). */
  async imageInspectJson(ref: string, options: RequestOptions = {}): Promise<Record<string, unknown> | undefined> {
    const path = `${await this.apiPrefix(options.signal)}/images/${encodeImageRef(ref)}/json`;
    const operation = `inspect image "${oneLine(ref, 200)}"`;
    const reply = await this.get(path, operation, options.signal);
    if (reply.status === 404) return undefined;
    if (reply.status !== 200) throw this.engineFailure(reply, operation);
    const raw = this.parseJson(reply, operation);
    if (!isObject(raw)) throw this.protocolError(operation, 'the image is not an object');
    return raw;
  }

  /**
   * The image's history, OLDEST FIRST (the order of the image config and of its diff_ids; the
   * engine API answers newest first). Throws IMAGE_NOT_FOUND when there is no such image.
   *
   * The API does not say which entries carry a layer (`empty_layer` stays in the config), so it
   * is derived (assignHistoryLayers): entries with a size are layers, metadata instructions are
   * not, and the image's diff_id count fixes how many of the remaining size-0 RUN/COPY/WORKDIR
   * entries are. When that leaves a choice, the legacy builder's intermediate images — whose ids
   * the API gives per entry — are inspected: the layer count of the image an entry produced is
   * the number of layers up to that entry. Then layer entries get the diff_ids in order.
   */
  async imageHistory(ref: string, options: RequestOptions = {}): Promise<HistoryEntry[]> {
    const image = await this.imageInspect(ref, options);
    const operation = `read the history of image "${oneLine(ref, 200)}"`;
    if (!image) throw this.notFound(ref);
    // By id: the tag may move between the two calls.
    const path = `${await this.apiPrefix(options.signal)}/images/${encodeImageRef(image.id)}/history`;
    const reply = await this.get(path, operation, options.signal);
    if (reply.status === 404) throw this.notFound(ref);
    if (reply.status !== 200) throw this.engineFailure(reply, operation);
    const raw = this.parseJson(reply, operation);
    if (!Array.isArray(raw)) throw this.protocolError(operation, 'the history is not a list');
    const entries = raw.map((item) => parseHistoryItem(item)).reverse();
    const diffIds = image.rootfs.diffIds;
    const inputs = entries.map((entry) => ({ createdBy: entry.createdBy, size: entry.size }));

    let assignment = assignHistoryLayers(inputs, diffIds.length);
    if (assignment.guessed.length > 0) {
      const anchors = await this.layerCountAnchors(entries, assignment.guessed, options.signal);
      if (anchors.size > 0) assignment = assignHistoryLayers(inputs, diffIds.length, anchors);
    }
    const guessed = new Set(assignment.guessed);
    const layerEntries = assignment.emptyLayer.filter((empty) => !empty).length;
    let layerIndex = diffIds.length - layerEntries; // aligned from the newest if they disagree
    return entries.map((entry, i): HistoryEntry => {
      const emptyLayer = assignment.emptyLayer[i] ?? true;
      const result: HistoryEntry = { ...entry, emptyLayer, emptyLayerCertain: !guessed.has(i) };
      if (entry.id === undefined) delete result.id;
      if (!emptyLayer) {
        const diffId = layerIndex >= 0 ? diffIds[layerIndex] : undefined;
        if (diffId !== undefined) {
          result.diffId = diffId;
          result.layerIndex = layerIndex;
        }
        layerIndex++;
      }
      return result;
    });
  }

  /**
   * The image as `docker save` writes it (GET /images/{name}/get): a tar stream of any length,
   * bounded only by `stallTimeoutMs` between chunks. Throws IMAGE_NOT_FOUND when there is no such
   * image. Errors while streaming arrive on the stream as EngineErrors (ENGINE_TIMEOUT, ABORTED,
   * ENGINE_UNREACHABLE). The caller must read the stream to its end or destroy it (which closes
   * the connection and makes the engine stop exporting).
   */
  async saveImage(ref: string, options: SaveImageOptions = {}): Promise<Readable> {
    const path = `${await this.apiPrefix(options.signal)}/images/${encodeImageRef(ref)}/get`;
    const operation = `export image "${oneLine(ref, 200)}"`;
    const signal = options.signal;
    if (this.closed) throw new EngineError({ code: 'ENGINE_ERROR', message: `cannot ${operation}: the engine client is closed`, host: this.hostText() });
    if (signal?.aborted) throw new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText() });
    const startTimeoutMs = options.startTimeoutMs ?? 15 * 60_000;
    const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
    const { origin, base } = this.origin();
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher().request({
        origin,
        path: base + path,
        method: 'GET',
        headers: { accept: 'application/x-tar' },
        headersTimeout: startTimeoutMs,
        bodyTimeout: stallTimeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText(), cause: error });
      throw this.transportFailure(error, operation, startTimeoutMs);
    }
    if (response.statusCode !== 200) {
      const text = (await readBounded(response.body, 64 * 1024).catch(() => undefined)) ?? '';
      if (response.statusCode === 404) throw this.notFound(ref);
      throw this.engineFailure({ status: response.statusCode, headers: response.headers, text }, operation);
    }
    // Errors of the body (stalls, resets, aborts) become EngineErrors on the stream handed out.
    const body = response.body;
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    body.on('error', (error) => {
      if (out.destroyed) return;
      if (signal?.aborted) {
        out.destroy(new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText(), cause: error }));
      } else if (errorCode(error) === 'UND_ERR_BODY_TIMEOUT') {
        const message = `the Docker engine at ${this.hostText()} stopped sending the export of image "${oneLine(ref, 200)}" for ${formatSeconds(stallTimeoutMs)} — check that Docker is running and healthy, then retry`;
        out.destroy(new EngineError({ code: 'ENGINE_TIMEOUT', message, host: this.hostText(), cause: error }));
      } else {
        out.destroy(this.transportFailure(error, operation, stallTimeoutMs));
      }
    });
    out.on('close', () => {
      if (!body.destroyed) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  /** Which engine answers: Docker's or Podman's Docker-compatible service (pings once if needed). */
  async flavourOf(options: RequestOptions = {}): Promise<EngineFlavour> {
    if (!this.flavour) await this.ping(options);
    return this.flavour ?? 'docker';
  }

  /**
   * A request whose answer is left to the caller (a push's JSON message stream, a tag, an
   * untag): `path` is below the API version prefix, e.g. `/images/x/push?tag=1`. Transport
   * failures become EngineErrors; the body has no overall limit, only `stallTimeoutMs` between
   * chunks. The caller must consume or destroy the body.
   */
  async send(method: 'POST' | 'DELETE', path: string, options: RequestOptions & { operation: string; headers?: Record<string, string>; stallTimeoutMs?: number }): Promise<Dispatcher.ResponseData> {
    const { operation, signal } = options;
    if (this.closed) throw new EngineError({ code: 'ENGINE_ERROR', message: `cannot ${operation}: the engine client is closed`, host: this.hostText() });
    if (signal?.aborted) throw new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText() });
    const prefix = await this.apiPrefix(signal);
    const { origin, base } = this.origin();
    const timeoutMs = options.stallTimeoutMs ?? this.options.timeoutMs ?? 30_000;
    try {
      return await this.dispatcher().request({ origin, path: base + prefix + path, method, headers: { accept: 'application/json', ...options.headers }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText(), cause: error });
      throw this.transportFailure(error, operation, timeoutMs);
    }
  }

  /** Reads a small answer of `send` and turns a non-2xx status into the engine's one-line error. */
  async expectOk(response: Dispatcher.ResponseData, operation: string): Promise<string> {
    const text = (await readBounded(response.body, 1024 * 1024).catch(() => undefined)) ?? '';
    if (response.statusCode >= 200 && response.statusCode < 300) return text;
    throw this.engineFailure({ status: response.statusCode, headers: response.headers, text }, operation);
  }

  /** Closes the connections this client opened (not an injected dispatcher). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const own = this.ownDispatcher;
    this.ownDispatcher = undefined;
    if (own) await own.close();
  }

  // ---- internals -----------------------------------------------------------------------------------

  /** Entry index → layers up to it, from the intermediate images of guessed entries and their
   *  predecessors. An image counts only if its creation time is the entry's (so a squashed or
   *  otherwise re-parented image cannot pin a wrong count). */
  private async layerCountAnchors(
    entries: ParsedHistoryItem[],
    guessed: number[],
    signal: AbortSignal | undefined,
  ): Promise<Map<number, number>> {
    const wanted = new Set<number>();
    for (const i of guessed) {
      wanted.add(i);
      if (i > 0) wanted.add(i - 1);
    }
    const anchors = new Map<number, number>();
    let lookups = 0;
    for (const i of [...wanted].sort((a, b) => a - b)) {
      const entry = entries[i];
      if (entry?.id === undefined || lookups >= MAX_ANCHOR_LOOKUPS) continue;
      lookups++;
      const image = await this.imageInspect(entry.id, { signal });
      if (!image) continue;
      const createdSeconds = Math.floor(Date.parse(image.created) / 1000);
      if (createdSeconds !== Math.floor(Date.parse(entry.created) / 1000)) continue;
      anchors.set(i, image.rootfs.diffIds.length);
    }
    return anchors;
  }

  private async apiPrefix(signal: AbortSignal | undefined): Promise<string> {
    if (!this.version) {
      const negotiating = this.ping({ signal }).then((answer) => answer.apiVersion);
      this.version = negotiating;
      // A failed ping is retried by the next call rather than remembered.
      negotiating.catch(() => {
        if (this.version === negotiating) this.version = undefined;
      });
    }
    return `/v${await this.version}`;
  }

  private dispatcher(): Dispatcher {
    if (this.options.dispatcher) return this.options.dispatcher;
    if (this.ownDispatcher) return this.ownDispatcher;
    const host = this.host;
    const timeout = this.options.connectTimeoutMs ?? 5000;
    const agentOptions: AgentOptions = { keepAliveTimeout: 10_000, connections: 4 };
    if (host.kind === 'unix') {
      agentOptions.connect = { socketPath: host.socketPath, timeout };
    } else if (host.tls) {
      const tls = host.tls;
      const read = (file: string) => {
        if (file === '') return undefined;
        try {
          return readFileSync(file);
        } catch {
          return undefined;
        }
      };
      const ca = read(tls.caFile);
      const cert = read(tls.certFile);
      const key = read(tls.keyFile);
      agentOptions.connect = {
        timeout,
        rejectUnauthorized: tls.verify,
        ...(ca ? { ca } : {}),
        ...(cert && key ? { cert, key } : {}),
      };
    } else {
      agentOptions.connect = { timeout };
    }
    this.ownDispatcher = new Agent(agentOptions);
    return this.ownDispatcher;
  }

  private origin(): { origin: string; base: string } {
    const host = this.host;
    if (host.kind === 'unix') return { origin: 'http://docker', base: '' };
    const url = new URL(host.url.replace(/^tcp:/, host.tls ? 'https:' : 'http:'));
    return { origin: url.origin, base: url.pathname === '/' ? '' : url.pathname };
  }

  private async get(path: string, operation: string, signal: AbortSignal | undefined): Promise<Reply> {
    if (this.closed) throw new EngineError({ code: 'ENGINE_ERROR', message: `cannot ${operation}: the engine client is closed`, host: this.hostText() });
    if (signal?.aborted) throw new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText() });
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const timer = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timer]) : timer;
    const { origin, base } = this.origin();
    try {
      const response = await this.dispatcher().request({
        origin,
        path: base + path,
        method: 'GET',
        headers: { accept: 'application/json' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: combined,
      });
      const text = await readBounded(response.body, MAX_BODY_BYTES);
      if (text === undefined) {
        throw new EngineError({
          code: 'ENGINE_ERROR',
          message: `the Docker engine at ${this.hostText()} sent more than ${MAX_BODY_BYTES / 1024 / 1024} MiB to ${operation} — check DOCKER_HOST points at a Docker engine`,
          host: this.hostText(),
          status: response.statusCode,
        });
      }
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      if (error instanceof EngineError) throw error;
      if (signal?.aborted) {
        throw new EngineError({ code: 'ABORTED', message: `${operation}: cancelled`, host: this.hostText(), cause: error });
      }
      if (timer.aborted) throw this.timeout(operation, timeoutMs, error);
      throw this.transportFailure(error, operation, timeoutMs);
    }
  }

  private hostText(): string {
    try {
      return describeHost(this.host);
    } catch {
      return 'the configured host';
    }
  }

  private timeout(operation: string, timeoutMs: number, cause: unknown): EngineError {
    return new EngineError({
      code: 'ENGINE_TIMEOUT',
      message: `the Docker engine at ${this.hostText()} did not ${operation} within ${formatSeconds(timeoutMs)} — check that Docker is running and healthy, then retry`,
      host: this.hostText(),
      cause,
    });
  }

  private transportFailure(error: unknown, operation: string, timeoutMs: number): EngineError {
    const code = errorCode(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return this.timeout(operation, timeoutMs, error);
    if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
      return new EngineError({ code: 'ENGINE_ERROR', message: `cannot ${operation}: the engine client is closed`, host: this.hostText(), cause: error });
    }
    const where = this.hostText();
    const host = this.host;
    const shown = code ?? 'error';
    let hint: string;
    if (code === 'EACCES' || code === 'EPERM') {
      hint = 'permission denied on the socket: add your user to the "docker" group and log in again, or set DOCKER_HOST';
    } else if (code !== undefined && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|EPROTO/.test(code))) {
      hint = 'the TLS handshake failed: check the certificates in DOCKER_CERT_PATH or the Docker context, and DOCKER_TLS_VERIFY';
    } else if (host.source === 'DOCKER_HOST') {
      hint = 'start Docker, or fix DOCKER_HOST';
    } else if (host.source.startsWith('context ')) {
      hint = `start Docker, or switch contexts ("docker context use default")`;
    } else {
      hint = 'start Docker, or set DOCKER_HOST / docker context';
    }
    return new EngineError({ code: 'ENGINE_UNREACHABLE', message: `cannot reach the Docker engine at ${where} (${shown}) — ${hint}`, host: where, cause: error });
  }

  private engineFailure(reply: Reply, operation: string): EngineError {
    const engineMessage = engineMessageOf(reply.text);
    return new EngineError({
      code: 'ENGINE_ERROR',
      message: `the Docker engine at ${this.hostText()} could not ${operation}: ${engineMessage ?? 'no reason given'} (HTTP ${reply.status})`,
      host: this.hostText(),
      status: reply.status,
      ...(engineMessage !== undefined ? { engineMessage } : {}),
    });
  }

  private notFound(ref: string): EngineError {
    return new EngineError({
      code: 'IMAGE_NOT_FOUND',
      message: `image "${oneLine(ref, 200)}" not found in the Docker engine at ${this.hostText()} — build or pull it first, or check the name`,
      host: this.hostText(),
      status: 404,
    });
  }

  private protocolError(operation: string, why: string): EngineError {
    return new EngineError({
      code: 'ENGINE_ERROR',
      message: `the Docker engine at ${this.hostText()} sent an unexpected answer to ${operation}: ${why} — check DOCKER_HOST points at a Docker engine`,
      host: this.hostText(),
    });
  }

  private parseJson(reply: Reply, operation: string): unknown {
    try {
      return JSON.parse(reply.text) as unknown;
    } catch {
      throw this.protocolError(operation, 'not JSON');
    }
  }
}

// ---- helpers (exported for tests) ------------------------------------------------------------------

/** min(the engine's API version, MAX_API_VERSION); the Go client's fallback when none is sent. */
export function negotiateApiVersion(serverVersion: string | undefined): string {
  const parse = (v: string) => /^(\d+)\.(\d+)$/.exec(v.trim());
  const server = serverVersion === undefined ? null : parse(serverVersion);
  if (!server) return FALLBACK_API_VERSION;
  const max = parse(MAX_API_VERSION);
  if (!max) return MAX_API_VERSION;
  const s = [Number(server[1]), Number(server[2])] as const;
  const m = [Number(max[1]), Number(max[2])] as const;
  const older = s[0] < m[0] || (s[0] === m[0] && s[1] < m[1]);
  return older ? `${s[0]}.${s[1]}` : MAX_API_VERSION;
}

/** A reference or id as a path: each `/`-separated part percent-encoded; nothing that could step
 *  out of /images/{name}/ or carry a query. Throws IMAGE_NOT_FOUND for refs that cannot name an image. */
export function encodeImageRef(ref: string): string {
  const parts = ref.split('/');
  const bad = ref === '' || ref.length > 1024 || /[\s\u0000-\u001f?#%\\]/.test(ref) || parts.some((p) => p === '' || p === '.' || p === '..');
  if (bad) {
    throw new EngineError({ code: 'IMAGE_NOT_FOUND', message: `"${oneLine(ref, 200)}" is not an image reference — use name[:tag], name@digest or an image id` });
  }
  return parts.map((part) => encodeURIComponent(part)).join('/');
}

/** A history entry as the engine sends it, before layers are assigned. */
type ParsedHistoryItem = Omit<HistoryEntry, 'emptyLayer' | 'emptyLayerCertain' | 'diffId' | 'layerIndex'>;

function parseHistoryItem(item: unknown): ParsedHistoryItem {
  const o = isObject(item) ? item : {};
  const id = typeof o.Id === 'string' && /^sha256:[0-9a-f]{64}$/.test(o.Id) ? o.Id : undefined;
  const seconds = typeof o.Created === 'number' && Number.isFinite(o.Created) ? o.Created : 0;
  const created = new Date(Math.max(0, Math.min(seconds, 253402300799)) * 1000).toISOString();
  const size = typeof o.Size === 'number' && Number.isFinite(o.Size) && o.Size > 0 ? o.Size : 0;
  const parsed: ParsedHistoryItem = {
    created,
    createdBy: typeof o.CreatedBy === 'string' ? o.CreatedBy : '',
    comment: typeof o.Comment === 'string' ? o.Comment : '',
    tags: stringArray(o.Tags).filter((t) => !t.startsWith('<none>')),
    size,
  };
  if (id !== undefined) parsed.id = id;
  return parsed;
}

function parseImage(value: unknown, fail: (why: string) => EngineError): EngineImage {
  if (!isObject(value)) throw fail('the image is not an object');
  const id = value.Id;
  if (typeof id !== 'string' || id === '') throw fail('the image has no Id');
  const rootfs = isObject(value.RootFS) ? value.RootFS : {};
  const image: EngineImage = {
    id,
    repoTags: stringArray(value.RepoTags).filter((t) => !t.startsWith('<none>')),
    repoDigests: stringArray(value.RepoDigests).filter((t) => !t.startsWith('<none>')),
    architecture: typeof value.Architecture === 'string' ? value.Architecture : '',
    os: typeof value.Os === 'string' ? value.Os : '',
    size: typeof value.Size === 'number' && Number.isFinite(value.Size) ? value.Size : 0,
    rootfs: { diffIds: stringArray(rootfs.Layers) },
    created: typeof value.Created === 'string' ? value.Created : '',
  };
  if (typeof value.Parent === 'string' && value.Parent !== '') image.parent = value.Parent;
  if (typeof value.Variant === 'string' && value.Variant !== '') image.variant = value.Variant;
  if (isObject(value.Config)) image.config = parseConfig(value.Config);
  return image;
}

function parseConfig(c: Record<string, unknown>): EngineImageConfig {
  const labels: Record<string, string> = {};
  if (isObject(c.Labels)) {
    for (const [key, val] of Object.entries(c.Labels)) if (typeof val === 'string') labels[key] = val;
  }
  const config: EngineImageConfig = {
    env: stringArray(c.Env),
    labels,
    exposedPorts: isObject(c.ExposedPorts) ? Object.keys(c.ExposedPorts) : [],
    volumes: isObject(c.Volumes) ? Object.keys(c.Volumes) : [],
  };
  if (Array.isArray(c.Cmd)) config.cmd = stringArray(c.Cmd);
  if (Array.isArray(c.Entrypoint)) config.entrypoint = stringArray(c.Entrypoint);
  if (typeof c.WorkingDir === 'string' && c.WorkingDir !== '') config.workingDir = c.WorkingDir;
  if (typeof c.User === 'string' && c.User !== '') config.user = c.User;
  return config;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function header(headers: Reply['headers'], name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/** The engine's `{"message": "…"}`, else its text; one bounded line either way. */
function engineMessageOf(text: string): string | undefined {
  let message: string | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && typeof parsed.message === 'string') message = parsed.message;
  } catch {
    message = text;
  }
  const line = message === undefined ? '' : oneLine(message, 300);
  return line === '' ? undefined : line;
}

/** The first string `code` on the error, its causes or an AggregateError's members. */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (Array.isArray(e.errors)) {
    for (const member of e.errors) {
      const found = errorCode(member, depth + 1);
      if (found) return found;
    }
  }
  const fromCause = errorCode(e.cause, depth + 1);
  if (fromCause) return fromCause;
  return typeof e.name === 'string' && e.name !== 'Error' ? e.name : undefined;
}

async function readBounded(body: Dispatcher.ResponseData['body'], max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buffer.length;
    if (total > max) {
      body.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
