// After a build, the language server shows real layers: sizes from the engine's history mapped to
// the Dockerfile's lines, and whether the target registry already has each built layer.
// Real parts: a private dockerd, a Distribution registry, the server over stdio.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hover, InlayHint } from 'vscode-languageserver-protocol';
import { startRegistry, type Registry } from '../bed/registry';
import { buildImage, docker, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';

let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let registry: Registry;
let lsp: TestLspClient;
let uri: string;
let project: string;
let target: string;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function hintsByLine(): Promise<Map<number, string>> {
  const hints = await lsp.connection.sendRequest<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 20, character: 0 } } });
  return new Map(hints.map((h) => [h.position.line, typeof h.label === 'string' ? h.label : '']));
}

before(async () => {
  work = await makeTempDir('lsp-built');
  engine = await startDockerEngine();
  registry = await startRegistry({ auth: 'none' });
  const base = `${registry.host}/library/base:v1`;
  await importBusyboxImage(engine, base);
  await docker(engine, ['push', base]);
  project = join(work.path, 'project');
  await mkdir(project);
  await writeFile(join(project, 'app.txt'), 'layerlift '.repeat(20_000));
  const dockerfile = [`FROM ${base}`, 'COPY app.txt /app/', 'RUN head -c 300000 /dev/zero > /zeros', ''].join('\n');
  await writeFile(join(project, 'Dockerfile'), dockerfile);
  target = `${registry.host}/team/app:latest`;
  await buildImage(engine, project, target);
  lsp = await startLspClient({ rootPath: project, settings: { images: [{ dockerfile: 'Dockerfile', image: target }] }, env: { DOCKER_HOST: engine.host } });
  uri = await lsp.open(join(project, 'Dockerfile'), dockerfile);
});
after(async () => {
  await lsp?.stop();
  await registry?.stop();
  await engine?.stop();
  await work?.remove();
});

describe('after a build', () => {
  test('layer lines show the built sizes; not yet in the registry, so they would upload', async () => {
    const hints = await until('built-layer hints', async () => {
      const byLine = await hintsByLine();
      return /↑/.test(byLine.get(2) ?? '') ? byLine : undefined;
    });
    assert.match(hints.get(1) ?? '', /^\+[\d.]+ k?B ↑$/);
    assert.match(hints.get(2) ?? '', /^\+[\d.]+ k?B ↑$/);
    const hover = await lsp.connection.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 2, character: 2 } });
    const text = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    // RUN wrote 300 000 bytes: docker history says so, and so do we.
    assert.match(text, /\| RUN \| [^|]+ \| 300 kB \| built; will upload \|/);
  });

  test('after docker push, the same layers are "✓ in registry"', async () => {
    await docker(engine, ['push', target]);
    await lsp.connection.sendRequest('workspace/executeCommand', { command: 'layerlift.server.refreshRegistryState', arguments: [] });
    const hints = await until('in-registry hints', async () => {
      const byLine = await hintsByLine();
      return byLine.get(1) === '✓ in registry' && byLine.get(2) === '✓ in registry' ? byLine : undefined;
    });
    assert.equal(hints.get(0), '✓ in registry');
    const hover = await lsp.connection.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 6 } });
    const text = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    assert.match(text, /would upload 0 B of /);
  });
  test('server commands: plan and push with work-done progress (after the docker push, nothing is left to send)', async () => {
    const plan = await lsp.connection.sendRequest<{ plan: { layers: { action: string }[] }; text: string }>('workspace/executeCommand', { command: 'layerlift.server.plan', arguments: [uri] });
    assert.match(plan.text, /^Push plan for .*team\/app:latest:\n/);
    assert.deepEqual(plan.plan.layers.map((l) => l.action), ['exists', 'exists', 'exists']);
    const progress: string[] = [];
    const disposable = lsp.connection.onNotification('$/progress', (params: { token: string; value: { kind: string } }) => {
      if (params.token === 'push-1') progress.push(params.value.kind);
    });
    const result = await lsp.connection.sendRequest<{ digest: string; bytesUploaded: number; summary: string }>('workspace/executeCommand', { command: 'layerlift.server.push', arguments: [uri], workDoneToken: 'push-1' });
    assert.match(result.summary, /^Pushed .*team\/app:latest@sha256:[0-9a-f]{64} by the engine — uploaded 0 B of .*\(3 of 3 layers already in the registry\)/);
    disposable.dispose();
    assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.bytesUploaded, 0);
    assert.equal(progress[0], 'begin');
    assert.equal(progress.at(-1), 'end');
    await docker(engine, ['rmi', target]);
    await docker(engine, ['pull', target]);
  });

});
