// What a copy or push has done so far, worded once for every surface that shows it: the CLI's
// status line and the editor's progress notification — `3 of 5 layers · 12.1 MB / 14.0 MB · 2.3 MB/s`.
import { formatBytes, formatDuration } from './format';

export type ProgressEvent =
  | { type: 'total'; items: number; bytes: number; done?: number }
  /** A blob whose size became known (a layer compressed just now): it adds to the total. */
  | { type: 'expect'; id: string; bytes: number }
  | { type: 'progress'; id: string; committed: number }
  | { type: 'done'; id: string; bytes: number }
  | { type: 'status'; text: string };

export class ProgressTally {
  private total = 0;
  private items = 0;
  private done = 0;
  private status = '';
  private readonly committed = new Map<string, number>();
  private readonly expected = new Map<string, number>();
  private readonly started: number;

  constructor(
    private readonly noun = 'blobs',
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(event: ProgressEvent): void {
    if (event.type === 'total') {
      this.total = event.bytes;
      this.items = event.items;
      this.done = event.done ?? 0;
    } else if (event.type === 'expect') {
      this.expected.set(event.id, event.bytes);
    } else if (event.type === 'progress') {
      this.committed.set(event.id, event.committed);
    } else if (event.type === 'done') {
      this.done++;
      this.committed.set(event.id, event.bytes);
    } else {
      this.status = event.text;
    }
  }

  private get totalBytes(): number {
    let total = this.total;
    for (const value of this.expected.values()) total += value;
    return total;
  }

  get bytes(): number {
    let bytes = 0;
    for (const value of this.committed.values()) bytes += value;
    return bytes;
  }

  /** 0–100, by bytes (what takes the time), for progress bars. */
  get percent(): number {
    const total = this.totalBytes;
    return total > 0 ? Math.min(100, Math.floor((this.bytes / total) * 100)) : 0;
  }

  text(withEta = true): string {
    const bytes = this.bytes;
    const total = this.totalBytes;
    const rate = bytes / Math.max(0.001, (this.now() - this.started) / 1000);
    const eta = withEta && rate > 0 && total > bytes ? ` · ETA ${formatDuration(((total - bytes) / rate) * 1000)}` : '';
    const status = this.status ? `${this.status} · ` : '';
    return `${status}${this.done} of ${this.items} ${this.noun} · ${formatBytes(bytes)} / ${formatBytes(total)} · ${formatBytes(rate)}/s${eta}`;
  }
}
