// The push progress a CI log shows (`--progress plain|json`): the format is pinned here, since
// CI jobs grep it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonProgressLine, plainHeartbeatLine, plainProgressLine } from '../../server/src/push/progressLog';
import type { PushPlan } from '../../server/src/push/plan';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const plan: PushPlan = {
  uploader: 'engine',
  layers: [
    { action: 'exists', digest: d('1'), size: 10, mediaType: 'x' },
    { action: 'mount', diffId: d('a'), digest: d('2'), size: 20, mediaType: 'x', from: 'library/base' },
    { action: 'upload', diffId: d('b') },
  ],
  config: { action: 'upload', digest: d('c'), size: 0 },
  uplinkBytes: 0,
  unknownUploads: 1,
  totalBytes: 30,
};

test('plain lines: one per layer state change, with the elapsed time first', () => {
  assert.equal(plainProgressLine({ type: 'plan', plan }, 412), "[   0.4s] plan: 3 layers — 1 exists, 1 mount, 1 upload (the engine's push)");
  assert.equal(plainProgressLine({ type: 'plan', plan: { ...plan, uploader: 'layerlift' } }, 0), "[   0.0s] plan: 3 layers — 1 exists, 1 mount, 1 upload (Layerlift's uploader)");
  assert.equal(plainProgressLine({ type: 'blob-done', digest: d('2'), size: 12_000_000, action: 'mount', bytesSent: 0 }, 500), '[   0.5s] mount 222222222222 12.0 MB done');
  assert.equal(plainProgressLine({ type: 'blob-start', digest: d('b'), size: 1_000_000, action: 'upload' }, 600), '[   0.6s] upload bbbbbbbbbbbb started 1.0 MB');
  assert.equal(plainProgressLine({ type: 'blob-done', digest: d('b'), size: 1_000_000, action: 'upload', bytesSent: 1_000_000 }, 11_200), '[  11.2s] upload bbbbbbbbbbbb done 1.0 MB sent');
  assert.equal(plainProgressLine({ type: 'blob-done', digest: d('b'), size: 0, action: 'exists', bytesSent: 0 }, 700), '[   0.7s] exists bbbbbbbbbbbb already in the registry');
  assert.equal(plainProgressLine({ type: 'manifest', digest: d('f'), reference: '1' }, 11_300), '[  11.3s] manifest ffffffffffff tagged 1');
  assert.equal(plainProgressLine({ type: 'prepush-start', strategy: 'runner', source: 'a/b@sha256:x', target: 'r/c' }, 100), '[   0.1s] prepush a/b@sha256:x → r/c (runner)');
  // Byte progress is the heartbeat's, not a line per chunk.
  assert.equal(plainProgressLine({ type: 'blob-progress', digest: d('b'), committed: 5, size: 10 }, 100), undefined);
  assert.equal(plainProgressLine({ type: 'blob-start', digest: d('2'), size: 20, action: 'mount' }, 100), undefined);
});

test('the heartbeat line of an upload still running', () => {
  assert.equal(plainHeartbeatLine(d('b'), 512_000, 1_024_000, 10_600), '[  10.6s] upload bbbbbbbbbbbb 512 kB / 1.0 MB (50%)');
  assert.equal(plainHeartbeatLine(d('b'), 5, 0, 1000), '[   1.0s] upload bbbbbbbbbbbb 5 B / 0 B');
});

test('json lines parse, carry the time and the event', () => {
  const line = jsonProgressLine({ type: 'plan', plan }, new Date('2026-12-05T12:00:00Z'), 1234);
  const parsed = JSON.parse(line) as { time: string; elapsed: number; type: string; uploader: string; layers: unknown[] };
  assert.deepEqual([parsed.time, parsed.elapsed, parsed.type, parsed.uploader, parsed.layers.length], ['2026-12-05T12:00:00.000Z', 1.234, 'plan', 'engine', 3]);
  const done = JSON.parse(jsonProgressLine({ type: 'blob-done', digest: d('b'), size: 3, action: 'upload', bytesSent: 3 }, new Date(0), 5)) as Record<string, unknown>;
  assert.deepEqual(done, { time: '1970-01-01T00:00:00.000Z', elapsed: 0.005, type: 'blob-done', digest: d('b'), size: 3, action: 'upload', bytesSent: 3 });
});
