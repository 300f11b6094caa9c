// A plan from the local index alone (pure), for a rebuild the engine pushes: the lower layers were
// recorded in the target repository, the layers above them are known nowhere — start the engine
// at once. Anything else (a first push, a layer another repository could lend) is undefined:
// the caller then plans fully.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planFromIndex } from '../../server/src/push/plan';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const reg = 'r.example.com';
const target = `${reg}/team/app`;
const gz = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

interface IndexEntry {
  digest: string;
  size: number;
  mediaType: string;
  repositories: string[];
}

function lookupFrom(entries: Record<string, IndexEntry[]>): (diffId: string) => IndexEntry[] {
  return (diffId) => entries[diffId] ?? [];
}

const entry = (digest: string, size: number, repositories: string[]): IndexEntry => ({ digest, size, mediaType: gz, repositories });

// base1, base2: the base, recorded in the target (and in the base's own repository);
// app: the previous app layer, recorded in the target only;
// other: a layer only another repository of the target registry holds;
// upstream: a layer only another registry holds.
const index = lookupFrom({
  [d('1')]: [entry(d('a'), 30_000_000, [`${reg}/library/base`, target])],
  [d('2')]: [entry(d('b'), 2_000_000, [target])],
  [d('3')]: [entry(d('c'), 500_000, [target])],
  [d('4')]: [entry(d('e'), 7_000, [`${reg}/other/app`])],
  [d('5')]: [entry(d('f'), 9_000, ['docker.io/library/python'])],
});

const subject = (diffIds: string[], configSize?: number) => ({ layers: diffIds.map((diffId) => ({ diffId })), configDigest: d('9'), ...(configSize === undefined ? {} : { configSize }) });

describe('planFromIndex', () => {
  test('a rebuild: the prefix in the target, a new suffix known nowhere → exists + upload, pushed by the engine', () => {
    const plan = planFromIndex(subject([d('1'), d('2'), d('7'), d('8')], 1_500), index, target);
    assert.ok(plan, 'a plan');
    assert.equal(plan.uploader, 'engine');
    assert.deepEqual(plan.layers, [
      { action: 'exists', diffId: d('1'), digest: d('a'), size: 30_000_000, mediaType: gz },
      { action: 'exists', diffId: d('2'), digest: d('b'), size: 2_000_000, mediaType: gz },
      { action: 'upload', diffId: d('7') },
      { action: 'upload', diffId: d('8') },
    ]);
    assert.deepEqual(plan.config, { action: 'upload', digest: d('9'), size: 1_500 });
    assert.equal(plan.unknownUploads, 2);
    assert.equal(plan.uplinkBytes, 1_500, 'only the config has a size known before compressing');
    assert.equal(plan.totalBytes, 32_001_500);
    assert.equal(plan.prepush, undefined);
  });

  test('every layer already in the target (a re-push): all exist, nothing unknown', () => {
    const plan = planFromIndex(subject([d('1'), d('2'), d('3')], 800), index, target);
    assert.ok(plan);
    assert.deepEqual(plan.layers.map((l) => l.action), ['exists', 'exists', 'exists']);
    assert.equal(plan.unknownUploads, 0);
    assert.equal(plan.uplinkBytes, 800);
    assert.equal(plan.totalBytes, 32_500_800);
  });

  test('the config size: counted in uplink and total when given, 0 when not', () => {
    const withSize = planFromIndex(subject([d('1'), d('7')], 4_321), index, target);
    assert.deepEqual(withSize?.config, { action: 'upload', digest: d('9'), size: 4_321 });
    assert.equal(withSize?.uplinkBytes, 4_321);
    assert.equal(withSize?.totalBytes, 30_004_321);
    const without = planFromIndex(subject([d('1'), d('7')]), index, target);
    assert.deepEqual(without?.config, { action: 'upload', digest: d('9'), size: 0 });
    assert.equal(without?.uplinkBytes, 0);
    assert.equal(without?.totalBytes, 30_000_000);
  });

  test('a first push (nothing recorded in the target) → undefined', () => {
    assert.equal(planFromIndex(subject([d('7'), d('8')]), index, target), undefined);
    assert.equal(planFromIndex(subject([d('7')], 100), () => [], target), undefined);
  });

  test('no layers at all → undefined', () => {
    assert.equal(planFromIndex(subject([]), index, target), undefined);
  });

  test('a suffix layer another repository of the target registry holds (it could be mounted) → undefined', () => {
    assert.equal(planFromIndex(subject([d('1'), d('2'), d('4')]), index, target), undefined);
  });

  test('a suffix layer only another registry holds (it could be pre-pushed) → undefined', () => {
    assert.equal(planFromIndex(subject([d('1'), d('5')]), index, target), undefined);
  });

  test('a prefix layer recorded only elsewhere (not in the target) → undefined', () => {
    assert.equal(planFromIndex(subject([d('4'), d('1'), d('7')]), index, target), undefined);
  });

  test('a gap: a layer in the target above an unknown one → undefined', () => {
    assert.equal(planFromIndex(subject([d('7'), d('1')]), index, target), undefined);
    assert.equal(planFromIndex(subject([d('1'), d('7'), d('2'), d('8')]), index, target), undefined);
  });

  test('only the exact target repository counts (not a similarly named one)', () => {
    const lookup = lookupFrom({ [d('1')]: [entry(d('a'), 10, [`${target}-old`, `${reg}/team/app/sub`, `other.example.com/team/app`])] });
    assert.equal(planFromIndex(subject([d('1'), d('7')]), lookup, target), undefined);
  });

  test('a layer known as several blobs: the one recorded in the target is the one that exists', () => {
    const lookup = lookupFrom({ [d('1')]: [entry(d('x'), 111, [`${reg}/library/base`]), entry(d('y'), 222, [target]), entry(d('z'), 333, [target])] });
    const plan = planFromIndex(subject([d('1'), d('7')]), lookup, target);
    assert.deepEqual(plan?.layers[0], { action: 'exists', diffId: d('1'), digest: d('y'), size: 222, mediaType: gz });
  });

  test('repeated diff_ids in the prefix: each occurrence exists', () => {
    const plan = planFromIndex(subject([d('1'), d('1'), d('2'), d('7')]), index, target);
    assert.ok(plan);
    assert.deepEqual(plan.layers.map((l) => l.action), ['exists', 'exists', 'exists', 'upload']);
  });

  test('a repeated new layer in the suffix: both occurrences upload', () => {
    const plan = planFromIndex(subject([d('1'), d('7'), d('7')]), index, target);
    assert.ok(plan);
    assert.deepEqual(plan.layers.map((l) => l.action), ['exists', 'upload', 'upload']);
  });

  test('a target layer repeated above a new one (e.g. the empty layer 5f70bf18… again): it is already in the target, so still a plan', () => {
    // Nothing here can be mounted or pre-pushed: the repeated layer is the SAME blob the target
    // already holds (the engine answers "Layer already exists"). Falling back to a full plan only
    // costs the registry reads this fast path exists to skip.
    const empty = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';
    const lookup = lookupFrom({
      [d('1')]: [entry(d('a'), 30_000_000, [target])],
      [empty]: [entry('sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1', 32, [target])],
    });
    const plan = planFromIndex(subject([d('1'), empty, d('7'), empty], 100), lookup, target);
    assert.ok(plan, 'a rebuild whose only known suffix layer is already in the target keeps the fast path');
    assert.deepEqual(plan.layers.map((l) => l.action), ['exists', 'exists', 'upload', 'exists']);
    assert.equal(plan.unknownUploads, 1);
  });

  test('the lookup is asked about the layers in order and stops at the first that rules the plan out', () => {
    const asked: string[] = [];
    const lookup = (diffId: string) => {
      asked.push(diffId);
      return index(diffId);
    };
    assert.equal(planFromIndex(subject([d('1'), d('4'), d('7')]), lookup, target), undefined);
    assert.deepEqual(asked, [d('1'), d('4')]);
  });
});
