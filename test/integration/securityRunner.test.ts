// Runner templates cannot be injected (unit: test/unit/pushPlan.test.ts "placeholders are single
// shell words"). Here the runner really runs: through the CLI, a hostile TARGET is refused before
// any runner starts; a real pre-push hands the runner exactly two words; and runPrepushRunner
// itself, fed hostile values, passes each as one argument — no marker file is ever created.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { runPrepushRunner } from '../../server/src/push/runner';
import { runCli } from './runCli';

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let marker: string;
let argsFile: string;
let recorder: string;

before(async () => {
  work = await makeTempDir('runner');
  registry = await startRegistry({ auth: 'none' });
  const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }], tag: 'v1' });
  await seedImage(base.layoutDir, 'v1', registry.host, 'library/base');
  marker = join(work.path, 'PWNED');
  argsFile = join(work.path, 'args.txt');
  // Records each argument on its own line (NUL-free values), then copies nothing: it only tells.
  recorder = join(work.path, 'record-args');
  await writeFile(recorder, `#!/bin/sh\n: > '${argsFile}'\nfor a in "$@"; do printf '%s\\n--\\n' "$a" >> '${argsFile}'; done\n`);
  await chmod(recorder, 0o755);
});
after(async () => {
  await registry?.stop();
  await work?.remove();
});

const exists = (path: string) => stat(path).then(() => true, () => false);
const recorded = async () => (await readFile(argsFile, 'utf8')).split('\n--\n').filter((a) => a !== '');

describe('runner templates are not injectable', () => {
  test('hostile TARGETs on the command line are refused before any runner runs', async () => {
    for (const hostile of [`${registry.host}/team/$(touch ${marker})`, `${registry.host}/team/app;touch ${marker}`, `${registry.host}/team/\`touch ${marker}\``, `${registry.host}/team/app:x' ; touch '${marker}`]) {
      const run = await runCli(['prepush', '--strategy', 'runner', '--runner', `${recorder} {source} {target}`, `${registry.host}/library/base:v1`, hostile]);
      assert.ok(run.code === 1 || run.code === 2, `${hostile}: ${run.stderr}`);
      assert.match(run.stderr, /^layerlift: /);
      assert.equal(await exists(marker), false, `${hostile} ran a command`);
      assert.equal(await exists(argsFile), false, 'the runner never started');
    }
  });

  test('a real runner pre-push gets exactly two words: the pinned base and the prepush tag', async () => {
    const run = await runCli(['prepush', '--strategy', 'runner', '--runner', `${recorder} {source} {target}; true`, `${registry.host}/library/base:v1`, `${registry.host}/team/app`]);
    // The recorder copies nothing, so the check that the layers arrived fails: that is expected.
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /base layers did not arrive/);
    const args = await recorded();
    assert.equal(args.length, 2, JSON.stringify(args));
    assert.match(args[0] ?? '', new RegExp(`^${registry.host.replace(/\./g, '\\.')}/library/base@sha256:[0-9a-f]{64}$`));
    assert.match(args[1] ?? '', new RegExp(`^${registry.host.replace(/\./g, '\\.')}/team/app:prepush-[0-9a-f]{12}$`));
  });

  test('runPrepushRunner with hostile values: each is one argument, nothing injected runs', async () => {
    const hostile = [`x'; touch ${marker}; echo '`, `$(touch ${marker})`, `\`touch ${marker}\``, `a b\ntouch ${marker}`, `it's "quoted" \\ $HOME`, '--help', `&& touch ${marker}`];
    for (const value of hostile) {
      await runPrepushRunner(`${recorder} {source} {target}`, { source: value, target: `${value}-target` });
      assert.deepEqual(await recorded(), [value, `${value}-target`]);
      assert.equal(await exists(marker), false, `${JSON.stringify(value)} ran a command`);
    }
  });
});
