// ConfigCache (push/configCache.ts): base configs kept by digest for later rebuilds; a file that
// does not hash to its name is never returned, and a cache that cannot be written is no error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigCache } from '../../server/src/push/configCache';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-cache-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}');
const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`;

describe('ConfigCache', () => {
  test('a saved config is read back by its digest; an unknown or malformed digest reads nothing', async () => {
    const cache = ConfigCache.open({ LAYERLIFT_CACHE: dir });
    await cache.save(config);
    assert.deepEqual(await cache.read(digest), config);
    assert.equal(await cache.read(`sha256:${'0'.repeat(64)}`), undefined);
    assert.equal(await cache.read('sha256:../../etc/passwd'), undefined);
    assert.deepEqual(await readdir(join(dir, 'configs')), [digest.slice(7)], 'no temporary file left');
  });

  test('a file whose bytes do not hash to its name is not used', async () => {
    const cache = ConfigCache.open({ LAYERLIFT_CACHE: dir });
    await writeFile(join(dir, 'configs', digest.slice(7)), Buffer.from('{"tampered":true}'));
    assert.equal(await cache.read(digest), undefined);
  });

  test('a cache that cannot be written (the name is taken by a directory): saving is skipped without an error or a leftover', async () => {
    const other = join(dir, 'other');
    const cache = ConfigCache.open({ LAYERLIFT_CACHE: other });
    await mkdir(join(other, 'configs', digest.slice(7), 'x'), { recursive: true });
    await cache.save(config);
    assert.equal(await cache.read(digest), undefined);
    assert.deepEqual(await readdir(join(other, 'configs')), [digest.slice(7)], 'no temporary file left');
  });
});
