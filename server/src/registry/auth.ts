// Registry authentication: anonymous, Basic, and the bearer token flow of Docker's
// "Token Authentication Specification" (GET realm?service=&scope=) and "OAuth2 Token
// Authentication" (POST grant_type=refresh_token for identity tokens).
// Tokens are cached per registry with their scopes and expiry; a token whose scopes cover a
// request is reused. Every secret that passes through here is registered for redaction.
import type { Dispatcher } from 'undici';
import { isLoopbackRegistry } from '../core/reference';
import { timing } from '../core/timing';
import { formatScope, isInsufficientScope, mergeScopes, parseAuthChallenges, parseScopes, scopesCover, type Scope } from '../core/authChallenge';
import { registerSecret, type Credential, type CredentialSource } from './credentials';
import { parseRegistryErrorBody, RegistryError } from './errors';

interface CachedToken {
  /** The scopes asked for, as a cache key. */
  key: string;
  requested: Scope[];
  /** What the token server granted, when the token is a JWT with an `access` claim. */
  granted?: Scope[];
  token: string;
  expiresAt: number;
}

function scopeKey(scopes: Scope[]): string {
  return mergeScopes(scopes).map(formatScope).join(' ');
}

/**
 * Reads (does not verify) the `access` claim of a JWT bearer token, as issued by Distribution's
 * token servers (Token Authentication Implementation, "access" claim). Opaque tokens give undefined.
 */
export function grantedScopes(token: string): Scope[] | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { access?: unknown };
    if (!Array.isArray(claims.access)) return undefined;
    return claims.access
      .filter((a): a is { type: string; name: string; actions?: unknown } => typeof a === 'object' && a !== null && typeof (a as { type?: unknown }).type === 'string' && typeof (a as { name?: unknown }).name === 'string')
      .map((a) => ({ type: a.type, name: a.name, actions: Array.isArray(a.actions) ? a.actions.filter((x): x is string => typeof x === 'string') : [] }));
  } catch {
    return undefined;
  }
}

interface RegistryAuthState {
  challenge?: { scheme: 'bearer' | 'basic'; realm?: string; service?: string };
  credential?: Promise<Credential | undefined>;
  tokens: CachedToken[];
  pending: Map<string, Promise<CachedToken>>;
  /** While the first request learns the registry's challenge: settles when it has. */
  learning?: Promise<void>;
  releaseLearning?: () => void;
  /** The first request has been answered: later ones no longer wait for it. */
  learnt?: boolean;
  /** Scopes a running push will ask for (expectScopes): every token fetched meanwhile covers them. */
  expected: Set<Scope[]>;
}

/** Refresh a token this long before it expires, so a request never carries a dying one. */
const expirySlackMs = 15_000;

export interface AuthenticatorOptions {
  dispatcher: Dispatcher;
  credentials?: CredentialSource;
  /** Whether plain HTTP is acceptable for a host (token realms included). */
  insecureAllowed: (host: string) => boolean;
  userAgent?: string;
  clientId?: string;
  now?: () => number;
  /** How long a token server may take to answer (headers, then body). Default 30 s. */
  timeoutMs?: number;
}

export class RegistryAuthenticator {
  private readonly states = new Map<string, RegistryAuthState>();
  private readonly now: () => number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
  }

  private state(registry: string): RegistryAuthState {
    let state = this.states.get(registry);
    if (!state) {
      state = { tokens: [], pending: new Map(), expected: new Set() };
      this.states.set(registry, state);
    }
    return state;
  }

  private credential(registry: string): Promise<Credential | undefined> {
    const state = this.state(registry);
    state.credential ??= (this.options.credentials?.get(registry) ?? Promise.resolve(undefined)).then((c) => {
      for (const secret of [c?.password, c?.identityToken, c?.registryToken]) if (secret) registerSecret(secret);
      if (c?.username && c.password) registerSecret(Buffer.from(`${c.username}:${c.password}`).toString('base64'));
      return c;
    });
    return state.credential;
  }

  /**
   * Called before a request. Until a registry's challenge is known, every request goes without
   * credentials and earns a 401 of its own: a push's first burst (the target's manifest, a HEAD
   * per blob, the base's repository) then costs two round trips each. Instead, the first request
   * goes alone; those started meanwhile wait until it was answered (and its challenge learnt,
   * as docker's `GET /v2/` ping does), then go with a token. Returns, for the first request only,
   * the call that releases the others (idempotent; learning the challenge releases them at once,
   * so their tokens are fetched beside the first one's). A registry without auth releases them too.
   */
  async learnChallengeFirst(registry: string, signal?: AbortSignal): Promise<(() => void) | undefined> {
    const state = this.state(registry);
    while (!state.learnt && !state.challenge) {
      if (!state.learning) {
        let resolve!: () => void;
        state.learning = new Promise<void>((r) => (resolve = r));
        state.releaseLearning = () => {
          state.learnt = true;
          state.learning = undefined;
          state.releaseLearning = undefined;
          resolve();
        };
        return state.releaseLearning;
      }
      await abortable(state.learning, signal);
    }
    return undefined;
  }

  /**
   * Says which scopes a push is about to need at `registry` (push and pull on its target, pull on
   * the repositories it may mount from), so that the first token fetched covers them all, as
   * docker's push asks for them in one token (moby distribution/push_v2.go). Without it, a first
   * push fetched three tokens one after another: the target's pull for its tag read, the base's
   * path for the probes, and push with the mount source for the mounts (10–20 ms each in the
   * bench's traces).
   * A token server grants what it may (Token Authentication Specification: the granted subset),
   * so asking for more never costs a refusal. Returns the call that withdraws them again.
   */
  expectScopes(registry: string, scopes: Scope[]): () => void {
    const expected = this.state(registry).expected;
    const entry = mergeScopes(scopes);
    expected.add(entry);
    return () => expected.delete(entry);
  }

  /** The Authorization header for a request needing `scopes`, if the registry wants one. */
  async authorization(registry: string, scopes: Scope[], signal?: AbortSignal): Promise<string | undefined> {
    const state = this.state(registry);
    const credential = await this.credential(registry);
    if (credential?.registryToken) return `Bearer ${credential.registryToken}`;
    const challenge = state.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      return credential?.username !== undefined && credential.password !== undefined
        ? `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`
        : undefined;
    }
    const token = await this.token(registry, scopes, signal);
    return `Bearer ${token.token}`;
  }

  /**
   * Learns from a 401/403 challenge and says whether the request is worth retrying: with a new
   * token for the merged scopes, or with Basic credentials. "denied" means the token server
   * already told us (in the token's access claim) that these actions will not be granted.
   */
  async handleChallenge(registry: string, header: string | undefined, scopes: Scope[], attempt: number, signal?: AbortSignal, sentAuthorization?: string): Promise<'retry' | 'denied' | 'give-up'> {
    if (!header) return 'give-up';
    const challenges = parseAuthChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const state = this.state(registry);
    // A registrytoken is sent as is (docker does no token flow for it): nothing to negotiate.
    if ((await this.credential(registry))?.registryToken) return 'give-up';
    if (bearer?.params.realm) {
      state.challenge = { scheme: 'bearer', realm: bearer.params.realm, service: bearer.params.service };
      // The waiting requests fetch their own tokens beside this one's.
      state.releaseLearning?.();
      const wanted = mergeScopes(scopes, parseScopes(bearer.params.scope ?? ''));
      const key = scopeKey(mergeScopes(wanted, ...state.expected));
      const known = state.tokens.find((t) => t.key === key);
      if (known?.granted && !scopesCover(known.granted, wanted)) return 'denied';
      if (attempt > 0 && !isInsufficientScope(bearer)) return 'give-up'; // a fresh token was refused
      // The token we sent (if any) was refused: revoked, expired early, or too narrow.
      state.tokens = state.tokens.filter((t) => t.key !== key && !scopesCover(t.granted ?? t.requested, scopes));
      const token = await this.token(registry, wanted, signal, true);
      return token.granted && !scopesCover(token.granted, wanted) ? 'denied' : 'retry';
    }
    if (basic) {
      // Refused although Basic credentials went with the request: they are wrong. A request sent
      // before the first challenge was learnt (concurrent first requests) deserves its retry.
      if (attempt > 0 || sentAuthorization?.startsWith('Basic ')) return 'give-up';
      state.challenge = { scheme: 'basic' };
      state.releaseLearning?.();
      const credential = await this.credential(registry);
      return credential?.username !== undefined && credential.password !== undefined ? 'retry' : 'give-up';
    }
    return 'give-up';
  }

  private cached(state: RegistryAuthState, scopes: Scope[]): CachedToken | undefined {
    const now = this.now();
    state.tokens = state.tokens.filter((t) => t.expiresAt - expirySlackMs > now);
    // Asked for exactly these scopes (with what a push expects): reused even when the server
    // granted less, so a refused action is not asked for again on every request.
    const keys = [scopeKey(scopes), scopeKey(mergeScopes(scopes, ...state.expected))];
    return state.tokens.find((t) => keys.includes(t.key)) ?? state.tokens.find((t) => scopesCover(t.granted ?? t.requested, scopes));
  }

  private async token(registry: string, scopes: Scope[], signal: AbortSignal | undefined, fresh = false): Promise<CachedToken> {
    const state = this.state(registry);
    if (!fresh) {
      const hit = this.cached(state, scopes);
      if (hit) return hit;
    }
    const merged = mergeScopes(scopes, ...state.expected);
    const key = scopeKey(merged);
    let pending = state.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(registry, merged, signal).finally(() => state.pending.delete(key));
      state.pending.set(key, pending);
    }
    const token = await pending;
    if (!state.tokens.includes(token)) state.tokens.push(token);
    return token;
  }

  private async fetchToken(registry: string, scopes: Scope[], signal: AbortSignal | undefined): Promise<CachedToken> {
    const challenge = this.state(registry).challenge;
    const fail = (problem: string, hint?: string, code: 'TOKEN_FAILED' | 'UNAUTHORIZED' | 'INSECURE_REFUSED' = 'TOKEN_FAILED') =>
      new RegistryError({ code, operation: 'authenticate to', registry, problem, hint });
    if (!challenge?.realm) throw fail('the registry asked for a token but named no realm');
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw fail(`the token realm ${JSON.stringify(challenge.realm.slice(0, 80))} is not a URL`);
    }
    if (realm.protocol !== 'https:' && !(isLoopbackRegistry(realm.host) || this.options.insecureAllowed(realm.host))) {
      throw fail(`refused to send credentials to a plain-HTTP token server (${realm.host})`, `add ${realm.host} to insecureRegistries only if you trust the network`, 'INSECURE_REFUSED');
    }
    const credential = await this.credential(registry);
    const scopeStrings = scopes.map(formatScope);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'layerlift', accept: 'application/json' };
    let request: Dispatcher.RequestOptions;
    if (credential?.identityToken) {
      // OAuth2 refresh-token grant, as docker does for identity tokens.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: this.options.clientId ?? 'layerlift' });
      if (challenge.service) form.set('service', challenge.service);
      if (scopeStrings.length > 0) form.set('scope', scopeStrings.join(' '));
      headers['content-type'] = 'application/x-www-form-urlencoded';
      request = { origin: realm.origin, path: realm.pathname, method: 'POST', headers, body: form.toString(), signal };
    } else {
      const url = new URL(realm);
      if (challenge.service) url.searchParams.set('service', challenge.service);
      for (const scope of scopeStrings) url.searchParams.append('scope', scope);
      if (credential?.username !== undefined && credential.password !== undefined) {
        url.searchParams.set('account', credential.username);
        headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      }
      request = { origin: url.origin, path: url.pathname + url.search, method: 'GET', headers, signal };
    }
    let res: Dispatcher.ResponseData;
    timing(`token requested (${scopeStrings.join(' ')})`);
    try {
      res = await this.options.dispatcher.request({ ...request, headersTimeout: this.options.timeoutMs ?? 30_000, bodyTimeout: this.options.timeoutMs ?? 30_000 });
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') throw error;
      throw fail(`the token server ${realm.host} is unreachable (${(error as { code?: string }).code ?? 'error'})`, 'check the network and retry');
    }
    let text: string;
    try {
      text = await readLimited(res.body, 1024 * 1024);
    } catch (error) {
      if ((error as { name?: string }).name === 'AbortError') throw error;
      throw fail(`the token server ${realm.host} broke off its answer (${(error as { code?: string }).code ?? 'error'})`, 'check the network and retry');
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      const detail = parseRegistryErrorBody(text)[0]?.message;
      throw fail(`credentials rejected by the token server${detail ? ` (${detail})` : ''} (HTTP ${res.statusCode})`, `run "docker login ${registry}"`, 'UNAUTHORIZED');
    }
    if (res.statusCode !== 200) throw fail(`the token server ${realm.host} answered HTTP ${res.statusCode}`, 'retry later');
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw fail(`the token server ${realm.host} sent a response that is not JSON`);
    }
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw fail(`the token server ${realm.host} sent no token`);
    registerSecret(token);
    timing('token answered');
    // Spec: expires_in defaults to 60 seconds. Use our own clock, not issued_at, to stay immune to skew.
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { key: scopeKey(scopes), requested: scopes, granted: grantedScopes(token), token, expiresAt: this.now() + expiresIn * 1000 };
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}


/** Waits for `promise`, or rejects with the signal's reason when it aborts first. */
function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
