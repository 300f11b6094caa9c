// Failures while reading a registry's answer are typed one-line errors (found by the registry
// fuzz, test/integration/registryFuzz.test.ts): broken HTTP framing and oversized headers are
// PROTOCOL, a body cut short is NETWORK, a redirect to an unusable Location is PROTOCOL, a token
// server that breaks off is TOKEN_FAILED, and a token request obeys the client's timeout.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MockAgent } from 'undici';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { RegistryError, errorFromTransport } from '../../server/src/registry/errors';
import { staticCredentials } from '../../server/src/registry/credentials';

const context = { operation: 'pull', registry: 'registry.example.com', repository: 'team/app' };
const tiny = { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, statusCodes: new Set<number>(), methods: new Set(['GET']) };

void describe('errorFromTransport: answers that are not HTTP', () => {
  void it('parser errors, header overflow and length mismatches are PROTOCOL, one line, not retryable', () => {
    const parser = Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Invalid character in chunk size)\nmore'), { name: 'HTTPParserError' });
    for (const error of [parser, Object.assign(new Error('x'), { code: 'HPE_INVALID_CONSTANT' }), Object.assign(new Error('Headers Overflow Error'), { code: 'UND_ERR_HEADERS_OVERFLOW' }), Object.assign(new Error('mismatch'), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' })]) {
      const typed = errorFromTransport(error, context);
      assert.equal(typed.code, 'PROTOCOL', String(error));
      assert.equal(typed.retryable, false);
      assert.ok(!typed.message.includes('\n'), typed.message);
      assert.match(typed.message, /^pull registry\.example\.com\/team\/app: the answer is not valid HTTP/);
    }
  });

  void it('a socket closed mid-answer stays NETWORK (retryable)', () => {
    const typed = errorFromTransport(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), context);
    assert.equal(typed.code, 'NETWORK');
    assert.equal(typed.retryable, true);
  });
});

let servers: Server[] = [];
let clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  servers = [];
  clients = [];
});

/** A loopback server whose answers are raw bytes (after an open GET /v2/). */
async function rawServer(answer: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(200, { 'content-length': 2 });
      res.end('{}');
      return;
    }
    answer(res);
  });
  server.on('clientError', (_e, socket: Socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function writeRaw(res: ServerResponse, text: string): void {
  const socket = res.socket as Socket;
  res.detachSocket(socket);
  socket.end(text);
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
  assert.ok(!error.message.includes('\n'));
  return error;
}

const newClient = (options: ConstructorParameters<typeof RegistryClient>[0] = {}) => {
  const client = new RegistryClient({ retryPolicy: tiny, ...options });
  clients.push(client);
  return client;
};

void describe('bodies that break off', () => {
  void it('a manifest body shorter than its Content-Length: NETWORK, not a raw socket error', async () => {
    const host = await rawServer((res) => writeRaw(res, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"schemaVersion":2'));
    const error = await failure(newClient().getManifest({ registry: host, repository: 'team/app' }, 'v1'));
    assert.equal(error.code, 'NETWORK');
  });

  void it('broken chunked framing in a blob: the stream errors with PROTOCOL', async () => {
    const host = await rawServer((res) => writeRaw(res, 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\nZZ\r\n'));
    const stream = await newClient().openBlob({ registry: host, repository: 'team/app' }, `sha256:${'a'.repeat(64)}`, { size: 10 });
    const error = await failure((async () => {
      for await (const _ of stream) void _;
    })());
    assert.equal(error.code, 'PROTOCOL');
  });

  void it('an unverified (ranged) blob stream is typed as well', async () => {
    const host = await rawServer((res) => writeRaw(res, 'HTTP/1.1 206 Partial\r\ncontent-length: 100\r\n\r\nabc'));
    const stream = await newClient().openBlob({ registry: host, repository: 'team/app' }, `sha256:${'a'.repeat(64)}`, { offset: 5 });
    const error = await failure((async () => {
      for await (const _ of stream) void _;
    })());
    assert.equal(error.code, 'NETWORK');
  });
});

void describe('redirects and tokens', () => {
  void it('a redirect to an unusable Location is PROTOCOL, naming it briefly', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const client = new RegistryClient({ dispatcher: agent, retryPolicy: tiny });
    for (const location of ['http://[::1', 'javascript:alert(1)', 'ftp://127.0.0.1/x']) {
      agent.get('https://registry.example.com').intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' }).reply(302, '', { headers: { location } });
      const error = await failure(client.getManifest({ registry: 'registry.example.com', repository: 'team/app' }, 'v1'));
      assert.equal(error.code, 'PROTOCOL', location);
      assert.match(error.message, /redirected to an unusable location/);
    }
    await agent.close();
  });

  void it('a token server that breaks off its answer, or names a 10 kB realm: TOKEN_FAILED in a short line', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const client = new RegistryClient({ dispatcher: agent, retryPolicy: tiny, credentials: staticCredentials({ 'registry.example.com': { username: 'a', password: 'b' } }) });
    const origin = agent.get('https://registry.example.com');
    origin.intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' }).reply(401, '', { headers: { 'www-authenticate': `Bearer realm="${'x'.repeat(10_000)}"` } });
    const long = await failure(client.getManifest({ registry: 'registry.example.com', repository: 'team/app' }, 'v1'));
    assert.equal(long.code, 'TOKEN_FAILED');
    assert.ok(long.message.length < 300, `${long.message.length} chars`);
    await agent.close();
  });

  void it('a token server that never answers gives up after the client headers timeout, not 30 s', { timeout: 10_000 }, async () => {
    const tokenHost = await rawServer(() => undefined); // never answers
    const registryHost = await rawServer((res) => writeRaw(res, `HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm="http://${tokenHost}/token",service="s"\r\ncontent-length: 0\r\n\r\n`));
    const client = newClient({ headersTimeoutMs: 300, credentials: staticCredentials({ [registryHost]: { username: 'a', password: 'b' } }) });
    const started = Date.now();
    const error = await failure(client.getManifest({ registry: registryHost, repository: 'team/app' }, 'v1'));
    assert.equal(error.code, 'TOKEN_FAILED');
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
  });
});
