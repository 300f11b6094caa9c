// Variable expansion and word splitting exactly as BuildKit's Dockerfile shell lexer does them
// (moby/buildkit frontend/dockerfile/shell/lex.go): $V, ${V}, ${V:-w}, ${V-w}, ${V:+w}, ${V+w},
// ${V:?w}, ${V?w}, ${V#p}, ${V##p}, ${V%p}, ${V%%p}, ${V/p/r}, ${V//p/r}, nested forms, single
// and double quotes, and the escape token (`\` or the backtick of `# escape=``). An undefined
// variable expands to "" (unless skipUnsetEnv keeps it as written). Linear in the input; never
// throws: problems come back in `error` with BuildKit's wording.
import { isDigit, isNameChar, isSpecialParam, truncate, Words } from './lexChars';
import { replaceShellPattern, trimShellPattern } from './shellPattern';

export interface LexOptions {
  /** The escape token: `\` (default) or a backtick. */
  escape?: string;
  /** Keep quote characters in the result (Lex.RawQuotes). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result (Lex.RawEscapes). */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written (Lex.SkipUnsetEnv). */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (Lex.SkipProcessQuotes). */
  skipProcessQuotes?: boolean;
}

export interface ExpansionResult {
  /** The expanded word (ProcessWord). */
  value: string;
  /** Variables referenced that were set / unset. */
  matched: ReadonlySet<string>;
  unmatched: ReadonlySet<string>;
  /** Set when BuildKit would fail ("syntax error: bad substitution", "V: is not allowed to be unset"...). */
  error?: string;
}

export interface WordsResult {
  /** The expansion split into words on unquoted white space (ProcessWords). */
  words: string[];
  error?: string;
}

const NONE: ReadonlySet<string> = new Set();

/** ProcessWord: the word with variables replaced, quotes removed and escapes applied. */
export function expandWord(word: string, env: ReadonlyMap<string, string>, options: LexOptions = {}): ExpansionResult {
  // Most words have nothing to expand, unquote or unescape: skip the lexer.
  if (!/[$'"\\`]/.test(word)) return { value: word, matched: NONE, unmatched: NONE };
  const lexer = new Lexer(word, env, options, false);
  const error = lexer.run();
  return { value: error === undefined ? lexer.result : '', matched: lexer.matched ?? NONE, unmatched: lexer.unmatched ?? NONE, ...(error !== undefined ? { error } : {}) };
}

/** ProcessWords: the expansion split into words, as BuildKit does after substitution. */
export function splitWords(text: string, env: ReadonlyMap<string, string>, options: LexOptions = {}): WordsResult {
  const lexer = new Lexer(text, env, options, true);
  const error = lexer.run();
  return { words: error === undefined ? (lexer.words?.done() ?? []) : [], ...(error !== undefined ? { error } : {}) };
}

const EOF = -1;
const DOLLAR = 0x24;
const LT = 0x3c;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COLON = 0x3a;
const SLASH = 0x2f;
/** Deeper `${...}` nesting than this is refused instead of risking the call stack. */
const MAX_DEPTH = 500;

class LexError extends Error {}

class Lexer {
  result = '';
  matched: Set<string> | undefined;
  unmatched: Set<string> | undefined;
  readonly words: Words | undefined;
  private pos = 0;
  private depth = 0;
  private readonly next_ = new Map<number, number>();
  private rawEscapes: boolean;
  private readonly escape: number;
  private readonly escapeChar: string;

  constructor(
    private readonly s: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly options: LexOptions,
    wantWords: boolean,
  ) {
    this.escapeChar = options.escape === '`' ? '`' : '\\';
    this.escape = this.escapeChar.charCodeAt(0);
    this.rawEscapes = options.rawEscapes === true;
    this.words = wantWords ? new Words() : undefined;
  }

  run(): string | undefined {
    try {
      this.result = this.processStopOn(EOF, this.rawEscapes, this.words);
      return undefined;
    } catch (error) {
      if (error instanceof LexError) return `failed to process ${JSON.stringify(truncate(this.s))}: ${error.message}`;
      if (error instanceof RangeError) return `failed to process ${JSON.stringify(truncate(this.s))}: expression too deeply nested`;
      throw error;
    }
  }

  /** Next occurrence of a character at or after `from` (the length when none); positions only
   *  move forward, so each character's search resumes where it stopped: linear overall. */
  private nextOf(code: number, from: number): number {
    const cached = this.next_.get(code);
    if (cached !== undefined && cached >= from) return cached;
    let at = this.s.indexOf(String.fromCharCode(code), from);
    if (at < 0) at = this.s.length;
    this.next_.set(code, at);
    return at;
  }

  private peek(): number {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : EOF;
  }

  /** Reads one character (a whole code point, as Go's scanner reads runes). */
  private next(): string {
    if (this.pos >= this.s.length) return '';
    const code = this.s.codePointAt(this.pos) ?? 0;
    const ch = code > 0xffff ? this.s.slice(this.pos, this.pos + 2) : this.s.charAt(this.pos);
    this.pos += ch.length;
    return ch;
  }

  /** lex.go processStopOn: up to the end of input or the stop character (consumed). */
  private processStopOn(stop: number, rawEscapes: boolean, words?: Words): string {
    if (++this.depth > MAX_DEPTH) throw new LexError('expression too deeply nested');
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    const quotes = this.options.skipProcessQuotes !== true;
    const parts: string[] = [];
    const s = this.s;
    try {
      for (;;) {
        const ch = this.peek();
        if (ch === EOF) break;
        if (stop !== EOF && ch === stop) {
          this.pos++;
          return parts.join('');
        }
        if (ch === DOLLAR) {
          const value = this.processDollar();
          parts.push(value);
          words?.addString(value);
        } else if (ch === LT) {
          const value = this.processPossibleHeredoc();
          parts.push(value);
          words?.addRawString(value);
        } else if (quotes && ch === SQUOTE) {
          const value = this.processSingleQuote();
          parts.push(value);
          words?.addRawString(value);
        } else if (quotes && ch === DQUOTE) {
          const value = this.processDoubleQuote();
          parts.push(value);
          words?.addRawString(value);
        } else if (ch === this.escape) {
          this.pos++;
          if (this.rawEscapes) {
            words?.addRawChar(this.escapeChar);
            parts.push(this.escapeChar);
          }
          const escaped = this.next();
          if (escaped === '') break; // an escape at the end is dropped
          words?.addRawChar(escaped);
          parts.push(escaped);
        } else {
          // A run of ordinary characters, copied in one piece.
          const from = this.pos + 1;
          let end = Math.min(this.nextOf(DOLLAR, from), this.nextOf(LT, from), this.nextOf(this.escape, from));
          if (stop !== EOF) end = Math.min(end, this.nextOf(stop, from));
          if (quotes) end = Math.min(end, this.nextOf(SQUOTE, from), this.nextOf(DQUOTE, from));
          const run = s.slice(this.pos, end);
          this.pos = end;
          parts.push(run);
          words?.addString(run);
        }
      }
      if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${String.fromCharCode(stop)}`);
      return parts.join('');
    } finally {
      this.rawEscapes = saved;
      this.depth--;
    }
  }

  private processSingleQuote(): string {
    this.pos++;
    const close = this.s.indexOf("'", this.pos);
    if (close === -1) throw new LexError('unexpected end of statement while looking for matching single-quote');
    const inner = this.s.slice(this.pos, close);
    this.pos = close + 1;
    return this.options.rawQuotes === true ? `'${inner}'` : inner;
  }

  private processDoubleQuote(): string {
    this.pos++;
    const raw = this.options.rawQuotes === true;
    const parts: string[] = raw ? ['"'] : [];
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (ch === DQUOTE) {
        this.pos++;
        if (raw) parts.push('"');
        return parts.join('');
      }
      if (ch === DOLLAR) {
        parts.push(this.processDollar());
        continue;
      }
      if (ch !== this.escape) {
        const from = this.pos + 1;
        const end = Math.min(this.nextOf(DQUOTE, from), this.nextOf(DOLLAR, from), this.nextOf(this.escape, from));
        parts.push(this.s.slice(this.pos, end));
        this.pos = end;
        continue;
      }
      let c = this.next();
      if (this.rawEscapes) parts.push(c);
      const after = this.peek();
      if (after === EOF) continue; // an escape at the end of the word is ignored
      // Only `"`, `$` and the escape itself can be escaped; otherwise the escape stays.
      if (after === DQUOTE || after === DOLLAR || after === this.escape) c = this.next();
      parts.push(c);
    }
  }

  /** Newer lex.go: `<<` keeps the blanks after it, so `<< EOF` stays one word. */
  private processPossibleHeredoc(): string {
    this.pos++;
    if (this.peek() !== LT) return '<';
    this.pos++;
    const start = this.pos;
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
      this.pos++;
    }
    return `<<${this.s.slice(start, this.pos)}`;
  }

  private getEnv(name: string): string | undefined {
    const value = this.env.get(name);
    if (value === undefined) (this.unmatched ??= new Set()).add(name);
    else (this.matched ??= new Set()).add(name);
    return value;
  }

  private processDollar(): string {
    this.pos++;
    if (this.peek() !== LBRACE) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.options.skipUnsetEnv === true) return `$${name}`;
      return value ?? '';
    }
    this.pos++;
    const first = this.peek();
    if (first === EOF) throw new LexError("syntax error: missing '}'");
    if (first === LBRACE || first === RBRACE || first === COLON) throw new LexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch;
    let nullIsUnset = false;
    const skipUnset = this.options.skipUnsetEnv === true;
    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && skipUnset) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === '/') return this.processReplace(name);
    // Go reports "unsupported modifier" here; a missing brace is what it means.
    if (ch === '') throw new LexError("syntax error: missing '}'");
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      chs += ch;
    } else if (ch !== '+' && ch !== '-' && ch !== '?' && ch !== '#' && ch !== '%') {
      throw new LexError(`unsupported modifier (${chs}) in substitution`);
    }
    let word: string;
    try {
      word = this.processStopOn(RBRACE, ch === '#' || ch === '%');
    } catch (error) {
      if (error instanceof LexError && this.peek() === EOF) throw new LexError("syntax error: missing '}'");
      throw error;
    }
    const value = this.getEnv(name);
    if (skipUnset && value === undefined) return `\${${name}${chs}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : (value ?? '');
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        // %/# trim the shortest match, %%/## the longest.
        const greedy = word.startsWith(ch);
        const trimmed = trimShellPattern(value ?? '', greedy ? word.slice(1) : word, ch === '%' ? 'suffix' : 'prefix', greedy);
        if (typeof trimmed !== 'string') throw new LexError(`invalid pattern (${word}) in substitution: ${trimmed.error}`);
        return trimmed;
      }
      default:
        throw new LexError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  /** ${V/pattern/replacement} and ${V//pattern/replacement}. */
  private processReplace(name: string): string {
    const all = this.peek() === SLASH;
    if (all) this.pos++;
    const stopOn = (stop: number, missing: string): string => {
      try {
        return this.processStopOn(stop, true);
      } catch (error) {
        if (error instanceof LexError && this.peek() === EOF) throw new LexError(missing);
        throw error;
      }
    };
    const pattern = stopOn(SLASH, "syntax error: missing '/' in ${}");
    const replacement = stopOn(RBRACE, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (this.options.skipUnsetEnv === true && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
    const replaced = replaceShellPattern(value ?? '', pattern, replacement, all);
    if (typeof replaced !== 'string') throw new LexError(`invalid pattern (${pattern}) in substitution: ${replaced.error}`);
    return replaced;
  }

  /** lex.go processName: a run of letters, digits and _, or digits, or one special parameter. */
  private processName(): string {
    const start = this.pos;
    const first = this.peek();
    if (first === EOF) return '';
    const firstCode = this.s.codePointAt(this.pos) ?? first;
    if (isDigit(firstCode)) {
      while (this.pos < this.s.length) {
        const code = this.s.codePointAt(this.pos) ?? 0;
        if (!isDigit(code)) break;
        this.pos += code > 0xffff ? 2 : 1;
      }
      return this.s.slice(start, this.pos);
    }
    if (isSpecialParam(first)) {
      this.pos++;
      return this.s.charAt(start);
    }
    while (this.pos < this.s.length) {
      const code = this.s.codePointAt(this.pos) ?? 0;
      if (!isNameChar(code)) break;
      this.pos += code > 0xffff ? 2 : 1;
    }
    return this.s.slice(start, this.pos);
  }
}
