// --limit-rate: a cap on the bytes Layerlift puts on the wire for blob uploads (push and copy),
// so a push on a home link leaves room for everything else. A token bucket (the classic traffic
// shaper, RFC 2697's single-rate model without colours): tokens accrue at RATE bytes per second
// up to a small burst; a request body goes out in 16 KiB pieces, each waiting for its tokens.
// One bucket per RegistryClient, shared by every upload running through it.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export { parseRate } from '../core/rate';

/** Bytes per paced piece: small enough that the rate holds over a fraction of a second. */
const PIECE = 16 * 1024;

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** The most the bucket holds: a tenth of a second's worth, at least one piece. */
  private readonly burst: number;

  constructor(readonly bytesPerSecond: number) {
    this.burst = Math.max(PIECE, Math.floor(bytesPerSecond / 10));
    this.tokens = 0;
  }

  /** Waits until `bytes` may go out. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
      this.last = now;
      if (this.tokens >= bytes) {
        this.tokens -= bytes;
        return;
      }
      await sleep(Math.max(1, ((bytes - this.tokens) / this.bytesPerSecond) * 1000), undefined, { signal });
    }
  }
}

/** `bytes` as a request body that leaves at the bucket's pace. */
export function pacedBody(bytes: Uint8Array, bucket: TokenBucket, signal?: AbortSignal): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < bytes.length; offset += PIECE) {
        const piece = bytes.subarray(offset, Math.min(bytes.length, offset + PIECE));
        await bucket.take(piece.length, signal);
        yield piece;
      }
    })(),
    { objectMode: false },
  );
}
