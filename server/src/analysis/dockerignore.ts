// .dockerignore, exactly as Docker reads and applies it. Pure: no fs.
//
// Reading follows moby/patternmatcher/ignorefile.ReadAll (BOM on the first line stripped, a line
// starting with `#` is a comment — before trimming, so `  # x` is a pattern —, Go's TrimSpace,
// `filepath.Clean`, one leading `/` removed, `!` kept in front), then patternmatcher.New (trim and
// clean again, `!` alone is an error, the pattern must be a valid `filepath.Match` pattern).
//
// Matching follows what the docker CLI (legacy builder) and BuildKit's fsutil do when they walk
// the context: moby/patternmatcher `MatchesUsingParentResults` with the parent directory's match
// state, and the walker's rule for excluded directories: an excluded directory is not entered at
// all unless some `!` pattern, as a string, starts with `dir/` (e.g. `!node_modules/keep`). Two
// consequences users trip over, reproduced on purpose and checked against a real engine:
//   - `big` + `!**/keep.txt` does NOT bring back big/x/keep.txt (the walker never enters big/).
//   - with `q`, `!q/b/c`, `q/b`, the file q/b/c IS sent: `q/b` was skipped for q/b because the
//     path was already excluded, so its parent state says "no match" and only q/b/c itself is
//     tested against it.
// The Dockerfile and .dockerignore are always sent by the CLI, but the daemon drops them from the
// context when the patterns exclude them, so for COPY they behave like every other path.

/** One pattern of a .dockerignore. */
export interface IgnorePattern {
  /** The pattern as Docker keeps it (cleaned, no leading `/`, no `!`): patternmatcher's `String()`. */
  pattern: string;
  /** A `!` pattern: re-includes what earlier patterns excluded. */
  exception: boolean;
  /** 0-based line in the .dockerignore (-1 when built from a plain string). */
  line: number;
  /** Set when Docker refuses the pattern (the build fails with this error). */
  error?: string;
}

/** Per-pattern results for a directory, handed to its children (patternmatcher.MatchInfo). */
export type MatchState = readonly boolean[];

// ---------------------------------------------------------------------------------------------
// Go helpers

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

// ---------------------------------------------------------------------------------------------
// Reading the file

/** ignorefile.ReadAll: the pattern strings Docker hands to patternmatcher, with their lines. */
export function readDockerignoreLines(text: string): { text: string; line: number }[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // bufio.ScanLines: no empty last token
  const out: { text: string; line: number }[] = [];
  lines.forEach((raw, index) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push({ text: invert ? `!${pattern}` : pattern, line: index });
  });
  return out;
}

/** Parses a .dockerignore into patterns (errors recorded on the pattern, never thrown). */
export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const { text: raw, line } of readDockerignoreLines(text)) {
    const pattern = newPattern(raw, line);
    if (pattern) out.push(pattern);
  }
  return out;
}

/** patternmatcher.New for one pattern string; undefined for an empty one (skipped by Docker). */
function newPattern(raw: string, line: number): IgnorePattern | undefined {
  let p = goTrimSpace(raw);
  if (p === '') return undefined;
  p = goClean(p);
  let exception = false;
  if (p.startsWith('!')) {
    if (p.length === 1) return { pattern: '', exception: true, line, error: 'illegal exclusion pattern: "!"' };
    exception = true;
    p = p.slice(1);
  }
  const result: IgnorePattern = { pattern: p, exception, line };
  try {
    filepathMatch(p, '.');
    compilePattern(p);
  } catch (error) {
    result.error = `${error instanceof BadPatternError ? 'syntax error in pattern' : String(error)}: ${p}`;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Compiling a pattern (patternmatcher Pattern.compile) and translating Go's regexp to JavaScript

type Compiled =
  | { kind: 'exact'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'suffix'; value: string }
  | { kind: 'regexp'; re: RegExp };

const SHOULD_ESCAPE = '.+()|{}$';

function compilePattern(pattern: string): Compiled {
  const chars = Array.from(pattern);
  let reg = '^';
  let kind: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  let k = 0;
  for (let i = 0; k < chars.length; i++) {
    const ch = chars[k++]!;
    if (ch === '*') {
      if (chars[k] === '*') {
        k++;
        if (chars[k] === '/') k++;
        if (k >= chars.length) {
          if (kind === 'exact') kind = 'prefix';
          else {
            reg += '.*';
            kind = 'regexp';
          }
        } else {
          reg += '(.*/)?';
          kind = 'regexp';
        }
        if (i === 0) kind = 'suffix';
      } else {
        reg += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      reg += '[^/]';
      kind = 'regexp';
    } else if (SHOULD_ESCAPE.includes(ch)) {
      reg += `\\${ch}`;
    } else if (ch === '\\') {
      if (k < chars.length) {
        reg += `\\${chars[k++]!}`;
        kind = 'regexp';
      } else {
        reg += '\\';
      }
    } else if (ch === '[' || ch === ']') {
      reg += ch;
      kind = 'regexp';
    } else {
      reg += ch;
    }
  }
  switch (kind) {
    case 'exact':
      return { kind, value: pattern };
    case 'prefix':
      return { kind, value: pattern.slice(0, -2) };
    case 'suffix':
      return { kind, value: pattern.slice(2) };
    case 'regexp':
      return { kind, re: goRegexpToJs(`${reg}$`) };
  }
}

function matchCompiled(compiled: Compiled, path: string): boolean {
  switch (compiled.kind) {
    case 'exact':
      return path === compiled.value;
    case 'prefix':
      return path.startsWith(compiled.value);
    case 'suffix':
      return path.endsWith(compiled.value) || (compiled.value.startsWith('/') && path === compiled.value.slice(1));
    case 'regexp':
      return compiled.re.test(path);
  }
}

type Range = [number, number];
const MAX_RUNE = 0x10ffff;

function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const cp = (s: string): number => s.codePointAt(0)!;
const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[cp('0'), cp('9')], [cp('A'), cp('Z')], [cp('a'), cp('z')]],
  alpha: [[cp('A'), cp('Z')], [cp('a'), cp('z')]],
  ascii: [[0, 0x7f]],
  blank: [[9, 9], [32, 32]],
  cntrl: [[0, 0x1f], [0x7f, 0x7f]],
  digit: [[cp('0'), cp('9')]],
  graph: [[0x21, 0x7e]],
  lower: [[cp('a'), cp('z')]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[9, 13], [32, 32]],
  upper: [[cp('A'), cp('Z')]],
  word: [[cp('0'), cp('9')], [cp('A'), cp('Z')], [cp('a'), cp('z')], [cp('_'), cp('_')]],
  xdigit: [[cp('0'), cp('9')], [cp('A'), cp('F')], [cp('a'), cp('f')]],
};
const PERL_CLASSES: Record<string, Range[]> = {
  d: POSIX_CLASSES.digit!,
  s: [[9, 10], [12, 13], [32, 32]],
  w: POSIX_CLASSES.word!,
};

const hex = (n: number): string => `\\u{${n.toString(16)}}`;
const rangesToJs = (ranges: Range[]): string => ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');

function isAlnum(ch: string): boolean {
  return /^[0-9A-Za-z]$/.test(ch);
}

/**
 * Translates the subset of Go (RE2, Perl flags) regexp syntax that patternmatcher can produce into
 * an equivalent JavaScript RegExp (unicode mode). Throws when Go's regexp.Compile would fail.
 */
export function goRegexpToJs(source: string): RegExp {
  const s = Array.from(source);
  let i = 0;
  let out = '';

  const parseEscape = (): { ranges?: Range[]; js?: string; rune?: number } => {
    // s[i] is the character after the backslash.
    const c = s[i++];
    if (c === undefined) throw new Error('trailing backslash at end of expression');
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) return { rune: cp(c) };
    switch (c) {
      case 'a':
        return { rune: 7 };
      case 'f':
        return { rune: 12 };
      case 't':
        return { rune: 9 };
      case 'n':
        return { rune: 10 };
      case 'r':
        return { rune: 13 };
      case 'v':
        return { rune: 11 };
      case 'd':
      case 's':
      case 'w':
        return { ranges: PERL_CLASSES[c]! };
      case 'D':
      case 'S':
      case 'W':
        return { ranges: complement(PERL_CLASSES[c.toLowerCase()]!) };
      case 'x': {
        if (s[i] === '{') {
          const close = s.indexOf('}', i);
          if (close < 0) throw new Error('invalid escape sequence');
          const digits = s.slice(i + 1, close).join('');
          i = close + 1;
          if (!/^[0-9a-fA-F]+$/.test(digits) || parseInt(digits, 16) > MAX_RUNE) throw new Error('invalid escape sequence');
          return { rune: parseInt(digits, 16) };
        }
        const digits = s.slice(i, i + 2).join('');
        if (!/^[0-9a-fA-F]{2}$/.test(digits)) throw new Error('invalid escape sequence');
        i += 2;
        return { rune: parseInt(digits, 16) };
      }
      case 'p':
      case 'P': {
        let name: string;
        if (s[i] === '{') {
          const close = s.indexOf('}', i);
          if (close < 0) throw new Error('invalid character class range');
          name = s.slice(i + 1, close).join('');
          i = close + 1;
        } else {
          name = s[i++] ?? '';
        }
        let negate = c === 'P';
        if (name.startsWith('^')) {
          negate = !negate;
          name = name.slice(1);
        }
        // Go accepts categories (L, Lu), scripts (Greek) and Any; JavaScript spells scripts Script=.
        for (const js of [`\\${negate ? 'P' : 'p'}{${name}}`, `\\${negate ? 'P' : 'p'}{Script=${name}}`]) {
          try {
            new RegExp(js, 'u');
            return { js };
          } catch {
            // try the next spelling
          }
        }
        throw new Error(`invalid character class range: \\p{${name}}`);
      }
      default:
        if (/[0-7]/.test(c)) {
          // Go accepts \1-\7 octal only as \0nn? It rejects backreferences: treat \0 as octal.
          if (c === '0' || /[0-7]/.test(s[i] ?? '')) {
            let digits = c;
            while (digits.length < 3 && /[0-7]/.test(s[i] ?? '')) digits += s[i++]!;
            return { rune: parseInt(digits, 8) };
          }
        }
        throw new Error(`invalid escape sequence: \\${c}`);
    }
  };

  const parseClass = (): string => {
    // s[i] is just after '['.
    let negated = false;
    if (s[i] === '^') {
      negated = true;
      i++;
    }
    const ranges: Range[] = [];
    const extra: string[] = [];
    let first = true;
    while (i >= s.length || s[i] !== ']' || first) {
      if (i >= s.length) throw new Error('missing closing ]');
      first = false;
      if (s[i] === '[' && s[i + 1] === ':') {
        let close = -1;
        for (let j = i + 2; j + 1 < s.length; j++) {
          if (s[j] === ':' && s[j + 1] === ']') {
            close = j;
            break;
          }
        }
        if (close > 0) {
          let name = s.slice(i + 2, close).join('');
          let neg = false;
          if (name.startsWith('^')) {
            neg = true;
            name = name.slice(1);
          }
          const cls = POSIX_CLASSES[name];
          if (!cls) throw new Error('invalid character class range');
          ranges.push(...(neg ? complement(cls) : cls));
          i = close + 2;
          continue;
        }
      }
      const classChar = (): { rune?: number; ranges?: Range[]; js?: string } => {
        if (i >= s.length) throw new Error('missing closing ]');
        if (s[i] === '\\') {
          i++;
          return parseEscape();
        }
        return { rune: cp(s[i++]!) };
      };
      const lo = classChar();
      if (lo.rune === undefined) {
        if (lo.ranges) ranges.push(...lo.ranges);
        if (lo.js) extra.push(lo.js);
        continue;
      }
      let hi = lo.rune;
      if (s[i] === '-' && i + 1 < s.length && s[i + 1] !== ']') {
        i++;
        const high = classChar();
        if (high.rune === undefined) throw new Error('invalid character class range');
        hi = high.rune;
        if (hi < lo.rune) throw new Error('invalid character class range');
      }
      ranges.push([lo.rune, hi]);
    }
    i++; // ']'
    return `[${negated ? '^' : ''}${rangesToJs(ranges)}${extra.join('')}]`;
  };

  // Quantifiers and groups only come from patternmatcher's own fragments (`(.*/)?`, `[^/]*`,
  // `.*`): user text reaches the regexp escaped or as a class, so JavaScript's own checks of
  // repetition agree with Go's.
  while (i < s.length) {
    const ch = s[i++]!;
    switch (ch) {
      case '\\': {
        if (s[i] === 'Q') {
          i++;
          let literal = '';
          while (i < s.length && !(s[i] === '\\' && s[i + 1] === 'E')) literal += hex(cp(s[i++]!));
          if (i < s.length) i += 2;
          out += literal === '' ? '(?:)' : `(?:${literal})`;
          break;
        }
        if (s[i] === 'A' || s[i] === 'z') {
          out += s[i] === 'A' ? '^' : '$';
          i++;
          break;
        }
        if (s[i] === 'b' || s[i] === 'B') {
          out += `\\${s[i]!}`;
          i++;
          break;
        }
        const esc = parseEscape();
        if (esc.rune !== undefined) out += hex(esc.rune);
        else if (esc.ranges) out += `[${rangesToJs(esc.ranges)}]`;
        else out += esc.js!;
        break;
      }
      case '[':
        out += parseClass();
        break;
      case '(':
        out += '(?:';
        break;
      case ')':
      case '|':
      case '*':
      case '+':
      case '?':
      case '^':
      case '$':
        out += ch;
        break;
      case '.':
        out += '[^\\n]';
        break;
      default:
        out += hex(cp(ch));
    }
  }
  return new RegExp(out, 'u');
}

// ---------------------------------------------------------------------------------------------
// Matching

interface ActivePattern {
  source: IgnorePattern;
  compiled: Compiled;
}

/**
 * Applies .dockerignore patterns as Docker does when it walks the build context. Paths are
 * relative to the context root, posix, without a leading `./` or `/`.
 */
export class IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** Patterns Docker refuses: with any of these, `docker build` fails. They match nothing here. */
  readonly errors: readonly IgnorePattern[];
  /** Whether any `!` pattern exists (patternmatcher.Exclusions()). */
  readonly hasExceptions: boolean;
  private readonly active: ActivePattern[];

  constructor(patterns: readonly (IgnorePattern | string)[]) {
    const parsed = patterns
      .map((p) => (typeof p === 'string' ? newPattern(p, -1) : p))
      .filter((p): p is IgnorePattern => p !== undefined);
    this.patterns = parsed;
    this.errors = parsed.filter((p) => p.error !== undefined);
    this.active = [];
    for (const source of parsed) {
      if (source.error !== undefined) continue;
      try {
        this.active.push({ source, compiled: compilePattern(source.pattern) });
      } catch {
        // recorded by newPattern already for parsed patterns; a hand-made one just never matches
      }
    }
    this.hasExceptions = this.active.some((p) => p.source.exception);
  }

  /** Whether there is nothing to apply. */
  get empty(): boolean {
    return this.active.length === 0;
  }

  /**
   * One step of Docker's walk (patternmatcher.MatchesUsingParentResults): whether `path` is
   * excluded, given the state of its parent directory (undefined for a top-level path, or when
   * the parent's state is unknown: then the parents are tested as MatchesOrParentMatches does).
   * The returned state is what the children of `path` need.
   */
  match(path: string, parent?: MatchState): { excluded: boolean; state: MatchState } {
    const patterns = this.active;
    const parentMatched = parent !== undefined && parent.length === patterns.length && parent.length > 0 ? parent : undefined;
    const state: boolean[] = new Array<boolean>(patterns.length).fill(false);
    let matched = false;
    for (let i = 0; i < patterns.length; i++) {
      const pattern = patterns[i]!;
      let match = parentMatched ? parentMatched[i]! : false;
      if (!match) {
        if (pattern.source.exception !== matched) continue;
        match = matchCompiled(pattern.compiled, path);
        if (!match && !parentMatched) {
          const dirs = path.split('/');
          for (let j = 1; j < dirs.length && !match; j++) match = matchCompiled(pattern.compiled, dirs.slice(0, j).join('/'));
        }
      }
      state[i] = match;
      if (match) matched = !pattern.source.exception;
    }
    return { excluded: matched, state };
  }

  /**
   * For an excluded directory: whether Docker skips it without looking inside, which it does
   * unless a `!` pattern starts with `dir/` (as a string). Meaningless for an included directory.
   */
  canSkipDirectory(dir: string): boolean {
    if (!this.hasExceptions) return true;
    const dirSlash = `${normalizeRelative(dir)}/`;
    return !this.active.some((p) => p.source.exception && `${p.source.pattern}/`.startsWith(dirSlash));
  }

  /**
   * Whether `path` is left out of the build context: its own verdict, or an excluded ancestor
   * directory that Docker does not enter. `isDirectory` does not change the verdict (Docker
   * patterns have no directory-only form: `foo/` is cleaned to `foo`); it is accepted for
   * callers that know it.
   */
  isExcluded(path: string, _isDirectory?: boolean): boolean {
    const rel = normalizeRelative(path);
    if (rel === '.' || rel === '') return false;
    if (this.active.length === 0) return false;
    const parts = rel.split('/');
    let state: MatchState | undefined;
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const step = this.match(dir, state);
      if (step.excluded && this.canSkipDirectory(dir)) return true;
      state = step.state;
    }
    return this.match(rel, state).excluded;
  }
}

/** A context-relative path as Docker's walker sees it: cleaned, no leading `/` or `./`. */
export function normalizeRelative(path: string): string {
  const cleaned = goClean(path);
  const trimmed = cleaned.replace(/^\/+/, '');
  return trimmed === '' ? '.' : trimmed;
}
