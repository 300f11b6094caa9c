// The greeting to a loopback registry asks TLS and plain HTTP side by side (registry/
// loopbackGreeting.ts): a registry's plain 200/401 settles http and is the greeting's own answer;
// a handshake settles https; a TLS port's 400 to plain text settles nothing. The race on its own
// with promises settled in each order, then a RegistryClient over undici's MockAgent.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { MockAgent } from 'undici';
import { repositoryScope } from '../../server/src/core/authChallenge';
import { raceLoopbackSchemes } from '../../server/src/registry/loopbackGreeting';
import { RegistryClient } from '../../server/src/registry/registryClient';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A response whose body records being dumped. */
function answer(statusCode: number): Dispatcher.ResponseData & { dumped: () => boolean } {
  let dumped = false;
  const body = { dump: () => ((dumped = true), Promise.resolve()) } as unknown as Dispatcher.ResponseData['body'];
  return { statusCode, headers: {}, body, trailers: {}, opaque: null, context: {}, dumped: () => dumped } as unknown as Dispatcher.ResponseData & { dumped: () => boolean };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('the race on its own', () => {
  test("a registry's plain 401 settles http at once, before the handshake answers, and is the answer", async () => {
    const tls = deferred<boolean>();
    const plain = deferred<Dispatcher.ResponseData | undefined>();
    let abandoned = false;
    let handshakeAbandoned = false;
    const race = raceLoopbackSchemes(tls.promise, plain.promise, () => (abandoned = true), () => (handshakeAbandoned = true));
    const res = answer(401);
    plain.resolve(res);
    assert.equal(await race.scheme, 'http');
    assert.equal(await race.answer, res);
    assert.equal(res.dumped(), false, 'left for the greeting to read');
    assert.equal(handshakeAbandoned, true, 'the handshake is not left waiting');
    tls.reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    await tick();
    assert.equal(abandoned, false);
  });

  test('a handshake settles https; the plain request is abandoned and its late answer dumped', async () => {
    const tls = deferred<boolean>();
    const plain = deferred<Dispatcher.ResponseData | undefined>();
    let abandoned = false;
    const race = raceLoopbackSchemes(tls.promise, plain.promise, () => (abandoned = true), () => undefined);
    tls.resolve(true);
    assert.equal(await race.scheme, 'https');
    assert.equal(await race.answer, undefined);
    assert.equal(abandoned, true);
    const late = answer(401);
    plain.resolve(late);
    await tick();
    await tick();
    assert.equal(late.dumped(), true);
  });

  test("a TLS port's 400 to plain text settles nothing; a failed handshake then says http, with no answer to reuse", async () => {
    const tls = deferred<boolean>();
    const plain = deferred<Dispatcher.ResponseData | undefined>();
    const race = raceLoopbackSchemes(tls.promise, plain.promise, () => undefined, () => undefined);
    const refusal = answer(400);
    plain.resolve(refusal);
    let settled = false;
    void race.scheme.then(() => (settled = true));
    await tick();
    assert.equal(settled, false, 'a 400 is not a registry');
    assert.equal(refusal.dumped(), true);
    tls.resolve(false);
    assert.equal(await race.scheme, 'http');
    assert.equal(await race.answer, undefined);
  });

  test('a cancelled handshake rejects the scheme; the plain request is abandoned', async () => {
    const tls = deferred<boolean>();
    const plain = deferred<Dispatcher.ResponseData | undefined>();
    let abandoned = false;
    const race = raceLoopbackSchemes(tls.promise, plain.promise, () => (abandoned = true), () => undefined);
    tls.reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    await assert.rejects(race.scheme, /aborted/);
    assert.equal(await race.answer, undefined);
    assert.equal(abandoned, true);
    plain.reject(new Error('aborted'));
  });
});

const LOOPBACK = '127.0.0.1:5999';
const AUTH = 'https://auth.example.com';
let agent: MockAgent;
let client: RegistryClient;
let requests: string[];
let tokens: number;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new RegistryClient({ dispatcher: agent });
  requests = [];
  tokens = 0;
  agent
    .get(AUTH)
    .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
    .reply(() => {
      tokens++;
      return { statusCode: 200, data: JSON.stringify({ token: 'tok' }) };
    })
    .persist();
});
afterEach(async () => {
  await agent.close();
});

function registryAt(origin: string, status: (authorization: string | undefined) => number): void {
  agent
    .get(origin)
    .intercept({ path: () => true, method: () => true })
    .reply((req) => {
      const authorization = Object.entries((req.headers ?? {}) as Record<string, string>).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
      requests.push(`${req.method} ${origin}${req.path}${authorization ? ' (with token)' : ''}`);
      const code = status(authorization);
      return { statusCode: code, data: '', responseOptions: { headers: code === 401 ? { 'www-authenticate': `Bearer realm="${AUTH}/token",service="r"` } : {} } };
    })
    .persist();
}

describe('a RegistryClient greeting a loopback registry', () => {
  test('plain HTTP: one GET /v2/ (no second after the probe), the token fetched, later requests over http with it', async () => {
    agent.get(`https://${LOOPBACK}`).intercept({ path: '/v2/', method: 'GET' }).replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).persist();
    registryAt(`http://${LOOPBACK}`, (authorization) => (authorization ? 404 : 401));
    await client.greet(LOOPBACK, [repositoryScope('team/app', ['pull', 'push'])]);
    assert.deepEqual(requests, [`GET http://${LOOPBACK}/v2/`]);
    assert.equal(tokens, 1);
    assert.equal(await client.http.baseUrl(LOOPBACK), `http://${LOOPBACK}`);
    await client.headBlob({ registry: LOOPBACK, repository: 'team/app' }, `sha256:${'b'.repeat(64)}`);
    assert.equal(requests.at(-1), `HEAD http://${LOOPBACK}/v2/team/app/blobs/sha256:${'b'.repeat(64)} (with token)`);
    assert.equal(tokens, 1);
  });

  test('the plain answer does not wait for a handshake that is slow to fail', async () => {
    agent.get(`https://${LOOPBACK}`).intercept({ path: '/v2/', method: 'GET' }).reply(400, '').delay(3000);
    registryAt(`http://${LOOPBACK}`, () => 401);
    const first = await Promise.race([client.greet(LOOPBACK, [repositoryScope('team/app', ['pull'])]).then(() => 'greeted'), new Promise((r) => setTimeout(() => r('still waiting'), 1000))]);
    assert.equal(first, 'greeted');
    assert.deepEqual(requests, [`GET http://${LOOPBACK}/v2/`]);
  });

  test('TLS on loopback: the plain request meets a 400, https is kept and greeted', async () => {
    registryAt(`https://${LOOPBACK}`, () => 401);
    agent.get(`http://${LOOPBACK}`).intercept({ path: '/v2/', method: 'GET' }).reply(400, 'Client sent an HTTP request to an HTTPS server.').persist();
    await client.greet(LOOPBACK, [repositoryScope('team/app', ['pull'])]);
    assert.equal(await client.http.baseUrl(LOOPBACK), `https://${LOOPBACK}`);
    assert.ok(requests.every((r) => r.includes('https://')), requests.join('; '));
    assert.equal(tokens, 1);
  });

  test('not loopback: no plain request at all, even for a registry marked insecure', async () => {
    const insecure = 'insecure.example.com:5000';
    client = new RegistryClient({ dispatcher: agent, insecureRegistries: [insecure] });
    registryAt(`https://${insecure}`, () => 401);
    registryAt(`http://${insecure}`, () => 401);
    await client.greet(insecure, [repositoryScope('team/app', ['pull'])]);
    assert.ok(requests.length > 0 && requests.every((r) => r.includes('https://')), requests.join('; '));
  });
});
