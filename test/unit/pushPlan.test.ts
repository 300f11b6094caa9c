// The push plan (pure): exists / mount / prepush / upload per layer, totals, and runner quoting.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { planPush, prepushTag, renderRunner, shellQuote, type KnownBlob, type PlanInput } from '../../server/src/push/plan';

const reg = 'registry.example.com';
const target = `${reg}/team/app`;
const upstream = 'docker.io/library/python';
const blob = (digest: string, size: number, repositories: string[]): KnownBlob => ({ digest, size, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', repositories });

function input(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    target,
    targetRegistry: reg,
    layers: [{ diffId: 'sha256:d1' }, { diffId: 'sha256:d2' }, { diffId: 'sha256:d3' }],
    config: { digest: 'sha256:cfg', size: 1000 },
    known: new Map([
      ['sha256:d1', [blob('sha256:b1', 30_000_000, [upstream, `${reg}/library/python`])]],
      ['sha256:d2', [blob('sha256:b2', 10_000_000, [upstream])]],
    ]),
    present: new Map(),
    strategy: 'auto',
    runnerConfigured: false,
    base: { reference: `${upstream}@sha256:base`, repository: upstream },
    ...overrides,
  };
}

describe('planPush', () => {
  test('exists when the target has the blob; mount from another repository of the registry; prepush for upstream-only; upload for the rest', () => {
    const plan = planPush(input({ present: new Map([[`${reg}/library/python|sha256:b1`, true]]) }));
    assert.deepEqual(
      plan.layers.map((l) => [l.action, 'from' in l ? l.from : undefined]),
      [
        ['mount', 'library/python'],
        ['prepush', upstream],
        ['upload', undefined],
      ],
    );
    assert.deepEqual(plan.prepush, { strategy: 'local', source: `${upstream}@sha256:base` });
    assert.equal(plan.config.action, 'upload');
    assert.equal(plan.uplinkBytes, 1000);
    assert.equal(plan.unknownUploads, 1);
    assert.equal(plan.totalBytes, 40_001_000);
  });

  test('the target holding a blob beats everything', () => {
    const plan = planPush(input({ present: new Map([[`${target}|sha256:b1`, true], [`${target}|sha256:b2`, true], [`${target}|sha256:cfg`, true]]) }));
    assert.deepEqual(plan.layers.map((l) => l.action), ['exists', 'exists', 'upload']);
    assert.equal(plan.config.action, 'exists');
    assert.equal(plan.prepush, undefined);
  });

  test('auto picks the runner when one is configured; off and mount never pre-push', () => {
    assert.equal(planPush(input({ runnerConfigured: true })).prepush?.strategy, 'runner');
    assert.deepEqual(planPush(input({ strategy: 'off' })).layers.map((l) => l.action), ['upload', 'upload', 'upload']);
    assert.deepEqual(planPush(input({ strategy: 'mount' })).layers.map((l) => l.action), ['upload', 'upload', 'upload']);
    assert.equal(planPush(input({ strategy: 'local', runnerConfigured: true })).prepush?.strategy, 'local');
  });

  test('repositories of other registries are never mount sources', () => {
    const plan = planPush(input({ strategy: 'off', present: new Map([[`${upstream}|sha256:b1`, true]]) }));
    assert.equal(plan.layers[0]?.action, 'upload');
  });

  test('without a known base there is nothing to pre-push', () => {
    const plan = planPush(input({ base: undefined }));
    assert.deepEqual(plan.layers.map((l) => l.action), ['upload', 'upload', 'upload']);
  });
});

describe('pre-push tag and runner templates', () => {
  test('prepush-<first 12 hex of the base digest>', () => {
    assert.equal(prepushTag(`sha256:${'0123456789ab'.repeat(5)}abcd`), 'prepush-0123456789ab');
  });

  test('placeholders are single shell words, whatever they contain', () => {
    const hostile = [`x'; touch /tmp/pwned-${process.pid}; echo '`, '$(touch /tmp/pwned)', '`id`', 'a b\nc', "it's", '${HOME}', '--help', ''];
    for (const value of hostile) {
      const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(value)}`]).toString();
      assert.equal(out, value);
    }
    const command = renderRunner('printf "%s|%s" {source} {target}', { source: "evil'; rm -rf /; '", target: 'reg/x:prepush-1' });
    assert.equal(execFileSync('/bin/sh', ['-c', command]).toString(), "evil'; rm -rf /; '|reg/x:prepush-1");
  });
});
