// LAYERLIFT_TIMING=1 (core/timing.ts): one stderr line per stage, ms since the process started,
// and one as the process exits; without it, nothing at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const timingModule = join(__dirname, '..', '..', 'server', 'src', 'core', 'timing.ts');
const script = `const { timing } = require(${JSON.stringify(timingModule)}); timing('first stage'); timing('second stage');`;

function run(env: NodeJS.ProcessEnv): string {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return child.stderr;
}

test('LAYERLIFT_TIMING=1 prints each stage with its time, in order', () => {
  const lines = run({ LAYERLIFT_TIMING: '1' }).trim().split('\n');
  assert.equal(lines.length, 3, lines.join('\n'));
  const times = lines.map((line, i) => {
    const match = /^layerlift timing: (\d+\.\d) ms (.+)$/.exec(line);
    assert.ok(match, line);
    assert.equal(match[2], ['first stage', 'second stage', 'exit'][i]);
    return Number(match[1]);
  });
  assert.ok((times[0] ?? 0) > 0 && (times[1] ?? 0) >= (times[0] ?? 0) && (times[2] ?? 0) >= (times[1] ?? 0), times.join(' '));
});

test('without LAYERLIFT_TIMING nothing is printed', () => {
  assert.equal(run({}), '');
  assert.equal(run({ LAYERLIFT_TIMING: '0' }), '');
});
