// The disk of the cache directory full: a 1 MiB tmpfs mounted as XDG_CACHE_HOME (we run as
// root; without the right to mount, the suite says why and skips — a loop device would need the
// same right). A push compresses new layers into the cache before upload, so it must stop with
// ONE line naming the directory, what to do (free space, or LAYERLIFT_CACHE elsewhere) and that
// the same command resumes; the tag keeps the previous image, no scratch file is left behind,
// and the same command with room completes, verified. A copy needs no cache at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRegistry, type Registry } from '../bed/registry';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';
import { archiveImage, tagDigest, verifyPushed, MB, type ArchiveImage, type PushJson } from './faultsHelpers';

const exec = promisify(execFile);
let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let full: string;
let mounted = false;
let mountProblem = '';
let previous: ArchiveImage;
let oneLayer: ArchiveImage;
let twoLayers: ArchiveImage;
const figures: string[] = [];

before(async () => {
  work = await makeTempDir('disk-full');
  full = join(work.path, 'full');
  await mkdir(full);
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'layerlift-test-full', full]);
    mounted = true;
  } catch (error) {
    mountProblem = `cannot mount a 1 MiB tmpfs (${String((error as { stderr?: string }).stderr ?? error).trim()}): this suite needs root (CAP_SYS_ADMIN) for a real ENOSPC; a loop device would need the same`;
    return;
  }
  registry = await startRegistry({ auth: 'none' });
  const base = { kind: 'busybox' } as const;
  previous = await archiveImage(work.path, 'previous', { layers: [base] });
  oneLayer = await archiveImage(work.path, 'one', { layers: [base, { kind: 'random', bytes: 3 * MB, seed: 'disk-full-1' }] });
  twoLayers = await archiveImage(work.path, 'two', { layers: [base, { kind: 'random', bytes: 2 * MB, seed: 'disk-full-2' }, { kind: 'random', bytes: 2 * MB, seed: 'disk-full-3' }] });
});
after(async () => {
  if (figures.length > 0) console.log(`disk full figures:\n  ${figures.join('\n  ')}`);
  await registry?.stop();
  if (mounted) await exec('umount', [full]);
  await work?.remove();
});

/** Every regular file under `dir`, with its size. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(`${join(entry.parentPath, entry.name)} (${(await stat(join(entry.parentPath, entry.name))).size} B)`);
  }
  return out;
}

describe('the cache directory on a full disk', () => {
  for (const [name, image] of [['one new layer (compressed as it streams)', () => oneLayer], ['two new layers (each compressed as it streams, one after the other)', () => twoLayers]] as const) {
    test(`push, ${name}: one line naming the directory and what to do; previous tag kept; no scratch left; resumes with room`, async (t) => {
      if (!mounted) return t.skip(mountProblem);
      const repository = `full/${name.startsWith('one') ? 'one' : 'two'}`;
      const prior = await runCli(['push', '--json', previous.spec, `${registry.host}/${repository}:1`], { XDG_CACHE_HOME: join(work.path, 'roomy') });
      assert.equal(prior.code, 0, prior.stderr);
      const before = (JSON.parse(prior.stdout) as PushJson).digest;

      const started = Date.now();
      const run = await runCli(['push', image().spec, `${registry.host}/${repository}:1`], { XDG_CACHE_HOME: full });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(run.code, 1, `stdout: ${run.stdout} stderr: ${run.stderr}`);
      // Progress lines (`[   0.1s] …`, a log's default) may come first; the failure is one line.
      const said = run.stderr.trim().split('\n').filter((l) => !l.startsWith('['));
      assert.equal(said.length, 1, run.stderr);
      assert.equal(
        said[0],
        `layerlift: no space left in the cache directory ${join(full, 'layerlift')}, where layers are compressed before upload — free space there, or set LAYERLIFT_CACHE to a directory on a disk with room, then run the same command again (the target was not changed)`,
      );
      assert.equal(await tagDigest(registry.host, repository, '1'), before, 'the tag still names the previous image');
      assert.deepEqual(await filesUnder(full), [], 'no scratch file left in the cache');

      // The hint works: the same command with LAYERLIFT_CACHE on a disk with room completes.
      const again = await runCli(['push', '--json', image().spec, `${registry.host}/${repository}:1`], { XDG_CACHE_HOME: full, LAYERLIFT_CACHE: join(work.path, 'elsewhere') });
      assert.equal(again.code, 0, again.stderr);
      const pushed = JSON.parse(again.stdout) as PushJson;
      await verifyPushed(registry.host, repository, '1', pushed);
      assert.notEqual(pushed.digest, before);
      const figure = `${name}: failed in ${seconds.toFixed(1)} s with CACHE_FULL; re-run with LAYERLIFT_CACHE uploaded ${pushed.bytesUploaded} B`;
      t.diagnostic(figure);
      figures.push(figure);
    });
  }

  test('copy streams registry to registry with no temp files: a full cache does not matter', async (t) => {
    if (!mounted) return t.skip(mountProblem);
    const run = await runCli(['copy', '--json', `${registry.host}/full/one:1`, `${registry.host}/full/copied:1`], { XDG_CACHE_HOME: full });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { digest: string }).digest, await tagDigest(registry.host, 'full/one', '1'));
    assert.deepEqual(await filesUnder(full), []);
  });
});
