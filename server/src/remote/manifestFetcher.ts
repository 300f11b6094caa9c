// How the editor reads a registry (used by registryState.ts): a tag's digest by HEAD, manifests
// and configs from the on-disk cache by digest or else one GET, and the pauses a registry asks
// for (429, few pulls left: rateLimit.ts) checked before every request.
import { isDigest } from '../core/digest';
import { MANIFEST_ACCEPT_HEADER, parseManifest, type ParsedManifest } from '../core/mediaTypes';
import { isRegistryError } from '../registry/errors';
import { headerString, pullScope, type RegistryClient, type RepositoryRef } from '../registry/registryClient';
import { Backoff, pauseFor, type BackoffRule, type Pause } from './rateLimit';
import { ManifestCache } from './manifestCache';

/** A request not sent because the registry asked us to wait (429, or few pulls left). */
export class RegistryPausedError extends Error {
  readonly code = 'RATE_LIMITED';
  constructor(readonly pause: Pause) {
    super(pause.reason);
    this.name = 'RegistryPausedError';
  }
}

export class ManifestFetcher {
  readonly backoff = new Backoff();
  private readonly cache: ManifestCache;

  constructor(
    private readonly client: RegistryClient,
    private readonly now: () => number,
    cacheDirectory?: string,
    private readonly backoffRule?: BackoffRule,
  ) {
    this.cache = new ManifestCache(cacheDirectory);
  }

  /** Throws when the registry asked us to wait for this kind of request. */
  check(registry: string, method: 'HEAD' | 'GET'): void {
    const pause = this.backoff.blocking(registry, method, this.now());
    if (pause) throw new RegistryPausedError(pause);
  }

  /** The digest a tag names now, by HEAD (a digest reference costs nothing); undefined on 404.
   *  `parsed` is set when the registry omitted the digest and the manifest had to be read. */
  async headDigest(repo: RepositoryRef, reference: string): Promise<{ digest: string; parsed?: ParsedManifest } | undefined> {
    if (isDigestText(reference)) return { digest: reference };
    this.check(repo.registry, 'HEAD');
    const req = { ...repo, operation: 'pull', method: 'HEAD' as const, path: `/v2/${repo.repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT_HEADER }, scopes: pullScope(repo) };
    const res = await this.client.http.request(req);
    await res.body.dump();
    this.backoff.note(repo.registry, pauseFor(repo.registry, res.status, res.headers, this.now(), this.backoffRule));
    this.check(repo.registry, 'HEAD');
    if (res.status === 404) return undefined;
    await this.client.http.expect(res, [200], req, 'MANIFEST_UNKNOWN');
    const digest = headerString(res.headers['docker-content-digest']);
    if (digest && isDigest(digest)) return { digest };
    // Some registries omit the digest on HEAD: only a GET can tell.
    this.check(repo.registry, 'GET');
    const fetched = await this.paused(repo.registry, () => this.client.getManifest(repo, reference));
    await this.cache.put(fetched.digest, fetched.bytes);
    return { digest: fetched.digest, parsed: fetched.parsed };
  }

  /** A manifest by digest: from the cache, else one GET (then cached). */
  async manifest(repo: RepositoryRef, digest: string): Promise<ParsedManifest> {
    const cached = await this.cache.get(digest);
    if (cached) return parseManifest(cached);
    this.check(repo.registry, 'GET');
    const fetched = await this.paused(repo.registry, () => this.client.getManifest(repo, digest));
    await this.cache.put(digest, fetched.bytes);
    return fetched.parsed;
  }

  async configBytes(repo: RepositoryRef, digest: string): Promise<Buffer> {
    const cached = await this.cache.get(digest);
    if (cached) return cached;
    this.check(repo.registry, 'GET');
    const stream = await this.paused(repo.registry, () => this.client.openBlob(repo, digest));
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 16 * 1024 * 1024) throw new Error(`the config ${digest} in ${repo.registry}/${repo.repository} is too large to be an image config`);
      chunks.push(chunk);
    }
    const bytes = Buffer.concat(chunks);
    await this.cache.put(digest, bytes);
    return bytes;
  }

  /** A 429 on a GET pauses the registry like one on a HEAD. */
  private async paused<T>(registry: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (isRegistryError(error) && error.status === 429) {
        const retryAfter = error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
        this.backoff.note(registry, pauseFor(registry, 429, retryAfter, this.now(), this.backoffRule));
        this.check(registry, 'GET');
      }
      throw error;
    }
  }
}

/** isDigest without narrowing the argument (a tag that is not a digest is still a string). */
function isDigestText(value: string): boolean {
  return isDigest(value);
}
