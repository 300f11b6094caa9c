// BuildKit's word-level helpers for one logical line (parser.go splitCommand and
// extractBuilderFlags, line_parsers.go parseWords and the reWhitespace split), linear in the
// line: runs of ordinary characters are copied as slices.
import { isUnicodeSpace } from './lexChars';

export interface Word {
  text: string;
  /** Offsets in the logical line: [start, end). */
  start: number;
  end: number;
}

export function isAsciiBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d;
}

/** reWhitespace ([\t\v\f\r ]+) split, keeping offsets. */
export function splitBlank(text: string, offset: number): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i <= text.length) {
    let end = i;
    while (end < text.length && !isAsciiBlank(text.charCodeAt(end))) end++;
    words.push({ text: text.slice(i, end), start: offset + i, end: offset + end });
    if (end >= text.length) break;
    i = end;
    while (i < text.length && isAsciiBlank(text.charCodeAt(i))) i++;
  }
  return words;
}

export function trimStartIndex(text: string): number {
  let i = 0;
  while (i < text.length && isUnicodeSpace(text.charCodeAt(i))) i++;
  return i;
}

export function trimEndIndex(text: string): number {
  let i = text.length;
  while (i > 0 && isUnicodeSpace(text.charCodeAt(i - 1))) i--;
  return i;
}

/** parser.go extractBuilderFlags: leading `--x[=y]` words; returns them and where the rest starts. */
export function extractBuilderFlags(line: string): { flags: string[]; restStart: number } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isUnicodeSpace(line.charCodeAt(pos))) pos++;
    if (pos >= line.length) return { flags, restStart: line.length };
    if (!line.startsWith('--', pos)) return { flags, restStart: pos };
    // Fast path: a plain flag word (no quotes, no escapes).
    let plain = pos;
    while (plain < line.length) {
      const c = line.charCodeAt(plain);
      if (c === 0x5c || c === 0x22 || c === 0x27 || isUnicodeSpace(c)) break;
      plain++;
    }
    if (plain === line.length || isUnicodeSpace(line.charCodeAt(plain))) {
      const text = line.slice(pos, plain);
      if (text === '--') return { flags, restStart: plain === line.length ? line.length : plain };
      flags.push(text);
      pos = plain;
      continue;
    }
    // inWord / inQuote phases, with `\` escapes (always backslash here, whatever the directive).
    const word: string[] = [];
    let blankOK = false;
    let quote = '';
    let end = pos;
    while (end < line.length) {
      const ch = line.charAt(end);
      if (quote === '') {
        if (isUnicodeSpace(ch.charCodeAt(0))) break;
        if (ch === "'" || ch === '"') {
          quote = ch;
          blankOK = true;
          end++;
          continue;
        }
      } else if (ch === quote) {
        quote = '';
        end++;
        continue;
      }
      if (ch === '\\') {
        if (end + 1 === line.length) {
          quote = '';
          end++;
          continue;
        }
        word.push(line.charAt(end + 1));
        end += 2;
        continue;
      }
      // A run of ordinary characters.
      let stop = end + 1;
      while (stop < line.length) {
        const c = line.charAt(stop);
        if (c === '\\' || c === "'" || c === '"' || (quote === '' && isUnicodeSpace(c.charCodeAt(0)))) break;
        stop++;
      }
      word.push(line.slice(end, stop));
      end = stop;
    }
    const text = word.join('');
    if (text === '--' && quote === '' && end < line.length) return { flags, restStart: end };
    if (text !== '--' && (blankOK || text.length > 0)) flags.push(text);
    pos = end;
  }
}

/** line_parsers.go parseWords: words on white space, quotes kept, escape token kept with its character. */
export function parseWords(rest: string, escape: string): string[] {
  const SQ = 0x27;
  const DQ = 0x22;
  const esc = escape.charCodeAt(0);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = 0;
  let blankOK = false;
  const n = rest.length;
  let nextEscape = -1;
  /** Length of the escape token at i plus the character after it (a whole code point). */
  const escaped = (i: number): number => ((rest.codePointAt(i + 1) ?? 0) > 0xffff ? 3 : 2);
  for (let i = 0; i < n; ) {
    const code = rest.charCodeAt(i);
    if (!inWord) {
      if (isUnicodeSpace(code)) {
        i++;
        continue;
      }
      inWord = true;
    }
    if (quote === 0) {
      if (isUnicodeSpace(code)) {
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        inWord = false;
        i++;
      } else if (code === SQ || code === DQ) {
        quote = code;
        blankOK = true;
        word += rest.charAt(i++);
      } else if (code === esc) {
        if (i + 1 >= n) break; // an escape token at the end is dropped
        const width = escaped(i);
        word += rest.slice(i, i + width);
        i += width;
      } else {
        // A run of ordinary characters.
        let end = i + 1;
        while (end < n) {
          const c = rest.charCodeAt(end);
          if (c === SQ || c === DQ || c === esc || isUnicodeSpace(c)) break;
          end++;
        }
        word += rest.slice(i, end);
        i = end;
      }
    } else if (code === quote) {
      quote = 0;
      word += rest.charAt(i++);
    } else if (code === esc && quote !== SQ) {
      if (i + 1 >= n) {
        quote = 0;
        break; // the escape token at the end is dropped
      }
      const width = escaped(i);
      word += rest.slice(i, i + width);
      i += width;
    } else {
      let end = rest.indexOf(String.fromCharCode(quote), i + 1);
      if (end < 0) end = n;
      if (quote === DQ) {
        // The next escape token, searched again only once passed: linear overall.
        if (nextEscape < i) {
          nextEscape = rest.indexOf(escape, i);
          if (nextEscape < 0) nextEscape = n;
        }
        end = Math.min(end, nextEscape);
      }
      word += rest.slice(i, end);
      i = end;
    }
  }
  if (inWord && (blankOK || word.length > 0)) words.push(word);
  return words;
}
