// One logical Dockerfile line (continuations already joined) split the way BuildKit does it:
// parser.go splitCommand and extractBuilderFlags, then the per-instruction line parsers of
// line_parsers.go (whitespace lists, JSON arrays, parseWords for ARG/ENV/LABEL, ONBUILD's
// sub-command). Offsets are positions in the logical line, for mapping back to the document.
import { extractBuilderFlags, isAsciiBlank, parseWords, splitBlank, trimEndIndex, trimStartIndex, type Word } from './wordSplitting';

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
