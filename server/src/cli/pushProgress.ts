// How a push shows its progress (`--progress`, as buildx names its modes):
//   tty    the live status line (ProgressLine), redrawn in place
//   plain  one timestamped line per layer state change, and a heartbeat every 10 s for each
//          upload still running — for CI logs (worded in push/progressLog.ts)
//   json   one JSON object per event, per line
//   quiet  nothing but the summary
//   auto   tty on a terminal; off one, plain — or quiet with --json, whose stdout is the result
import { ProgressLine } from './progress';
import { pushProgressEvents } from '../push/report';
import { jsonProgressLine, plainHeartbeatLine, plainProgressLine } from '../push/progressLog';
import type { PushEvent } from '../push/mover';
import type { CommandIO } from './io';

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'json', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export interface PushProgress {
  update(event: PushEvent): void;
  /** Clears the live line; stops the heartbeat. */
  close(): void;
}

const HEARTBEAT_MS = 10_000;

export function pushProgress(mode: ProgressMode, io: CommandIO, options: { json: boolean; now?: () => number }): PushProgress {
  const now = options.now ?? Date.now;
  const started = now();
  const resolved = mode === 'auto' ? (io.stderrIsTTY && !options.json ? 'tty' : options.json ? 'quiet' : 'plain') : mode;
  if (resolved === 'quiet') return { update: () => undefined, close: () => undefined };
  if (resolved === 'tty') {
    const line = new ProgressLine(io, 'layers');
    return { update: (event) => pushProgressEvents(event).forEach((p) => line.update(p)), close: () => line.clear() };
  }
  if (resolved === 'json') {
    return { update: (event) => io.stderr(jsonProgressLine(event, new Date(now()), now() - started)), close: () => undefined };
  }
  // plain: uploads in flight, for the heartbeat.
  const running = new Map<string, { committed: number; size: number; said: number }>();
  const timer = setInterval(() => {
    const at = now();
    for (const [digest, upload] of running) {
      if (at - upload.said < HEARTBEAT_MS) continue;
      upload.said = at;
      io.stderr(plainHeartbeatLine(digest, upload.committed, upload.size, at - started));
    }
  }, 1000);
  timer.unref();
  return {
    update(event) {
      const at = now();
      if (event.type === 'blob-start' && event.action === 'upload') running.set(event.digest, { committed: 0, size: event.size, said: at });
      if (event.type === 'blob-progress') {
        const upload = running.get(event.digest);
        if (upload) upload.committed = event.committed;
      }
      if (event.type === 'blob-done') running.delete(event.digest);
      const line = plainProgressLine(event, at - started);
      if (line) io.stderr(line);
    },
    close: () => clearInterval(timer),
  };
}
