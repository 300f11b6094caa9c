// Upload sessions kept across runs, so a push that died (Ctrl-C, SIGKILL, lost power, an editor
// reload) goes on from where the registry stands instead of from byte 0.
//
// One directory per (registry, repository, blob digest) under `<cache>/sessions/`, named by the
// sha256 of those three: `session.json` (registry, repository, digest, size, the layer's diff_id
// and compression, the session's latest Location, the offset the registry last acknowledged,
// when it was written), the compressed blob itself (`blob`, so the next run need not compress the
// layer again), and `lock` (the owning process's pid, created exclusively: two pushes running at
// once never share a session; a lock whose process is gone is taken over). The Location is the
// whole state a registry needs (Distribution signs the offset into its `_state` parameter), and
// the next run asks the registry for the real offset (GET on it, distribution-spec "Resuming an
// upload") before it sends anything. A session finished, or older than Distribution's default
// upload purging age (7 days), is removed.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface SavedSession {
  registry: string;
  repository: string;
  digest: string;
  size: number;
  mediaType: string;
  /** The uncompressed layer this blob is, and how it was compressed: the lookup before compressing. */
  diffId: string;
  compression: string;
  level: number;
  /** Absolute URL of the session (the registry's latest Location). */
  location: string;
  /** Bytes the registry acknowledged when this was written. */
  offset: number;
  updatedAt: string;
}

/** Distribution's default `storage.maintenance.uploadpurging.age` (168h): older sessions are gone. */
const EXPIRY_MS = 7 * 24 * 3600 * 1000;

/** A session directory this process holds (locked). */
export class HeldSession {
  constructor(
    readonly directory: string,
    public record: SavedSession | undefined,
  ) {}

  get blobPath(): string {
    return join(this.directory, 'blob');
  }

  /** Records the session's latest Location and acknowledged offset (written whole, then renamed). */
  async save(record: SavedSession): Promise<void> {
    this.record = record;
    const temp = join(this.directory, `session.json.${process.pid}.tmp`);
    await writeFile(temp, JSON.stringify(record));
    await rename(temp, join(this.directory, 'session.json'));
  }

  /** The upload finished (or the blob turned out to be there): the session and its blob go. */
  async finish(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }

  /** Keeps the session for the next run; only the lock goes. */
  async release(): Promise<void> {
    await unlink(join(this.directory, 'lock')).catch(() => undefined);
  }
}

export class UploadSessions {
  constructor(readonly root: string) {}

  /**
   * The store beside a push's scratch directory `<cache>/layers/push-XXXX` (pushSession.ts),
   * i.e. `<cache>/sessions`; none when the scratch directory is elsewhere.
   */
  static besideScratch(scratch: string): UploadSessions | undefined {
    const layers = dirname(scratch);
    return basename(layers) === 'layers' ? new UploadSessions(join(dirname(layers), 'sessions')) : undefined;
  }

  private directoryFor(registry: string, repository: string, digest: string): string {
    return join(this.root, createHash('sha256').update(`${registry}\n${repository}\n${digest}`).digest('hex').slice(0, 32));
  }

  /**
   * A saved session of this layer (same registry, repository, diff_id, compression and level)
   * whose blob is whole, locked for this process; undefined when there is none or another
   * running push holds it.
   */
  async findByLayer(registry: string, repository: string, layer: { diffId: string; compression: string; level: number }): Promise<HeldSession | undefined> {
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      const directory = join(this.root, name);
      const record = await readRecord(directory);
      if (record === undefined || record.registry !== registry || record.repository !== repository) continue;
      if (record.diffId !== layer.diffId || record.compression !== layer.compression || record.level !== layer.level) continue;
      const blob = await stat(join(directory, 'blob')).catch(() => undefined);
      if (blob?.size !== record.size) continue;
      if (!(await lock(directory))) continue;
      return new HeldSession(directory, record);
    }
    return undefined;
  }

  /**
   * Holds the directory of (registry, repository, digest) for a new upload, moving `blobPath`
   * into it; undefined (and the blob left where it is) when another running push holds it.
   */
  async hold(registry: string, repository: string, digest: string, blobPath: string): Promise<HeldSession | undefined> {
    const directory = this.directoryFor(registry, repository, digest);
    await mkdir(directory, { recursive: true });
    if (!(await lock(directory))) return undefined;
    const held = new HeldSession(directory, undefined);
    await unlink(join(directory, 'session.json')).catch(() => undefined);
    try {
      await rename(blobPath, held.blobPath);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EXDEV') {
        await held.finish();
        throw error;
      }
      await copyFile(blobPath, held.blobPath);
      await unlink(blobPath).catch(() => undefined);
    }
    return held;
  }

  /** Removes sessions older than the registry keeps them, unless a running push holds them. */
  async removeExpired(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      const directory = join(this.root, name);
      const record = await readRecord(directory);
      const changed = record ? Date.parse(record.updatedAt) : (await stat(directory).catch(() => undefined))?.mtimeMs;
      if (changed !== undefined && !Number.isNaN(changed) && now - changed < EXPIRY_MS) continue;
      if (!(await lock(directory))) continue;
      await rm(directory, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}

async function readRecord(directory: string): Promise<SavedSession | undefined> {
  try {
    const value = JSON.parse(await readFile(join(directory, 'session.json'), 'utf8')) as Partial<SavedSession>;
    if (typeof value.registry !== 'string' || typeof value.repository !== 'string' || typeof value.digest !== 'string' || typeof value.location !== 'string') return undefined;
    if (typeof value.size !== 'number' || typeof value.offset !== 'number' || typeof value.diffId !== 'string') return undefined;
    return value as SavedSession;
  } catch {
    return undefined;
  }
}

/** Takes `<directory>/lock` for this process: created exclusively, or taken over from a process that is gone. */
async function lock(directory: string): Promise<boolean> {
  const path = join(directory, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(String(process.pid));
      await file.close();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') return false;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (owner === process.pid) return false;
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
    await unlink(path).catch(() => undefined);
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
