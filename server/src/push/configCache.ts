// Base configs an earlier push read, kept by digest in <cache>/configs: a rebuild starts the engine
// without reading its base from a registry (pushImage's index path), yet rebuilding its config
// ahead of the engine (configAhead.ts) needs the base's config bytes. Small (a few KB per base),
// content-addressed and checked on every read, so a damaged or foreign file is never used.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '../core/digest';
import { cacheDirectory } from './cacheDirectory';

/** Larger is no image config anyone writes; not worth keeping. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export class ConfigCache {
  constructor(private readonly directory: string) {}

  static open(env: NodeJS.ProcessEnv): ConfigCache {
    return new ConfigCache(cacheDirectory(env, 'configs'));
  }

  private path(digest: string): string | undefined {
    const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
    return match ? join(this.directory, match[1] as string) : undefined;
  }

  /** Keeps a config (best effort: a cache that cannot be written is only slower next time). */
  async save(config: Buffer): Promise<void> {
    const path = this.path(sha256Digest(config));
    if (!path || config.length > MAX_CONFIG_BYTES) return;
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, config, { mode: 0o600 });
      await rename(temporary, path);
    } catch {
      await rm(temporary, { force: true }).catch(() => undefined); // see above
    }
  }

  /** The config with this digest, when kept and intact. */
  async read(digest: string): Promise<Buffer | undefined> {
    const path = this.path(digest);
    if (!path) return undefined;
    try {
      const bytes = await readFile(path);
      return sha256Digest(bytes) === digest ? bytes : undefined;
    } catch {
      return undefined;
    }
  }
}
