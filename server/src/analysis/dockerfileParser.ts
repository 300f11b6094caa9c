// The Dockerfile as BuildKit's parser reads it (moby/buildkit frontend/dockerfile/parser
// parser.go Parse and directives.go): parser directives at the top (`# escape=``), comment
// lines, line continuations (empty and comment lines inside them skipped), and heredoc bodies
// read verbatim after the instruction line. Lines break at \n, \r\n or a lone \r, as LSP
// positions count them (BuildKit only breaks at \n; lone CRs do not occur in practice).
// Linear in the input: every line is looked at a bounded number of times.
import { splitWords } from './argExpansion';
import { isUnicodeSpace } from './lexChars';
import { parseLine, type ParsedLine } from './instructionParser';

export interface Heredoc {
  name: string;
  /** `<<-`: leading tabs stripped from the body (and before the terminator). */
  chomp: boolean;
  /** Unquoted name: variables in the body are expanded. */
  expand: boolean;
  content: string;
  /** 0-based lines of the body's first line and of the terminator (or the last line when unterminated). */
  startLine: number;
  endLine: number;
  terminated: boolean;
}

export interface LogicalInstruction {
  /** The joined line: continuations removed, comment lines skipped. */
  text: string;
  parsed: ParsedLine;
  heredocs: Heredoc[];
  /** 0-based first and last document line (heredoc bodies included). */
  line: number;
  endLine: number;
  /** Document offsets where the instruction starts (its first character) and ends. */
  start: number;
  end: number;
  /** Pairs (offset in `text`, document offset) where each joined piece begins. */
  pieces: number[];
}

export interface ParseProblem {
  line: number;
  /** Document offsets. */
  start: number;
  end: number;
  message: string;
}

export interface ParsedDockerfile {
  text: string;
  /** Document offset of each line's first character. */
  lineStarts: number[];
  escape: string;
  instructions: LogicalInstruction[];
  problems: ParseProblem[];
}

/** BuildKit's bufio.Scanner refuses longer lines ("dockerfile line greater than max allowed size of 65535"). */
const MAX_LINE_BYTES = 65535;
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

function lineBreaks(text: string): { starts: number[]; ends: number[] } {
  const starts: number[] = [0];
  const ends: number[] = [];
  let nextLf = text.indexOf('\n');
  let nextCr = text.indexOf('\r');
  for (;;) {
    if (nextLf < 0 && nextCr < 0) break;
    const at = nextCr < 0 || (nextLf >= 0 && nextLf < nextCr) ? nextLf : nextCr;
    ends.push(at);
    const crlf = at === nextCr && text.charCodeAt(at + 1) === 0x0a;
    const start = at + (crlf ? 2 : 1);
    starts.push(start);
    if (nextLf >= 0 && nextLf < start) nextLf = text.indexOf('\n', start);
    if (nextCr >= 0 && nextCr < start) nextCr = text.indexOf('\r', start);
  }
  ends.push(text.length);
  return { starts, ends };
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 4 : c >= 0xdc00 && c < 0xe000 ? 0 : 3;
  }
  return bytes;
}

function leadingSpace(text: string): number {
  let i = 0;
  while (i < text.length && isUnicodeSpace(text.charCodeAt(i))) i++;
  return i;
}

const isReSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;

/**
 * DirectiveParser.ParseLine's regexp `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (RE2 \s is
 * [\t\n\f\r ]), by hand so a megabyte line cannot make it backtrack.
 */
function matchDirective(line: string): { name: string; value: string } | undefined {
  if (line.charCodeAt(0) !== 0x23) return undefined;
  let i = 1;
  while (i < line.length && isReSpace(line.charCodeAt(i))) i++;
  const nameStart = i;
  if (!/[a-zA-Z]/.test(line.charAt(i))) return undefined;
  while (i < line.length && /[a-zA-Z0-9]/.test(line.charAt(i))) i++;
  const name = line.slice(nameStart, i);
  while (i < line.length && isReSpace(line.charCodeAt(i))) i++;
  if (line.charAt(i) !== '=') return undefined;
  i++;
  let end = line.length;
  while (end > i && isReSpace(line.charCodeAt(end - 1))) end--;
  if (end > i) {
    while (i < end && isReSpace(line.charCodeAt(i))) i++;
    return { name, value: line.slice(i, end) };
  }
  // Only blanks after '=': the lazy group still takes one character, the last one.
  return line.length > i ? { name, value: line.charAt(line.length - 1) } : undefined;
}

/** `([^E])E[ \t]*$|^E[ \t]*$`: whether the line continues, and the line without the escape. */
function trimContinuation(line: string, escape: string): [string, boolean] {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  if (end === 0 || line.charAt(end - 1) !== escape) return [line, true];
  if (end >= 2 && line.charAt(end - 2) === escape) return [line, true];
  return [line.slice(0, end - 1), false];
}

/** parser.go heredocFromMatch on one word: `[fd]<<[-][blanks]NAME` with a single-word NAME. */
export function heredocFromWord(word: string): { name: string; chomp: boolean; expand: boolean } | { error: string } | undefined {
  // reHeredoc `^(\d*)<<(-?)\s*([^<]*)$`, by hand: the regexp backtracks quadratically on
  // `<<` followed by many blanks and a later '<'.
  let i = 0;
  while (i < word.length && word.charCodeAt(i) >= 0x30 && word.charCodeAt(i) <= 0x39) i++;
  if (!word.startsWith('<<', i)) return undefined;
  i += 2;
  const chomp = word.charAt(i) === '-';
  if (chomp) i++;
  if (word.indexOf('<', i) >= 0) return undefined;
  while (i < word.length && isReSpace(word.charCodeAt(i))) i++;
  const rest = word.slice(i);
  if (rest === '') return undefined;
  const plain = splitWords(rest, new Map(), { skipUnsetEnv: true });
  if (plain.error !== undefined) return { error: plain.error };
  if (plain.words.length !== 1) return undefined;
  const raw = splitWords(rest, new Map(), { skipUnsetEnv: true, rawQuotes: true });
  if (raw.error !== undefined) return { error: raw.error };
  const name = plain.words[0] ?? '';
  const quotes = (text: string): number => text.split(/['"]/).length - 1;
  return { name, chomp, expand: quotes(name) === quotes(raw.words[0] ?? '') };
}

function canContainHeredoc(parsed: ParsedLine): boolean {
  const node = parsed.command.toLowerCase() === 'onbuild' && parsed.child !== undefined ? parsed.child : parsed;
  const command = node.command.toLowerCase();
  return (command === 'add' || command === 'copy' || command === 'run') && !node.json;
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const { starts, ends } = lineBreaks(text);
  const problems: ParseProblem[] = [];
  const instructions: LogicalInstruction[] = [];
  const problemAt = (line: number, message: string): void => {
    problems.push({ line, start: starts[line] ?? 0, end: ends[line] ?? 0, message });
  };
  let escape = '\\';
  let directivesDone = false;
  const seenDirectives = new Set<string>();
  const lineText = (n: number): string => text.slice(starts[n] ?? 0, ends[n] ?? 0);

  /** processLine's directive check; it runs on every line until the first non-directive. */
  const checkDirective = (n: number, token: string): void => {
    if (directivesDone) return;
    const directive = matchDirective(token);
    const name = directive?.name.toLowerCase() ?? '';
    if (directive === undefined || !VALID_DIRECTIVES.has(name)) {
      directivesDone = true;
      return;
    }
    if (seenDirectives.has(name)) {
      problemAt(n, `line ${n + 1}: only one ${name} parser directive can be used`);
      return;
    }
    seenDirectives.add(name);
    if (name === 'escape') {
      if (directive.value === '`' || directive.value === '\\') escape = directive.value;
      else problemAt(n, `line ${n + 1}: invalid escape token '${directive.value}' does not match \` or \\`);
    }
  };

  const count = starts.length;
  for (let k = 0; k < count; k++) {
    const length = (ends[k] ?? 0) - (starts[k] ?? 0);
    if (length * 3 > MAX_LINE_BYTES && utf8Length(lineText(k)) > MAX_LINE_BYTES) {
      problemAt(k, `line ${k + 1}: the line is longer than ${MAX_LINE_BYTES} bytes, the most docker build reads`);
    }
  }
  let n = 0;
  while (n < count) {
    const lineStart = starts[n] ?? 0;
    let raw = lineText(n);
    let bom = 0;
    if (n === 0 && raw.charCodeAt(0) === 0xfeff) {
      raw = raw.slice(1);
      bom = 1;
    }
    const lead = leadingSpace(raw);
    const token = raw.slice(lead);
    checkDirective(n, token);
    const first = n++;
    const isComment = token.charCodeAt(0) === 0x23;
    let [line, endOfLine] = trimContinuation(isComment ? '' : token, escape);
    if (endOfLine && line === '') continue;
    const pieces = [0, lineStart + bom + lead];
    const parts = [line];
    let length = line.length;
    let last = first;
    while (!endOfLine && n < count) {
      const next = lineText(n);
      checkDirective(n, next);
      const current = n++;
      const nextLead = leadingSpace(next);
      if (nextLead === next.length || next.charCodeAt(nextLead) === 0x23) continue; // empty or comment line
      last = current;
      const [piece, end] = trimContinuation(next, escape);
      endOfLine = end;
      pieces.push(length, starts[current] ?? 0);
      parts.push(piece);
      length += piece.length;
    }
    line = parts.join('');
    const parsed = parseLine(line, escape);
    const heredocs: Heredoc[] = [];
    if (canContainHeredoc(parsed) && line.includes('<<')) {
      const words = splitWords(line, new Map(), { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
      for (const word of words.words) {
        const found = heredocFromWord(word);
        if (found === undefined) continue;
        if ('error' in found) {
          problemAt(first, `line ${first + 1}: ${found.error}`);
          break;
        }
        const body: string[] = [];
        const startLine = n;
        let terminated = false;
        while (n < count) {
          const bodyLine = lineText(n++);
          const candidate = found.chomp ? bodyLine.replace(/^\t+/, '') : bodyLine;
          if (candidate === found.name) {
            terminated = true;
            break;
          }
          body.push(bodyLine, '\n');
        }
        last = Math.max(last, n - 1);
        heredocs.push({ ...found, content: body.join(''), startLine, endLine: n - 1, terminated });
        if (!terminated) {
          problemAt(first, `line ${first + 1}: unterminated heredoc <<${found.name}: no line "${found.name}" ends it before the end of the file`);
          break;
        }
      }
    }
    const instruction: LogicalInstruction = { text: line, parsed, heredocs, line: first, endLine: last, start: 0, end: ends[last] ?? text.length, pieces };
    instruction.start = documentOffset(instruction, parsed.commandStart);
    instructions.push(instruction);
  }
  return { text, lineStarts: starts, escape, instructions, problems };
}

/** The document offset of an offset in an instruction's joined text. */
export function documentOffset(instruction: LogicalInstruction, offset: number, preferEarlier = false): number {
  const pieces = instruction.pieces;
  // Binary search over the (text offset, document offset) pairs.
  let lo = 0;
  let hi = pieces.length / 2 - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const at = pieces[mid * 2] ?? 0;
    if (at < offset || (at === offset && !preferEarlier)) lo = mid;
    else hi = mid - 1;
  }
  return (pieces[lo * 2 + 1] ?? 0) + offset - (pieces[lo * 2] ?? 0);
}
