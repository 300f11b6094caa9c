// One logical Dockerfile line (continuations already joined) split the way BuildKit does it:
// parser.go splitCommand and extractBuilderFlags, then the per-instruction line parsers of
// line_parsers.go (whitespace lists, JSON arrays, parseWords for ARG/ENV/LABEL, ONBUILD's
// sub-command). Offsets are positions in the logical line, for mapping back to the document.
import { isUnicodeSpace } from './argExpansion';

export interface Word {
  text: string;
  /** Offsets in the logical line: [start, end). */
  start: number;
  end: number;
}

export interface KeyValue {
  key: string;
  /** Undefined for `ARG NAME` without a value. */
  value?: string;
}

export interface ParsedLine {
  /** The instruction word as written. */
  command: string;
  /** Its offset in the logical line. */
  commandStart: number;
  /** Flag words (`--from=build`), quotes and backslash escapes removed, as BuildKit's BFlags see them. */
  flags: string[];
  /** Arguments as Docker splits them (JSON form or shell words). */
  args: string[];
  /** For FROM: the words with their offsets. */
  words?: Word[];
  /** JSON array form. */
  json: boolean;
  /** ARG: names and optional default values (quotes still in). ENV, LABEL: keys and values. */
  pairs?: KeyValue[];
  /** ONBUILD: the trigger instruction. */
  child?: ParsedLine;
  /** Why BuildKit's parser would refuse the line. */
  error?: string;
}

const WHITESPACE = /[\t\v\f\r ]+/;
const WHITESPACE_ALL = /[\t\v\f\r ]+/g;

function isAsciiBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d;
}

/** reWhitespace ([\t\v\f\r ]+) split, keeping offsets. */
function splitBlank(text: string, offset: number): Word[] {
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

function trimStartIndex(text: string): number {
  let i = 0;
  while (i < text.length && isUnicodeSpace(text.charCodeAt(i))) i++;
  return i;
}

function trimEndIndex(text: string): number {
  let i = text.length;
  while (i > 0 && isUnicodeSpace(text.charCodeAt(i - 1))) i--;
  return i;
}

/** parser.go extractBuilderFlags: leading `--x[=y]` words; returns them and where the rest starts. */
function extractBuilderFlags(line: string): { flags: string[]; restStart: number } {
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

/** line_parsers.go parseJSON: undefined when not a JSON array; an error when not all strings. */
function parseJson(rest: string): string[] | { error: string } | undefined {
  const trimmed = rest.slice(trimStartIndex(rest));
  if (!trimmed.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((item): item is string => typeof item === 'string')) {
    return { error: 'when using JSON array syntax, arrays must be comprised of strings only' };
  }
  return parsed;
}

/** parseNameVal for ENV and LABEL: `KEY value` (old form) or `k=v k2=v2`. */
function parseNameVal(rest: string, key: string, escape: string, out: ParsedLine): void {
  const words = parseWords(rest, escape);
  if (words.length === 0) return;
  const first = words[0] ?? '';
  if (!first.includes('=')) {
    const blank = WHITESPACE.exec(rest);
    if (blank === null) {
      out.error = `${key} must have two arguments`;
      return;
    }
    out.pairs = [{ key: rest.slice(0, blank.index), value: rest.slice(blank.index + blank[0].length) }];
    return;
  }
  out.pairs = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      out.error = `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`;
      return;
    }
    out.pairs.push({ key: word.slice(0, eq), value: word.slice(eq + 1) });
  }
}

/** parser.go newNodeFromLine for one logical line. */
export function parseLine(line: string, escape: string): ParsedLine {
  const begin = trimStartIndex(line);
  const finish = trimEndIndex(line);
  let commandEnd = begin;
  while (commandEnd < finish && !isAsciiBlank(line.charCodeAt(commandEnd))) commandEnd++;
  const command = line.slice(begin, commandEnd);
  const out: ParsedLine = { command, commandStart: begin, flags: [], args: [], json: false };
  if (commandEnd >= finish) return out;
  let argsStart = commandEnd;
  while (argsStart < finish && isAsciiBlank(line.charCodeAt(argsStart))) argsStart++;
  const afterCommand = line.slice(argsStart, finish);
  const { flags, restStart } = extractBuilderFlags(afterCommand);
  out.flags = flags;
  const restBegin = argsStart + restStart + trimStartIndex(afterCommand.slice(restStart));
  const rest = line.slice(restBegin, Math.max(restBegin, finish));
  const setList = (list: string[] | { error: string } | undefined, whitespace: boolean): void => {
    if (list !== undefined && !Array.isArray(list)) out.error = list.error;
    else if (list !== undefined) {
      out.args = list;
      out.json = true;
    } else if (whitespace) {
      if (rest !== '') out.args = rest.split(WHITESPACE_ALL);
    } else if (rest !== '') out.args = [rest];
  };
  switch (command.toLowerCase()) {
    case 'from':
      if (rest !== '') {
        out.words = splitBlank(rest, restBegin);
        out.args = out.words.map((w) => w.text);
      }
      break;
    case 'expose':
      if (rest !== '') out.args = rest.split(WHITESPACE_ALL);
      break;
    case 'add':
    case 'copy':
    case 'volume':
      setList(parseJson(rest), true);
      break;
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell':
      if (rest !== '') setList(parseJson(rest), false);
      break;
    case 'arg':
      out.args = parseWords(rest, escape);
      out.pairs = out.args.map((word) => {
        const eq = word.indexOf('=');
        return eq < 0 ? { key: word } : { key: word.slice(0, eq), value: word.slice(eq + 1) };
      });
      break;
    case 'env':
    case 'label':
      parseNameVal(rest, command.toUpperCase(), escape, out);
      for (const pair of out.pairs ?? []) out.args.push(pair.key, pair.value ?? '');
      break;
    case 'healthcheck': {
      const blank = /\s/.exec(rest);
      if (rest === '') break;
      const type = blank === null ? rest : rest.slice(0, blank.index);
      const cmd = blank === null ? '' : rest.slice(blank.index).replace(/^\s+/, '');
      const list = cmd === '' ? undefined : parseJson(cmd);
      if (list !== undefined && !Array.isArray(list)) out.error = list.error;
      out.json = Array.isArray(list);
      out.args = [type, ...(Array.isArray(list) ? list : cmd !== '' ? [cmd] : [])];
      break;
    }
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      if (rest !== '') out.args = [rest];
      break;
    case 'onbuild':
      if (rest !== '') {
        // parseSubCommand parses the text after ONBUILD's own flags as a line of its own.
        const child = parseLine(rest, escape);
        shiftOffsets(child, restBegin);
        out.child = child;
        out.args = [child.command, ...child.args];
        if (child.error !== undefined) out.error = child.error;
      }
      break;
    default:
      break; // parseIgnore; the instruction is reported as unknown later
  }
  return out;
}

function shiftOffsets(line: ParsedLine, by: number): void {
  line.commandStart += by;
  for (const word of line.words ?? []) {
    word.start += by;
    word.end += by;
  }
}
