// The base image a push reuses: one the user named (--base, the Dockerfile's FROM), or the
// candidates found in the engine (findBase.ts: every RepoDigest of the image the local one was
// built on). Candidates are read side by side under one short budget, the ones in the target
// registry preferred; an unreachable or unknown one is skipped with a note, never waited on for
// long, so a dead registry a base was once pulled from cannot slow or spoil the push.
import { formatReference, type ImageReference } from '../core/reference';
import type { Platform } from '../core/mediaTypes';
import type { RegistryClient } from '../registry/registryClient';
import { readImageBlobs, type ImageBlobs } from './pushFacts';

export interface BaseCandidates {
  /** Found lazily: a push that needs no plan never looks. */
  find(): Promise<ImageReference[]>;
}

export interface ReadBaseContext {
  client: RegistryClient;
  platform: Platform;
  target: ImageReference;
  signal?: AbortSignal;
  warnings: string[];
  /** The whole budget for reading the candidates. Default 5 s. */
  budgetMs?: number;
}

const oneLine = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error));

/**
 * Podman names images it built or loaded `localhost/NAME` (RepoDigests included): a local name,
 * not a registry on port 80.
 */
export function isLocalOnlyName(ref: ImageReference): boolean {
  return ref.registry === 'localhost';
}

/** Candidates in the order they are preferred: those in the target registry first. */
export function orderCandidates(candidates: ImageReference[], targetRegistry: string): ImageReference[] {
  const seen = new Set<string>();
  const unique = candidates.filter((c) => !isLocalOnlyName(c) && !seen.has(formatReference(c)) && seen.add(formatReference(c)));
  return [...unique.filter((c) => c.registry === targetRegistry), ...unique.filter((c) => c.registry !== targetRegistry)];
}

export async function readFirstBase(base: ImageReference | BaseCandidates | undefined, ctx: ReadBaseContext): Promise<{ ref: ImageReference; blobs: ImageBlobs } | undefined> {
  if (!base) return undefined;
  const named = !('find' in base);
  const candidates = named ? [base] : orderCandidates(await base.find(), ctx.target.registry);
  if (candidates.length === 0) return undefined;
  const budget = AbortSignal.timeout(ctx.budgetMs ?? 5000);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, budget]) : budget;
  const answers = await Promise.all(
    candidates.map((ref) =>
      readImageBlobs(ctx.client, ref, ctx.platform, signal).then(
        (blobs) => ({ ref, blobs, error: blobs ? undefined : 'not found' }),
        (error: unknown) => ({ ref, blobs: undefined, error: budget.aborted ? `no answer within ${(ctx.budgetMs ?? 5000) / 1000} s` : oneLine(error) }),
      ),
    ),
  );
  if (ctx.signal?.aborted) throw ctx.signal.reason;
  const chosen = answers.find((a) => a.blobs);
  for (const answer of answers) {
    if (answer.blobs) continue;
    const what = named ? 'the base' : 'the base candidate';
    const then = chosen ? `; using ${formatReference(chosen.ref)}` : named || answers.length === 1 ? '; its layers are treated as unique' : '';
    ctx.warnings.push(`${what} ${formatReference(answer.ref)} was skipped (${answer.error})${then}`);
  }
  if (!chosen && answers.length > 1) ctx.warnings.push('no base candidate could be read: the base layers are treated as unique');
  return chosen?.blobs ? { ref: chosen.ref, blobs: chosen.blobs } : undefined;
}
