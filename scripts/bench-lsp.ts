// `npm run bench:lsp`: language-server latency and memory, measured from a plain LSP client over
// stdio (what an editor sees), against a real local registry with warm caches. A benchmark that
// prints figures and the goals beside them, not a timed test. `--json` for machine output.
//   goals: code lens + inlay hints median ≤ 10 ms and hover ≤ 5 ms on a 500-line Dockerfile;
//          server RSS ≤ 120 MB with 100 open Dockerfiles;
//          a 50k-file context scanned in ≤ 1.5 s and updated on a file change in ≤ 50 ms.
import { mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startRegistry } from '../test/bed/registry';
import { seedImage, writeFixtureImage } from '../test/bed/fixtures';
import { makeTempDir } from '../test/bed/process';
import { startLspClient } from '../test/lsp/lspClient';
import { ContextScanner } from '../server/src/context/contextScanner';

const json = process.argv.includes('--json');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Resident memory in MB (10^6 bytes, as the goal is stated). */
function rssMB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? (Number(match[1]) * 1024) / 1e6 : NaN;
}

/** A realistic 500-line multi-stage Dockerfile: ARGs, stages, COPY --from, RUN, ENV, heredoc. */
export function bigDockerfile(registry: string, lines = 500): string {
  const out = [`ARG REGISTRY=${registry}`, 'ARG TAG=v1', 'FROM ${REGISTRY}/library/base:${TAG} AS build', 'WORKDIR /src'];
  let i = 0;
  while (out.length < lines - 6) {
    i++;
    out.push(`ENV STEP_${i}=value-${i}`, `COPY file-${i % 20}.txt /src/step-${i}/`, `RUN echo step ${i} \\`, `    && echo more ${i} > /tmp/out-${i}`);
  }
  out.push('FROM ${REGISTRY}/library/base:${TAG}', 'COPY --from=build /src /app', 'RUN <<EOF', 'echo done', 'EOF', 'CMD ["/bin/sh"]');
  return out.slice(0, lines).join('\n');
}

async function main(): Promise<void> {
  const work = await makeTempDir('bench-lsp');
  const registry = await startRegistry({ auth: 'none' });
  const results: Record<string, number> = {};
  try {
    const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 2_000_000, seed: 'bench-lsp' }], tag: 'v1' });
    await seedImage(base.layoutDir, 'v1', registry.host, 'library/base');
    const project = join(work.path, 'project');
    await mkdir(project);
    for (let f = 0; f < 20; f++) await writeFile(join(project, `file-${f}.txt`), `content ${f}\n`.repeat(200));
    const text = bigDockerfile(registry.host);
    await writeFile(join(project, 'Dockerfile'), text);
    const lsp = await startLspClient({ rootPath: project, settings: { images: [{ dockerfile: 'Dockerfile*', image: `${registry.host}/team/app:latest` }] } });
    try {
      const uri = await lsp.open(join(project, 'Dockerfile'), text);
      // Warm: wait until the lens knows the base's size (registry facts cached).
      for (let i = 0; i < 200; i++) {
        const lenses = await lsp.connection.sendRequest<{ command?: { title: string } }[]>('textDocument/codeLens', { textDocument: { uri } });
        if (lenses.some((l) => /layers/.test(l.command?.title ?? '') && !/checking/.test(l.command?.title ?? ''))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const lensAndHints: number[] = [];
      const hovers: number[] = [];
      const lineCount = text.split('\n').length;
      for (let round = 0; round < 60; round++) {
        let start = performance.now();
        await Promise.all([
          lsp.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } }),
          lsp.connection.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: lineCount, character: 0 } } }),
        ]);
        lensAndHints.push(performance.now() - start);
        start = performance.now();
        await lsp.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: (round * 7) % lineCount, character: 2 } });
        hovers.push(performance.now() - start);
      }
      results.lensAndHintsMedianMs = median(lensAndHints.slice(10));
      results.hoverMedianMs = median(hovers.slice(10));
      // Memory: 100 open Dockerfiles of 500 lines.
      for (let d = 0; d < 100; d++) {
        const path = join(project, `Dockerfile.${d}`);
        await lsp.connection.sendNotification('textDocument/didOpen', { textDocument: { uri: pathToFileURL(path).toString(), languageId: 'dockerfile', version: 1, text: bigDockerfile(registry.host).replace('step', `step${d}`) } });
      }
      await lsp.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 2, character: 6 } });
      await new Promise((r) => setTimeout(r, 1500));
      results.serverRssMB100Docs = rssMB(lsp.process.pid ?? 0);
    } finally {
      await lsp.stop();
    }
    // Context scanning: 50k files.
    const tree = join(work.path, 'tree');
    for (let d = 0; d < 250; d++) {
      const dir = join(tree, `pkg-${d}`, 'src');
      await mkdir(dir, { recursive: true });
      await Promise.all(Array.from({ length: 200 }, (_, f) => writeFile(join(dir, `f${f}.js`), `module.exports = ${d * 1000 + f};\n`)));
    }
    const scanner = new ContextScanner(tree);
    let start = performance.now();
    await scanner.scan();
    results.contextScan50kMs = performance.now() - start;
    await writeFile(join(tree, 'pkg-7', 'src', 'f3.js'), 'changed\n'.repeat(100));
    start = performance.now();
    await scanner.fileChanged('pkg-7/src/f3.js');
    results.contextUpdateMs = performance.now() - start;
  } finally {
    await registry.stop();
    await work.remove();
  }
  const goals = { lensAndHintsMedianMs: 10, hoverMedianMs: 5, serverRssMB100Docs: 120, contextScan50kMs: 1500, contextUpdateMs: 50 };
  if (json) {
    console.log(JSON.stringify({ results, goals }, null, 2));
    return;
  }
  console.log(`Language server benchmark (${new Date().toISOString()}, ${process.version})`);
  for (const [key, goal] of Object.entries(goals)) {
    const value = results[key] ?? NaN;
    console.log(`  ${key.padEnd(22)} ${value.toFixed(2).padStart(9)}   goal ≤ ${goal}   ${value <= goal ? 'met' : 'MISSED'}`);
  }
}

if (require.main === module) main().catch((error: unknown) => {
  console.error(`bench-lsp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
