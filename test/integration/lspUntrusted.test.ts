// An untrusted workspace (VS Code's workspace trust, sent as initializationOptions): the server
// analyses the Dockerfile but makes no registry request, never connects to the engine and runs no
// runner — until the user trusts the workspace. The registry sits behind a counting proxy, and
// DOCKER_HOST is a socket of the test's own that counts connections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodeLens } from 'vscode-languageserver-protocol';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let proxy: FaultProxy;
let engineSocket: Server;
let engineConnections = 0;
let lsp: TestLspClient;
let uri: string;
let marker: string;

const lensTitles = async () => (await lsp.connection.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } })).map((l) => l.command?.title ?? '');

before(async () => {
  work = await makeTempDir('untrusted');
  const fixture = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'random', bytes: 200_000, seed: 'untrusted' }], tag: 'v1' });
  registry = await startRegistry({ auth: 'none' });
  await seedImage(fixture.layoutDir, 'v1', registry.host, 'library/base');
  proxy = await startFaultProxy(registry.url);
  const socketPath = join(work.path, 'engine.sock');
  engineSocket = createServer((socket) => {
    engineConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => engineSocket.listen(socketPath, resolve));
  const project = join(work.path, 'project');
  await mkdir(project);
  marker = join(work.path, 'runner-ran');
  const text = `FROM ${proxy.host}/library/base:v1\nCOPY . /app\n`;
  await writeFile(join(project, 'Dockerfile'), text);
  const settings = {
    images: [{ dockerfile: 'Dockerfile', image: `${proxy.host}/team/app:1` }],
    prepush: { strategy: 'runner', runner: `touch ${marker}` },
  };
  lsp = await startLspClient({ rootPath: project, settings, env: { DOCKER_HOST: `unix://${socketPath}` }, initializationOptions: { trusted: false } });
  uri = await lsp.open(join(project, 'Dockerfile'), text);
});

after(async () => {
  await lsp?.stop();
  await proxy?.stop();
  await registry?.stop();
  await new Promise((resolve) => engineSocket?.close(resolve));
  await work?.remove();
});

describe('untrusted workspace', () => {
  test('the FROM lens says the registry is not checked, and no request reaches the registry or the engine', async () => {
    // Several rounds of requests and time for background work that must not happen.
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await lensTitles(), [`${proxy.host}/library/base:v1 · registry not checked (workspace not trusted)`]);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(proxy.stats().requests, 0);
    assert.equal(engineConnections, 0);
  });

  test('build, pre-push and push refuse in one line, and the runner never runs', async () => {
    for (const command of ['layerlift.server.build', 'layerlift.server.prepush', 'layerlift.server.push', 'layerlift.server.plan']) {
      await assert.rejects(lsp.connection.sendRequest('workspace/executeCommand', { command, arguments: [uri, 0] }), (error: Error) => {
        assert.equal(error.message, 'this workspace is not trusted: Layerlift only analyses its Dockerfiles (trust the workspace to build, pre-push or push)');
        return true;
      });
    }
    await assert.rejects(access(marker));
    assert.equal(proxy.stats().requests, 0);
    assert.equal(engineConnections, 0);
  });

  test('once trusted, the registry is checked and the lens shows the base', async () => {
    await lsp.connection.sendNotification('layerlift/workspaceTrusted');
    const deadline = Date.now() + 10_000;
    let titles: string[] = [];
    while (Date.now() < deadline) {
      titles = await lensTitles();
      if (titles[0]?.includes('1 layer') && !titles[0].includes('checking')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(titles[0] ?? '', /library\/base:v1 · 1 layer · 20\d(\.\d)? kB · 0\/1 in [^ ]+\/team\/app, 1 mountable$/);
    assert.ok(proxy.stats().requests > 0);
  });
});
