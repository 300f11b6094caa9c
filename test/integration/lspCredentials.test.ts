// A registry Docker has no credentials for: the server asks the editor (layerlift/credentials) —
// in the background for a stored answer only, during a command interactively — and repeats the
// command once with the answer. The password never appears in anything the server prints.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';
import { parseReference } from '../../server/src/core/reference';

const password = 'editor-secret-Qz81-pw';
let work: { path: string; remove: () => Promise<void> };
let upstream: Registry;
let team: Registry;
let fixture: FixtureImage;
let lsp: TestLspClient;
let uri: string;
const queries: { registry: string; interactive: boolean }[] = [];
const printed: string[] = [];
let answerWith: { username: string; password: string } | null = null;

before(async () => {
  work = await makeTempDir('lsp-creds');
  fixture = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'random', bytes: 300_000, seed: 'creds' }], tag: 'v1' });
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({ auth: 'htpasswd', users: { carol: password } });
  await seedImage(fixture.layoutDir, 'v1', upstream.host, 'library/base');
  const project = join(work.path, 'project');
  await mkdir(project);
  const text = `FROM ${upstream.host}/library/base:v1\n`;
  await writeFile(join(project, 'Dockerfile'), text);
  // HOME without a Docker config: Docker has no credentials for the team registry.
  lsp = await startLspClient({ rootPath: project, settings: { images: [{ dockerfile: 'Dockerfile', image: `${team.host}/team/app:1` }] }, initializationOptions: { credentialsPrompt: true } });
  lsp.connection.onRequest('layerlift/credentials', (query: { registry: string; interactive: boolean }) => {
    queries.push(query);
    return query.interactive ? answerWith : null;
  });
  for (const method of ['window/logMessage', 'window/showMessage', 'layerlift/buildOutput', '$/progress']) lsp.connection.onNotification(method, (params: unknown) => printed.push(JSON.stringify(params)));
  lsp.connection.onRequest('window/workDoneProgress/create', () => null);
  uri = await lsp.open(join(project, 'Dockerfile'), text);
});

after(async () => {
  await lsp?.stop();
  await upstream?.stop();
  await team?.stop();
  await work?.remove();
});

const prepush = () => lsp.connection.sendRequest('workspace/executeCommand', { command: 'layerlift.server.prepush', arguments: [uri, 0] });

describe('credentials from the editor', () => {
  test('background checks only ask for a stored answer, never interactively', async () => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !queries.some((q) => q.registry === team.host)) await new Promise((r) => setTimeout(r, 100));
    assert.ok(queries.some((q) => q.registry === team.host), `queries: ${JSON.stringify(queries)}`);
    assert.ok(queries.every((q) => !q.interactive));
  });

  test('a command refused for want of a login asks once, interactively; a cancelled prompt fails in one line', async () => {
    queries.length = 0;
    answerWith = null;
    await assert.rejects(prepush(), (error: Error) => {
      assert.doesNotMatch(error.message, /\n/);
      assert.match(error.message, /unauthorized|authentication required|docker login/i);
      return true;
    });
    assert.deepEqual(queries.filter((q) => q.interactive), [{ registry: team.host, interactive: true }]);
  });

  test('with the answer the command is repeated and succeeds; the password is never printed', async () => {
    queries.length = 0;
    answerWith = { username: 'carol', password };
    const result = (await prepush()) as { target?: string };
    assert.ok(result.target?.includes(`${team.host}/team/app`), JSON.stringify(result));
    assert.equal(queries.filter((q) => q.interactive).length, 1);
    // The team registry now holds the base (checked with the same login, from the test).
    const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'carol', password } }), insecureRegistries: [team.host] });
    try {
      const layer = fixture.manifest.layers[0];
      assert.ok(layer);
      assert.equal(await client.headBlob(parseReference(`${team.host}/team/app`), layer.digest), layer.size);
    } finally {
      await client.close();
    }
    const all = printed.join('\n');
    assert.ok(printed.length > 0);
    for (const secret of [password, Buffer.from(`carol:${password}`).toString('base64')]) assert.equal(all.includes(secret), false);
  });
});
