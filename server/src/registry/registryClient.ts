// The OCI distribution client: manifests and blobs of one registry repository at a time.
// Endpoints per the OCI distribution-spec "API" section (end-1..end-13); every byte that comes
// down is verified against its digest before anyone uses it.
import { TokenBucket } from './uploadRate';
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { repositoryScope, type Scope } from '../core/authChallenge';
import { computeDigest, isDigest, parseDigest } from '../core/digest';
import { MANIFEST_ACCEPT_HEADER, normalizeMediaType, parseManifest, ManifestInvalidError, type ParsedManifest } from '../core/mediaTypes';
import { RegistryAuthenticator } from './auth';
import type { CredentialSource } from './credentials';
import { RegistryError, errorFromTransport } from './errors';
import { RegistryHttp, type RegistryHttpOptions, type RegistryRequest, type RegistryResponse } from './http';

/** A repository in a registry: `{ registry: '127.0.0.1:5000', repository: 'team/app' }`. */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  /** The exact bytes, as digested: re-push these, never a re-serialisation. */
  bytes: Buffer;
  parsed: ParsedManifest;
}

export interface UploadSession {
  target: RepositoryRef;
  /** Absolute URL of the session, from the registry's latest Location header. */
  location: string;
  /** OCI-Chunk-Min-Length, when the registry announces one. */
  minChunkLength?: number;
}

export interface RegistryClientOptions extends RegistryHttpOptions {
  credentials?: CredentialSource;
  /** --limit-rate: blob upload bodies leave at most this many bytes per second. */
  limitRateBytesPerSecond?: number;
}

/** OCI distribution-spec suggests registries accept manifests up to 4 MiB; larger is hostile. */
export const maxManifestBytes = 4 * 1024 * 1024;

export const pullScope = (repo: RepositoryRef): Scope[] => [repositoryScope(repo.repository, ['pull'])];
export const pushScope = (repo: RepositoryRef): Scope[] => [repositoryScope(repo.repository, ['pull', 'push'])];

export class RegistryClient {
  readonly http: RegistryHttp;
  /** The upload cap shared by every blob upload through this client (uploadRate.ts), if any. */
  readonly uploadRate: TokenBucket | undefined;
  private readonly authenticator: RegistryAuthenticator;

  constructor(options: RegistryClientOptions = {}) {
    this.http = new RegistryHttp(options);
    this.uploadRate = options.limitRateBytesPerSecond === undefined ? undefined : new TokenBucket(options.limitRateBytesPerSecond);
    this.authenticator = new RegistryAuthenticator({
      dispatcher: this.http.dispatcher,
      credentials: options.credentials,
      insecureAllowed: (host) => this.http.isInsecureAllowed(host),
      userAgent: options.userAgent,
      // A token server that never answers must not outlast the registry's own timeout.
      timeoutMs: options.headersTimeoutMs === undefined ? undefined : Math.min(options.headersTimeoutMs, 30_000),
    });
    this.http.setAuthenticator(this.authenticator);
  }

  /** The scopes a push is about to need at `registry`, asked for in its first token (auth.ts). */
  expectScopes(registry: string, scopes: Scope[]): () => void {
    return this.authenticator.expectScopes(registry, scopes);
  }

  /**
   * `GET /v2/`, as docker's push begins (its ping), sent while the engine is still asked about the
   * image: the registry's auth challenge is learnt and a token for `scopes` fetched before the
   * plan's first read, which otherwise paid the 401 and then the token one after the other, after
   * the inspect. It reads nothing of the registry's content. Best effort: the push's own requests
   * meet, and report, whatever this met.
   */
  async greet(registry: string, scopes: Scope[], signal?: AbortSignal): Promise<void> {
    try {
      // The token fetched, the request is not sent again: nothing here needs its answer.
      const res = await this.http.request({ registry, operation: 'reach', method: 'GET', path: '/v2/', scopes, signal, challengeOnly: true });
      await res.body.dump();
    } catch {
      // see above
    }
  }

  get dispatcher(): Dispatcher {
    return this.http.dispatcher;
  }

  private request(repo: RepositoryRef, operation: string, init: Omit<RegistryRequest, 'registry' | 'repository' | 'operation'>): Promise<RegistryResponse> {
    return this.http.request({ ...init, registry: repo.registry, repository: repo.repository, operation });
  }

  /** GET a manifest or index by tag or digest, verified (end-3). */
  async getManifest(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const req = { method: 'GET' as const, path: `/v2/${repo.repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT_HEADER }, scopes: pullScope(repo), signal };
    const res = await this.request(repo, 'pull', req);
    await this.http.expect(res, [200], { ...req, ...repo, operation: 'pull' }, 'MANIFEST_UNKNOWN');
    const declared = Number(res.headers['content-length']);
    const tooLarge = () => new RegistryError({ code: 'MANIFEST_TOO_LARGE', operation: 'pull', ...repo, problem: `the manifest for ${reference} is larger than ${maxManifestBytes} bytes`, hint: 'the registry answer is not a usable image manifest' });
    if (declared > maxManifestBytes) {
      res.body.destroy();
      throw tooLarge();
    }
    let bytes: Buffer;
    try {
      bytes = await this.http.readBody(res, maxManifestBytes);
    } catch (error) {
      if ((error as { code?: string }).code === 'BODY_TOO_LARGE') throw tooLarge();
      throw error;
    }
    const digest = verifyManifestDigest(repo, reference, bytes, headerString(res.headers['docker-content-digest']));
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(bytes, headerString(res.headers['content-type']));
    } catch (error) {
      const reason = error instanceof ManifestInvalidError ? error.reason : String(error);
      throw new RegistryError({ code: 'MANIFEST_INVALID', operation: 'pull', ...repo, problem: `the manifest for ${reference} is invalid: ${reason}` });
    }
    return { digest, mediaType: parsed.mediaType, bytes, parsed };
  }

  /** HEAD a manifest (end-3): its digest and media type, or undefined when absent. */
  async headManifest(repo: RepositoryRef, reference: string, signal?: AbortSignal): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    const req = { method: 'HEAD' as const, path: `/v2/${repo.repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT_HEADER }, scopes: pullScope(repo), signal };
    const res = await this.request(repo, 'pull', req);
    await res.body.dump();
    if (res.status === 404) return undefined;
    await this.http.expect(res, [200], { ...req, ...repo, operation: 'pull' }, 'MANIFEST_UNKNOWN');
    const digest = headerString(res.headers['docker-content-digest']);
    if (!digest || !isDigest(digest)) {
      // Some registries omit the digest on HEAD; the body is the only truth then.
      const full = await this.getManifest(repo, reference, signal);
      return { digest: full.digest, mediaType: full.mediaType, size: full.bytes.length };
    }
    return { digest, mediaType: normalizeMediaType(headerString(res.headers['content-type']) ?? ''), size: Number(res.headers['content-length'] ?? 0) };
  }

  /** PUT a manifest under a tag or its digest (end-7); returns the digest the registry stored. */
  async putManifest(repo: RepositoryRef, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<string> {
    const req = { method: 'PUT' as const, path: `/v2/${repo.repository}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: bytes, scopes: pushScope(repo), signal };
    const res = await this.request(repo, 'push', req);
    await this.http.expect(res, [200, 201], { ...req, ...repo, operation: 'push' }, 'NAME_UNKNOWN');
    await res.body.dump();
    const digest = computeDigest(bytes, 'sha256');
    const stored = headerString(res.headers['docker-content-digest']);
    if (stored && stored !== digest) {
      throw new RegistryError({ code: 'DIGEST_MISMATCH', operation: 'push', ...repo, problem: `the registry stored the manifest as ${stored}, not ${digest}`, hint: 'the registry rewrote the manifest; the image digest would change' });
    }
    return digest;
  }

  /**
   * The repository's tags (end-8a/8b), following `Link: <…>; rel="next"` pages (at most 100
   * pages of 1,000). An unknown repository has none.
   */
  async listTags(repo: RepositoryRef, signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let path = `/v2/${repo.repository}/tags/list?n=1000`;
    for (let page = 0; page < 100 && path; page++) {
      const req = { method: 'GET' as const, path, scopes: pullScope(repo), signal };
      const res = await this.request(repo, 'pull', req);
      if (res.status === 404) {
        await res.body.dump();
        return tags;
      }
      await this.http.expect(res, [200], { ...req, ...repo, operation: 'pull' }, 'NAME_UNKNOWN');
      const body = (await res.body.json().catch(() => ({}))) as { tags?: unknown };
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(headerString(res.headers.link) ?? '');
      path = next?.[1] ?? '';
    }
    return tags;
  }

  /** DELETE a manifest by digest (end-9). */
  async deleteManifest(repo: RepositoryRef, digest: string, signal?: AbortSignal): Promise<void> {
    const req = { method: 'DELETE' as const, path: `/v2/${repo.repository}/manifests/${digest}`, scopes: [repositoryScope(repo.repository, ['delete'])], signal };
    const res = await this.request(repo, 'delete', req);
    await this.http.expect(res, [202, 200], { ...req, ...repo, operation: 'delete' }, 'MANIFEST_UNKNOWN');
    await res.body.dump();
  }

  /** HEAD a blob (end-2): its size, or undefined when the repository does not have it. */
  async headBlob(repo: RepositoryRef, digest: string, signal?: AbortSignal): Promise<number | undefined> {
    const req = { method: 'HEAD' as const, path: `/v2/${repo.repository}/blobs/${digest}`, scopes: pullScope(repo), signal };
    const res = await this.request(repo, 'pull', req);
    await res.body.dump();
    if (res.status === 404) return undefined;
    await this.http.expect(res, [200], { ...req, ...repo, operation: 'pull' }, 'BLOB_UNKNOWN');
    return Number(res.headers['content-length'] ?? 0);
  }

  /**
   * GET a blob (end-2) as a stream, from `offset` on (a Range request). A whole-blob stream is
   * verified as it flows: it errors at the end if the bytes do not match `digest` and `size`.
   */
  async openBlob(repo: RepositoryRef, digest: string, options: { offset?: number; size?: number; signal?: AbortSignal; verify?: boolean } = {}): Promise<Readable> {
    const offset = options.offset ?? 0;
    const req = { method: 'GET' as const, path: `/v2/${repo.repository}/blobs/${digest}`, headers: offset > 0 ? { range: `bytes=${offset}-` } : undefined, scopes: pullScope(repo), signal: options.signal };
    const res = await this.request(repo, 'pull', req);
    await this.http.expect(res, offset > 0 ? [206] : [200], { ...req, ...repo, operation: 'pull' }, 'BLOB_UNKNOWN');
    const body = res.body as Readable;
    // Ranged reads cannot be verified alone; callers that resume (blobUpload) hash themselves.
    const out = offset > 0 || options.verify === false ? new PassThrough() : verifyingStream(digest, options.size, repo);
    // A dropped connection or broken framing errors the stream the caller reads, as a typed
    // error; a caller that stops reading (destroys it) stops the download.
    body.once('error', (error) => out.destroy(errorFromTransport(error, { operation: 'pull', ...repo })));
    out.once('close', () => body.destroy());
    body.pipe(out);
    return out;
  }

  /**
   * Starts an upload (end-4a), or mounts `digest` from another repository of the same registry
   * (end-11). With no `from`, tries an anonymous mount (OCI distribution-spec 1.1: the registry
   * may find the blob by digest alone). A 202 is the fallback upload session, reused as is.
   */
  async startUpload(target: RepositoryRef, mount?: { digest: string; from?: string }, signal?: AbortSignal): Promise<{ mounted: true } | { mounted: false; session: UploadSession }> {
    const scopes = [...pushScope(target), ...(mount?.from ? [repositoryScope(mount.from, ['pull'])] : [])];
    const query = mount ? { mount: mount.digest, from: mount.from } : undefined;
    const req = { method: 'POST' as const, path: `/v2/${target.repository}/blobs/uploads/`, query, headers: { 'content-length': '0' }, scopes, signal };
    const res = await this.request(target, mount ? 'mount' : 'push', req);
    await this.http.expect(res, [201, 202], { ...req, ...target, operation: mount ? 'mount' : 'push' }, 'NAME_UNKNOWN');
    await res.body.dump();
    if (res.status === 201 && mount) return { mounted: true };
    return { mounted: false, session: sessionFrom(target, res) };
  }

  /** Cancels an upload session (end-13); best effort, never throws. */
  async cancelUpload(session: UploadSession): Promise<void> {
    try {
      const res = await this.request(session.target, 'cancel upload to', { method: 'DELETE', path: session.location, scopes: pushScope(session.target) });
      await res.body.dump();
    } catch {
      // the session may already be gone; nothing else to do
    }
  }

  /** Where an upload session stands (end-13 GET): bytes the registry holds, and the new session. */
  async uploadStatus(session: UploadSession, signal?: AbortSignal): Promise<{ offset: number; session: UploadSession }> {
    const req = { method: 'GET' as const, path: session.location, scopes: pushScope(session.target), signal };
    const res = await this.request(session.target, 'push', req);
    await this.http.expect(res, [204], { ...req, ...session.target, operation: 'push' }, 'BLOB_UPLOAD_UNKNOWN');
    await res.body.dump();
    return { offset: rangeEnd(headerString(res.headers.range)) + 1, session: sessionFrom(session.target, res, session) };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

export function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The last byte index of a `Range: 0-N` upload header; -1 when nothing is stored.
 * Distribution reports an empty session as `0-0` (not a one-byte one), as do registries built
 * on it, so `0-0` means empty: a real single stored byte would only cost one 416 and a retry.
 */
export function rangeEnd(range: string | undefined): number {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  if (!match || match[1] === '0') return -1;
  return Number(match[1]);
}

export function sessionFrom(target: RepositoryRef, res: RegistryResponse, previous?: UploadSession): UploadSession {
  const location = headerString(res.headers.location);
  if (!location) {
    if (previous) return previous;
    throw new RegistryError({ code: 'PROTOCOL', operation: 'push', ...target, problem: 'the registry opened an upload without a Location header' });
  }
  const minChunk = Number(headerString(res.headers['oci-chunk-min-length']));
  return {
    target,
    location: new URL(location, res.url).toString(),
    minChunkLength: Number.isFinite(minChunk) && minChunk > 0 ? minChunk : previous?.minChunkLength,
  };
}

function verifyManifestDigest(repo: RepositoryRef, reference: string, bytes: Buffer, headerDigest: string | undefined): string {
  const mismatch = (expected: string, actual: string) =>
    new RegistryError({ code: 'DIGEST_MISMATCH', operation: 'pull', ...repo, problem: `manifest ${reference} has digest ${actual}, expected ${expected}`, hint: 'the registry or a proxy altered the content; do not use it' });
  if (isDigest(reference)) {
    const actual = computeDigest(bytes, parseDigest(reference).algorithm);
    if (actual !== reference) throw mismatch(reference, actual);
    return reference;
  }
  const actual = computeDigest(bytes, 'sha256');
  if (headerDigest && isDigest(headerDigest)) {
    const algorithmActual = computeDigest(bytes, parseDigest(headerDigest).algorithm);
    if (algorithmActual !== headerDigest) throw mismatch(headerDigest, algorithmActual);
  }
  return actual;
}

/** A pass-through that fails the stream when the content does not hash to `digest`. */
function verifyingStream(digest: string, size: number | undefined, repo: RepositoryRef): Transform {
  const { algorithm } = parseDigest(digest);
  const hash = createHash(algorithm);
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      seen += chunk.length;
      if (size !== undefined && seen > size) {
        callback(new RegistryError({ code: 'SIZE_MISMATCH', operation: 'pull', ...repo, problem: `blob ${digest} is larger than ${size} bytes` }));
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (size !== undefined && seen !== size) {
        callback(new RegistryError({ code: 'SIZE_MISMATCH', operation: 'pull', ...repo, problem: `blob ${digest} has ${seen} bytes, expected ${size}` }));
      } else if (actual !== digest) {
        callback(new RegistryError({ code: 'DIGEST_MISMATCH', operation: 'pull', ...repo, problem: `blob has digest ${actual}, expected ${digest}`, hint: 'the registry or a proxy altered the content' }));
      } else {
        callback();
      }
    },
  });
}
