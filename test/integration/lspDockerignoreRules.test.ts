// The language server's COPY estimate reads the build context under the .dockerignore walk rules
// of the builder docker would use (issue 14): the built server over stdio, once with
// DOCKER_BUILDKIT=0 (the legacy builder) and once with DOCKER_BUILDKIT=1 (BuildKit). With
// `big` + `!**/keep.txt` and `**/node_modules` + `!**/node_modules/keep`, BuildKit's walker
// enters the excluded directories and sends the two keep files; the legacy walker does not.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InlayHint } from 'vscode-languageserver-protocol';
import { makeTempDir } from '../bed/process';
import { startLspClient } from '../lsp/lspClient';

let work: { path: string; remove: () => Promise<void> };
let project: string;
const DOCKERFILE = 'FROM scratch\nCOPY . /ctx\n';

before(async () => {
  work = await makeTempDir('lsp-dockerignore');
  project = join(work.path, 'project');
  const files: Record<string, number> = { 'app.txt': 1_000, 'big/junk.bin': 700_000, 'big/x/keep.txt': 30_000, 'web/node_modules/keep': 50_000, 'web/node_modules/pad/index.js': 900_000 };
  for (const [path, size] of Object.entries(files)) {
    await mkdir(join(project, path, '..'), { recursive: true });
    await writeFile(join(project, path), 'k'.repeat(size));
  }
  await writeFile(join(project, '.dockerignore'), 'big\n!**/keep.txt\n**/node_modules\n!**/node_modules/keep\nDockerfile\n.dockerignore\n');
  await writeFile(join(project, 'Dockerfile'), DOCKERFILE);
});
after(async () => {
  await work?.remove();
});

/** The COPY line's inlay hint tooltip once the context is scanned: "… N kB uncompressed …" (never 0 B here). */
async function copyTooltip(env: NodeJS.ProcessEnv): Promise<string> {
  const lsp = await startLspClient({ rootPath: project, settings: {}, env });
  try {
    const uri = await lsp.open(join(project, 'Dockerfile'), DOCKERFILE);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const hints = await lsp.connection.sendRequest<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 5, character: 0 } } });
      const tooltip = hints.find((h) => h.position.line === 1)?.tooltip;
      const text = typeof tooltip === 'string' ? tooltip : (tooltip?.value ?? '');
      // Before the scan lands the snapshot is empty (0 B): wait for the scanned figure.
      if (/uncompressed/.test(text) && !/\b0 B uncompressed/.test(text)) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no COPY estimate within 15 s');
  } finally {
    await lsp.stop();
  }
}

void describe('language server: COPY estimate under the builder’s .dockerignore rules', () => {
  void test('DOCKER_BUILDKIT=0: the legacy walker never enters big/ or node_modules/ (1.0 kB)', async () => {
    assert.match(await copyTooltip({ DOCKER_BUILDKIT: '0' }), /\b1\.0 kB uncompressed/);
  });

  void test('DOCKER_BUILDKIT=1: BuildKit sends big/x/keep.txt and web/node_modules/keep (81.0 kB)', async () => {
    assert.match(await copyTooltip({ DOCKER_BUILDKIT: '1' }), /\b81\.0 kB uncompressed/);
  });
});
