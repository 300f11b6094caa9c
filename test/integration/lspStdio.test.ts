// The language server driven over stdio by a plain LSP client, against real registries:
// the FROM lens shows the base's size, and the hover says whether the target holds its layers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CodeLens, Hover, InlayHint } from 'vscode-languageserver-protocol';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { copyImage } from '../../server/src/copy/copyImage';
import { parseReference } from '../../server/src/core/reference';

let work: { path: string; remove: () => Promise<void> };
let upstream: Registry;
let team: Registry;
let fixture: FixtureImage;
let lsp: TestLspClient;
let uri: string;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

const lenses = () => lsp.connection.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
const hoverAt = (line: number) => lsp.connection.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character: 6 } });
const hoverText = (h: Hover | null) => (h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '');

before(async () => {
  work = await makeTempDir('lsp');
  fixture = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 3_000_000, seed: 'lsp-base' }], tag: 'v1' });
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({ auth: 'none' });
  await seedImage(fixture.layoutDir, 'v1', upstream.host, 'library/base');
  const project = join(work.path, 'project');
  await mkdir(project);
  await writeFile(join(project, 'app.txt'), 'hello layerlift\n'.repeat(5000));
  const dockerfile = [`ARG REGISTRY=${upstream.host}`, 'ARG TAG=v1', 'FROM ${REGISTRY}/library/base:${TAG:-latest} AS base', 'COPY app.txt /app/', 'RUN echo built > /built', ''].join('\n');
  await writeFile(join(project, 'Dockerfile'), dockerfile);
  lsp = await startLspClient({ rootPath: project, settings: { images: [{ dockerfile: 'Dockerfile', image: `${team.host}/team/app:latest` }] } });
  uri = await lsp.open(join(project, 'Dockerfile'), dockerfile);
});
after(async () => {
  await lsp?.stop();
  await upstream?.stop();
  await team?.stop();
  await work?.remove();
});

describe('language server over stdio', () => {
  test('the FROM lens shows the resolved base, its layer count and size', async () => {
    const title = await until('a sized lens', async () => {
      const found = (await lenses()).find((l) => l.range.start.line === 2 && /layers/.test(l.command?.title ?? ''));
      return found && !/checking/.test(found.command?.title ?? '') ? found.command?.title : undefined;
    });
    const total = fixture.layers.reduce((s, l) => s + l.size, 0);
    assert.match(title, new RegExp(`^${upstream.host.replace(/\./g, '\\.')}/library/base:v1 · 2 layers · ${(total / 1e6).toFixed(1)} MB · 0/2 in ${team.host.replace(/\./g, '\\.')}/team/app`));
    assert.ok(lsp.refreshes() > 0, 'the server asked the client to refresh once registry facts arrived');
    const actions = (await lenses()).filter((l) => l.range.start.line === 2).map((l) => l.command?.title);
    assert.ok(actions.includes('Pre-push base'), JSON.stringify(actions));
    assert.ok(actions.includes('Build & push'), JSON.stringify(actions));
  });

  test('hover: the base is not in the target registry yet', async () => {
    const text = hoverText(await hoverAt(2));
    assert.match(text, /will upload/);
    assert.doesNotMatch(text, /already in registry/);
    assert.match(text, new RegExp(`\`${fixture.layers[1]?.digest.slice(7, 19)}\``));
  });

  test('after the base is copied to the target, the hover says it is already there', async () => {
    const client = new RegistryClient();
    try {
      await copyImage(client, parseReference(`${upstream.host}/library/base:v1`), parseReference(`${team.host}/team/app:base`));
    } finally {
      await client.close();
    }
    await lsp.connection.sendRequest('workspace/executeCommand', { command: 'layerlift.server.refreshRegistryState', arguments: [] });
    const text = await until('an "already in registry" hover', async () => {
      const value = hoverText(await hoverAt(2));
      return /already in registry/.test(value) && !/will upload|checking/.test(value) ? value : undefined;
    });
    assert.match(text, new RegExp(`already in registry ${team.host.replace(/\./g, '\\.')}/team/app \\(checked`));
    const title = (await lenses()).find((l) => l.range.start.line === 2)?.command?.title ?? '';
    assert.match(title, /· 2\/2 in /);
  });

  test('inlay hints: the COPY layer is estimated from the build context, RUN waits for a build', async () => {
    const hints = await lsp.connection.sendRequest<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } } });
    const byLine = new Map(hints.map((h) => [h.position.line, typeof h.label === 'string' ? h.label : '']));
    // app.txt is 80 kB of one repeated line: it compresses to a few hundred bytes.
    assert.match(byLine.get(3) ?? '', /^~\d+ B est\.$/);
    const tooltip = hints.find((h) => h.position.line === 3)?.tooltip;
    assert.match(typeof tooltip === 'string' ? tooltip : '', /80\.\d kB uncompressed/);
    assert.equal(byLine.get(4), '? until built');
    assert.equal(byLine.get(2), '✓ in registry');
  });

  test('a file change in the build context updates the COPY estimate', async () => {
    const { randomBytes } = await import('node:crypto');
    await writeFile(join(work.path, 'project', 'app.txt'), randomBytes(300_000));
    await lsp.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(join(work.path, 'project', 'app.txt')).toString(), type: 2 }] });
    const label = await until('an updated COPY hint', async () => {
      const hints = await lsp.connection.sendRequest<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } } });
      const hint = hints.find((h) => h.position.line === 3);
      const text = typeof hint?.label === 'string' ? hint.label : '';
      return /kB est\./.test(text) ? text : undefined;
    });
    // 300 kB of random bytes do not compress: the estimate follows the file.
    assert.match(label, /^~30\d kB est\.$/);
  });

  test('offline: a registry nobody answers shows as unreachable, and requests still answer at once', async () => {
    const path = join(work.path, 'project', 'Dockerfile.offline');
    const text = 'FROM 127.0.0.1:9/team/base:1\nRUN true\n';
    await writeFile(path, text);
    const offlineUri = await lsp.open(path, text);
    const title = await until('an offline lens', async () => {
      const found = (await lsp.connection.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: offlineUri } }))[0]?.command?.title ?? '';
      return /offline/.test(found) ? found : undefined;
    });
    assert.equal(title, '127.0.0.1:9/team/base:1 · registry unreachable (offline)');
    const hover = await lsp.connection.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri: offlineUri }, position: { line: 0, character: 6 } });
    assert.match(hoverText(hover), /unreachable \(offline\)/);
  });

  test('an unresolvable FROM is a diagnostic with its line, and the server keeps answering', async () => {
    const bad = join(work.path, 'project', 'Dockerfile.bad');
    const text = 'ARG EMPTY\nFROM ${EMPTY}\nRUN true\n';
    await writeFile(bad, text);
    const badUri = await lsp.open(bad, text);
    const diagnostics = await until('diagnostics', () => Promise.resolve(lsp.diagnostics(badUri)?.diagnostics.find((d) => d.severity === 1)));
    assert.equal(diagnostics.range.start.line, 1);
    assert.ok(diagnostics.message.length > 0 && !diagnostics.message.includes('\n'));
    assert.ok(Array.isArray(await lenses()));
  });
});
