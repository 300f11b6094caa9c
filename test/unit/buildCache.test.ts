// The cache plan of `layerlift build --cache-from/--cache auto`: pure over the Dockerfile's stages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheTagFor, planBuildCache } from '../../server/src/push/buildCache';
import { parseReference } from '../../server/src/core/reference';

const targets = [parseReference('registry.example.com/team/app:latest'), parseReference('registry.example.com/team/app:1.4.7')];
const stages = [{ index: 0, name: 'deps' }, { index: 1, name: 'Builder' }, { index: 2 }, { index: 3 }];

test('legacy builder, --cache auto: every needed named stage built and tagged first, cache images pulled', () => {
  const plan = planBuildCache({ targets, stages, neededStages: [0, 1, 3], cacheFrom: [], auto: true, builder: 'legacy' });
  assert.deepEqual(plan.cacheTags, ['registry.example.com/team/app:cache-deps', 'registry.example.com/team/app:cache-builder']);
  assert.deepEqual(plan.pulls, ['registry.example.com/team/app:latest', 'registry.example.com/team/app:cache-deps', 'registry.example.com/team/app:cache-builder']);
  assert.deepEqual(plan.steps, [
    { target: 'deps', tags: ['registry.example.com/team/app:cache-deps'], cacheFrom: ['registry.example.com/team/app:cache-deps'] },
    { target: 'Builder', tags: ['registry.example.com/team/app:cache-builder'], cacheFrom: ['registry.example.com/team/app:cache-deps', 'registry.example.com/team/app:cache-builder'] },
    { tags: ['registry.example.com/team/app:latest', 'registry.example.com/team/app:1.4.7'], cacheFrom: plan.pulls },
  ]);
  assert.deepEqual(plan.buildArgs, {});
});

test('buildx: sources as type=registry, inline cache on, nothing pulled; the user\'s --target kept', () => {
  const plan = planBuildCache({ targets: [targets[0] as (typeof targets)[0]], stages, neededStages: [1, 2], target: '2', cacheFrom: ['registry.example.com/team/app:main'], auto: true, builder: 'buildx' });
  assert.deepEqual(plan.pulls, []);
  assert.deepEqual(plan.buildArgs, { BUILDKIT_INLINE_CACHE: '1' });
  assert.equal(plan.steps.at(-1)?.target, '2');
  assert.deepEqual(plan.steps.at(-1)?.cacheFrom, ['type=registry,ref=registry.example.com/team/app:main', 'type=registry,ref=registry.example.com/team/app:latest', 'type=registry,ref=registry.example.com/team/app:cache-builder']);
});

test('the docker CLI\'s own BuildKit takes plain references; an unnamed stage is not cached on its own', () => {
  const plan = planBuildCache({ targets, stages, neededStages: [2, 3], cacheFrom: [], auto: true, builder: 'buildkit' });
  assert.deepEqual(plan.cacheTags, [], 'stage 2 has no name: --target cannot name it');
  assert.deepEqual(plan.steps, [{ tags: ['registry.example.com/team/app:latest', 'registry.example.com/team/app:1.4.7'], cacheFrom: ['registry.example.com/team/app:latest'] }]);
  assert.deepEqual(plan.buildArgs, { BUILDKIT_INLINE_CACHE: '1' });
});

test('without a cache: one plain build, no pulls, no extra args', () => {
  assert.deepEqual(planBuildCache({ targets, stages, neededStages: [0, 1, 3], cacheFrom: [], auto: false, builder: 'legacy' }), {
    pulls: [],
    steps: [{ tags: ['registry.example.com/team/app:latest', 'registry.example.com/team/app:1.4.7'], cacheFrom: [] }],
    buildArgs: {},
    cacheTags: [],
  });
});

test('cache tags are valid tags', () => {
  assert.equal(cacheTagFor(targets[0] as (typeof targets)[0], { index: 0, name: 'Build_Stage.1' }), 'registry.example.com/team/app:cache-build_stage.1');
  assert.equal(cacheTagFor(targets[0] as (typeof targets)[0], { index: 4 }), 'registry.example.com/team/app:cache-stage-4');
});
