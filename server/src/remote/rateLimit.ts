// When the editor stops asking a registry (pure). A 429 (RFC 6585) stops every request to that
// registry until its Retry-After (RFC 9110 §10.2.3; 60 s when absent). Docker Hub's pull limit
// headers (`RateLimit-Limit: 100;w=21600`, `RateLimit-Remaining: 3;w=21600`, docs.docker.com
// "Docker Hub pull usage and limits"; the IETF RateLimit header draft) count manifest GETs only —
// HEADs are free — so a low remaining count stops GETs (HEADs go on), until Retry-After or for
// `lowPauseMs`. The hover says which, and until when.

export interface BackoffRule {
  /** Remaining pulls at or under which GETs stop. */
  lowRemaining: number;
  /** How long GETs stop for a low count when the registry names no time. */
  lowPauseMs: number;
  /** How long a 429 without Retry-After stops everything. */
  defaultRetryAfterMs: number;
}

export const defaultBackoffRule: BackoffRule = { lowRemaining: 5, lowPauseMs: 10 * 60_000, defaultRetryAfterMs: 60_000 };

export interface Pause {
  until: number;
  /** 'all': after a 429; 'get': the pull count runs low (HEADs still go). */
  scope: 'all' | 'get';
  reason: string;
}

/** `3;w=21600` → { remaining: 3, windowSeconds: 21600 }; undefined when absent or junk. */
export function parseRateLimit(value: string | string[] | undefined): { count: number; windowSeconds?: number } | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const match = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(text);
  if (!match) return undefined;
  return { count: Number(match[1]), ...(match[2] !== undefined ? { windowSeconds: Number(match[2]) } : {}) };
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19) + ' UTC';
}

/** The pause an answer asks for, if any. */
export function pauseFor(
  registry: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  now: number,
  rule: BackoffRule = defaultBackoffRule,
): Pause | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  if (status === 429) {
    const until = now + (retryAfter ?? rule.defaultRetryAfterMs);
    const why = retryAfter === undefined ? 'no Retry-After; waiting 60 s' : `Retry-After ${Math.round((until - now) / 1000)} s`;
    return { until, scope: 'all', reason: `${registry} answered 429 Too Many Requests: registry checks paused until ${clockTime(until)} (${why}), not retried meanwhile` };
  }
  const remaining = parseRateLimit(headers['ratelimit-remaining']);
  if (remaining !== undefined && remaining.count <= rule.lowRemaining) {
    const limit = parseRateLimit(headers['ratelimit-limit']);
    const until = now + (retryAfter ?? rule.lowPauseMs);
    const left = `${remaining.count}${limit ? ` of ${limit.count}` : ''} pulls left`;
    return { until, scope: 'get', reason: `${registry} rate limit is low (${left}): manifests are not downloaded until ${clockTime(until)}, only checked by HEAD` };
  }
  return undefined;
}

/** Per-registry pauses. */
export class Backoff {
  private readonly pauses = new Map<string, Pause>();

  note(registry: string, pause: Pause | undefined): void {
    if (!pause) return;
    const current = this.pauses.get(registry);
    // A 429 pause is never narrowed by a later low-count answer.
    if (current && current.scope === 'all' && pause.scope === 'get' && current.until > pause.until) return;
    this.pauses.set(registry, pause);
  }

  /** The pause that forbids this kind of request now, if any. */
  blocking(registry: string, method: 'HEAD' | 'GET', now: number): Pause | undefined {
    const pause = this.pauses.get(registry);
    if (!pause) return undefined;
    if (pause.until <= now) {
      this.pauses.delete(registry);
      return undefined;
    }
    return pause.scope === 'all' || method === 'GET' ? pause : undefined;
  }

  /** Sentences for the hover, one per registry paused now. */
  notices(now: number): string[] {
    return [...this.pauses.entries()].filter(([, p]) => p.until > now).map(([, p]) => p.reason);
  }
}
