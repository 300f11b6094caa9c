// A language server allocates in bursts (opening a workspace parses every Dockerfile) and then
// idles for minutes. V8 keeps the heap it grew during the burst, so RSS stays at the peak even
// though little is held. After a burst, once the server has been quiet for a moment, this runs
// one full garbage collection so memory returns to what is really in use. At most once per
// `minIntervalMs`; a no-op where V8 does not allow it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

function loadGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export class IdleCollector {
  private readonly gc = loadGc();
  private timer: NodeJS.Timeout | undefined;
  private lastRun = 0;

  constructor(
    private readonly quietMs = 1000,
    private readonly minIntervalMs = 10_000,
  ) {}

  /** Something allocation-heavy happened: collect once things have been quiet for a while. */
  touch(): void {
    if (!this.gc) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      if (now - this.lastRun < this.minIntervalMs) {
        this.touch();
        return;
      }
      this.lastRun = now;
      this.gc?.();
    }, this.quietMs);
    this.timer.unref();
  }
}
