// One live status line on a terminal for copies and pushes, redrawn at most ten times a second:
// `3 of 5 layers · 12.1 MB / 14.0 MB · 2.3 MB/s · ETA 1 s`.
import { formatBytes, formatDuration } from '../core/format';
import type { CommandIO } from './io';

export type ProgressEvent =
  | { type: 'total'; items: number; bytes: number }
  | { type: 'progress'; id: string; committed: number }
  | { type: 'done'; id: string; bytes: number }
  | { type: 'status'; text: string };

export class ProgressLine {
  private total = 0;
  private items = 0;
  private done = 0;
  private status = '';
  private readonly committed = new Map<string, number>();
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly io: CommandIO,
    private readonly noun = 'blobs',
  ) {}

  update(event: ProgressEvent): void {
    if (event.type === 'total') {
      this.total = event.bytes;
      this.items = event.items;
    } else if (event.type === 'progress') {
      this.committed.set(event.id, event.committed);
    } else if (event.type === 'done') {
      this.done++;
      this.committed.set(event.id, event.bytes);
    } else {
      this.status = event.text;
    }
    const now = Date.now();
    if (now - this.lastDraw < 100 && event.type !== 'done' && event.type !== 'status') return;
    this.lastDraw = now;
    let bytes = 0;
    for (const value of this.committed.values()) bytes += value;
    const rate = bytes / Math.max(0.001, (now - this.started) / 1000);
    const eta = rate > 0 && this.total > bytes ? ` · ETA ${formatDuration(((this.total - bytes) / rate) * 1000)}` : '';
    const status = this.status ? `${this.status} · ` : '';
    this.io.stderrRaw(`\r\x1b[2K${status}${this.done} of ${this.items} ${this.noun} · ${formatBytes(bytes)} / ${formatBytes(this.total)} · ${formatBytes(rate)}/s${eta}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.io.stderrRaw('\r\x1b[2K');
    this.drawn = false;
  }
}
