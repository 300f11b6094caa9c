// The HTTP edge of the registry client: picks https (or http for loopback and registries the
// user marked insecure, as dockerd does), adds auth, follows redirects without leaking
// Authorization to another host, and maps transport failures to typed errors.
// Retries live in the Dispatcher (retryInterceptor.ts), composed once per client.
import type { Dispatcher } from 'undici';
import { Agent } from '../transport/agent';
import { speaksTls } from '../transport/speaksTls';
import { raceLoopbackSchemes } from './loopbackGreeting';
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackRegistry, registryApiHost } from '../core/reference';
import type { Scope } from '../core/authChallenge';
import { errorFromResponse, errorFromTransport, RegistryError, type RegistryErrorBodyCode } from './errors';
import { retryInterceptor, defaultRetryPolicy, parseRetryAfterMs, type RetryPolicy, HostBackoff } from './retryInterceptor';
import type { RegistryAuthenticator } from './auth';

export interface RegistryHttpOptions {
  /** The base dispatcher (an undici Agent by default); retries are composed on top of it. */
  dispatcher?: Dispatcher;
  retryPolicy?: RetryPolicy;
  /** Registries (host[:port]) that may be spoken to over plain HTTP. Loopback always may. */
  insecureRegistries?: readonly string[];
  userAgent?: string;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface RegistryRequest {
  registry: string;
  repository?: string;
  /** For error messages: "pull", "push", "mount"... */
  operation: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path on the registry ("/v2/...") or an absolute URL from a Location header. */
  path: string;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  body?: string | Uint8Array | Readable;
  /** The token scopes this request needs (bearer auth). */
  scopes: Scope[];
  /** Learn the challenge and fetch the token, but do not send the request again (a greeting). */
  challengeOnly?: boolean;
  signal?: AbortSignal;
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
  /** The token server would not grant the actions this request needs. */
  denied?: boolean;
  /** What the request was, for typed errors raised while its body is read. */
  context?: { operation: string; registry: string; repository?: string };
}

const maxRedirects = 10;

/**
 * undici's headers timeout can run while a request body is still being sent, so an upload
 * gets extra time for its bytes at a pessimistic 16 KiB/s (a poor mobile uplink): an 8 MiB
 * chunk may take ~9 minutes before the registry's answer is overdue.
 */
export function headersTimeoutFor(body: RegistryRequest['body'], baseMs: number): number {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.length : 0;
  return baseMs + Math.ceil(bytes / 16_384) * 1000;
}

export class RegistryHttp {
  readonly dispatcher: Dispatcher;
  /** Without the retries: the loopback greeting's plain request must not be retried (loopbackGreeting.ts). */
  private readonly plainDispatcher: Dispatcher;
  private readonly insecure: Set<string>;
  private readonly schemes = new Map<string, Promise<'https' | 'http'>>();
  private authenticator: RegistryAuthenticator | undefined;

  constructor(private readonly options: RegistryHttpOptions = {}) {
    const base = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 16, connect: { timeout: 15_000 } });
    this.plainDispatcher = base;
    this.dispatcher = base.compose(retryInterceptor(options.retryPolicy ?? defaultRetryPolicy, new HostBackoff()));
    this.insecure = new Set(options.insecureRegistries ?? []);
  }

  setAuthenticator(authenticator: RegistryAuthenticator): void {
    this.authenticator = authenticator;
  }

  /** Allows plain HTTP for more registries (settings can add them while the client is in use). */
  allowInsecure(registries: readonly string[]): void {
    for (const registry of registries) this.insecure.add(registry);
  }

  isInsecureAllowed(registry: string): boolean {
    return isLoopbackRegistry(registry) || this.insecure.has(registry);
  }

  /** The base URL of a registry's API, e.g. https://registry-1.docker.io */
  async baseUrl(registry: string, signal?: AbortSignal): Promise<string> {
    const host = registryApiHost(registry);
    if (!this.isInsecureAllowed(registry)) return `https://${host}`;
    let scheme = this.schemes.get(registry);
    if (!scheme) {
      scheme = this.probeScheme(host, signal);
      this.schemes.set(registry, scheme);
      scheme.catch(() => this.schemes.delete(registry));
    }
    return `${await scheme}://${host}`;
  }

  /** Like dockerd for insecure registries: try TLS first, fall back to plain HTTP. */
  private async probeScheme(host: string, signal?: AbortSignal): Promise<'https' | 'http'> {
    return (await this.answersTls(host, signal)) ? 'https' : 'http';
  }

  private async answersTls(host: string, signal?: AbortSignal): Promise<boolean> {
    // Our own transport: a bare handshake (speaksTls.ts) answers without loading the trust store.
    // A dispatcher passed in (tests, a proxy) is asked itself, as every other request is.
    if (this.options.dispatcher === undefined) {
      try {
        return await speaksTls(host, 443, { signal });
      } catch (error) {
        if ((error as { name?: string }).name === 'AbortError' || signal?.aborted) throw error;
        return false;
      }
    }
    try {
      const res = await this.dispatcher.request({ origin: `https://${host}`, path: '/v2/', method: 'GET', signal, headersTimeout: 5000 });
      await res.body.dump();
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') throw error;
      return false;
    }
  }

  /**
   * A greeting to a loopback registry whose scheme is not known yet: the TLS probe and the plain
   * request go side by side, and a registry's plain answer is the greeting's (loopbackGreeting.ts).
   */
  private greetLoopback(req: RegistryRequest): Promise<RegistryResponse | undefined> | undefined {
    if (!req.challengeOnly || !isLoopbackRegistry(req.registry) || this.schemes.has(req.registry)) return undefined;
    const host = registryApiHost(req.registry);
    const [abandonPlain, abandonTls] = [new AbortController(), new AbortController()];
    const either = (own: AbortController) => (req.signal ? AbortSignal.any([req.signal, own.signal]) : own.signal);
    const plain = this.plainDispatcher.request({ origin: `http://${host}`, path: '/v2/', method: 'GET', headers: { 'user-agent': this.options.userAgent ?? 'layerlift' }, signal: either(abandonPlain), headersTimeout: 5000 });
    const race = raceLoopbackSchemes(this.answersTls(host, either(abandonTls)), plain, () => abandonPlain.abort(), () => abandonTls.abort());
    this.schemes.set(req.registry, race.scheme);
    race.scheme.catch(() => this.schemes.delete(req.registry));
    const url = new URL(`http://${host}/v2/`);
    return race.answer.then((res) => res && { status: res.statusCode, headers: res.headers, body: res.body, url, context: { operation: req.operation, registry: req.registry } });
  }

  /** Sends a request, handling auth challenges (once) and redirects. Any status is returned. */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const replayable = req.body === undefined || typeof req.body === 'string' || req.body instanceof Uint8Array;
    let challenged = 0;
    // Started before the credentials are read: the greeting's plain answer needs none of them.
    let greeted = this.greetLoopback(req);
    // The first request to a registry learns its challenge for every request started meanwhile.
    const learnt = await this.authenticator?.learnChallengeFirst(req.registry, req.signal).catch((error: unknown) => {
      void greeted?.then((res) => res?.body.dump().catch(() => undefined));
      throw error;
    });
    try {
      for (;;) {
        const authorization = await this.authenticator?.authorization(req.registry, req.scopes, req.signal);
        const answered = await greeted;
        greeted = undefined;
        // Sent without credentials: it answers for us only while none were due.
        if (answered && authorization !== undefined) await answered.body.dump();
        const res = answered && authorization === undefined ? answered : await this.send(req, authorization);
        if ((res.status === 401 || res.status === 403) && this.authenticator && replayable && challenged < 2) {
          const header = res.headers['www-authenticate'];
          const verdict = await this.authenticator.handleChallenge(req.registry, Array.isArray(header) ? header.join(', ') : header, req.scopes, challenged, req.signal, authorization);
          if (verdict === 'retry' && req.challengeOnly) return res;
          if (verdict === 'retry') {
            challenged++;
            await res.body.dump();
            continue;
          }
          if (verdict === 'denied') return { ...res, denied: true };
        }
        return res;
      }
    } finally {
      void greeted?.then((res) => res?.body.dump().catch(() => undefined));
      learnt?.();
    }
  }

  /** One request with redirects: Authorization goes only to the registry's own origin. */
  private async send(req: RegistryRequest, authorization: string | undefined): Promise<RegistryResponse> {
    let url = await this.resolveUrl(req);
    const registryOrigin = new URL(await this.baseUrl(req.registry, req.signal)).origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'layerlift', ...req.headers };
      if (authorization && url.origin === registryOrigin) headers.authorization = authorization;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.dispatcher.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: req.method,
          headers,
          body: req.body,
          signal: req.signal,
          headersTimeout: headersTimeoutFor(req.body, this.options.headersTimeoutMs ?? 60_000),
          bodyTimeout: this.options.bodyTimeoutMs ?? 120_000,
        });
      } catch (error) {
        throw errorFromTransport(error, req);
      }
      const location = res.headers.location;
      const isRedirect = [301, 302, 303, 307, 308].includes(res.statusCode) && typeof location === 'string';
      if (!isRedirect || (req.method !== 'GET' && req.method !== 'HEAD')) {
        return { status: res.statusCode, headers: res.headers, body: res.body, url, context: { operation: req.operation, registry: req.registry, repository: req.repository } };
      }
      await res.body.dump();
      if (hop >= maxRedirects) {
        throw new RegistryError({ ...req, code: 'TOO_MANY_REDIRECTS', problem: `more than ${maxRedirects} redirects (last to ${new URL(location, url).host})`, hint: 'the registry or its storage is misconfigured' });
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        next = new URL('invalid:');
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new RegistryError({ ...req, code: 'PROTOCOL', problem: `the registry redirected to an unusable location (${JSON.stringify(location.slice(0, 80))})`, hint: 'the registry or a proxy in front of it is misconfigured' });
      }
      if (next.protocol === 'http:' && url.protocol === 'https:' && !isLoopbackRegistry(next.host) && !this.insecure.has(next.host)) {
        throw new RegistryError({ ...req, code: 'INSECURE_REFUSED', problem: `refused a redirect from HTTPS to plain HTTP (${next.host})`, hint: `add ${next.host} to insecureRegistries only if you trust the network` });
      }
      this.options.log?.(`redirect ${req.method} ${url.host} -> ${next.host}`);
      url = next;
    }
  }

  private async resolveUrl(req: RegistryRequest): Promise<URL> {
    const base = await this.baseUrl(req.registry, req.signal);
    const url = new URL(req.path, base);
    if (url.protocol === 'http:' && !this.isInsecureAllowed(req.registry)) {
      throw new RegistryError({ ...req, code: 'INSECURE_REFUSED', problem: `refused plain HTTP to ${url.host}`, hint: `add ${req.registry} to insecureRegistries only if you trust the network` });
    }
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    return url;
  }

  /** Reads at most `limit` bytes of a body (error bodies, manifests); the rest is discarded. */
  async readBody(res: RegistryResponse, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          res.body.destroy();
          throw Object.assign(new Error('body too large'), { code: 'BODY_TOO_LARGE', size });
        }
        chunks.push(chunk);
      }
    } catch (error) {
      // A body cut short or not valid HTTP framing is a typed error like any transport failure.
      if ((error as { code?: unknown }).code === 'BODY_TOO_LARGE' || !res.context) throw error;
      throw errorFromTransport(error, res.context);
    }
    return Buffer.concat(chunks);
  }

  /** Throws the typed error for a response whose status is not one of `ok`. */
  async expect(res: RegistryResponse, ok: number[], req: RegistryRequest, notFound?: RegistryErrorBodyCode): Promise<RegistryResponse> {
    if (ok.includes(res.status)) return res;
    let bodyText = '';
    try {
      bodyText = (await this.readBody(res, 64 * 1024)).toString('utf8');
    } catch {
      // an oversized or broken error body: the status alone must do
    }
    throw errorFromResponse({
      status: res.status,
      bodyText,
      operation: req.operation,
      registry: req.registry,
      repository: req.repository,
      notFound,
      denied: res.denied,
      retryAfterSeconds: (() => {
        const ms = parseRetryAfterMs(res.headers['retry-after']);
        return ms === undefined ? undefined : Math.ceil(ms / 1000);
      })(),
    });
  }

  /**
   * Ends every connection. Anything still in flight at this point is a leak, so it is aborted
   * (destroy) rather than awaited (close), which could wait forever on an unread body.
   */
  async close(): Promise<void> {
    await this.dispatcher.destroy().catch(() => this.dispatcher.close());
  }
}
