// `layerlift prune-prepush`: removing `prepush-<digest>` tags that have done their job. A pre-push
// tag keeps a base's blobs referenced so registry garbage collection cannot drop them before an
// app's manifest references them; once no image uses that base any more (or the base is older
// than the team wants to keep), the tag only holds storage. Registries keep no tag dates, so
// "older" is the base image's own build date (its config's `created`).
import { hostPlatform } from '../core/platform';
import { runLimited } from '../core/limit';
import type { RegistryClient, RepositoryRef } from '../registry/registryClient';
import { readImageBlobs, type ImageBlobs } from './pushFacts';

export const PREPUSH_TAG = /^prepush-[0-9a-f]{12}$/;

export interface TaggedImage {
  repository: string;
  tag: string;
  image: ImageBlobs;
}

export interface StaleTag {
  tag: string;
  digest: string;
  reason: 'unused' | 'older';
}

/**
 * Pure: which pre-push tags to remove. A base is in use when some other image's layers begin
 * with all of its layers; `olderThanDays` also removes bases built before that many days ago. A
 * digest another (non-pre-push) tag names is never removed: deleting by digest would untag it too.
 */
export function staleTags(prepush: TaggedImage[], others: TaggedImage[], options: { olderThanDays?: number; now: Date }): StaleTag[] {
  const keptDigests = new Set(others.map((o) => o.image.manifestDigest));
  const stale: StaleTag[] = [];
  for (const { tag, image } of prepush) {
    if (keptDigests.has(image.manifestDigest)) continue;
    const base = image.layers.map((l) => l.digest);
    const used = others.some((o) => base.length > 0 && base.length <= o.image.layers.length && base.every((d, i) => o.image.layers[i]?.digest === d));
    const created = image.created ? Date.parse(image.created) : NaN;
    const old = options.olderThanDays !== undefined && !Number.isNaN(created) && options.now.getTime() - created > options.olderThanDays * 86_400_000;
    if (!used) stale.push({ tag, digest: image.manifestDigest, reason: 'unused' });
    else if (old) stale.push({ tag, digest: image.manifestDigest, reason: 'older' });
  }
  return stale;
}

export interface PruneOptions {
  /** Repositories whose images count as users (a mirror's apps live elsewhere); default: the repository itself. */
  usedBy?: RepositoryRef[];
  olderThanDays?: number;
  dryRun?: boolean;
  signal?: AbortSignal;
  now?: Date;
}

export interface PruneResult {
  removed: StaleTag[];
  kept: string[];
  /** Images read to decide (their repositories and tags). */
  checked: number;
}

async function readTagged(client: RegistryClient, repo: RepositoryRef, tags: string[], signal?: AbortSignal): Promise<TaggedImage[]> {
  const platform = hostPlatform();
  const read = await runLimited(tags, 4, async (tag) => {
    const image = await readImageBlobs(client, { ...repo, tag }, platform, signal).catch(() => undefined);
    return image ? { repository: repo.repository, tag, image } : undefined;
  });
  return read.filter((r): r is TaggedImage => r !== undefined);
}

export async function prunePrepush(client: RegistryClient, repo: RepositoryRef, options: PruneOptions = {}): Promise<PruneResult> {
  const tags = await client.listTags(repo, options.signal);
  const prepush = await readTagged(client, repo, tags.filter((t) => PREPUSH_TAG.test(t)), options.signal);
  const others: TaggedImage[] = await readTagged(client, repo, tags.filter((t) => !PREPUSH_TAG.test(t)), options.signal);
  for (const user of options.usedBy ?? []) {
    if (user.registry === repo.registry && user.repository === repo.repository) continue;
    others.push(...(await readTagged(client, user, (await client.listTags(user, options.signal)).filter((t) => !PREPUSH_TAG.test(t)), options.signal)));
  }
  const stale = staleTags(prepush, others, { olderThanDays: options.olderThanDays, now: options.now ?? new Date() });
  const removed: StaleTag[] = [];
  for (const entry of stale) {
    // Only while the tag still names what we read: a pre-push that re-tagged it meanwhile wins.
    const now = await client.headManifest(repo, entry.tag, options.signal);
    if (now?.digest !== entry.digest) continue;
    if (!options.dryRun) await client.deleteManifest(repo, entry.digest, options.signal);
    removed.push(entry);
  }
  const gone = new Set(removed.map((r) => r.tag));
  return { removed, kept: prepush.map((p) => p.tag).filter((t) => !gone.has(t)), checked: prepush.length + others.length };
}
