// The fault model of the fault proxy: which faults exist, how a request picks the one-shot
// faults it is subject to, and a shared-link throttle. Kept apart from the HTTP plumbing in
// faultProxy.ts so each part stays readable.
import { setTimeout as delay } from 'node:timers/promises';

/** Which requests a one-shot fault applies to; unset fields match everything. */
export interface RequestMatch {
  /** Exact method, e.g. 'PATCH'. */
  method?: string;
  /** Tested against the request target (path and query), e.g. /\/blobs\/uploads\//. */
  path?: RegExp;
}

export interface FailFault {
  /** How many matching requests get the error. */
  count: number;
  /** Typically 429, 500, 502 or 503. */
  status: number;
  /** Adds `Retry-After: N` (the registry spec's hint for 429 and 503). */
  retryAfterSeconds?: number;
  match?: RequestMatch;
}

export interface StallFault {
  count: number;
  /** How long the request is held before it is forwarded as usual; Infinity holds it until the
   *  client gives up or the proxy stops. */
  ms: number;
  match?: RequestMatch;
}

export interface DropFault {
  /** How many matching requests have their connection closed without any answer. */
  count: number;
  match?: RequestMatch;
}

export interface Faults {
  /** Cut the client connection each time the cumulative request-body bytes forwarded to the
   *  registry reach another multiple of N. The registry gets exactly the bytes up to the
   *  boundary (so a resumable upload can continue from there). Counting starts at `set`. */
  dropEveryBytes?: number;
  /** The same for response-body bytes sent to the client (downloads). */
  dropDownstreamEveryBytes?: number;
  failNext?: FailFault;
  stallNext?: StallFault;
  dropNext?: DropFault;
  /** Bandwidth of a single link shared by all connections; a number sets both directions.
   *  `up` is client→registry (uploads), `down` registry→client. */
  throttleBytesPerSecond?: number | { up?: number; down?: number };
  /** Added once per request before it is forwarded: a round-trip-time model. */
  latencyMs?: number;
}

/** One-shot faults decided for a request when it arrives. */
export interface Decision {
  stallMs?: number;
  drop?: boolean;
  fail?: { status: number; retryAfterSeconds?: number };
}

function matches(match: RequestMatch | undefined, method: string, path: string): boolean {
  if (!match) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path !== undefined && !match.path.test(path)) return false;
  return true;
}

/** The current faults plus the counters that go with them. */
export class FaultState {
  private faults: Faults = {};
  /** Body bytes forwarded since the respective dropEvery* was set. */
  upBodyBytes = 0;
  downBodyBytes = 0;

  /** Merges `faults` in; a key given as undefined or null clears that fault. */
  set(faults: { [K in keyof Faults]?: Faults[K] | null }): void {
    for (const [key, value] of Object.entries(faults) as [keyof Faults, unknown][]) {
      if (value === undefined || value === null) delete this.faults[key];
      else (this.faults as Record<string, unknown>)[key] = typeof value === 'object' ? { ...value } : value;
      if (key === 'dropEveryBytes') this.upBodyBytes = 0;
      if (key === 'dropDownstreamEveryBytes') this.downBodyBytes = 0;
    }
  }

  clear(): void {
    this.faults = {};
    this.upBodyBytes = 0;
    this.downBodyBytes = 0;
  }

  get current(): Readonly<Faults> {
    return this.faults;
  }

  rate(direction: 'up' | 'down'): number | undefined {
    const throttle = this.faults.throttleBytesPerSecond;
    if (throttle === undefined) return undefined;
    return typeof throttle === 'number' ? throttle : throttle[direction];
  }

  /** Consumes the one-shot faults this request is subject to. */
  decide(method: string, path: string): Decision {
    const decision: Decision = {};
    const take = <F extends { count: number; match?: RequestMatch }>(key: 'failNext' | 'stallNext' | 'dropNext') => {
      const fault = this.faults[key] as F | undefined;
      if (!fault || fault.count <= 0 || !matches(fault.match, method, path)) return undefined;
      fault.count -= 1;
      if (fault.count <= 0) delete this.faults[key];
      return fault;
    };
    const stall = take<StallFault>('stallNext');
    if (stall) decision.stallMs = stall.ms;
    if (take<DropFault>('dropNext')) decision.drop = true;
    else {
      const fail = take<FailFault>('failNext');
      if (fail) decision.fail = { status: fail.status, retryAfterSeconds: fail.retryAfterSeconds };
    }
    return decision;
  }

  /**
   * How many bytes of a `length`-byte body chunk may pass before a dropEvery* boundary, or
   * undefined when the whole chunk passes. Advances the counter by what passes.
   */
  passBeforeDrop(direction: 'up' | 'down', length: number): number | undefined {
    const every = direction === 'up' ? this.faults.dropEveryBytes : this.faults.dropDownstreamEveryBytes;
    const counted = direction === 'up' ? this.upBodyBytes : this.downBodyBytes;
    let pass: number | undefined;
    if (every !== undefined && every > 0) {
      const room = every - (counted % every);
      if (length >= room) pass = room;
    }
    const advance = pass ?? length;
    if (direction === 'up') this.upBodyBytes += advance;
    else this.downBodyBytes += advance;
    return pass;
  }
}

/**
 * One link of a given bandwidth shared by all connections in one direction: each chunk is
 * "on the wire" after the chunks before it, and is delivered when its last byte has arrived.
 */
export class Link {
  private freeAt = 0;

  async transmit(bytes: number, bytesPerSecond: number | undefined, signal?: AbortSignal): Promise<void> {
    if (bytesPerSecond === undefined || bytesPerSecond <= 0) return;
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + (bytes / bytesPerSecond) * 1000;
    await sleep(this.freeAt - now, signal);
  }
}

/** Resolves after `ms` (Infinity: never) or as soon as `signal` aborts; never rejects. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  if (!Number.isFinite(ms)) {
    if (!signal) throw new Error('an endless sleep needs an abort signal');
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    return;
  }
  await delay(ms, undefined, { signal }).catch(() => undefined);
}

/** The error body a Distribution registry would send for `status`. */
export function registryErrorBody(status: number): string {
  const code = status === 429 ? 'TOOMANYREQUESTS' : status === 503 ? 'UNAVAILABLE' : 'UNKNOWN';
  return JSON.stringify({ errors: [{ code, message: `fault proxy: injected ${status}`, detail: null }] });
}
