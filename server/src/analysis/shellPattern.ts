// The shell patterns of ${V#p}, ${V%p} and ${V/p/r} (moby/buildkit shell/lex.go
// convertShellPatternToRegex, trimPrefix, trimSuffix, reversePattern): `*` any run, `?` any one
// character, `\*` `\?` `\\` literal, `\}` and `\/` the plain character. BuildKit compiles them
// to Go regular expressions (linear time); we match them with a small NFA simulation instead of
// JavaScript regular expressions, which backtrack exponentially on patterns like `*a*a*a*b`.
// Leftmost-first greedy and lazy glob matching find the longest and shortest matches, which is
// what the simulation computes.

export interface PatternError {
  error: string;
}

const STAR = -1;
const ANY = -2;
/** value length x pattern length above which we refuse the pattern (a time bound, not Docker's). */
const WORK_LIMIT = 20_000_000;

/** The pattern as tokens: STAR, ANY or a UTF-16 code unit to match literally. */
function compile(pattern: string): number[] | PatternError {
  const tokens: number[] = [];
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern.charCodeAt(i++);
    if (ch === 0x2a) tokens.push(STAR);
    else if (ch === 0x3f) tokens.push(ANY);
    else if (ch === 0x5c) {
      const next = pattern.charCodeAt(i);
      if (next === 0x7d || next === 0x2f) continue; // "\}" and "\/": the character itself follows
      if (i >= pattern.length) return { error: "invalid escape '\\'" };
      i++;
      if (next !== 0x2a && next !== 0x3f && next !== 0x5c) return { error: `invalid escape '\\${String.fromCharCode(next)}'` };
      tokens.push(next);
    } else tokens.push(ch);
  }
  return tokens;
}

/** lex.go reversePattern: reversed, but each escape pair keeps its order ("a\*c" gives "c\*a"). */
function reversePattern(pattern: string): string {
  const runes = Array.from(pattern);
  const out: string[] = new Array<string>(runes.length);
  const last = runes.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = runes[i] ?? '';
    const at = last - i;
    if (tok === '\\' && i !== last) {
      out[at - 1] = tok;
      out[at] = runes[i + 1] ?? '';
      i += 2;
    } else {
      out[at] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(text: string): string {
  return Array.from(text).reverse().join('');
}

/** A reusable state set for the NFA: state i means "token i is next"; tokens.length accepts. */
class StateSet {
  readonly list: Int32Array;
  readonly start: Int32Array;
  size = 0;
  private readonly mark: Uint8Array;
  constructor(
    private readonly tokens: number[],
  ) {
    this.list = new Int32Array(tokens.length + 1);
    this.start = new Int32Array(tokens.length + 1);
    this.mark = new Uint8Array(tokens.length + 1);
  }
  clear(): void {
    for (let k = 0; k < this.size; k++) this.mark[this.list[k] ?? 0] = 0;
    this.size = 0;
  }
  has(state: number): boolean {
    return this.mark[state] === 1;
  }
  /** Adds a state and its epsilon closure (a star may match nothing); the first start wins. */
  add(state: number, start: number): void {
    for (let s = state; s <= this.tokens.length; s++) {
      if (this.mark[s] === 1) return;
      this.mark[s] = 1;
      this.list[this.size] = s;
      this.start[this.size++] = start;
      if (this.tokens[s] !== STAR) return;
    }
  }
  startOf(state: number): number {
    for (let k = 0; k < this.size; k++) if (this.list[k] === state) return this.start[k] ?? 0;
    return -1;
  }
}

/** Moves every state of `from` over `ch` into `to` (cleared first). */
function step(tokens: number[], from: StateSet, to: StateSet, ch: number, maxStart: number): void {
  to.clear();
  for (let k = 0; k < from.size; k++) {
    const state = from.list[k] ?? 0;
    const start = from.start[k] ?? 0;
    if (start > maxStart || state >= tokens.length) continue;
    const tok = tokens[state];
    if (tok === STAR) to.add(state, start);
    else if (tok === ANY || tok === ch) to.add(state + 1, start);
  }
}

/** The end of the shortest or longest match anchored at 0, or -1. */
function anchoredMatchEnd(value: string, tokens: number[], longest: boolean): number {
  let cur = new StateSet(tokens);
  let nxt = new StateSet(tokens);
  cur.add(0, 0);
  let best = -1;
  for (let p = 0; ; p++) {
    if (cur.has(tokens.length)) {
      best = p;
      if (!longest) return best;
    }
    if (p === value.length || cur.size === 0) return best;
    step(tokens, cur, nxt, value.charCodeAt(p), Infinity);
    [cur, nxt] = [nxt, cur];
  }
}

/** ${V#p} / ${V##p} (prefix) and ${V%p} / ${V%%p} (suffix): the value without the match. */
export function trimShellPattern(value: string, pattern: string, side: 'prefix' | 'suffix', greedy: boolean): string | PatternError {
  const tokens = compile(side === 'suffix' ? reversePattern(pattern) : pattern);
  if (!Array.isArray(tokens)) return tokens;
  if (value.length * (tokens.length + 1) > WORK_LIMIT) return { error: 'pattern and value too long to match' };
  const subject = side === 'suffix' ? reverseString(value) : value;
  const end = anchoredMatchEnd(subject, tokens, greedy);
  if (end < 0) return value;
  return side === 'suffix' ? reverseString(subject.slice(end)) : subject.slice(end);
}

/** Leftmost match at or after `from`, longest among those starting there. */
function findMatch(value: string, tokens: number[], from: number): [number, number] | undefined {
  let cur = new StateSet(tokens);
  let nxt = new StateSet(tokens);
  let best: [number, number] | undefined;
  for (let p = from; ; p++) {
    if (best === undefined) cur.add(0, p); // a new attempt starting here, lowest priority
    if (cur.has(tokens.length)) {
      const start = cur.startOf(tokens.length);
      if (best === undefined || start < best[0] || (start === best[0] && p > best[1])) best = [start, p];
    }
    if (p === value.length) return best;
    step(tokens, cur, nxt, value.charCodeAt(p), best === undefined ? Infinity : best[0]);
    [cur, nxt] = [nxt, cur];
    if (cur.size === 0 && best !== undefined) return best;
  }
}

/** Go regexp.Expand for ReplaceAllString: $$, $0 / ${0} (the match), other names empty. */
function expandTemplate(template: string, match: string): string {
  if (!template.includes('$')) return template;
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) return out + rest;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const named = /^(?:\{(\w+)\}|(\w+))/.exec(rest);
    if (named === null) {
      out += '$';
      continue;
    }
    const name = named[1] ?? named[2] ?? '';
    rest = rest.slice(named[0].length);
    if (/^\d+$/.test(name) && Number(name) === 0) out += match;
  }
}

/** ${V/p/r} (first match, replacement literal) and ${V//p/r} (every match, Go ReplaceAllString). */
export function replaceShellPattern(value: string, pattern: string, replacement: string, all: boolean): string | PatternError {
  const tokens = compile(pattern);
  if (!Array.isArray(tokens)) return tokens;
  if (value.length * (tokens.length + 1) > WORK_LIMIT) return { error: 'pattern and value too long to match' };
  if (!all) {
    const match = findMatch(value, tokens, 0);
    return match === undefined ? value : value.slice(0, match[0]) + replacement + value.slice(match[1]);
  }
  // regexp.replaceAll: successive non-overlapping matches; an empty match right after a match is skipped.
  const parts: string[] = [];
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    const match = findMatch(value, tokens, searchPos);
    if (match === undefined) break;
    parts.push(value.slice(lastMatchEnd, match[0]));
    if (match[1] > lastMatchEnd || match[0] === 0) parts.push(expandTemplate(replacement, value.slice(match[0], match[1])));
    lastMatchEnd = match[1];
    searchPos = searchPos + 1 > match[1] ? searchPos + 1 : match[1];
  }
  parts.push(value.slice(lastMatchEnd));
  return parts.join('');
}
