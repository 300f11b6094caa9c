// The user's cache directory for Layerlift (compressed layers in flight, the layer index):
// $XDG_CACHE_HOME/layerlift, else ~/.cache/layerlift, as the XDG base-directory spec says.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDirectory(env: NodeJS.ProcessEnv = process.env, ...parts: string[]): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME ?? homedir(), '.cache');
  const dir = join(base, 'layerlift', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
