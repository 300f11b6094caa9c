// LayerIndex: the persistent diff_id → blobs/repositories index in the user's cache directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultIndexDirectory, LayerIndex, nodeIndexFileSystem, type IndexFileSystem } from '../../server/src/push/layerIndex';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

function digest(text: string | number): string {
  return `sha256:${createHash('sha256').update(String(text)).digest('hex')}`;
}

/** A clock that moves one second per call. */
function clock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return () => new Date((t += 1000));
}

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

let root: string;
let count = 0;
async function freshDir(): Promise<string> {
  return mkdtemp(join(root, `i${count++}-`));
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-index-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

void describe('LayerIndex', () => {
  void it('lives in $XDG_CACHE_HOME/layerlift, else ~/.cache/layerlift', () => {
    assert.equal(defaultIndexDirectory({ XDG_CACHE_HOME: '/var/cache/me', HOME: '/home/me' }), '/var/cache/me/layerlift');
    if (process.platform !== 'win32') {
      assert.equal(defaultIndexDirectory({ XDG_CACHE_HOME: 'relative/ignored', HOME: '/home/me' }), '/home/me/.cache/layerlift');
      assert.equal(defaultIndexDirectory({ HOME: '/home/me' }), '/home/me/.cache/layerlift');
    }
    assert.equal(LayerIndex.open({ env: { XDG_CACHE_HOME: '/x' } }).path, join('/x', 'layerlift', 'index.json'));
    assert.equal(LayerIndex.open({ directory: '/y' }).path, join('/y', 'index.json'));
  });

  void it('round-trips records through index.json', async () => {
    const directory = await freshDir();
    const now = clock();
    const index = LayerIndex.open({ directory, now });
    assert.deepEqual(index.lookup(digest('a')), []);
    index.record(digest('a'), { digest: digest('a.gz'), size: 100, mediaType: GZIP }, 'registry.example.com/team/app');
    index.record(digest('a'), { digest: digest('a.gz'), size: 100, mediaType: GZIP }, 'registry.example.com/team/other');
    index.record(digest('a'), { digest: digest('a.zst'), size: 80, mediaType: ZSTD }, 'ghcr.io/me/app');
    index.record(digest('b'), { digest: digest('b.gz'), size: 5, mediaType: GZIP });
    // Seen again in the first repository: it moves to the end (most recent).
    index.record(digest('a'), { digest: digest('a.gz'), size: 100, mediaType: GZIP }, 'registry.example.com/team/app');
    assert.deepEqual(await index.save(), {});
    assert.equal(index.warnings.length, 0);

    const again = LayerIndex.open({ directory });
    const a = again.lookup(digest('a'));
    assert.deepEqual(
      a.map((e) => [e.digest, e.size, e.mediaType, e.repositories]),
      [
        [digest('a.gz'), 100, GZIP, ['registry.example.com/team/other', 'registry.example.com/team/app']],
        [digest('a.zst'), 80, ZSTD, ['ghcr.io/me/app']],
      ],
    );
    assert.equal(a[0]?.seenAt, '2025-01-01T00:00:05.000Z');
    assert.deepEqual(again.lookup(digest('b'))[0]?.repositories, []);
    // lookup gives copies.
    a[0]?.repositories.push('mutated');
    assert.equal(again.lookup(digest('a'))[0]?.repositories.includes('mutated'), false);
    const document = JSON.parse(await readFile(join(directory, 'index.json'), 'utf8')) as { version: number; layers: Record<string, unknown> };
    assert.equal(document.version, 1);
    assert.deepEqual(Object.keys(document.layers).sort(), [digest('a'), digest('b')].sort());
    // Nothing recorded: nothing written.
    const before = (await stat(join(directory, 'index.json'))).mtimeMs;
    assert.deepEqual(await again.save(), {});
    assert.equal((await stat(join(directory, 'index.json'))).mtimeMs, before);
  });

  void it('ignores records with invalid digests instead of throwing', async () => {
    const index = LayerIndex.open({ directory: await freshDir() });
    index.record('sha256:nope', { digest: digest('x'), size: 1, mediaType: GZIP }, 'r/x');
    index.record(digest('x'), { digest: 'md5:abc', size: 1, mediaType: GZIP }, 'r/x');
    index.record(digest('x'), { digest: digest('x'), size: -1, mediaType: GZIP }, 'r/x');
    assert.deepEqual(index.lookup(digest('x')), []);
  });

  void it('writes atomically: a temp file in the same directory, renamed over the index', async () => {
    const directory = await freshDir();
    const calls: string[] = [];
    const fs: IndexFileSystem = {
      ...nodeIndexFileSystem,
      writeTempFile: async (path, data) => {
        calls.push(`write ${path}`);
        await nodeIndexFileSystem.writeTempFile(path, data);
      },
      rename: async (from, to) => {
        calls.push(`rename ${from} -> ${to}`);
        await nodeIndexFileSystem.rename(from, to);
      },
    };
    const index = LayerIndex.open({ directory, fs });
    index.record(digest(1), { digest: digest('1.gz'), size: 1, mediaType: GZIP }, 'r/one');
    assert.deepEqual(await index.save(), {});
    assert.equal(calls.length, 2);
    const temp = /^write (.*)$/.exec(calls[0] ?? '')?.[1] ?? '';
    assert.match(temp, new RegExp(`^${directory.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/index\\.json\\.\\d+-[0-9a-f]+\\.tmp$`));
    assert.equal(calls[1], `rename ${temp} -> ${join(directory, 'index.json')}`);
    assert.deepEqual(await readdir(directory), ['index.json']);

    // A write that dies half-way leaves the previous index whole and no temp file behind.
    const previous = await readFile(join(directory, 'index.json'));
    const failing: IndexFileSystem = {
      ...nodeIndexFileSystem,
      writeTempFile: async (path, data) => {
        await writeFile(path, data.slice(0, 10));
        throw errnoError('EIO');
      },
    };
    const second = LayerIndex.open({ directory, fs: failing });
    second.record(digest(2), { digest: digest('2.gz'), size: 2, mediaType: GZIP }, 'r/two');
    const result = await second.save();
    assert.equal(result.code, 'INDEX_SAVE_FAILED');
    assert.match(result.warning ?? '', /not saved: EIO: simulated/);
    assert.deepEqual(await readFile(join(directory, 'index.json')), previous);
    assert.deepEqual(await readdir(directory), ['index.json']);
    // A failing rename also cleans up.
    const noRename: IndexFileSystem = { ...nodeIndexFileSystem, rename: () => Promise.reject(errnoError('EXDEV')) };
    const third = LayerIndex.open({ directory, fs: noRename });
    third.record(digest(3), { digest: digest('3.gz'), size: 3, mediaType: GZIP }, 'r/three');
    assert.equal((await third.save()).code, 'INDEX_SAVE_FAILED');
    assert.deepEqual(await readdir(directory), ['index.json']);
  });

  void it('merges what another process saved in the meantime', async () => {
    const directory = await freshDir();
    const first = LayerIndex.open({ directory });
    const second = LayerIndex.open({ directory });
    assert.deepEqual(first.lookup(digest('shared')), []);
    assert.deepEqual(second.lookup(digest('shared')), []);
    first.record(digest('shared'), { digest: digest('shared.gz'), size: 9, mediaType: GZIP }, 'r/first');
    first.record(digest('only-first'), { digest: digest('f.gz'), size: 1, mediaType: GZIP }, 'r/first');
    await first.save();
    second.record(digest('shared'), { digest: digest('shared.gz'), size: 9, mediaType: GZIP }, 'r/second');
    await second.save();
    const merged = LayerIndex.open({ directory });
    assert.deepEqual(merged.lookup(digest('shared'))[0]?.repositories, ['r/first', 'r/second']);
    assert.equal(merged.lookup(digest('only-first')).length, 1);
    // And the second process sees the first one's entries after its save.
    assert.equal(second.lookup(digest('only-first')).length, 1);
  });

  void it('keeps records made while a save is writing, and serialises saves', async () => {
    const directory = await freshDir();
    const holder: { index?: LayerIndex } = {};
    const fs: IndexFileSystem = {
      ...nodeIndexFileSystem,
      writeTempFile: async (path, data) => {
        holder.index?.record(digest('late'), { digest: digest('late.gz'), size: 1, mediaType: GZIP }, 'r/late');
        await nodeIndexFileSystem.writeTempFile(path, data);
      },
    };
    const index = LayerIndex.open({ directory, fs });
    holder.index = index;
    index.record(digest('early'), { digest: digest('early.gz'), size: 1, mediaType: GZIP }, 'r/early');
    const [a, b] = await Promise.all([index.save(), index.save()]);
    assert.deepEqual([a, b], [{}, {}]);
    const reloaded = LayerIndex.open({ directory });
    assert.equal(reloaded.lookup(digest('early')).length, 1);
    assert.equal(reloaded.lookup(digest('late')).length, 1);
  });

  void it('moves a corrupt file aside with a warning and starts a new index', async () => {
    const directory = await freshDir();
    const path = join(directory, 'index.json');
    await writeFile(path, '{"version":1,"layers":{"sha256:');
    const index = LayerIndex.open({ directory, now: clock() });
    // Lazy: nothing happens before the index is used.
    assert.deepEqual(await readdir(directory), ['index.json']);
    assert.deepEqual(index.lookup(digest('a')), []);
    const files = await readdir(directory);
    assert.equal(files.length, 1);
    assert.match(files[0] ?? '', /^index\.json\.corrupt-2025-01-01T00-00-01-000Z$/);
    const loaded = index.load();
    assert.equal(loaded.code, 'INDEX_CORRUPT');
    assert.match(loaded.warning ?? '', /is not valid JSON .*: moved to .*index\.json\.corrupt-.*, starting a new one$/);
    assert.equal(loaded.warning?.includes('\n'), false);
    // The push goes on: records are kept and saved; the save reports the load warning once.
    index.record(digest('a'), { digest: digest('a.gz'), size: 1, mediaType: GZIP }, 'r/a');
    const saved = await index.save();
    assert.equal(saved.code, 'INDEX_CORRUPT');
    assert.match(saved.warning ?? '', /not valid JSON/);
    assert.deepEqual(await index.save(), {});
    assert.equal(LayerIndex.open({ directory }).lookup(digest('a')).length, 1);
  });

  void it('treats a wrong shape as corrupt, skips malformed entries, and leaves a newer format alone', async () => {
    for (const text of ['[]', '{"version":1}', 'null', '{"version":"1","layers":{}}']) {
      const directory = await freshDir();
      await writeFile(join(directory, 'index.json'), text);
      const index = LayerIndex.open({ directory });
      assert.equal(index.load().code, 'INDEX_CORRUPT', text);
      assert.equal((await readdir(directory)).some((f) => f.startsWith('index.json.corrupt-')), true);
    }

    const directory = await freshDir();
    const good = { digest: digest('g.gz'), size: 3, mediaType: GZIP, repositories: ['r/g', 5, 'r/g'], seenAt: '2025-01-01T00:00:00.000Z' };
    await writeFile(
      join(directory, 'index.json'),
      JSON.stringify({
        version: 1,
        layers: {
          [digest('g')]: [good, { ...good, digest: 'bad' }, { ...good, size: -3 }, 'junk'],
          'not-a-digest': [good],
          [digest('h')]: 'junk',
        },
      }),
    );
    const index = LayerIndex.open({ directory });
    assert.deepEqual(index.load(), {});
    assert.deepEqual(index.lookup(digest('g')), [{ ...good, repositories: ['r/g'] }]);
    assert.deepEqual(index.lookup(digest('h')), []);

    const newer = await freshDir();
    const future = JSON.stringify({ version: 2, something: 'else' });
    await writeFile(join(newer, 'index.json'), future);
    const old = LayerIndex.open({ directory: newer });
    assert.equal(old.load().code, 'INDEX_TOO_NEW');
    old.record(digest('x'), { digest: digest('x.gz'), size: 1, mediaType: GZIP }, 'r/x');
    const saved = await old.save();
    assert.equal(saved.code, 'INDEX_TOO_NEW');
    assert.equal(await readFile(join(newer, 'index.json'), 'utf8'), future);
  });

  void it('moves aside a file far beyond the size bound without parsing it', async () => {
    const directory = await freshDir();
    await writeFile(join(directory, 'index.json'), ' '.repeat(5000));
    const index = LayerIndex.open({ directory, maxBytes: 1000 });
    assert.equal(index.load().code, 'INDEX_CORRUPT');
    assert.match(index.load().warning ?? '', /is 5000 bytes/);
  });

  void it('stays bounded: the least recently seen diff_ids go first', async () => {
    const directory = await freshDir();
    const index = LayerIndex.open({ directory, maxDiffIds: 100, now: clock() });
    for (let i = 0; i < 150; i++) index.record(digest(i), { digest: digest(`${i}.gz`), size: i, mediaType: GZIP }, 'r/x');
    // Seen again: young again.
    index.record(digest(3), { digest: digest('3.gz'), size: 3, mediaType: GZIP }, 'r/y');
    await index.save();
    const reloaded = LayerIndex.open({ directory });
    assert.equal(reloaded.lookup(digest(3)).length, 1);
    assert.equal(reloaded.lookup(digest(10)).length, 0);
    assert.equal(reloaded.lookup(digest(50)).length, 0);
    assert.equal(reloaded.lookup(digest(51)).length, 1);
    assert.equal(reloaded.lookup(digest(149)).length, 1);
    const document = JSON.parse(await readFile(join(directory, 'index.json'), 'utf8')) as { layers: Record<string, unknown> };
    assert.equal(Object.keys(document.layers).length, 100);
    // The in-memory index is the bounded one too.
    assert.equal(index.lookup(digest(10)).length, 0);

    // The byte bound.
    const small = await freshDir();
    const bytesIndex = LayerIndex.open({ directory: small, maxBytes: 10_000, now: clock() });
    for (let i = 0; i < 500; i++) bytesIndex.record(digest(i), { digest: digest(`${i}.gz`), size: i, mediaType: GZIP }, 'registry.example.com/team/app');
    await bytesIndex.save();
    const size = (await stat(join(small, 'index.json'))).size;
    assert.ok(size <= 10_000 && size > 9_000, `index.json is ${size} bytes`);
    assert.equal(LayerIndex.open({ directory: small }).lookup(digest(499)).length, 1);
    assert.equal(LayerIndex.open({ directory: small }).lookup(digest(0)).length, 0);

    // Per blob: at most 32 repositories, the most recent; per diff_id: at most 8 blobs.
    const busy = LayerIndex.open({ directory: await freshDir(), now: clock() });
    for (let i = 0; i < 40; i++) busy.record(digest('busy'), { digest: digest('busy.gz'), size: 1, mediaType: GZIP }, `r/${i}`);
    for (let i = 0; i < 10; i++) busy.record(digest('busy'), { digest: digest(`busy.${i}`), size: 1, mediaType: GZIP }, 'r/x');
    const entries = busy.lookup(digest('busy'));
    assert.equal(entries.length, 8);
    assert.equal(entries[0]?.digest, digest('busy.9'));
    assert.equal(entries.some((e) => e.digest === digest('busy.gz')), false);
  });

  void it('with the default bounds, a large index stays within 5 MiB', async () => {
    const directory = await freshDir();
    const index = LayerIndex.open({ directory, now: clock() });
    for (let i = 0; i < 30_000; i++) index.record(digest(i), { digest: digest(`${i}.gz`), size: i, mediaType: GZIP }, 'registry.example.com/team/app');
    await index.save();
    const size = (await stat(join(directory, 'index.json'))).size;
    assert.ok(size <= 5 * 1024 * 1024, `index.json is ${size} bytes`);
    assert.equal(LayerIndex.open({ directory }).lookup(digest(29_999)).length, 1);
  });

  void it('a full disk (ENOSPC) is a typed warning; the records survive for a later save', async () => {
    const directory = await freshDir();
    let full = true;
    const fs: IndexFileSystem = {
      ...nodeIndexFileSystem,
      writeTempFile: async (path, data) => {
        if (!full) return nodeIndexFileSystem.writeTempFile(path, data);
        await writeFile(path, data.slice(0, 100));
        throw errnoError('ENOSPC');
      },
    };
    const index = LayerIndex.open({ directory, fs });
    index.record(digest('big'), { digest: digest('big.gz'), size: 1, mediaType: GZIP }, 'r/big');
    const result = await index.save();
    assert.equal(result.code, 'INDEX_DISK_FULL');
    assert.match(result.warning ?? '', /^layer index .*index\.json not saved: no space left on device \(ENOSPC\)$/);
    assert.deepEqual(await readdir(directory), []);
    assert.equal(index.lookup(digest('big')).length, 1);
    full = false;
    assert.deepEqual(await index.save(), {});
    assert.equal(LayerIndex.open({ directory }).lookup(digest('big')).length, 1);
  });

  void it('a directory it cannot write to is a warning, not a failure', async () => {
    // Under a regular file: ENOTDIR, whoever runs the test.
    const file = join(await freshDir(), 'file');
    await writeFile(file, 'x');
    const underFile = LayerIndex.open({ directory: join(file, 'layerlift') });
    underFile.record(digest('a'), { digest: digest('a.gz'), size: 1, mediaType: GZIP }, 'r/a');
    const result = await underFile.save();
    assert.equal(result.code, 'INDEX_SAVE_FAILED');
    assert.match(result.warning ?? '', /not saved: .*ENOTDIR/);

    // A read-only file system (EROFS, injected) and, unless root ignores modes, a chmod 0500 one.
    const readOnlyFs: IndexFileSystem = { ...nodeIndexFileSystem, writeTempFile: () => Promise.reject(errnoError('EROFS')) };
    const erofs = LayerIndex.open({ directory: await freshDir(), fs: readOnlyFs });
    erofs.record(digest('a'), { digest: digest('a.gz'), size: 1, mediaType: GZIP }, 'r/a');
    assert.equal((await erofs.save()).code, 'INDEX_READ_ONLY');

    if (process.getuid?.() !== 0 && process.platform !== 'win32') {
      const directory = await freshDir();
      await chmod(directory, 0o500);
      try {
        const readOnly = LayerIndex.open({ directory });
        readOnly.record(digest('a'), { digest: digest('a.gz'), size: 1, mediaType: GZIP }, 'r/a');
        const saved = await readOnly.save();
        assert.equal(saved.code, 'INDEX_READ_ONLY');
        assert.match(saved.warning ?? '', /not writable \(EACCES\)/);
      } finally {
        await chmod(directory, 0o700);
      }
    }
  });
});
