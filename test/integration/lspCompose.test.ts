// The language server takes a Dockerfile's target image from the workspace's Compose file when
// `layerlift.images` names none (issue 12 §3), and its hover says so. Over stdio, against a real
// registry holding the base.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hover } from 'vscode-languageserver-protocol';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let lsp: TestLspClient;

before(async () => {
  work = await makeTempDir('lsp-compose');
  registry = await startRegistry({ auth: 'none' });
  const fixture = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'random', bytes: 200_000, seed: 'lsp-compose' }], tag: '1' });
  await seedImage(fixture.layoutDir, '1', registry.host, 'library/base');
  const project = join(work.path, 'project');
  await mkdir(join(project, 'api'), { recursive: true });
  await writeFile(join(project, '.env'), `REGISTRY=${registry.host}\n`);
  await writeFile(join(project, 'compose.yaml'), ['services:', '  api:', '    image: ${REGISTRY}/shop/api:${TAG:-2}', '    build:', '      context: api', '      args:', `        BASE: ${registry.host}/library/base:1`, '  db:', '    image: postgres:16', ''].join('\n'));
  lsp = await startLspClient({ rootPath: project, settings: {} });
});
after(async () => {
  await lsp?.stop();
  await registry?.stop();
  await work?.remove();
});

describe('a target from the Compose file', () => {
  test('the service that builds this Dockerfile names its target; the hover says where it came from', async () => {
    const text = 'ARG BASE\nFROM ${BASE}\nCOPY . /app\n';
    const path = join(work.path, 'project', 'api', 'Dockerfile');
    await writeFile(path, text);
    const uri = await lsp.open(path, text);
    const deadline = Date.now() + 15_000;
    let value = '';
    while (Date.now() < deadline) {
      const hover = await lsp.connection.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 7 } });
      value = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
      if (/A push to/.test(value)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The build arg from the Compose file resolved the FROM; the image named the target.
    assert.match(value, new RegExp(`library/base:1`));
    assert.match(value, new RegExp(`A push to \`${registry.host.replace(/\./g, '\\.')}/shop/api:2\``));
    assert.match(value, /The target comes from compose\.yaml \(service api\)\./);
  });
});
