// RegistryClient.greet and expectScopes (registry/auth.ts): a push greets the registry while the
// engine is inspected; the first token a push fetches covers every
// scope it announced (push and pull on the target, pull on a mount source), so its tag read,
// probes and mounts share one token; withdrawn, later tokens ask only for what they need. A
// token the server granted less is reused for what it covers, not fetched again per request.
// The registry and token server are undici's MockAgent (unit edge cases).
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { repositoryScope } from '../../server/src/core/authChallenge';
import { RegistryClient } from '../../server/src/registry/registryClient';

const REGISTRY = 'r.example.com';
const ORIGIN = `https://${REGISTRY}`;
const AUTH = 'https://auth.example.com';
const digest = `sha256:${'a'.repeat(64)}`;
const app = { registry: REGISTRY, repository: 'team/app' };
const base = { registry: REGISTRY, repository: 'library/base' };

let agent: MockAgent;
let client: RegistryClient;
let tokenScopes: string[][];
/** What the token server grants: everything asked, unless a scope is listed here as refused. */
let refused: Set<string>;
/** The GET /v2/ requests the registry saw. */
let pings: string[];

/** A JWT-shaped token whose access claim lists what was granted. */
function jwt(access: { type: string; name: string; actions: string[] }[]): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ access })}.sig`;
}

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new RegistryClient({ dispatcher: agent });
  tokenScopes = [];
  refused = new Set();
  pings = [];
  agent
    .get(AUTH)
    .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
    .reply((opts) => {
      const scopes = new URL(opts.path, AUTH).searchParams.getAll('scope');
      tokenScopes.push(scopes);
      const access = scopes.map((s) => {
        const [type = '', name = '', actions = ''] = s.split(':');
        return { type, name, actions: actions.split(',').filter((a) => !refused.has(`${name}:${a}`)) };
      });
      return { statusCode: 200, data: JSON.stringify({ token: jwt(access), expires_in: 300 }) };
    })
    .persist();
  agent
    .get(ORIGIN)
    .intercept({ path: '/v2/', method: 'GET' })
    .reply((opts) => {
      pings.push(Object.keys(opts.headers as Record<string, string>).some((k) => k.toLowerCase() === 'authorization') ? 'with token' : 'anonymous');
      return { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': `Bearer realm="${AUTH}/token",service="${REGISTRY}"` } } };
    })
    .persist();
  agent
    .get(ORIGIN)
    .intercept({ path: (p) => p.startsWith('/v2/'), method: 'HEAD' })
    .reply((opts) => {
      const authorization = Object.entries(opts.headers as Record<string, string>).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
      if (!authorization) return { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': `Bearer realm="${AUTH}/token",service="${REGISTRY}"` } } };
      return { statusCode: 404, data: '' };
    })
    .persist();
});
afterEach(async () => {
  await agent.close();
});

describe('greet', () => {
  test("one GET /v2/ learns the challenge and fetches the push's token; it is not sent again, and the next request goes with the token", async () => {
    await client.greet(REGISTRY, [repositoryScope('team/app', ['pull', 'push'])]);
    assert.deepEqual(pings, ['anonymous']);
    assert.deepEqual(tokenScopes, [['repository:team/app:pull,push']]);
    assert.equal(await client.headBlob(app, digest), undefined);
    assert.equal(tokenScopes.length, 1, 'the HEAD used the token the greeting fetched');
  });

  test('an unreachable registry is not an error of the greeting (the push itself reports it)', async () => {
    await client.greet('gone.example.com', [repositoryScope('team/app', ['pull'])]);
    assert.deepEqual(pings, []);
  });
});

describe('expectScopes', () => {
  test('one token covers the announced scopes: reads of the target and the mount source share it', async () => {
    const withdraw = client.expectScopes(REGISTRY, [repositoryScope('team/app', ['pull', 'push']), repositoryScope('library/base', ['pull'])]);
    await Promise.all([client.headBlob(app, digest), client.headBlob(base, digest), client.headBlob(app, digest)]);
    await client.headBlob(base, digest);
    assert.deepEqual(tokenScopes, [['repository:library/base:pull', 'repository:team/app:pull,push']]);
    withdraw();
  });

  test('withdrawn, a new need asks for itself only', async () => {
    const withdraw = client.expectScopes(REGISTRY, [repositoryScope('team/app', ['pull', 'push'])]);
    await client.headBlob(app, digest);
    withdraw();
    await client.headBlob({ registry: REGISTRY, repository: 'team/other' }, digest);
    assert.deepEqual(tokenScopes, [['repository:team/app:pull,push'], ['repository:team/other:pull']]);
  });

  test('a token granted less than announced is reused for what it covers, not fetched again per request', async () => {
    refused.add('team/app:push');
    const withdraw = client.expectScopes(REGISTRY, [repositoryScope('team/app', ['pull', 'push'])]);
    for (let i = 0; i < 3; i++) await client.headBlob(app, digest);
    assert.equal(tokenScopes.length, 1, JSON.stringify(tokenScopes));
    withdraw();
  });
});
