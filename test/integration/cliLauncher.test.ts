// The layerlift executable (dist/cli.js, server/src/cli/launcher.ts) loads the CLI bundle through
// V8's code cache: the first run writes it into a directory only this user may use, later runs
// read it; a directory others could write is never used; NODE_DISABLE_COMPILE_CACHE=1 turns it
// off. Every variant still runs the command and keeps its exit code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import Module from 'node:module';
import { join } from 'node:path';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';

let work: { path: string; remove: () => Promise<void> };
before(async () => {
  work = await makeTempDir('launcher');
});
after(async () => {
  await work?.remove();
});

const cacheDirIn = (tmp: string) => join(tmp, `layerlift-compile-cache-${process.getuid?.() ?? ''}`.replace(/-$/, ''));

describe('the code cache of the CLI', () => {
  test('written on the first run into a private directory, read on the next; the command runs both times', async () => {
    const tmp = join(work.path, 'first');
    await mkdir(tmp);
    const first = await runCli(['--version'], { TMPDIR: tmp });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^\d+\.\d+\.\d+/);
    const directory = cacheDirIn(tmp);
    const mode = (await stat(directory)).mode & 0o777;
    assert.equal(mode, 0o700, `directory mode ${mode.toString(8)}`);
    const files = await readdir(directory);
    // Node 22+ keeps its own layout under the directory; Node 20 gets our one file.
    assert.ok(files.length > 0, 'a cache was written');
    const before = await Promise.all(files.map(async (f) => (await stat(join(directory, f))).mtimeMs));
    const second = await runCli(['nosuch'], { TMPDIR: tmp });
    assert.equal(second.code, 2, 'a usage error keeps its exit code through the launcher');
    assert.match(second.stderr, /unknown command "nosuch"/);
    if (!('enableCompileCache' in Module)) {
      // Node 20 (launcher.ts by hand): a cache V8 accepted is not written again.
      assert.deepEqual(await readdir(directory), files);
      assert.deepEqual(await Promise.all(files.map(async (f) => (await stat(join(directory, f))).mtimeMs)), before, 'the cache was accepted, not rewritten');
    }
  });

  test('a cache directory others may write is not used; the command still runs', async () => {
    const tmp = join(work.path, 'shared');
    const directory = cacheDirIn(tmp);
    await mkdir(directory, { recursive: true });
    await chmod(directory, 0o777);
    const run = await runCli(['--version'], { TMPDIR: tmp });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await readdir(directory), [], 'nothing was written into (or read from) a shared directory');
  });

  test('NODE_DISABLE_COMPILE_CACHE=1: no cache at all', async () => {
    const tmp = join(work.path, 'off');
    await mkdir(tmp);
    const run = await runCli(['--version'], { TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await readdir(tmp), []);
  });
});
