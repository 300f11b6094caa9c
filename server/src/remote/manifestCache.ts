// Manifests and configs by digest, on disk across sessions (content-addressed, so never stale):
// a base whose HEAD names a digest already here costs no GET. Every read is checked against its
// digest; a corrupt or unreadable file is a miss. Without a directory it is a memory-only cache.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const maxMemoryEntries = 500;

export class ManifestCache {
  private readonly memory = new Map<string, Buffer>();

  constructor(private readonly directory?: string) {}

  async get(digest: string): Promise<Buffer | undefined> {
    const held = this.memory.get(digest);
    if (held) return held;
    const file = this.fileOf(digest);
    if (!file) return undefined;
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes || !matches(digest, bytes)) return undefined;
    this.remember(digest, bytes);
    return bytes;
  }

  async put(digest: string, bytes: Buffer): Promise<void> {
    if (!matches(digest, bytes)) return;
    this.remember(digest, bytes);
    const file = this.fileOf(digest);
    if (!file || !this.directory) return;
    // Written aside then renamed: a reader never sees half a file. A full disk only costs a GET later.
    try {
      await mkdir(this.directory, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, file);
    } catch {
      // the cache is an optimisation
    }
  }

  private fileOf(digest: string): string | undefined {
    if (!this.directory || !/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
    return join(this.directory, digest.replace(':', '-'));
  }

  private remember(digest: string, bytes: Buffer): void {
    this.memory.delete(digest);
    this.memory.set(digest, bytes);
    if (this.memory.size > maxMemoryEntries) this.memory.delete(this.memory.keys().next().value as string);
  }
}

function matches(digest: string, bytes: Buffer): boolean {
  return digest.startsWith('sha256:') && `sha256:${createHash('sha256').update(bytes).digest('hex')}` === digest;
}
