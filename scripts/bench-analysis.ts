// `npm run bench:analysis`: how long analyzeDockerfile takes on big and hostile inputs, and
// whether it stays linear. A benchmark that prints figures beside their goals (speed is
// measured here, not asserted in unit tests).
import { analyzeDockerfile } from '../server/src/analysis/analyzeDockerfile';
import type { AnalyzeOptions } from '../server/src/analysis/types';
import { randomText } from '../test/lsp/mutate';


/** Fastest of a few runs, in milliseconds, after a warm-up. */
function fastest(text: string, runs = 5, options?: AnalyzeOptions): number {
  analyzeDockerfile(text, options);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    analyzeDockerfile(text, options);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}


const rows: [string, number, string][] = [];
  const block = (i: number): string =>
    [
      `FROM alpine:3.19 AS stage${i}`,
      'ARG VERSION=1.0',
      'ENV APP_HOME=/srv/app PATH=/srv/app/bin:$PATH',
      'RUN apk add --no-cache curl git \\',
      '    && adduser -D app',
      `COPY --from=stage${Math.max(0, i - 1)} --chown=app:app /srv/\${VERSION} \${APP_HOME}/`,
      `RUN --mount=type=cache,target=/root/.cache,from=stage${Math.max(0, i - 1)} make build`,
      '',
    ].join('\n');
  const fiveHundred = `ARG BASE=alpine\n${Array.from({ length: 72 }, (_, i) => block(i)).join('')}`;

  for (let i = 0; i < 50; i++) analyzeDockerfile(fiveHundred);
  rows.push([`${fiveHundred.split('\n').length}-line Dockerfile (ms, warm)`, fastest(fiveHundred, 20), '< 5']);

  const megabyte: [string, string][] = [
    ['RUN', `FROM alpine\nRUN ${'apt-get install -y pkg && '.repeat(40_000)}\n`],
    ['FROM', `FROM ${'x'.repeat(1 << 20)}\n`],
    ['heredoc body', `FROM alpine\nRUN <<EOF\n${'FROM evil\n'.repeat(100_000)}EOF\n`],
    ['quoted COPY source', `FROM alpine\nCOPY "${'a'.repeat(1 << 20)}" /x\n`],
  ];
  for (const [name, text] of megabyte) {
    rows.push([`megabyte ${name} (ms)`, fastest(text, 3), '< 50']);
  }

  // Quadratic behaviour shows as 16x the time for 4x the input; linear as 4x.
  const growth: [string, (n: number) => string][] = [
    ['stages referencing stages', (n) => `FROM a AS s0\n${Array.from({ length: n }, (_, i) => `FROM s${i} AS s${i + 1}\nCOPY --from=s${i} / /\n`).join('')}`],
    ['continuation lines', (n) => `FROM a\nRUN a \\\n${'b \\\n'.repeat(n * 4)}c\n`],
    ['heredoc lines', (n) => `FROM a\nRUN <<EOF\n${'RUN x\n'.repeat(n * 4)}EOF\n`],
    ['ENV pairs on one line', (n) => `FROM a\nENV ${'A=${A}x '.repeat(n)}\n`],
    ['quoted ARG words', (n) => `ARG ${'A="b c" '.repeat(n)}\nFROM a\n`],
    ['flags', (n) => `FROM a\nCOPY ${'--x=1 '.repeat(n)} a b\n`],
    ['heredoc openers on one line', (n) => `FROM a\nRUN ${'a<<b '.repeat(n)}\n`],
    ['blanks after <<', (n) => `FROM a\nRUN <<${' '.repeat(n * 20)}x<\n`],
    ['mount fields', (n) => `FROM a\nRUN --mount=${'a=1,'.repeat(n)}from=b x\n`],
    ['garbage', (n) => randomText(n * 40, 3)],
  ];
  for (const [name, generate] of growth) {
    const ratio = fastest(generate(8_000), 3) / Math.max(fastest(generate(2_000), 3), 0.05);
    rows.push([`4x input, time ratio: ${name}`, ratio, '< 10 (linear ~4)']);
  }


for (const [name, value, goal] of rows) console.log(`${name.padEnd(52)} ${value.toFixed(2).padStart(8)}   goal ${goal}`);
