// .dockerignore, exactly as Docker reads and applies it. Pure: no fs.
//
// Reading follows moby/patternmatcher/ignorefile.ReadAll (BOM on the first line stripped, a line
// starting with `#` is a comment — before trimming, so `  # x` is a pattern —, Go's TrimSpace,
// `filepath.Clean`, one leading `/` removed, `!` kept in front), then patternmatcher.New (trim and
// clean again, `!` alone is an error, the pattern must be a valid `filepath.Match` pattern).
//
// Matching follows what the docker CLI (legacy builder) and BuildKit's fsutil do when they walk
// the context: moby/patternmatcher `MatchesUsingParentResults` with the parent directory's match
// state, and the walker's rule for excluded directories, which is where the two builders differ
// (./dockerignoreWalk.ts). Under the legacy builder an excluded directory is not entered at all
// unless some `!` pattern, as a string, starts with `dir/` (e.g. `!node_modules/keep`); BuildKit
// also enters it whenever any `!` pattern holds a wildcard. Consequences, checked against a real
// engine (legacy) and fsutil's own cases (BuildKit):
//   - `big` + `!**/keep.txt`: big/x/keep.txt is sent by BuildKit, not by the legacy builder.
//   - with `q`, `!q/b/c`, `q/b`, the file q/b/c IS sent: `q/b` was skipped for q/b because the
//     path was already excluded, so its parent state says "no match" and only q/b/c itself is
//     tested against it.
// The Dockerfile and .dockerignore are always sent by the CLI, but the daemon drops them from the
// context when the patterns exclude them, so for COPY they behave like every other path.
import { BadPatternError, filepathMatch, goClean, goTrimSpace } from './dockerignoreGlob';
import { goRegexpToJs } from './dockerignoreRegexp';
import { directorySkipper, type IgnoreRules } from './dockerignoreWalk';

export { BadPatternError, compileFilepathMatch, containsWildcards, filepathMatch, goClean, goTrimSpace } from './dockerignoreGlob';
export { goRegexpToJs } from './dockerignoreRegexp';
export { onlyPrefixExcludeExceptions, patternWithoutTrailingGlob, type IgnoreRules } from './dockerignoreWalk';

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
// Compiling a pattern (patternmatcher Pattern.compile; Go's regexp translated by ./dockerignoreRegexp.ts)

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

// ---------------------------------------------------------------------------------------------
// Matching

interface ActivePattern {
  source: IgnorePattern;
  compiled: Compiled;
}

/**
 * Applies .dockerignore patterns as Docker does when it walks the build context, under one
 * builder's walk rules (BuildKit's by default, as Docker since 23.0 with buildx). Paths are
 * relative to the context root, posix, without a leading `./` or `/`.
 */
export class IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** Whose walk applies: BuildKit's (fsutil) or the legacy builder's (dockerignoreWalk.ts). */
  readonly rules: IgnoreRules;
  /** Patterns Docker refuses: with any of these, `docker build` fails. They match nothing here. */
  readonly errors: readonly IgnorePattern[];
  /** Whether any `!` pattern exists (patternmatcher.Exclusions()). */
  readonly hasExceptions: boolean;
  private readonly active: ActivePattern[];
  private readonly skipDirectory: (dir: string) => boolean;

  constructor(patterns: readonly (IgnorePattern | string)[], options: { rules?: IgnoreRules } = {}) {
    this.rules = options.rules ?? 'buildkit';
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
    const exceptions = this.active.filter((p) => p.source.exception).map((p) => p.source.pattern);
    this.hasExceptions = exceptions.length > 0;
    this.skipDirectory = directorySkipper(exceptions, this.rules);
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
   * For an excluded directory: whether the builder skips it without looking inside (legacy: unless
   * a `!` pattern starts with `dir/`; BuildKit: the same on the pattern without a trailing glob,
   * and never when a `!` pattern holds a wildcard). Meaningless for an included directory.
   */
  canSkipDirectory(dir: string): boolean {
    return this.skipDirectory(normalizeRelative(dir));
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
