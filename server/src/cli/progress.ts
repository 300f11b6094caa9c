// One live status line on a terminal for copies and pushes, redrawn at most ten times a second:
// `3 of 5 layers · 12.1 MB / 14.0 MB · 2.3 MB/s · ETA 1 s` (worded by core/progressTally.ts).
import { ProgressTally, type ProgressEvent } from '../core/progressTally';
import type { CommandIO } from './io';

export type { ProgressEvent } from '../core/progressTally';

export class ProgressLine {
  private readonly tally: ProgressTally;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly io: CommandIO,
    noun = 'blobs',
  ) {
    this.tally = new ProgressTally(noun);
  }

  update(event: ProgressEvent): void {
    this.tally.update(event);
    const now = Date.now();
    if (now - this.lastDraw < 100 && event.type !== 'done' && event.type !== 'status') return;
    this.lastDraw = now;
    this.io.stderrRaw(`\r\x1b[2K${this.tally.text()}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.io.stderrRaw('\r\x1b[2K');
    this.drawn = false;
  }
}
