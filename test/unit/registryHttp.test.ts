// RegistryHttp / RegistryClient over an undici MockAgent: where Authorization may go on
// redirects, redirect limits, the https/http choice for secure and insecure registries, token
// realms on plain HTTP, Basic auth, typed errors carrying the registry's error body, manifest
// digest and size checks (plus two loopback servers for bodies that must not be buffered),
// and no secret in any thrown error message.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { MockAgent } from 'undici';
import { RegistryClient, maxManifestBytes, type RegistryClientOptions } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';
import { RegistryError } from '../../server/src/registry/errors';
import type { RetryPolicy } from '../../server/src/registry/retryInterceptor';
import { OCI_IMAGE_CONFIG, OCI_IMAGE_MANIFEST } from '../../server/src/core/mediaTypes';

const REGISTRY = 'registry.example.com';
const REGISTRY_ORIGIN = `https://${REGISTRY}`;
const AUTH_ORIGIN = 'https://auth.example.com';
const STORAGE_ORIGIN = 'https://storage.example.net';
const CHALLENGE = `Bearer realm="${AUTH_ORIGIN}/token",service="${REGISTRY}"`;
const repo = { registry: REGISTRY, repository: 'team/app' };

const tinyPolicy: RetryPolicy = {
  maxRetries: 2,
  baseDelayMs: 1,
  maxDelayMs: 2,
  maxRetryAfterMs: 10,
  statusCodes: new Set([429, 500, 502, 503, 504]),
  methods: new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'POST']),
};

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
const manifestBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_IMAGE_MANIFEST,
    config: { mediaType: OCI_IMAGE_CONFIG, digest: sha256(configBytes), size: configBytes.length },
    layers: [],
  }),
);
const manifestDigest = sha256(manifestBytes);
const blobBytes = Buffer.from('layer bytes that live in object storage');
const blobDigest = sha256(blobBytes);
const blobPath = `/v2/team/app/blobs/${blobDigest}`;

/** A request header as the mock saw it, whatever shape undici handed over. */
function headerOf(opts: { headers?: unknown }, name: string): string | undefined {
  const headers = opts.headers;
  if (headers === undefined || headers === null) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    }
    return undefined;
  }
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return undefined;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function caught(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
  return error;
}

function assertOneLine(error: Error): void {
  assert.ok(!error.message.includes('\n'), `multi-line message: ${JSON.stringify(error.message)}`);
}

function connectionError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

let agent: MockAgent;
let client: RegistryClient;

function makeClient(options: Partial<RegistryClientOptions> = {}): RegistryClient {
  client = new RegistryClient({ dispatcher: agent, retryPolicy: tinyPolicy, ...options });
  return client;
}

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});

afterEach(async () => {
  // A MockAgent has close() but no destroy(), which RegistryClient.close() calls: close the mock
  // itself, and the client only when it runs on a real Agent (the loopback tests).
  if (client.http.dispatcher instanceof MockAgent) await agent.close();
  else await client.close();
});

/** A token endpoint on auth.example.com; records the Authorization each token request carried. */
function mockTokenEndpoint(token: string, seen: { path: string; authorization?: string }[] = []) {
  agent
    .get(AUTH_ORIGIN)
    .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
    .reply((opts) => {
      seen.push({ path: opts.path, authorization: headerOf(opts, 'authorization') });
      return { statusCode: 200, data: JSON.stringify({ token, expires_in: 300 }), responseOptions: { headers: { 'content-type': 'application/json' } } };
    })
    .persist();
  return seen;
}

void describe('redirects', () => {
  void it('a blob GET redirected to another host sends the registry token to the registry only', async () => {
    makeClient();
    const token = 'tok-registry-only-7d1f';
    const tokenRequests = mockTokenEndpoint(token);
    const registrySaw: (string | undefined)[] = [];
    const storageSaw: (string | undefined)[] = [];
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: blobPath, method: 'GET' })
      .reply((opts) => {
        const authorization = headerOf(opts, 'authorization');
        registrySaw.push(authorization);
        if (!authorization) return { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': CHALLENGE } } };
        return { statusCode: 307, data: '', responseOptions: { headers: { location: `${STORAGE_ORIGIN}/blobs/abc?X-Amz-Signature=s1g` } } };
      })
      .persist();
    agent
      .get(STORAGE_ORIGIN)
      .intercept({ path: (p) => p.startsWith('/blobs/abc'), method: 'GET' })
      .reply((opts) => {
        storageSaw.push(headerOf(opts, 'authorization'));
        return { statusCode: 200, data: blobBytes, responseOptions: { headers: { 'content-length': String(blobBytes.length) } } };
      });

    const body = await readAll(await client.openBlob(repo, blobDigest, { size: blobBytes.length }));
    assert.deepEqual(body, blobBytes);
    assert.deepEqual(registrySaw, [undefined, `Bearer ${token}`]);
    assert.deepEqual(storageSaw, [undefined], 'the storage host must not see the Authorization header');
    assert.equal(tokenRequests.length, 1);
    assert.match(tokenRequests[0]?.path ?? '', /scope=repository%3Ateam%2Fapp%3Apull/);
  });

  void it('a redirect to the same origin keeps the Authorization header', async () => {
    makeClient();
    const token = 'tok-same-origin-91aa';
    mockTokenEndpoint(token);
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: blobPath, method: 'GET' })
      .reply((opts) =>
        headerOf(opts, 'authorization')
          ? { statusCode: 307, data: '', responseOptions: { headers: { location: '/internal/blobs/abc' } } }
          : { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': CHALLENGE } } },
      )
      .persist();
    const redirected: (string | undefined)[] = [];
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/internal/blobs/abc', method: 'GET' })
      .reply((opts) => {
        redirected.push(headerOf(opts, 'authorization'));
        return { statusCode: 200, data: blobBytes };
      });

    const body = await readAll(await client.openBlob(repo, blobDigest));
    assert.deepEqual(body, blobBytes);
    assert.deepEqual(redirected, [`Bearer ${token}`]);
  });

  void it('the same host on another port is another origin: no Authorization there', async () => {
    makeClient({ credentials: staticCredentials({ [REGISTRY]: { username: 'alice', password: 'pw-other-port-55' } }) });
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: blobPath, method: 'GET' })
      .reply((opts) =>
        headerOf(opts, 'authorization')
          ? { statusCode: 302, data: '', responseOptions: { headers: { location: `https://${REGISTRY}:8443/blobs/abc` } } }
          : { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': 'Basic realm="registry"' } } },
      )
      .persist();
    const otherPort: (string | undefined)[] = [];
    agent
      .get(`https://${REGISTRY}:8443`)
      .intercept({ path: '/blobs/abc', method: 'GET' })
      .reply((opts) => {
        otherPort.push(headerOf(opts, 'authorization'));
        return { statusCode: 200, data: blobBytes };
      });
    assert.deepEqual(await readAll(await client.openBlob(repo, blobDigest)), blobBytes);
    assert.deepEqual(otherPort, [undefined]);
  });

  void it('a redirect loop ends with TOO_MANY_REDIRECTS in one line', async () => {
    makeClient();
    let hops = 0;
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: (p) => p.startsWith(blobPath), method: 'GET' })
      .reply(() => {
        hops++;
        return { statusCode: 302, data: '', responseOptions: { headers: { location: `${blobPath}?hop=${hops}` } } };
      })
      .persist();
    const error = await caught(client.openBlob(repo, blobDigest));
    assert.equal(error.code, 'TOO_MANY_REDIRECTS');
    assertOneLine(error);
    assert.match(error.message, /^pull registry\.example\.com\/team\/app: /);
    assert.ok(hops >= 2 && hops <= 11, `hops: ${hops}`);
  });

  void it('an https registry redirecting to plain http on another host is INSECURE_REFUSED', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: blobPath, method: 'GET' })
      .reply(307, '', { headers: { location: 'http://storage.example.net/blobs/abc' } });
    let plainHttpCalls = 0;
    agent
      .get('http://storage.example.net')
      .intercept({ path: '/blobs/abc', method: 'GET' })
      .reply(() => {
        plainHttpCalls++;
        return { statusCode: 200, data: blobBytes };
      });
    const error = await caught(client.openBlob(repo, blobDigest));
    assert.equal(error.code, 'INSECURE_REFUSED');
    assertOneLine(error);
    assert.match(error.message, /storage\.example\.net/);
    assert.equal(plainHttpCalls, 0);
  });

  void it('a redirect from https to plain http on loopback is followed', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: blobPath, method: 'GET' })
      .reply(307, '', { headers: { location: 'http://127.0.0.1:5999/blobs/abc' } });
    agent.get('http://127.0.0.1:5999').intercept({ path: '/blobs/abc', method: 'GET' }).reply(200, blobBytes);
    assert.deepEqual(await readAll(await client.openBlob(repo, blobDigest)), blobBytes);
  });
});

void describe('scheme selection', () => {
  void it('a registry by name is https, Docker Hub included', async () => {
    makeClient();
    assert.equal(await client.http.baseUrl(REGISTRY), 'https://registry.example.com');
    assert.equal(await client.http.baseUrl('registry.example.com:5000'), 'https://registry.example.com:5000');
    assert.equal(await client.http.baseUrl('docker.io'), 'https://registry-1.docker.io');
  });

  void it('a non-loopback registry is never spoken to over http, even when https is down', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: (p) => p.startsWith('/v2/'), method: () => true })
      .replyWithError(connectionError('ECONNREFUSED'))
      .persist();
    let plainHttpCalls = 0;
    agent
      .get(`http://${REGISTRY}`)
      .intercept({ path: (p) => p.startsWith('/v2/'), method: () => true })
      .reply(() => {
        plainHttpCalls++;
        return { statusCode: 200, data: manifestBytes };
      })
      .persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'NETWORK');
    assertOneLine(error);
    assert.equal(plainHttpCalls, 0);
    assert.equal(await client.http.baseUrl(REGISTRY), 'https://registry.example.com');

    // Nor by an absolute http URL (a Location the registry handed out, say).
    const refused = await caught(
      client.http.request({ registry: REGISTRY, repository: 'team/app', operation: 'push', method: 'GET', path: `http://${REGISTRY}/v2/team/app/blobs/uploads/abc`, scopes: [] }),
    );
    assert.equal(refused.code, 'INSECURE_REFUSED');
    assert.equal(plainHttpCalls, 0);
  });

  void it('an insecure-listed registry whose https probe fails to connect is used over http', async () => {
    const insecure = 'insecure.example.com:5000';
    makeClient({ insecureRegistries: [insecure] });
    agent
      .get(`https://${insecure}`)
      .intercept({ path: '/v2/', method: 'GET' })
      .replyWithError(connectionError('ECONNREFUSED'))
      .persist();
    agent
      .get(`http://${insecure}`)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(200, manifestBytes, { headers: { 'content-type': OCI_IMAGE_MANIFEST, 'docker-content-digest': manifestDigest } });
    const manifest = await client.getManifest({ registry: insecure, repository: 'team/app' }, 'v1');
    assert.equal(manifest.digest, manifestDigest);
    assert.equal(await client.http.baseUrl(insecure), `http://${insecure}`);
  });

  void it('an insecure-listed registry that answers https keeps https', async () => {
    const insecure = 'insecure.example.com:5000';
    makeClient({ insecureRegistries: [insecure] });
    agent.get(`https://${insecure}`).intercept({ path: '/v2/', method: 'GET' }).reply(401, '', { headers: { 'www-authenticate': 'Basic realm="x"' } });
    assert.equal(await client.http.baseUrl(insecure), `https://${insecure}`);
  });
});

void describe('authentication', () => {
  void it('a token realm on plain http for a non-loopback host is INSECURE_REFUSED and the password never leaves', async () => {
    const password = 'pw-never-leaves-3c9e';
    makeClient({ credentials: staticCredentials({ [REGISTRY]: { username: 'alice', password } }) });
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': `Bearer realm="http://auth.example.com/token",service="${REGISTRY}"` } })
      .persist();
    let realmCalls = 0;
    agent
      .get('http://auth.example.com')
      .intercept({ path: (p) => p.startsWith('/token'), method: () => true })
      .reply(() => {
        realmCalls++;
        return { statusCode: 200, data: JSON.stringify({ token: 'stolen' }) };
      })
      .persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'INSECURE_REFUSED');
    assertOneLine(error);
    assert.match(error.message, /auth\.example\.com/);
    assert.ok(!error.message.includes(password));
    assert.equal(realmCalls, 0);
  });

  void it('a Basic challenge is answered with the configured credentials', async () => {
    const password = 'basic-pw-0e4d';
    makeClient({ credentials: staticCredentials({ [REGISTRY]: { username: 'alice', password } }) });
    const seen: (string | undefined)[] = [];
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply((opts) => {
        const authorization = headerOf(opts, 'authorization');
        seen.push(authorization);
        return authorization
          ? { statusCode: 200, data: manifestBytes, responseOptions: { headers: { 'content-type': OCI_IMAGE_MANIFEST } } }
          : { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': 'Basic realm="Registry Realm"' } } };
      })
      .persist();
    const manifest = await client.getManifest(repo, 'v1');
    assert.equal(manifest.digest, manifestDigest);
    assert.deepEqual(seen, [undefined, `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`]);
    // The challenge is remembered: the next request carries Basic straight away.
    await client.getManifest(repo, 'v1');
    assert.equal(seen.length, 3);
    assert.ok(seen[2]?.startsWith('Basic '));
  });

  void it('concurrent first requests wait for the first one to learn the challenge: one 401, not one each', async () => {
    makeClient({ credentials: staticCredentials({ [REGISTRY]: { username: 'alice', password: 'pw-4410' } }) });
    const tokens = mockTokenEndpoint('tok-1');
    const unauthorized: string[] = [];
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: (p) => p.startsWith('/v2/team/app/blobs/'), method: 'HEAD' })
      .reply((opts) => {
        if (headerOf(opts, 'authorization') !== 'Bearer tok-1') {
          unauthorized.push(opts.path);
          return { statusCode: 401, data: '', responseOptions: { headers: { 'www-authenticate': `${CHALLENGE},scope="repository:team/app:pull"` } } };
        }
        return { statusCode: 404, data: '' };
      })
      .persist();
    const digests = Array.from({ length: 5 }, (_, i) => sha256(`blob ${i}`));
    const answers = await Promise.all(digests.map((d) => client.headBlob(repo, d)));
    assert.deepEqual(answers, [undefined, undefined, undefined, undefined, undefined]);
    assert.equal(unauthorized.length, 1, `401s: ${unauthorized.join(', ')}`);
    assert.ok(tokens.length >= 1 && tokens.length <= 5);
  });

  void it('a registry without auth lets the waiting requests go once the first is answered', async () => {
    makeClient();
    let asked = 0;
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: (p) => p.startsWith('/v2/team/app/blobs/'), method: 'HEAD' })
      .reply(() => {
        asked++;
        return { statusCode: 404, data: '' };
      })
      .persist();
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => client.headBlob(repo, sha256(`anon ${i}`))));
    assert.equal(answers.filter((a) => a === undefined).length, 4);
    // Later requests do not wait for anything.
    assert.equal(await client.headBlob(repo, sha256('later')), undefined);
    assert.equal(asked, 5);
  });

  void it('a Basic challenge without credentials is UNAUTHORIZED', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': 'Basic realm="Registry Realm"' } })
      .persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.equal(error.status, 401);
    assertOneLine(error);
    assert.match(error.message, /docker login registry\.example\.com/);
  });
});

void describe('typed errors', () => {
  void it('carry the registry error body', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(404, JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name: 'team/app' } }] }), {
        headers: { 'content-type': 'application/json' },
      });
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'NAME_UNKNOWN');
    assert.equal(error.status, 404);
    assert.equal(error.registryErrors[0]?.code, 'NAME_UNKNOWN');
    assert.equal(error.registryErrors[0]?.message, 'repository name not known to registry');
    assert.deepEqual(error.registryErrors[0]?.detail, { name: 'team/app' });
    assert.equal(error.registry, REGISTRY);
    assert.equal(error.repository, 'team/app');
    assertOneLine(error);
    assert.match(error.message, /^pull registry\.example\.com\/team\/app: repository name not known to registry \(HTTP 404, NAME_UNKNOWN\)/);
  });

  void it('a bare 404 on a manifest is MANIFEST_UNKNOWN', async () => {
    makeClient();
    agent.get(REGISTRY_ORIGIN).intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' }).reply(404, '');
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'MANIFEST_UNKNOWN');
    assert.deepEqual(error.registryErrors, []);
  });
});

void describe('manifest checks', () => {
  void it('bytes that do not match the requested digest are DIGEST_MISMATCH', async () => {
    makeClient();
    const other = sha256('some other manifest');
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: `/v2/team/app/manifests/${other}`, method: 'GET' })
      .reply(200, manifestBytes, { headers: { 'content-type': OCI_IMAGE_MANIFEST, 'docker-content-digest': other } });
    const error = await caught(client.getManifest(repo, other));
    assert.equal(error.code, 'DIGEST_MISMATCH');
    assertOneLine(error);
    assert.ok(error.message.includes(other) && error.message.includes(manifestDigest), error.message);
  });

  void it('a tag whose Docker-Content-Digest disagrees with the bytes is DIGEST_MISMATCH', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(200, manifestBytes, { headers: { 'content-type': OCI_IMAGE_MANIFEST, 'docker-content-digest': sha256('tampered') } });
    assert.equal((await caught(client.getManifest(repo, 'v1'))).code, 'DIGEST_MISMATCH');
  });

  void it('the right bytes by digest pass', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: `/v2/team/app/manifests/${manifestDigest}`, method: 'GET' })
      .reply(200, manifestBytes, { headers: { 'content-type': OCI_IMAGE_MANIFEST } });
    const manifest = await client.getManifest(repo, manifestDigest);
    assert.equal(manifest.digest, manifestDigest);
    assert.deepEqual(manifest.bytes, manifestBytes);
  });

  void it('a body over 4 MiB without content-length is MANIFEST_TOO_LARGE', async () => {
    makeClient();
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(200, Buffer.alloc(maxManifestBytes + 1, 0x20), { headers: { 'content-type': OCI_IMAGE_MANIFEST } });
    assert.equal((await caught(client.getManifest(repo, 'v1'))).code, 'MANIFEST_TOO_LARGE');
  });
});

/** A loopback "registry" whose manifest endpoint is `handler`. */
async function loopbackRegistry(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; host: string }> {
  const server = createServer((req, res) => {
    if (req.url?.includes('/manifests/')) handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

void describe('oversized manifests are refused without buffering them (loopback servers)', () => {
  let loopback: { server: Server; host: string } | undefined;
  beforeEach(() => {
    loopback = undefined;
  });
  afterEach(async () => {
    if (loopback) await stopServer(loopback.server);
  });

  void it('an endless chunked body stops at the limit, quickly', { timeout: 15_000 }, async () => {
    await agent.close(); // a real Agent for these two
    makeClient({ dispatcher: undefined });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const cap = 512 * 1024 * 1024;
    let written = 0;
    let socketClosed!: () => void;
    const closed = new Promise<void>((resolve) => (socketClosed = resolve));
    loopback = await loopbackRegistry((_req, res) => {
      res.writeHead(200, { 'content-type': OCI_IMAGE_MANIFEST }); // no content-length: chunked
      let done = false;
      res.on('close', () => {
        done = true;
        socketClosed();
      });
      const pump = () => {
        while (!done && written < cap) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!done) res.end();
      };
      pump();
    });
    const started = Date.now();
    const error = await caught(client.getManifest({ registry: loopback.host, repository: 'team/app' }, 'v1'));
    const elapsed = Date.now() - started;
    assert.equal(error.code, 'MANIFEST_TOO_LARGE');
    await closed; // the client hung up rather than draining the rest
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    assert.ok(written < 64 * 1024 * 1024, `the server got to write ${written} bytes`);
  });

  void it('a declared content-length over the limit is refused before the body arrives', { timeout: 15_000 }, async () => {
    await agent.close(); // a real Agent for these two
    makeClient({ dispatcher: undefined });
    loopback = await loopbackRegistry((_req, res) => {
      res.writeHead(200, { 'content-type': OCI_IMAGE_MANIFEST, 'content-length': String(1024 * 1024 * 1024) });
      res.write(Buffer.alloc(1024, 0x20)); // ...and then nothing more, ever
    });
    const started = Date.now();
    const error = await caught(client.getManifest({ registry: loopback.host, repository: 'team/app' }, 'v1'));
    assert.equal(error.code, 'MANIFEST_TOO_LARGE');
    assert.ok(Date.now() - started < 5000);
  });
});

void describe('no secret in error messages', () => {
  const password = 'S3cret-pw-do-not-print-8b2f';
  const token = 'tok-do-not-print-4a7c';
  const basic = Buffer.from(`alice:${password}`).toString('base64');
  const secrets = [password, token, basic];
  const assertNoSecret = (error: Error) => {
    for (const secret of secrets) assert.ok(!error.message.includes(secret), `secret in: ${error.message}`);
    assertOneLine(error);
  };
  const withPassword = () => makeClient({ credentials: staticCredentials({ [REGISTRY]: { username: 'alice', password } }) });
  const challengeOnManifest = () =>
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': CHALLENGE } })
      .persist();

  void it('token server rejects the password', async () => {
    withPassword();
    challengeOnManifest();
    agent
      .get(AUTH_ORIGIN)
      .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
      .reply(401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }))
      .persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'UNAUTHORIZED');
    assertNoSecret(error);
  });

  void it('token server fails or sends junk', async () => {
    withPassword();
    challengeOnManifest();
    agent.get(AUTH_ORIGIN).intercept({ path: (p) => p.startsWith('/token'), method: 'GET' }).reply(400, 'nope').persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'TOKEN_FAILED');
    assertNoSecret(error);
  });

  void it('token server unreachable', async () => {
    withPassword();
    challengeOnManifest();
    agent.get(AUTH_ORIGIN).intercept({ path: (p) => p.startsWith('/token'), method: 'GET' }).replyWithError(connectionError('ECONNREFUSED')).persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'TOKEN_FAILED');
    assertNoSecret(error);
  });

  void it('the registry refuses a fresh token', async () => {
    withPassword();
    mockTokenEndpoint(token);
    challengeOnManifest();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'UNAUTHORIZED');
    assertNoSecret(error);
  });

  void it('a transport failure after authenticating', async () => {
    withPassword();
    mockTokenEndpoint(token);
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': CHALLENGE } });
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .replyWithError(connectionError('ECONNRESET'))
      .persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'NETWORK');
    assertNoSecret(error);
  });

  void it('a token server that echoes the password in its rejection', async () => {
    withPassword();
    challengeOnManifest();
    agent
      .get(AUTH_ORIGIN)
      .intercept({ path: (p) => p.startsWith('/token'), method: 'GET' })
      .reply(401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: `password ${password} is wrong for alice` }] }))
      .persist();
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'UNAUTHORIZED');
    assertNoSecret(error);
  });

  void it('a registry (or proxy) that echoes the credentials in its error body', async () => {
    withPassword();
    mockTokenEndpoint(token);
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': CHALLENGE } });
    agent
      .get(REGISTRY_ORIGIN)
      .intercept({ path: '/v2/team/app/manifests/v1', method: 'GET' })
      .reply(403, JSON.stringify({ errors: [{ code: 'DENIED', message: `token ${token} is not valid here` }] }));
    const error = await caught(client.getManifest(repo, 'v1'));
    assert.equal(error.code, 'DENIED');
    assertNoSecret(error);
  });
});
