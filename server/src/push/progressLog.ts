// Push progress for logs (CI): one line per layer state change, worded once here so the format a
// CI job greps stays the same wherever it is printed (the CLI's `--progress plain`), and one JSON
// object per event (`--progress json`). A terminal gets the live line instead (cli/progress.ts).
//   [   0.4s] plan: 3 layers — 2 exists, 1 upload (the engine's push)
//   [   0.5s] mount 0123456789ab 12.0 MB done
//   [   0.6s] upload 0123456789ab started 1.0 MB
//   [  10.6s] upload 0123456789ab 512 kB / 1.0 MB (50%)
//   [  11.2s] upload 0123456789ab done 1.0 MB sent
//   [  11.3s] manifest 0123456789ab tagged 1
// A layer is named by the first 12 hex digits of its blob (the engine's push: of its diff_id, as
// docker prints it, until the pushed manifest names the blob).
import { formatBytes, shortHex } from '../core/format';
import type { PushEvent } from './mover';

const stamp = (elapsedMs: number) => `[${(elapsedMs / 1000).toFixed(1).padStart(6)}s]`;

/** The line for one event, or undefined for events a log does not need (byte progress). */
export function plainProgressLine(event: PushEvent, elapsedMs: number): string | undefined {
  const at = stamp(elapsedMs);
  switch (event.type) {
    case 'plan': {
      const counts = new Map<string, number>();
      for (const layer of event.plan.layers) counts.set(layer.action, (counts.get(layer.action) ?? 0) + 1);
      const parts = [...counts].map(([action, n]) => `${n} ${action}`).join(', ');
      return `${at} plan: ${event.plan.layers.length} layers — ${parts} (${event.plan.uploader === 'engine' ? "the engine's push" : "Layerlift's uploader"})`;
    }
    case 'prepush-start':
      return `${at} prepush ${event.source} → ${event.target} (${event.strategy})`;
    case 'prepush-done':
      return `${at} prepush done in ${event.seconds.toFixed(1)} s`;
    case 'blob-start':
      return event.action === 'upload' ? `${at} upload ${shortHex(event.digest)} started ${formatBytes(event.size)}` : undefined;
    case 'blob-done':
      if (event.action === 'mount') return `${at} mount ${shortHex(event.digest)} ${event.size > 0 ? `${formatBytes(event.size)} ` : ''}done`;
      if (event.action === 'upload') return `${at} upload ${shortHex(event.digest)} done ${formatBytes(event.bytesSent)} sent`;
      return `${at} ${event.action} ${shortHex(event.digest)} already in the registry`;
    case 'manifest':
      return `${at} manifest ${shortHex(event.digest)} tagged ${event.reference}`;
    default:
      return undefined;
  }
}

/** The heartbeat line for an upload still running. */
export function plainHeartbeatLine(digest: string, committed: number, size: number, elapsedMs: number): string {
  const percent = size > 0 ? ` (${Math.min(100, Math.floor((committed / size) * 100))}%)` : '';
  return `${stamp(elapsedMs)} upload ${shortHex(digest)} ${formatBytes(committed)} / ${formatBytes(size)}${percent}`;
}

/** One JSON object per event: `{"time","elapsed","type",…}` (a plan: its layers, uploader and uplink bytes). */
export function jsonProgressLine(event: PushEvent, now: Date, elapsedMs: number): string {
  const body = event.type === 'plan' ? { type: 'plan', uploader: event.plan.uploader, layers: event.plan.layers, uplinkBytes: event.plan.uplinkBytes } : event;
  return JSON.stringify({ time: now.toISOString(), elapsed: Math.round(elapsedMs) / 1000, ...body });
}
