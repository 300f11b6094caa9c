// Where the cache lives (LAYERLIFT_CACHE, XDG_CACHE_HOME, ~/.cache) and how a full cache disk
// is told: one line naming the directory, what to do, and that the same command resumes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asCacheFullError, cacheRoot, CacheFullError } from '../../server/src/push/cacheDirectory';
import { defaultIndexDirectory } from '../../server/src/push/layerIndex';
import { LayerCompressError } from '../../server/src/push/compressLayer';

void describe('cache root', () => {
  void it('LAYERLIFT_CACHE (absolute) wins, then XDG_CACHE_HOME/layerlift, then ~/.cache/layerlift; the index follows', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ LAYERLIFT_CACHE: '/big/ll', XDG_CACHE_HOME: '/xdg', HOME: '/home/u' }, '/big/ll'],
      [{ LAYERLIFT_CACHE: 'relative', XDG_CACHE_HOME: '/xdg', HOME: '/home/u' }, '/xdg/layerlift'],
      [{ LAYERLIFT_CACHE: '', HOME: '/home/u' }, '/home/u/.cache/layerlift'],
      [{ XDG_CACHE_HOME: 'not-absolute', HOME: '/home/u' }, '/home/u/.cache/layerlift'],
    ];
    for (const [env, expected] of cases) {
      assert.equal(cacheRoot(env), expected, JSON.stringify(env));
      assert.equal(defaultIndexDirectory(env), expected, JSON.stringify(env));
    }
  });
});

void describe('a full cache disk', () => {
  const env = { XDG_CACHE_HOME: '/mnt/small', HOME: '/home/u' };
  it('ENOSPC and EDQUOT from fs calls and from the compressor become CACHE_FULL naming the directory', () => {
    const sources: unknown[] = [
      Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', errno: -28 }),
      Object.assign(new Error('EDQUOT: disk quota exceeded'), { code: 'EDQUOT' }),
      new LayerCompressError('WRITE_FAILED', 'cannot write /mnt/small/layerlift/layers/x.tmp: ENOSPC', { errno: 'ENOSPC' }),
    ];
    for (const source of sources) {
      const error = asCacheFullError(source, env);
      assert.ok(error instanceof CacheFullError, String(source));
      assert.equal(error.code, 'CACHE_FULL');
      assert.ok(!error.message.includes('\n'));
      assert.match(error.message, /^no space left in the cache directory \/mnt\/small\/layerlift, /);
      assert.match(error.message, /LAYERLIFT_CACHE/);
      assert.match(error.message, /run the same command again/);
      assert.equal(error.cause, source);
    }
  });

  it('other failures are left as they are', () => {
    for (const other of [new Error('boom'), Object.assign(new Error('denied'), { code: 'EACCES' }), new LayerCompressError('WRITE_FAILED', 'x', { errno: 'EROFS' }), null, 'ENOSPC']) {
      assert.equal(asCacheFullError(other, env), undefined, String(other));
    }
  });
});
