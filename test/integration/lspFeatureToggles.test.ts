// The built language server honours layerlift.codeLens.enabled, .inlayHints.enabled and
// .hover.enabled: the same Dockerfile gets lenses, hints and a hover with the defaults and
// none of them when each is set to false. No registry is needed: the base names a closed port.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodeLens, Hover, InlayHint } from 'vscode-languageserver-protocol';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';

const dockerfile = ['FROM 127.0.0.1:9/base:1', 'COPY app.txt /app/', 'RUN true', ''].join('\n');
let work: { path: string; remove: () => Promise<void> };
const clients: TestLspClient[] = [];

async function openWith(settings: unknown): Promise<{ lsp: TestLspClient; uri: string }> {
  const project = join(work.path, `p${clients.length}`);
  await mkdir(project);
  await writeFile(join(project, 'app.txt'), 'hello\n'.repeat(1000));
  await writeFile(join(project, 'Dockerfile'), dockerfile);
  const lsp = await startLspClient({ rootPath: project, settings });
  clients.push(lsp);
  return { lsp, uri: await lsp.open(join(project, 'Dockerfile'), dockerfile) };
}

async function features(lsp: TestLspClient, uri: string) {
  const textDocument = { uri };
  const range = { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } };
  return {
    lenses: await lsp.connection.sendRequest<CodeLens[] | null>('textDocument/codeLens', { textDocument }),
    hints: await lsp.connection.sendRequest<InlayHint[] | null>('textDocument/inlayHint', { textDocument, range }),
    hover: await lsp.connection.sendRequest<Hover | null>('textDocument/hover', { textDocument, position: { line: 1, character: 2 } }),
  };
}

before(async () => {
  work = await makeTempDir('lsp-toggles');
});
after(async () => {
  for (const lsp of clients) await lsp.stop();
  await work?.remove();
});

test('defaults: lenses, inlay hints and hover all answer', async () => {
  const { lsp, uri } = await openWith({ images: [{ dockerfile: 'Dockerfile', image: '127.0.0.1:9/team/app:1' }] });
  const deadline = Date.now() + 10_000;
  let got = await features(lsp, uri);
  // COPY estimates arrive once the context scan is done.
  while ((got.hints ?? []).length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = await features(lsp, uri);
  }
  assert.ok((got.lenses ?? []).length > 0, 'lenses');
  assert.ok((got.hints ?? []).length > 0, 'inlay hints');
  assert.notEqual(got.hover, null, 'hover');
});

test('each setting false: that feature answers nothing, the others still answer', async () => {
  const images = [{ dockerfile: 'Dockerfile', image: '127.0.0.1:9/team/app:1' }];
  const { lsp, uri } = await openWith({ images, codeLens: { enabled: false }, inlayHints: { enabled: false }, hover: { enabled: false } });
  await new Promise((r) => setTimeout(r, 1500));
  const off = await features(lsp, uri);
  assert.deepEqual(off.lenses, []);
  assert.deepEqual(off.hints, []);
  assert.equal(off.hover, null);
  const onlyHover = await openWith({ images, codeLens: { enabled: false }, inlayHints: { enabled: false } });
  // Settings load right after didOpen (workspace/configuration); until then the defaults apply.
  await new Promise((r) => setTimeout(r, 1500));
  const got = await features(onlyHover.lsp, onlyHover.uri);
  assert.deepEqual(got.lenses, []);
  assert.notEqual(got.hover, null);
});
