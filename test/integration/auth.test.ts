// Registry authentication against the real Distribution registry in token mode and the test
// bed's token server: identity (refresh) tokens, registrytoken credentials, a cached token the
// registry no longer accepts, a token widened after insufficient_scope, and a Docker credential
// helper run end to end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startRegistry, type Registry } from '../bed/registry';
import type { TokenServer } from '../bed/tokenServer';
import { makeTempDir } from '../bed/process';
import { RegistryClient, pullScope, sessionFrom, type RepositoryRef } from '../../server/src/registry/registryClient';
import { uploadBlob } from '../../server/src/registry/blobUpload';
import { dockerConfigCredentials, staticCredentials } from '../../server/src/registry/credentials';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function bufferSource(data: Buffer) {
  return { digest: sha256(data), size: data.length, description: 'memory', open: (offset: number) => Promise.resolve(Readable.from([data.subarray(offset)])) };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Pushes `data` as a blob and reads it back, verified. */
async function pushAndPull(client: RegistryClient, repo: RepositoryRef, data: Buffer): Promise<void> {
  await uploadBlob(client, repo, bufferSource(data));
  assert.equal(await client.headBlob(repo, sha256(data)), data.length);
  assert.deepEqual(await readAll(await client.openBlob(repo, sha256(data), { size: data.length })), data);
}

/** Distribution 2.8 accepts a token up to 60 s past its `exp` (token.go: Leeway). */
const REGISTRY_EXP_LEEWAY_SECONDS = 60;

describe('token registry authentication', () => {
  const password = 'alice-pw-Kx93-secret';
  let registry: Registry;
  let tokens: TokenServer;
  before(async () => {
    registry = await startRegistry({ auth: 'token', users: { alice: password } });
    assert.ok(registry.tokenServer);
    tokens = registry.tokenServer;
  });
  after(async () => {
    await registry.stop();
  });
  const repo = (repository: string): RepositoryRef => ({ registry: registry.host, repository });

  test('an identity token is exchanged with grant_type=refresh_token; the password is never sent', async () => {
    // What `docker login` does against an OAuth2 token server: a password grant with access_type=offline.
    const form = new URLSearchParams({
      grant_type: 'password',
      access_type: 'offline',
      client_id: 'layerlift-test',
      username: 'alice',
      password,
      service: tokens.service,
      scope: 'repository:team/identity:pull',
    });
    const res = await request(tokens.realm, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { refresh_token?: unknown };
    assert.equal(typeof body.refresh_token, 'string');
    const identityToken = body.refresh_token as string;

    tokens.requests.length = 0;
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { identityToken } }) });
    try {
      await pushAndPull(client, repo('team/identity'), Buffer.from('pushed with an identity token'));
    } finally {
      await client.close();
    }
    assert.ok(tokens.requests.length > 0);
    const refreshGrants = tokens.requests.filter((r) => r.method === 'POST' && r.grantType === 'refresh_token');
    assert.ok(refreshGrants.length > 0, JSON.stringify(tokens.requests));
    assert.ok(refreshGrants.every((r) => r.refreshTokenGiven && r.account === 'alice' && r.status === 200));
    assert.ok(refreshGrants.some((r) => r.scopes.includes('repository:team/identity:pull,push')), JSON.stringify(refreshGrants.map((r) => r.scopes)));
    for (const r of tokens.requests) {
      assert.equal(r.passwordGiven, false, 'no password may be sent');
      assert.equal(r.basicAuth, false, 'no Basic credentials may be sent');
      assert.equal(r.grantType, 'refresh_token');
    }
  });

  test('a registrytoken credential is sent as the Bearer token, with no token server round trip', async () => {
    const scope = 'repository:team/regtoken:pull,push';
    const res = await request(`${tokens.realm}?${new URLSearchParams({ service: tokens.service, scope }).toString()}`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` },
    });
    assert.equal(res.statusCode, 200);
    const { token } = (await res.body.json()) as { token: string };

    tokens.requests.length = 0;
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { registryToken: token } }) });
    try {
      // Token mode accepts nothing but a valid Bearer token: success is the proof.
      await pushAndPull(client, repo('team/regtoken'), Buffer.from('pushed with a registry token'));
    } finally {
      await client.close();
    }
    assert.deepEqual(tokens.requests, []);
  });

  test('a registrytoken the registry refuses is UNAUTHORIZED, with no anonymous token fetched', async () => {
    const scope = 'repository:team/regtoken:pull';
    tokens.backdateSeconds = 3600; // already past exp + leeway when issued
    let token: string;
    try {
      const res = await request(`${tokens.realm}?${new URLSearchParams({ service: tokens.service, scope }).toString()}`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` },
      });
      token = ((await res.body.json()) as { token: string }).token;
    } finally {
      tokens.backdateSeconds = 0;
    }
    tokens.requests.length = 0;
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { registryToken: token } }) });
    try {
      await assert.rejects(client.headManifest(repo('team/regtoken'), 'latest'), { code: 'UNAUTHORIZED' });
    } finally {
      await client.close();
    }
    assert.deepEqual(tokens.requests, []);
  });

  test('a cached token the registry no longer accepts is replaced, and the request succeeds', async () => {
    const target = repo('team/expiry');
    const data = Buffer.from('blob behind an expiring token');
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password } }) });
    const margin = 4;
    try {
      // The token claims 300 s (so the client caches it), but its `exp` as the registry sees it
      // (leeway included) is only `margin` seconds away.
      tokens.expiresInSeconds = 300;
      tokens.backdateSeconds = 300 + REGISTRY_EXP_LEEWAY_SECONDS - margin;
      const issued = Date.now();
      tokens.requests.length = 0;
      await uploadBlob(client, target, bufferSource(data));
      assert.equal(await client.headBlob(target, sha256(data)), data.length);
      assert.equal(tokens.requests.length, 1, JSON.stringify(tokens.requests.map((r) => r.scopes)));
      assert.ok(Date.now() - issued < (margin - 1) * 1000, 'the setup took too long to be meaningful');
      tokens.backdateSeconds = 0;

      // Still inside the window: the cached token is used, no token request.
      tokens.requests.length = 0;
      assert.equal(await client.headBlob(target, sha256(data)), data.length);
      assert.equal(tokens.requests.length, 0);

      // Past it: the registry answers 401 invalid_token; the client fetches a new token once and retries.
      await sleep(issued + (margin + 1.5) * 1000 - Date.now());
      const logFrom = registry.output().length;
      assert.equal(await client.headBlob(target, sha256(data)), data.length);
      assert.equal(tokens.requests.length, 1, JSON.stringify(tokens.requests.map((r) => r.scopes)));
      assert.equal(tokens.requests[0]?.status, 200);
      // The registry itself refused the cached token (its log may trail the response a little).
      for (let i = 0; i < 20 && !/token not to be used after/.test(registry.output().slice(logFrom)); i++) await sleep(50);
      assert.match(registry.output().slice(logFrom), /token not to be used after/);
      // ...and the new token is cached again.
      assert.deepEqual(await readAll(await client.openBlob(target, sha256(data), { size: data.length })), data);
      assert.equal(tokens.requests.length, 1);
    } finally {
      tokens.backdateSeconds = 0;
      tokens.expiresInSeconds = 300;
      await client.close();
    }
  });

  test('pull-only operations cache a pull token; a push to the same repository gets pull,push and succeeds', async () => {
    const target = repo('team/scopes');
    const data = Buffer.from('pushed after pulling');
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password } }) });
    try {
      tokens.requests.length = 0;
      assert.equal(await client.headBlob(target, sha256(data)), undefined);
      assert.equal(await client.headManifest(target, 'latest'), undefined);
      assert.deepEqual(
        tokens.requests.map((r) => r.scopes),
        [['repository:team/scopes:pull']],
      );

      await uploadBlob(client, target, bufferSource(data));
      assert.equal(await client.headBlob(target, sha256(data)), data.length);
      const scopes = tokens.requests.map((r) => [...r.scopes].sort().join(' '));
      assert.deepEqual(scopes, ['repository:team/scopes:pull', 'repository:team/scopes:pull,push']);
      assert.deepEqual(tokens.requests[1]?.granted, [{ type: 'repository', name: 'team/scopes', actions: ['pull', 'push'] }]);
    } finally {
      await client.close();
    }
  });

  test('a request that under-declares its scopes is retried after the registry answers insufficient_scope', async () => {
    const target = repo('team/narrow');
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password } }) });
    try {
      tokens.requests.length = 0;
      assert.equal(await client.headBlob(target, sha256(Buffer.from('x'))), undefined); // caches a pull token
      // Starting an upload needs push; claim pull only, so the cached pull token goes out first.
      const req = { registry: target.registry, repository: target.repository, operation: 'push', method: 'POST' as const, path: `/v2/${target.repository}/blobs/uploads/`, headers: { 'content-length': '0' }, scopes: pullScope(target) };
      const res = await client.http.request(req);
      await client.http.expect(res, [202], req);
      await res.body.dump();
      assert.equal(res.status, 202);
      const scopes = tokens.requests.map((r) => [...r.scopes].sort().join(' '));
      assert.deepEqual(scopes, ['repository:team/narrow:pull', 'repository:team/narrow:pull,push']);
      await client.cancelUpload(sessionFrom(target, res));
    } finally {
      await client.close();
    }
  });

  test('a Docker credential helper supplies the credentials end to end', async () => {
    const dir = await makeTempDir('cred-helper');
    const client = new RegistryClient({
      credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: dir.path, PATH: `${dir.path}:${process.env.PATH ?? ''}` } }),
    });
    try {
      const log = join(dir.path, 'helper.log');
      const helper = join(dir.path, 'docker-credential-test');
      await writeFile(
        helper,
        [
          '#!/bin/sh',
          '# A fake docker credential helper: only `get` is implemented.',
          '[ "$1" = get ] || exit 1',
          'server=$(cat)',
          `printf '%s\\n' "$server" >> ${JSON.stringify(log)}`,
          `printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\\n' "$server" ${JSON.stringify(password)}`,
          '',
        ].join('\n'),
      );
      await chmod(helper, 0o755);
      await writeFile(join(dir.path, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'test' } }));

      tokens.requests.length = 0;
      const target = repo('team/helper');
      const data = Buffer.from('pushed with helper credentials');
      await uploadBlob(client, target, bufferSource(data));
      assert.equal(await client.headBlob(target, sha256(data)), data.length);

      assert.equal((await readFile(log, 'utf8')).trim(), registry.host, 'the helper is asked once, for host:port');
      assert.ok(tokens.requests.length > 0);
      assert.ok(
        tokens.requests.every((r) => r.basicAuth && r.account === 'alice' && r.accountParam === 'alice' && r.status === 200),
        JSON.stringify(tokens.requests),
      );
    } finally {
      await client.close();
      await dir.remove();
    }
  });
});
