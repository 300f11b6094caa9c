// Self-tests of the registry test bed: real HTTP against a real docker-registry 2.8.
import assert from 'node:assert/strict';
import { createHash, createVerify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startRegistry, type Registry } from './registry';
import { startTokenServer, type TokenServer } from './tokenServer';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Parses `Bearer realm="...",service="...",scope="..."` into its parameters. */
/** A challenge's scopes in a stable order: Distribution builds each action list from a Go map,
 *  so `push,pull` and `pull,push` both occur from run to run. */
function sortedScopes(scope: string | undefined): string[] {
  return (scope ?? '')
    .split(' ')
    .filter((s) => s !== '')
    .map((s) => s.replace(/:([a-z*,]+)$/, (_, actions: string) => `:${actions.split(',').sort().join(',')}`))
    .sort();
}

function challenge(header: string | null): Record<string, string> {
  assert.ok(header, 'WWW-Authenticate header expected');
  const params: Record<string, string> = { scheme: header.split(' ')[0] ?? '' };
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return params;
}

async function getToken(ts: TokenServer, scopes: string[], auth?: [string, string]): Promise<string> {
  const query = new URLSearchParams({ service: ts.service });
  for (const scope of scopes) query.append('scope', scope);
  const res = await fetch(`${ts.realm}?${query.toString()}`, {
    headers: auth ? { authorization: basic(...auth) } : {},
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { token: string };
  return body.token;
}

function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = token.split('.');
  const parse = (part: string | undefined) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>;
  return { header: parse(h), claims: parse(c) };
}

/** Monolithic upload in two steps: POST opens a session (202), PUT ?digest= closes it (201). */
async function pushBlob(reg: Registry, repo: string, data: Buffer, token?: string): Promise<Response> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) return start;
  const location = new URL(start.headers.get('location') ?? '', reg.url);
  location.searchParams.set('digest', sha256(data));
  return fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: data,
  });
}

async function pullBlob(reg: Registry, repo: string, digest: string, token?: string): Promise<Response> {
  return fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

void describe('registry without auth', () => {
  let reg: Registry;
  before(async () => {
    reg = await startRegistry({ auth: 'none' });
  });
  after(() => reg?.stop());

  void test('GET /v2/ answers 200 with the API version header', async () => {
    assert.match(reg.host, /^127\.0\.0\.1:\d+$/);
    const res = await fetch(`${reg.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  void test('restart keeps port, storage and open upload sessions', async () => {
    const data = Buffer.from('layer before restart');
    assert.equal((await pushBlob(reg, 'lib/a', data)).status, 201);
    const other = Buffer.from('layer uploaded across a restart');
    const start = await fetch(`${reg.url}/v2/lib/a/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const oldPid = reg.pid;
    await reg.restart({ downtimeMs: 100 });
    assert.notEqual(reg.pid, oldPid);

    const kept = await pullBlob(reg, 'lib/a', sha256(data));
    assert.equal(kept.status, 200);
    assert.deepEqual(Buffer.from(await kept.arrayBuffer()), data);
    // The session's _state is HMAC-signed with http.secret, which the restart keeps.
    const location = new URL(start.headers.get('location') ?? '', reg.url);
    location.searchParams.set('digest', sha256(other));
    const put = await fetch(location, { method: 'PUT', body: other });
    assert.equal(put.status, 201, await put.text());
    assert.equal((await pullBlob(reg, 'lib/a', sha256(other))).status, 200);
  });
});

void describe('registry with htpasswd auth', () => {
  let reg: Registry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'pw' } });
  });
  after(() => reg?.stop());

  void test('401 with a Basic challenge without or with wrong credentials, 200 with right ones', async () => {
    const none = await fetch(`${reg.url}/v2/`);
    assert.equal(none.status, 401);
    assert.deepEqual(challenge(none.headers.get('www-authenticate')), { scheme: 'Basic', realm: 'layerlift-test' });
    const wrong = await fetch(`${reg.url}/v2/`, { headers: { authorization: basic('alice', 'nope') } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`${reg.url}/v2/`, { headers: { authorization: basic('alice', 'pw') } });
    assert.equal(right.status, 200);
  });
});

void describe('registry with token auth', () => {
  let reg: Registry;
  let ts: TokenServer;
  const blob = Buffer.from('a small layer for team/app');
  const digest = sha256(blob);
  before(async () => {
    reg = await startRegistry({
      auth: 'token',
      users: { alice: 'pw-a', bob: 'pw-b', carol: 'pw-c' },
      acl: [
        { account: 'alice', name: 'team/*', actions: ['pull', 'push'] },
        { account: 'bob', name: 'team/*', actions: ['pull'] },
        { account: 'carol', name: 'team/other', actions: ['pull', 'push'] },
        { account: '*anonymous*', name: 'public/*', actions: ['pull'] },
      ],
    });
    assert.ok(reg.tokenServer);
    ts = reg.tokenServer;
  });
  after(() => reg?.stop());

  void test('GET /v2/ challenges with Bearer realm and service, and accepts a token', async () => {
    const res = await fetch(`${reg.url}/v2/`);
    assert.equal(res.status, 401);
    assert.deepEqual(challenge(res.headers.get('www-authenticate')), {
      scheme: 'Bearer',
      realm: ts.realm,
      service: ts.service,
    });
    const token = await getToken(ts, [], ['alice', 'pw-a']);
    assert.equal((await fetch(`${reg.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });

  void test('alice pushes a blob into team/app and pulls it back', async () => {
    const denied = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(denied.status, 401);
    const wanted = challenge(denied.headers.get('www-authenticate'));
    const scope = 'repository:team/app:pull,push';
    assert.deepEqual(sortedScopes(wanted.scope), [scope]);

    ts.requests.length = 0;
    const token = await getToken(ts, [scope], ['alice', 'pw-a']);
    const put = await pushBlob(reg, 'team/app', blob, token);
    assert.equal(put.status, 201, await put.text());
    assert.equal(put.headers.get('docker-content-digest'), digest);
    const got = await pullBlob(reg, 'team/app', digest, token);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), blob);

    assert.equal(ts.requests.length, 1);
    const [record] = ts.requests;
    assert.deepEqual(record?.scopes, ['repository:team/app:pull,push']);
    assert.equal(record?.account, 'alice');
    assert.equal(record?.basicAuth, true);
    assert.doesNotMatch(JSON.stringify(ts.requests), /pw-a/);
  });

  void test('bob may pull but not push', async () => {
    const token = await getToken(ts, ['repository:team/app:pull,push'], ['bob', 'pw-b']);
    assert.deepEqual(decodeJwt(token).claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    const push = await pushBlob(reg, 'team/app', Buffer.from('bob was here'), token);
    assert.equal(push.status, 401);
    assert.equal(challenge(push.headers.get('www-authenticate')).error, 'insufficient_scope');
    const body = (await push.json()) as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'UNAUTHORIZED');
    assert.equal((await pullBlob(reg, 'team/app', digest, token)).status, 200);
  });

  void test('cross-repo mount: 201 with pull on the source, push on the destination', async () => {
    const token = await getToken(ts, ['repository:team/other:pull,push', 'repository:team/app:pull'], ['alice', 'pw-a']);
    const mount = await fetch(`${reg.url}/v2/team/other/blobs/uploads/?mount=${digest}&from=team/app`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(mount.status, 201, await mount.text());
    assert.equal(mount.headers.get('docker-content-digest'), digest);
    assert.equal(new URL(mount.headers.get('location') ?? '', reg.url).pathname, `/v2/team/other/blobs/${digest}`);
    assert.equal((await pullBlob(reg, 'team/other', digest, token)).status, 200);
  });

  // Distribution 2.8 adds pull on `from` to the access the POST itself needs (handlers/app.go),
  // so a token without it is refused outright instead of falling back to a plain upload.
  void test('cross-repo mount without pull on the source: 401 insufficient_scope, not a fallback', async () => {
    const token = await getToken(ts, ['repository:team/other:pull,push', 'repository:team/app:pull'], ['carol', 'pw-c']);
    assert.deepEqual(decodeJwt(token).claims.access, [
      { type: 'repository', name: 'team/other', actions: ['pull', 'push'] },
    ]);
    const mount = await fetch(`${reg.url}/v2/team/other/blobs/uploads/?mount=${digest}&from=team/app`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(mount.status, 401);
    const wanted = challenge(mount.headers.get('www-authenticate'));
    assert.equal(wanted.error, 'insufficient_scope');
    // Several scopes come space-separated in one `scope` parameter, in no fixed order.
    assert.deepEqual(sortedScopes(wanted.scope), ['repository:team/app:pull', 'repository:team/other:pull,push']);
  });

  void test('cross-repo mount of a blob the source lacks falls back to an upload session (202)', async () => {
    const token = await getToken(ts, ['repository:team/other:pull,push', 'repository:team/app:pull'], ['alice', 'pw-a']);
    const missing = sha256(Buffer.from('never pushed'));
    const mount = await fetch(`${reg.url}/v2/team/other/blobs/uploads/?mount=${missing}&from=team/app`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(mount.status, 202, await mount.text());
    const location = new URL(mount.headers.get('location') ?? '', reg.url);
    assert.match(location.pathname, /^\/v2\/team\/other\/blobs\/uploads\/[0-9a-f-]+$/);
  });

  void test('anonymous gets only what *anonymous* is granted', async () => {
    const token = await getToken(ts, ['repository:public/x:pull,push', 'repository:team/app:pull']);
    assert.deepEqual(decodeJwt(token).claims.access, [{ type: 'repository', name: 'public/x', actions: ['pull'] }]);
    const tags = await fetch(`${reg.url}/v2/public/x/tags/list`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(tags.status, 404); // authorized; the repository just does not exist
    assert.equal((await pullBlob(reg, 'team/app', digest, token)).status, 401);
  });

  void test('the registry honours exp with 60 s of leeway', async () => {
    const scope = ['repository:team/app:pull'];
    try {
      ts.backdateSeconds = ts.expiresInSeconds + 30; // expired 30 s ago: within leeway
      assert.equal((await pullBlob(reg, 'team/app', digest, await getToken(ts, scope, ['alice', 'pw-a']))).status, 200);
      ts.backdateSeconds = ts.expiresInSeconds + 90; // expired 90 s ago
      assert.equal((await pullBlob(reg, 'team/app', digest, await getToken(ts, scope, ['alice', 'pw-a']))).status, 401);
    } finally {
      ts.backdateSeconds = 0;
    }
  });
});

void describe('token server', () => {
  let ts: TokenServer;
  before(async () => {
    ts = await startTokenServer({
      users: { alice: 'pw-a' },
      acl: [{ account: '*', name: 'team/*', actions: ['pull', 'push'] }],
      expiresInSeconds: 120,
    });
  });
  after(() => ts?.stop());

  void test('issues an RS256 JWT with x5c and the required claims', async () => {
    const token = await getToken(ts, ['repository:team/app:push,delete'], ['alice', 'pw-a']);
    const { header, claims } = decodeJwt(token);
    assert.equal(header.alg, 'RS256');
    assert.deepEqual(header.x5c, [ts.signing.certDerBase64]);
    const [h, c, s] = token.split('.');
    const valid = createVerify('RSA-SHA256').update(`${h}.${c}`).verify(ts.signing.certPem, Buffer.from(s ?? '', 'base64url'));
    assert.equal(valid, true);
    assert.equal(claims.iss, ts.issuer);
    assert.equal(claims.aud, ts.service);
    assert.equal(claims.sub, 'alice');
    assert.equal(Number(claims.exp) - Number(claims.iat), 120);
    assert.equal(typeof claims.jti, 'string');
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['push'] }]);
  });

  void test('bad credentials are 401', async () => {
    const res = await fetch(`${ts.realm}?service=${ts.service}`, { headers: { authorization: basic('alice', 'x') } });
    assert.equal(res.status, 401);
    const unknown = await fetch(`${ts.realm}?service=${ts.service}`, { headers: { authorization: basic('mallory', 'x') } });
    assert.equal(unknown.status, 401);
  });

  void test('OAuth2 POST: password grant returns a refresh token that works once the password is gone', async () => {
    const form = (fields: Record<string, string>) =>
      fetch(ts.realm, { method: 'POST', body: new URLSearchParams({ service: ts.service, client_id: 'layerlift', ...fields }) });
    const first = await form({ grant_type: 'password', username: 'alice', password: 'pw-a', scope: 'repository:team/app:pull' });
    assert.equal(first.status, 200);
    const body = (await first.json()) as { access_token: string; refresh_token: string; expires_in: number; scope: string };
    assert.equal(body.expires_in, 120);
    assert.equal(body.scope, 'repository:team/app:pull');
    assert.ok(body.refresh_token);
    const again = await form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, scope: 'repository:team/b:push' });
    assert.equal(again.status, 200);
    assert.equal(decodeJwt(((await again.json()) as { access_token: string }).access_token).claims.sub, 'alice');
    assert.equal((await form({ grant_type: 'refresh_token', refresh_token: 'bogus' })).status, 400);
    assert.equal((await form({ grant_type: 'password', username: 'alice', password: 'x' })).status, 401);
    assert.doesNotMatch(JSON.stringify(ts.requests), /pw-a|"x"/);
  });

  void test('failNext answers 500, stall never answers', async () => {
    ts.failNext = 1;
    assert.equal((await fetch(`${ts.realm}?service=${ts.service}`)).status, 500);
    assert.equal((await fetch(`${ts.realm}?service=${ts.service}`)).status, 200);
    ts.stall = true;
    try {
      await assert.rejects(fetch(`${ts.realm}?service=${ts.service}`, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
      assert.equal(ts.requests.at(-1)?.status, undefined);
    } finally {
      ts.stall = false;
    }
  });
});
