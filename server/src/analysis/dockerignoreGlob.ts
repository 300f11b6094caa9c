// Go's helpers for .dockerignore and COPY sources, ported for Unix: strings.TrimSpace,
// path/filepath.Clean, path/filepath.Match (and a compiled form of it), and the builder's
// wildcard test (moby builder/dockerfile containsWildcards). Pure: no fs.

/** A string's first code point. */
export const cp = (s: string): number => s.codePointAt(0)!;
/** A code point as a JavaScript (unicode-mode) regexp escape. */
export const hex = (n: number): string => `\\u{${n.toString(16)}}`;

const GO_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** strings.TrimSpace (unicode.IsSpace; unlike String.prototype.trim it keeps U+FEFF). */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && GO_SPACE.has(s.charCodeAt(start))) start++;
  while (end > start && GO_SPACE.has(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** path/filepath.Clean on Unix. */
export function goClean(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else {
      out.push(part);
    }
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

export class BadPatternError extends Error {
  constructor(message = 'syntax error in pattern') {
    super(message);
    this.name = 'BadPatternError';
  }
}

/**
 * Go's path/filepath.Match on Unix (`*`, `?`, `[...]` with `^` negation and ranges, `\` escapes;
 * `*` and `?` never match `/`). Throws BadPatternError for a malformed pattern, like Go (which
 * checks the whole pattern even when the name does not match).
 */
export function filepathMatch(pattern: string, name: string): boolean {
  let pat = Array.from(pattern);
  let nm = Array.from(name);
  patternLoop: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk.length === 0) return !nm.includes('/');
    const first = matchChunk(chunk, nm);
    if (first.ok && (first.rest.length === 0 || pat.length > 0)) {
      nm = first.rest;
      continue;
    }
    if (star) {
      for (let i = 0; i < nm.length && nm[i] !== '/'; i++) {
        const attempt = matchChunk(chunk, nm.slice(i + 1));
        if (attempt.ok) {
          if (pat.length === 0 && attempt.rest.length > 0) continue;
          nm = attempt.rest;
          continue patternLoop;
        }
      }
    }
    // Before returning false, check that the rest of the pattern is well-formed.
    while (pat.length > 0) {
      const next = scanChunk(pat);
      pat = next.rest;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return nm.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let start = 0;
  let star = false;
  while (start < pattern.length && pattern[start] === '*') {
    start++;
    star = true;
  }
  let inRange = false;
  let i = start;
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case '\\':
        if (i + 1 < pattern.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: pattern.slice(start, i), rest: pattern.slice(i) };
}

/** Go's matchChunk: throws on a malformed chunk; keeps parsing after a mismatch to find errors. */
function matchChunk(chunk: string[], s: string[]): { ok: boolean; rest: string[] } {
  let failed = false;
  let c = 0;
  let p = 0;
  while (c < chunk.length) {
    if (!failed && p >= s.length) failed = true;
    const ch = chunk[c]!;
    if (ch === '[') {
      let r = -1;
      if (!failed) r = s[p++]!.codePointAt(0)!;
      c++;
      let negated = false;
      if (chunk[c] === '^') {
        negated = true;
        c++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk[c] === ']' && nrange > 0) {
          c++;
          break;
        }
        const lo = getEsc(chunk, c);
        c = lo.next;
        let hi = lo.rune;
        if (chunk[c] === '-') {
          const high = getEsc(chunk, c + 1);
          c = high.next;
          hi = high.rune;
        }
        if (lo.rune <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (ch === '?') {
      if (!failed) {
        if (s[p] === '/') failed = true;
        p++;
      }
      c++;
    } else {
      if (ch === '\\') {
        c++;
        if (c >= chunk.length) throw new BadPatternError();
      }
      if (!failed) {
        if (chunk[c] !== s[p]) failed = true;
        p++;
      }
      c++;
    }
  }
  return failed ? { ok: false, rest: [] } : { ok: true, rest: s.slice(p) };
}

function getEsc(chunk: string[], at: number): { rune: number; next: number } {
  let i = at;
  if (i >= chunk.length || chunk[i] === '-' || chunk[i] === ']') throw new BadPatternError();
  if (chunk[i] === '\\') {
    i++;
    if (i >= chunk.length) throw new BadPatternError();
  }
  const rune = chunk[i]!.codePointAt(0)!;
  i++;
  if (i >= chunk.length) throw new BadPatternError();
  return { rune, next: i };
}

/**
 * Compiles a filepath.Match pattern once for many names: the same answers as filepathMatch (a
 * glob has no nested repetition, so a regexp with `*` → `[^/]*`, `?` → `[^/]` and Go's classes is
 * equivalent), much faster over a whole context. Throws BadPatternError like filepathMatch.
 */
export function compileFilepathMatch(pattern: string): (name: string) => boolean {
  filepathMatch(pattern, '.'); // Go checks the whole pattern's syntax; throws when malformed
  const chars = Array.from(pattern);
  let re = '^';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\') re += hex(cp(chars[++i]!));
    else if (ch === '[') {
      i++;
      let cls = '[';
      if (chars[i] === '^') {
        cls += '^';
        i++;
      }
      let first = true;
      while (first || chars[i] !== ']') {
        first = false;
        let lo = chars[i++]!;
        if (lo === '\\') lo = chars[i++]!;
        cls += hex(cp(lo));
        if (chars[i] === '-') {
          i++;
          let hi = chars[i++]!;
          if (hi === '\\') hi = chars[i++]!;
          cls += `-${hex(cp(hi))}`;
        }
      }
      re += `${cls}]`;
    } else re += hex(cp(ch));
  }
  const compiled = new RegExp(`${re}$`, 'u');
  return (name) => compiled.test(name);
}

/** Whether a COPY source is a wildcard pattern (moby builder/dockerfile containsWildcards, Unix). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}
