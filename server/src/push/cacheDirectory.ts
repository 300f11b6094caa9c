// The user's cache directory for Layerlift (compressed layers in flight, the layer index):
// $LAYERLIFT_CACHE when set (an absolute path: Layerlift's own directory), else
// $XDG_CACHE_HOME/layerlift, else ~/.cache/layerlift, as the XDG base-directory spec says.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** Layerlift's cache root, not created. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const own = env.LAYERLIFT_CACHE;
  if (own !== undefined && own !== '' && isAbsolute(own)) return own;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME ?? homedir(), '.cache');
  return join(base, 'layerlift');
}

export function cacheDirectory(env: NodeJS.ProcessEnv = process.env, ...parts: string[]): string {
  const dir = join(cacheRoot(env), ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The cache's disk (or quota) is full: one line naming the directory and what to do. */
export class CacheFullError extends Error {
  override readonly name = 'CacheFullError';
  readonly code = 'CACHE_FULL';
  constructor(readonly directory: string, cause?: unknown) {
    super(`no space left in the cache directory ${directory}, where layers are compressed before upload — free space there, or set LAYERLIFT_CACHE to a directory on a disk with room, then run the same command again (the target was not changed)`, { cause });
  }
}

/** `error` as a CacheFullError when it is a full disk or quota (ENOSPC, EDQUOT), else undefined. */
export function asCacheFullError(error: unknown, env: NodeJS.ProcessEnv = process.env): CacheFullError | undefined {
  if (error instanceof CacheFullError) return error;
  const fields = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; errno?: unknown };
  const codes = [fields.code, fields.errno].filter((c): c is string => typeof c === 'string');
  return codes.some((c) => c === 'ENOSPC' || c === 'EDQUOT') ? new CacheFullError(cacheRoot(env), error) : undefined;
}
