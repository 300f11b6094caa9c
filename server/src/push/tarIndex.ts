// Random access into a tar file: one pass over the headers only (each entry's content is skipped
// by offset, never read), giving every entry's name, type and byte range. Enough of POSIX.1-2001
// tar for what `docker save` and other image tools write: ustar names with prefixes, pax extended
// headers (path, linkpath, size), GNU long names (L/K) and base-256 sizes.
import type { FileHandle } from 'node:fs/promises';
import { linkTarget, normalizeArchivePath } from './archiveManifest';
import { ImageSourceError } from './sourceErrors';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Normalized: no leading "./" or "/", no trailing "/". */
  name: string;
  type: TarEntryType;
  /** Where the content starts in the file. */
  offset: number;
  /** Content bytes (0 for everything but files). */
  size: number;
  linkname?: string;
}

const BLOCK = 512;
const MAX_ENTRIES = 1_000_000;
/** Bound on pax / GNU long-name records, which are read into memory. */
const MAX_META_BYTES = 1 << 20;

/** All entries of the tar file by normalized name (a later entry of the same name wins, as in tar). */
export async function indexTar(file: FileHandle, fileSize: number, source: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const header = Buffer.alloc(BLOCK);
  let position = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  const invalid = (why: string) =>
    new ImageSourceError('SOURCE_INVALID', `${source}: not a readable tar archive (${why}) — export it again with "docker save -o FILE IMAGE"`, source);

  while (position + BLOCK <= fileSize) {
    await readFully(file, header, position);
    if (header.every((byte) => byte === 0)) break; // end-of-archive marker
    if (!checksumOk(header)) throw invalid(`bad header checksum at byte ${position}`);
    const typeflag = String.fromCharCode(header[156] ?? 0);
    let size = parseNumber(header.subarray(124, 136));
    if (size === undefined) throw invalid(`bad size field at byte ${position}`);
    if (pax.size !== undefined) {
      if (!/^\d+$/.test(pax.size) || !Number.isSafeInteger(Number(pax.size))) throw invalid(`bad pax size at byte ${position}`);
      size = Number(pax.size);
    }
    const offset = position + BLOCK;
    if (offset + size > fileSize) throw invalid(`the entry at byte ${position} runs past the end of the file: truncated`);
    const next = offset + Math.ceil(size / BLOCK) * BLOCK;

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META_BYTES) throw invalid(`an extended header of ${size} bytes at byte ${position}`);
      const data = Buffer.alloc(size);
      await readFully(file, data, offset);
      if (typeflag === 'x') pax = parsePax(data);
      else if (typeflag === 'L') longName = cString(data);
      else if (typeflag === 'K') longLink = cString(data);
      position = next;
      continue;
    }

    const rawName = pax.path ?? longName ?? ustarName(header);
    const linkname = pax.linkpath ?? longLink ?? cString(header.subarray(157, 257));
    let type: TarEntryType;
    if (typeflag === '0' || typeflag === '\0' || typeflag === '7') type = rawName.endsWith('/') ? 'directory' : 'file';
    else if (typeflag === '1') type = 'hardlink';
    else if (typeflag === '2') type = 'symlink';
    else if (typeflag === '5') type = 'directory';
    else type = 'other';
    const name = normalizeArchivePath(rawName);
    const entry: TarEntry = { name, type, offset, size: type === 'file' ? size : 0 };
    if (type === 'symlink' || type === 'hardlink') entry.linkname = linkname;
    entries.set(name, entry);
    if (entries.size > MAX_ENTRIES) throw invalid(`more than ${MAX_ENTRIES} entries`);
    pax = {};
    longName = undefined;
    longLink = undefined;
    position = next;
  }
  if (entries.size === 0) throw invalid('no entries');
  return entries;
}

/** The file an entry name stands for, through symlinks and hard links (at most 16 hops). */
export function resolveTarEntry(entries: ReadonlyMap<string, TarEntry>, name: string): TarEntry | undefined {
  let current = entries.get(normalizeArchivePath(name));
  for (let hops = 0; current !== undefined && hops <= 16; hops++) {
    if (current.type !== 'symlink' && current.type !== 'hardlink') return current;
    current = entries.get(linkTarget(current.name, current.type, current.linkname ?? ''));
  }
  return undefined;
}

/** Reads `length` bytes (at most) of an entry's content from `from`. */
export async function readTarEntry(file: FileHandle, entry: TarEntry, length = entry.size, from = 0): Promise<Buffer> {
  const bytes = Math.max(0, Math.min(length, entry.size - from));
  const buffer = Buffer.alloc(bytes);
  await readFully(file, buffer, entry.offset + from);
  return buffer;
}

async function readFully(file: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await file.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw Object.assign(new Error('unexpected end of file'), { code: 'EOF' });
    done += bytesRead;
  }
}

/** POSIX: the sum of the header's bytes with the checksum field taken as spaces (some old tars
 *  summed signed bytes; both are accepted, as GNU tar does). */
function checksumOk(header: Buffer): boolean {
  const stored = parseNumber(header.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** Octal (NUL/space padded), or GNU base-256 when the top bit of the first byte is set. */
function parseNumber(field: Buffer): number | undefined {
  const first = field[0] ?? 0;
  if ((first & 0x80) !== 0) {
    let value = first & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

/** name, or prefix + "/" + name in POSIX ustar ("ustar\0"; GNU's "ustar  " uses that space otherwise). */
function ustarName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const magic = header.subarray(257, 263).toString('latin1');
  if (magic !== 'ustar\0') return name;
  const prefix = cString(header.subarray(345, 500));
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** pax records: "<length> <key>=<value>\n". */
function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > data.length) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}
