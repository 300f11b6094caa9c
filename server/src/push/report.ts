// How a push and its plan read for a person: the CLI prints these, the language server returns
// them to the editor, so every front end words them the same way.
import { formatReference, type ImageReference } from '../core/reference';
import { formatBytes, formatDuration, shortHex } from '../core/format';
import type { PushPlan } from './plan';
import type { PushEvent, PushResult } from './pushImage';
import type { ProgressEvent } from '../core/progressTally';

/**
 * `Pushed team/app:1@sha256:… by the engine — uploaded 2.1 MB of 943 MB (3 of 4 layers already in
 * the registry) in 3.2 s`. Counted from what was reported moved (for the engine uploader: what
 * the engine said it pushed, sized by the pushed manifest).
 */
export function summaryLine(result: PushResult): string {
  const total = result.blobs.reduce((sum, b) => sum + b.size, 0);
  const reused = result.blobs.filter((b) => b.action !== 'upload' || b.bytesSent === 0).length;
  const there = result.blobs.length > 0 ? ` (${reused} of ${result.blobs.length} layers already in the registry)` : '';
  const by = result.uploader === 'engine' ? ' by the engine' : '';
  return `Pushed ${result.target}@${result.digest ?? '?'}${by} — uploaded ${formatBytes(result.bytesUploaded)} of ${formatBytes(total)}${there} in ${formatDuration(result.seconds * 1000)}`;
}

const uploaderName = (plan: PushPlan) => (plan.uploader === 'engine' ? "the engine's push" : "Layerlift's uploader");

export function renderPlan(target: ImageReference, plan: PushPlan): string {
  const lines = [`Push plan for ${formatReference(target)}:`];
  for (const layer of plan.layers) {
    const size = layer.size === undefined ? 'size after compression' : formatBytes(layer.size);
    const what = layer.action === 'mount' ? `mount from ${layer.from}` : layer.action === 'prepush' ? `prepush (${layer.strategy}) from ${layer.from}` : layer.action === 'upload' ? `upload (${uploaderName(plan)})` : layer.action;
    lines.push(`  ${layer.digest ? shortHex(layer.digest) : shortHex(layer.diffId ?? '')}  ${size.padStart(10)}  ${what}`);
  }
  lines.push(`  config        ${plan.config.size ? formatBytes(plan.config.size).padStart(10) : ''.padStart(10)}  ${plan.config.action === 'upload' ? `upload (${uploaderName(plan)})` : plan.config.action}`);
  lines.push(`Uplink: ${formatBytes(plan.uplinkBytes)}${plan.unknownUploads ? ` + ${plan.unknownUploads} layer(s) to compress` : ''} of ${formatBytes(plan.totalBytes)}${plan.prepush ? `; the base is pre-pushed first (${plan.prepush.strategy})` : ''}.`);
  return lines.join('\n');
}

/**
 * A push event as the progress tally counts it: layers already in the target count as done at
 * once, and the bytes are those that cross the uplink — uploads only, their sizes added as
 * compression reveals them (a mount or an existing layer sends nothing).
 */
export function pushProgressEvents(event: PushEvent): ProgressEvent[] {
  switch (event.type) {
    case 'plan': {
      const layers = event.plan.layers;
      const expected = layers.flatMap((l) => (l.action === 'upload' && l.digest && l.size !== undefined ? [{ type: 'expect' as const, id: l.digest, bytes: l.size }] : []));
      return [{ type: 'total', items: layers.length, bytes: 0, done: layers.filter((l) => l.action === 'exists' || l.action === 'prepush').length }, ...expected];
    }
    case 'prepush-start':
      return [{ type: 'status', text: `pre-pushing the base (${event.strategy})` }];
    case 'prepush-done':
      return [{ type: 'status', text: '' }];
    case 'blob-start':
      return event.action === 'upload' ? [{ type: 'expect', id: event.digest, bytes: event.size }] : [];
    case 'blob-progress':
      return [{ type: 'progress', id: event.digest, committed: event.committed }];
    case 'blob-done':
      return [{ type: 'done', id: event.digest, bytes: event.action === 'upload' ? event.size : 0 }];
    default:
      return [];
  }
}
