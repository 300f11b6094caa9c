// Which pre-push tags prune-prepush removes: pure over the images it read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { staleTags, PREPUSH_TAG, type TaggedImage } from '../../server/src/push/prunePrepush';

const blob = (n: number) => ({ mediaType: 'x', digest: `sha256:${String(n).padStart(64, '0')}`, size: n });
const image = (repository: string, tag: string, manifest: number, layers: number[], created?: string): TaggedImage => ({
  repository,
  tag,
  image: { manifestDigest: `sha256:${String(manifest).padStart(64, 'f')}`, layers: layers.map(blob), diffIds: [], ...(created ? { created } : {}) },
});
const now = new Date('2026-12-05T00:00:00Z');

test('a base some image starts with is kept; one nobody starts with is removed as unused', () => {
  const prepush = [image('hub/base', 'prepush-aaaaaaaaaaaa', 1, [1, 2]), image('hub/base', 'prepush-bbbbbbbbbbbb', 2, [3, 4])];
  const apps = [image('team/a', '1', 10, [1, 2, 9])];
  assert.deepEqual(staleTags(prepush, apps, { now }), [{ tag: 'prepush-bbbbbbbbbbbb', digest: prepush[1]?.image.manifestDigest, reason: 'unused' }]);
});

test('only a prefix counts: the base layers must open the image, in order', () => {
  const prepush = [image('r', 'prepush-aaaaaaaaaaaa', 1, [1, 2])];
  assert.equal(staleTags(prepush, [image('r', '1', 10, [2, 1, 9])], { now }).length, 1);
  assert.equal(staleTags(prepush, [image('r', '1', 10, [1])], { now }).length, 1, 'an image shorter than the base does not use it');
  assert.equal(staleTags([image('r', 'prepush-aaaaaaaaaaaa', 1, [])], [image('r', '1', 10, [1])], { now }).length, 1, 'an empty base is used by nothing');
});

test('--older-than removes bases built before it even when used; a base without a date is only judged by use', () => {
  const old = image('r', 'prepush-aaaaaaaaaaaa', 1, [1], '2026-10-01T00:00:00Z');
  const fresh = image('r', 'prepush-bbbbbbbbbbbb', 2, [1], '2026-12-01T00:00:00Z');
  const undated = image('r', 'prepush-cccccccccccc', 3, [1]);
  const apps = [image('r', '1', 10, [1, 5])];
  assert.deepEqual(staleTags([old, fresh, undated], apps, { now, olderThanDays: 30 }).map((s) => [s.tag, s.reason]), [['prepush-aaaaaaaaaaaa', 'older']]);
  assert.deepEqual(staleTags([old], apps, { now }), [], 'without --older-than age does not matter');
});

test('a digest another tag also names is never removed (a delete by digest would untag it)', () => {
  const prepush = image('r', 'prepush-aaaaaaaaaaaa', 1, [1]);
  const sameDigest = { ...image('r', 'stable', 1, [1]) };
  assert.deepEqual(staleTags([prepush], [sameDigest], { now, olderThanDays: 0 }), []);
});

test('the tag pattern is the one prepush writes', () => {
  assert.ok(PREPUSH_TAG.test('prepush-0123456789ab'));
  assert.ok(!PREPUSH_TAG.test('prepush-latest'));
  assert.ok(!PREPUSH_TAG.test('x-prepush-0123456789ab'));
});
