// What the language server knows about registries, without ever waiting for them.
// Reads are synchronous and answer from cache (possibly "unknown yet"); a miss or a stale entry
// schedules a fetch in the background. Fetches run a few at a time (HEADs of one round are
// batched), results are cached with a TTL, and one 'changed' event per round tells the server
// to send workspace/codeLens/refresh and workspace/inlayHint/refresh.
// A base is checked by HEAD of its manifest (the digest); manifests and configs are downloaded
// only when that digest is new to the on-disk cache (manifestCache.ts), so a background refresh
// of an unchanged base spends no Docker Hub pull. A 429 or a low RateLimit-Remaining pauses the
// registry (rateLimit.ts) instead of retrying; notices() words it for the hover.
import { EventEmitter } from 'node:events';
import { formatReference, type ImageReference } from '../core/reference';
import { selectManifest } from '../core/platform';
import type { Descriptor, Platform } from '../core/mediaTypes';
import { isRegistryError } from '../registry/errors';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';
import type { BackoffRule } from './rateLimit';
import { ManifestFetcher, RegistryPausedError } from './manifestFetcher';

export { RegistryPausedError } from './manifestFetcher';
import type { Fact } from '../analysis/documentView';

/** A pushed image's layers with their uncompressed identities (the config's diff_ids). */
export interface PushedImageFacts {
  digest: string;
  layers: Descriptor[];
  diffIds: string[];
}

export interface BaseImageFacts {
  /** The digest the reference resolved to (index or manifest). */
  digest: string;
  /** The platform manifest's digest. */
  manifestDigest: string;
  layers: Descriptor[];
  configDigest: string;
  checkedAt: number;
}

export type { Fact };

export interface RegistryStateOptions {
  ttlMs?: number;
  /** How long a failure is remembered before trying again. */
  errorTtlMs?: number;
  concurrency?: number;
  now?: () => number;
  /** Where manifests and configs are kept by digest across sessions (default: memory only). */
  cacheDirectory?: string;
  backoffRule?: BackoffRule;
}

interface Entry<T> {
  value?: T;
  error?: { message: string; code: string };
  /** When `value` was last confirmed by the registry. */
  checkedAt: number;
  /** When the last attempt failed (0 when the last attempt succeeded). */
  failedAt: number;
  /** Due for a fetch regardless of age: new, or invalidated by the user. */
  expired: boolean;
  inFlight: boolean;
}

export class RegistryState extends EventEmitter {
  private readonly bases = new Map<string, Entry<BaseImageFacts>>();
  private readonly blobs = new Map<string, Entry<boolean>>();
  private readonly pushed = new Map<string, Entry<PushedImageFacts | null>>();
  private readonly queue: (() => Promise<void>)[] = [];
  private running = 0;
  private changedTimer: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;
  private readonly errorTtlMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  /** Repositories (`registry/repository`) seen holding each blob: later mount candidates. */
  private readonly holders = new Map<string, Set<string>>();
  /** Bumped by invalidate(): a fetch that started before keeps its entry due for another. */
  private generation = 0;
  /** Registries whose last request failed on the network: the UI says "offline". */
  readonly unreachable = new Set<string>();
  private readonly fetcher: ManifestFetcher;

  constructor(
    private readonly client: RegistryClient,
    options: RegistryStateOptions = {},
  ) {
    super();
    this.ttlMs = options.ttlMs ?? 60_000;
    this.errorTtlMs = options.errorTtlMs ?? 15_000;
    this.concurrency = options.concurrency ?? 4;
    this.now = options.now ?? Date.now;
    this.fetcher = new ManifestFetcher(client, this.now, options.cacheDirectory, options.backoffRule);
  }

  /** One sentence per registry Layerlift is waiting for (429, low pull count): for the hover. */
  notices(): string[] {
    return this.fetcher.backoff.notices(this.now());
  }

  /** The base image's layers for a platform; fetched in the background when unknown or stale. */
  baseImage(ref: ImageReference, platform: Platform): Fact<BaseImageFacts> {
    const key = `${formatReference(ref)}|${platform.os}/${platform.architecture}/${platform.variant ?? ''}`;
    return this.read(this.bases, key, ref.registry, () => this.fetchBase(ref, platform));
  }

  /** Whether a repository holds a blob (HEAD); fetched in the background when unknown or stale. */
  blobPresent(repo: RepositoryRef, digest: string): Fact<boolean> {
    return this.read(this.blobs, `${repo.registry}/${repo.repository}|${digest}`, repo.registry, async () => {
      this.fetcher.check(repo.registry, 'HEAD');
      const present = (await this.client.headBlob(repo, digest)) !== undefined;
      this.noteHolder(digest, `${repo.registry}/${repo.repository}`, present);
      return present;
    });
  }

  /** Repositories seen holding a blob in this session (from HEADs and base manifests). */
  knownHolders(digest: string): string[] {
    return [...(this.holders.get(digest) ?? [])];
  }

  private noteHolder(digest: string, repository: string, present: boolean): void {
    let set = this.holders.get(digest);
    if (!set) {
      if (!present) return;
      set = new Set();
      this.holders.set(digest, set);
    }
    if (present) set.add(repository);
    else set.delete(repository);
  }

  /**
   * The image a target reference holds now (null when the tag does not exist yet), with its
   * config's diff_ids, so locally built layers can be matched to the blobs already pushed.
   */
  pushedImage(ref: ImageReference, platform: Platform): Fact<PushedImageFacts | null> {
    const key = `${formatReference(ref)}|${platform.os}/${platform.architecture}/${platform.variant ?? ''}`;
    return this.read(this.pushed, key, ref.registry, () => this.fetchPushed(ref, platform));
  }

  /** Forget everything (the user asked to refresh, or settings changed). */
  invalidate(): void {
    for (const map of [this.bases, this.blobs, this.pushed] as Map<string, Entry<unknown>>[]) {
      for (const entry of map.values()) entry.expired = true;
    }
    this.generation++;
    this.emitChanged();
  }

  /** Resolves once nothing is queued or running (tests, and the CLI's one-shot use). */
  async settled(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private read<T>(map: Map<string, Entry<T>>, key: string, registry: string, fetch: () => Promise<T>): Fact<T> {
    const now = this.now();
    let entry = map.get(key);
    if (!entry) {
      entry = { checkedAt: 0, failedAt: 0, expired: true, inFlight: false };
      map.set(key, entry);
    }
    const due = entry.expired || (entry.error ? now - entry.failedAt > this.errorTtlMs : now - entry.checkedAt > this.ttlMs);
    if (due && !entry.inFlight) this.schedule(entry, registry, fetch);
    // A value survives a failed refresh, but it is then stale: "checked" stays when it was true.
    const stale = entry.expired || entry.error !== undefined || now - entry.checkedAt > this.ttlMs;
    if (entry.value !== undefined) return { state: 'known', value: entry.value, checkedAt: entry.checkedAt, stale };
    if (entry.error) return { state: 'error', ...entry.error, checkedAt: entry.failedAt };
    return { state: 'unknown' };
  }

  private schedule<T>(entry: Entry<T>, registry: string, fetch: () => Promise<T>): void {
    entry.inFlight = true;
    const generation = this.generation;
    this.queue.push(async () => {
      try {
        entry.value = await fetch();
        entry.error = undefined;
        entry.checkedAt = this.now();
        entry.failedAt = 0;
        this.unreachable.delete(registry);
      } catch (error) {
        const code = isRegistryError(error) || error instanceof RegistryPausedError ? error.code : 'ERROR';
        if (code === 'NETWORK' || code === 'TIMEOUT') this.unreachable.add(registry);
        entry.error = { code, message: error instanceof Error ? error.message : String(error) };
        entry.failedAt = this.now();
      } finally {
        // An answer from before an invalidate() (say, a push finished meanwhile) is not fresh.
        if (generation === this.generation) entry.expired = false;
        entry.inFlight = false;
      }
    });
    // Batch: everything asked for in this turn of the event loop starts together.
    setImmediate(() => this.pump());
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const task = this.queue.shift() as () => Promise<void>;
      this.running++;
      void task().finally(() => {
        this.running--;
        this.emitChanged();
        this.pump();
      });
    }
  }

  private emitChanged(): void {
    // One refresh per burst of results, not one per HEAD.
    if (this.changedTimer) return;
    this.changedTimer = setTimeout(() => {
      this.changedTimer = undefined;
      this.emit('changed');
    }, 50);
  }

  private async fetchPushed(ref: ImageReference, platform: Platform): Promise<PushedImageFacts | null> {
    const repo = { registry: ref.registry, repository: ref.repository };
    const base = await this.fetchBase(ref, platform, true);
    if (!base) return null;
    const config = await this.fetcher.configBytes(repo, base.configDigest);
    const parsed = JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: unknown } };
    const diffIds = Array.isArray(parsed.rootfs?.diff_ids) ? parsed.rootfs.diff_ids.filter((d): d is string => typeof d === 'string') : [];
    return { digest: base.manifestDigest, layers: base.layers, diffIds };
  }

  private fetchBase(ref: ImageReference, platform: Platform): Promise<BaseImageFacts>;
  private fetchBase(ref: ImageReference, platform: Platform, missingIsNull: true): Promise<BaseImageFacts | undefined>;
  private async fetchBase(ref: ImageReference, platform: Platform, missingIsNull = false): Promise<BaseImageFacts | undefined> {
    const repo = { registry: ref.registry, repository: ref.repository };
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const head = await this.fetcher.headDigest(repo, reference);
    if (head === undefined) {
      if (missingIsNull) return undefined;
      // Not there: the GET words the registry's own error.
      await this.client.getManifest(repo, reference);
      throw new Error(`${formatReference(ref)} is not in its registry`);
    }
    const digest = head.digest;
    const top = head.parsed ?? (await this.fetcher.manifest(repo, digest));
    let image = { digest, parsed: top };
    if (top.kind === 'index') {
      const chosen = selectManifest(top.index, platform).digest;
      image = { digest: chosen, parsed: await this.fetcher.manifest(repo, chosen) };
    }
    if (image.parsed.kind !== 'image') throw new Error(`${formatReference(ref)} has no single image for ${platform.os}/${platform.architecture}`);
    for (const layer of image.parsed.manifest.layers) this.noteHolder(layer.digest, `${ref.registry}/${ref.repository}`, true);
    return { digest, manifestDigest: image.digest, layers: image.parsed.manifest.layers, configDigest: image.parsed.manifest.config.digest, checkedAt: this.now() };
  }
}
