// Deterministic Dockerfile mutations for fuzzing: edits of real Dockerfiles, binary garbage,
// megabyte lines and deep continuations. Seeded so a failing case can be replayed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const corpusDir = join(__dirname, '..', 'fixtures', 'dockerfiles');

export function loadCorpus(): string[] {
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith('.Dockerfile'))
    .sort()
    .map((f) => readFileSync(join(corpusDir, f), 'utf8'));
}

/** A small, fast, seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tokens = ['$', '${', '}', ':-', ':+', '\\', '`', '"', "'", '\n', '<<EOF\n', 'EOF', '--from=', '--platform=', 'AS ', 'ARG X=${X}', 'FROM ', '@sha256:', ':5000/', '#', ' \\\n', '\t', '\u0000', '\uFFFD', '[', ']', '=', '\r\n'];

export function mutate(corpus: string[], random: () => number): string {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  const roll = random();
  if (roll < 0.03) return Buffer.from(Array.from({ length: 1 + Math.floor(random() * 4096) }, () => Math.floor(random() * 256))).toString('latin1');
  if (roll < 0.05) return `FROM alpine\nRUN echo ${'x'.repeat(1_000_000)}\n`;
  if (roll < 0.07) return `FROM alpine\nRUN echo a ${' \\\n'.repeat(10_000)}b\n`;
  if (roll < 0.08) return `${'ARG A=${A}\n'.repeat(2000)}FROM \${A}\n`;
  let text = pick(corpus);
  const edits = 1 + Math.floor(random() * 6);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (text.length + 1));
    const kind = random();
    if (kind < 0.4) text = text.slice(0, at) + pick(tokens) + text.slice(at);
    else if (kind < 0.7) text = text.slice(0, at) + text.slice(at + Math.floor(random() * 40));
    else if (kind < 0.85) {
      const lines = text.split('\n');
      const line = Math.floor(random() * lines.length);
      lines.splice(line, 0, lines[Math.floor(random() * lines.length)] ?? '');
      text = lines.join('\n');
    } else text = text.slice(at) + text.slice(0, at);
  }
  return text;
}

/** Seeded pseudo-random text of `length` characters below `codeRange` (garbage inputs). */
export function randomText(length: number, seed: number, codeRange = 256): string {
  let state = seed;
  const chars: string[] = [];
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    chars.push(String.fromCharCode(state % codeRange));
  }
  return chars.join('');
}
