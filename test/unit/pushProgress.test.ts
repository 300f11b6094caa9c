// The progress line of a push: layers already there count as done at once, bytes are only what
// crosses the uplink, and a layer compressed during the push adds its size to the total then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressTally } from '../../server/src/core/progressTally';
import { pushProgressEvents } from '../../server/src/push/report';
import type { PushEvent } from '../../server/src/push/mover';
import type { PushPlan } from '../../server/src/push/plan';

const d = (n: number) => `sha256:${String(n).repeat(64)}`;

test('a push with existing, mounted, known and just-compressed uploads', () => {
  let now = 0;
  const tally = new ProgressTally('layers', () => now);
  const plan: PushPlan = {
    uploader: 'layerlift',
    layers: [
      { action: 'exists', digest: d(1), size: 40_000_000, mediaType: 'x' },
      { action: 'mount', diffId: 'a', digest: d(2), size: 30_000_000, mediaType: 'x', from: 'base/app' },
      { action: 'upload', diffId: 'b', digest: d(3), size: 2_000_000, mediaType: 'x' },
      { action: 'upload', diffId: 'c' },
    ],
    config: { action: 'upload', digest: d(9), size: 1000 },
    uplinkBytes: 2_001_000,
    unknownUploads: 1,
    totalBytes: 72_001_000,
  };
  const feed = (event: PushEvent) => pushProgressEvents(event).forEach((e) => tally.update(e));
  feed({ type: 'plan', plan });
  assert.equal(tally.text(false), '1 of 4 layers · 0 B / 2.0 MB · 0 B/s');
  feed({ type: 'blob-start', digest: d(2), size: 30_000_000, action: 'mount' });
  feed({ type: 'blob-done', digest: d(2), size: 30_000_000, action: 'mount', bytesSent: 0 });
  feed({ type: 'blob-start', digest: d(4), size: 6_000_000, action: 'upload' });
  now = 2000;
  feed({ type: 'blob-progress', digest: d(4), committed: 3_000_000, size: 6_000_000 });
  assert.equal(tally.text(false), '2 of 4 layers · 3.0 MB / 8.0 MB · 1.5 MB/s');
  assert.equal(tally.percent, 37);
  feed({ type: 'blob-done', digest: d(4), size: 6_000_000, action: 'upload', bytesSent: 6_000_000 });
  feed({ type: 'blob-start', digest: d(3), size: 2_000_000, action: 'upload' });
  feed({ type: 'blob-done', digest: d(3), size: 2_000_000, action: 'upload', bytesSent: 2_000_000 });
  now = 4000;
  assert.equal(tally.text(false), '4 of 4 layers · 8.0 MB / 8.0 MB · 2.0 MB/s');
  assert.equal(tally.percent, 100);
});

test('rates under 1 kB/s are whole bytes', () => {
  let now = 0;
  const tally = new ProgressTally('blobs', () => now);
  tally.update({ type: 'total', items: 1, bytes: 1000 });
  now = 3000;
  tally.update({ type: 'progress', id: 'x', committed: 586 });
  assert.equal(tally.text(false), '0 of 1 blobs · 586 B / 1.0 kB · 195 B/s');
});
