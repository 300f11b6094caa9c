// An undici interceptor that retries registry requests on connection errors, 5xx and 429,
// with exponential backoff and jitter, honouring Retry-After (RFC 9110 section 10.2.3).
// Backoff is shared per origin: when a registry says "slow down" (429/503) or drops, every
// request to it waits, not only the one that was refused — as docker's and containerd's
// pushers do, so parallel layer uploads do not hammer a struggling registry.
//
// Only requests whose body can be replayed (none, string or bytes) are retried here; streamed
// uploads are resumed one level up, from the offset the registry reports (blobUpload.ts).
import type { Dispatcher } from 'undici';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff, doubled per retry. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the response is passed up as is. */
  maxRetryAfterMs: number;
  statusCodes: ReadonlySet<number>;
  methods: ReadonlySet<string>;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  statusCodes: new Set([429, 500, 502, 503, 504]),
  methods: new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'POST']),
};

const retryableErrorCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** Per-origin "not before" times, shared by every request through one interceptor. */
export class HostBackoff {
  private readonly notBefore = new Map<string, number>();

  delayFor(origin: string, now = Date.now()): number {
    return Math.max(0, (this.notBefore.get(origin) ?? 0) - now);
  }

  push(origin: string, delayMs: number, now = Date.now()): void {
    const until = now + delayMs;
    if (until > (this.notBefore.get(origin) ?? 0)) this.notBefore.set(origin, until);
  }
}

/** Parses Retry-After as seconds or an HTTP date; undefined when absent or junk. */
export function parseRetryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse is lenient ("1.5" is a date in 2001): every HTTP-date form starts with a day name.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with "equal jitter": half fixed, half random, so waits never collapse to 0. */
export function backoffDelayMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function isReplayable(body: unknown): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

export function retryInterceptor(policy: RetryPolicy = defaultRetryPolicy, backoff = new HostBackoff()): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const method = (opts.method ?? 'GET').toUpperCase();
    if (!policy.methods.has(method) || !isReplayable(opts.body)) {
      // Nothing to replay: only respect the shared backoff (abortably), then pass through.
      if (backoff.delayFor(String(opts.origin)) === 0) return dispatch(opts, handler);
      new RetryingRequest(dispatch, opts, handler, { ...policy, maxRetries: 0 }, backoff).start();
      return true;
    }
    new RetryingRequest(dispatch, opts, handler, policy, backoff).start();
    return true;
  };
}

/** One logical request: forwards the final attempt's response, swallows the retried ones. */
class RetryingRequest {
  private retries = 0;
  private inner: Dispatcher.DispatchController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abortedWith: Error | undefined;
  private finished = false;
  private startedOuter = false;
  private readonly origin: string;

  constructor(
    private readonly dispatch: Dispatcher.Dispatch,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly outer: Dispatcher.DispatchHandler,
    private readonly policy: RetryPolicy,
    private readonly backoff: HostBackoff,
  ) {
    this.origin = String(opts.origin);
  }

  /** The controller the caller sees: stable across attempts, reflecting the current one. */
  private readonly controller: Dispatcher.DispatchController = (() => {
    const request = () => this;
    return {
      get aborted() {
        return request().abortedWith !== undefined;
      },
      get paused() {
        return request().inner?.paused ?? false;
      },
      get reason() {
        return request().abortedWith ?? null;
      },
      abort: (reason: Error) => this.abort(reason),
      pause: () => this.inner?.pause(),
      resume: () => this.inner?.resume(),
    };
  })();

  start(): void {
    if (!this.startedOuter) {
      this.startedOuter = true;
      this.outer.onRequestStart?.(this.controller, undefined);
    }
    const wait = this.backoff.delayFor(this.origin);
    if (wait > 0) {
      this.timer = setTimeout(() => this.attempt(), wait);
    } else {
      this.attempt();
    }
  }

  private abort(reason: Error): void {
    if (this.finished) return;
    this.abortedWith = reason;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.fail(reason);
    } else {
      this.inner?.abort(reason);
    }
  }

  private fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.outer.onResponseError?.(this.controller, error);
  }

  private scheduleRetry(delayMs: number): void {
    this.retries++;
    this.backoff.push(this.origin, delayMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, this.backoff.delayFor(this.origin));
  }

  private attempt(): void {
    this.timer = undefined;
    if (this.abortedWith) {
      this.fail(this.abortedWith);
      return;
    }
    // Per attempt: whether this response is being swallowed for a retry, and whether the
    // caller has already seen its headers (then a mid-body error can no longer be retried).
    let swallowing = false;
    let forwarded = false;
    let retryDelay = 0;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (controller) => {
        this.inner = controller;
      },
      onResponseStart: (_controller, statusCode, headers, statusMessage) => {
        if (this.policy.statusCodes.has(statusCode) && this.retries < this.policy.maxRetries && !this.abortedWith) {
          const retryAfter = parseRetryAfterMs(headers['retry-after']);
          if (retryAfter === undefined || retryAfter <= this.policy.maxRetryAfterMs) {
            swallowing = true;
            retryDelay = retryAfter ?? backoffDelayMs(this.retries, this.policy);
            return;
          }
        }
        forwarded = true;
        this.outer.onResponseStart?.(this.controller, statusCode, headers, statusMessage);
      },
      onResponseData: (_controller, chunk) => {
        if (!swallowing) this.outer.onResponseData?.(this.controller, chunk);
      },
      onResponseEnd: (_controller, trailers) => {
        if (swallowing) {
          this.scheduleRetry(retryDelay);
          return;
        }
        this.finished = true;
        this.outer.onResponseEnd?.(this.controller, trailers);
      },
      onResponseError: (_controller, error) => {
        const code = (error as { code?: string }).code ?? '';
        if (!this.abortedWith && !forwarded && retryableErrorCodes.has(code) && this.retries < this.policy.maxRetries) {
          this.scheduleRetry(backoffDelayMs(this.retries, this.policy));
          return;
        }
        this.fail(this.abortedWith ?? error);
      },
    };
    try {
      this.dispatch(this.opts, handler);
    } catch (error) {
      this.fail(error as Error);
    }
  }
}
