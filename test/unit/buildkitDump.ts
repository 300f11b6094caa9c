// Reads one line of a BuildKit parser `result` file: moby/buildkit frontend/dockerfile/parser
// parser.go Node.Dump — `keyword`, then ` %q` of the flags (`["--a" "--b"]`), then each
// argument as strconv.Quote, or a nested node (ONBUILD's trigger) in parentheses.

export interface DumpNode {
  keyword: string;
  flags: string[];
  args: string[];
  /** ONBUILD: the trigger instruction. */
  child?: DumpNode;
}

/** strconv.Unquote of a double-quoted Go string starting at `at`; returns the value and the end. */
function unquote(text: string, at: number): { value: string; end: number } {
  let i = at + 1;
  let out = '';
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
  while (i < text.length && text[i] !== '"') {
    if (text[i] !== '\\') {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      out += ch;
      i += ch.length;
      continue;
    }
    const e = text[i + 1]!;
    if (e in simple) {
      out += simple[e];
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + digits), 16));
      i += 2 + digits;
    } else if (/[0-7]/.test(e)) {
      out += String.fromCodePoint(parseInt(text.slice(i + 1, i + 4), 8));
      i += 4;
    } else throw new Error(`bad escape \\${e} in ${text}`);
  }
  if (text[i] !== '"') throw new Error(`unterminated string in ${text}`);
  return { value: out, end: i + 1 };
}

function parseNode(text: string, at: number): { node: DumpNode; end: number } {
  if (text[at] !== '(') throw new Error(`expected ( at ${at} in ${text}`);
  let i = at + 1;
  const start = i;
  while (i < text.length && /[a-z]/.test(text[i]!)) i++;
  const node: DumpNode = { keyword: text.slice(start, i), flags: [], args: [] };
  for (;;) {
    while (text[i] === ' ') i++;
    const ch = text[i];
    if (ch === ')') return { node, end: i + 1 };
    if (ch === '[') {
      i++;
      while (text[i] !== ']') {
        while (text[i] === ' ') i++;
        const flag = unquote(text, i);
        node.flags.push(flag.value);
        i = flag.end;
      }
      i++;
    } else if (ch === '"') {
      const arg = unquote(text, i);
      node.args.push(arg.value);
      i = arg.end;
    } else if (ch === '(') {
      const child = parseNode(text, i);
      node.child = child.node;
      i = child.end;
    } else throw new Error(`unexpected ${ch ?? 'end'} at ${i} in ${text}`);
  }
}

/** One `result` line → the node it dumps. */
export function parseResultLine(line: string): DumpNode {
  const { node, end } = parseNode(line, 0);
  if (end !== line.length) throw new Error(`trailing text in ${line}`);
  return node;
}
