// Plain HTTP only for loopback and registries the user marks insecure; TLS errors are one line,
// never bypassed. A registry by name (registry.layerlift.test, resolved to 127.0.0.1 by the
// client's own connect lookup — no /etc/hosts change) is not loopback to our code, so it must be
// spoken to over TLS only: against a plain-HTTP server it fails without ever sending an HTTP
// request, unless marked insecure; against a self-signed HTTPS server (openssl) it fails with
// TLS in one line, and succeeds only once the certificate is trusted. 127.0.0.2 does count as
// loopback (all of 127/8 is), which is why a name is used here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { apiRoot, json, startHostileRegistry, type HostileRegistry } from '../bed/hostileRegistry';
import { makeTempDir } from '../bed/process';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { RegistryError } from '../../server/src/registry/errors';
import { isLoopbackRegistry } from '../../server/src/core/reference';
import { staticCredentials } from '../../server/src/registry/credentials';

const NAME = 'registry.layerlift.test';
const password = 'transport-pw-2291';
let work: { path: string; remove: () => Promise<void> };
let plain: HostileRegistry;
let tls: https.Server;
let tlsPort = 0;
let tlsRequests = 0;
let cert = '';

/** Every name resolves to 127.0.0.1: loopback traffic only, whatever the test names. */
const lookup: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 }, layers: [] });
const serveManifest = (url: string | undefined, res: import('node:http').ServerResponse) => (url === '/v2/' ? apiRoot(res) : json(res, 200, manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }));

before(async () => {
  work = await makeTempDir('transport');
  const exec = promisify(execFile);
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work.path, 'key.pem'), '-out', join(work.path, 'cert.pem'), '-days', '1', '-subj', `/CN=${NAME}`, '-addext', `subjectAltName=DNS:${NAME}`]);
  cert = await readFile(join(work.path, 'cert.pem'), 'utf8');
  plain = await startHostileRegistry((req, res) => serveManifest(req.url, res));
  tls = https.createServer({ key: await readFile(join(work.path, 'key.pem')), cert }, (req, res) => {
    tlsRequests++;
    serveManifest(req.url, res);
  });
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', () => resolve()));
  tlsPort = (tls.address() as { port: number }).port;
});
after(async () => {
  await plain?.stop();
  tls?.closeAllConnections();
  await new Promise<void>((resolve) => (tls ? tls.close(() => resolve()) : resolve()));
  await work?.remove();
});

function client(options: { insecure?: string[]; ca?: string } = {}): RegistryClient {
  const dispatcher = new Agent({ connect: { lookup, ...(options.ca ? { ca: options.ca } : {}) } });
  return new RegistryClient({ dispatcher, insecureRegistries: options.insecure, headersTimeoutMs: 3000, credentials: staticCredentials({ [`${NAME}:${plain.port}`]: { username: 'alice', password }, [`${NAME}:${tlsPort}`]: { username: 'alice', password } }) });
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
  assert.ok(!error.message.includes('\n'), error.message);
  assert.ok(!error.message.includes(password));
  return error;
}

describe('which registries may be plain HTTP', () => {
  test('our loopback rule: all of 127/8, ::1 and localhost are loopback; a name is not', () => {
    for (const host of ['127.0.0.1:5000', '127.0.0.2:5000', 'localhost:5000', '[::1]:5000']) assert.equal(isLoopbackRegistry(host), true, host);
    for (const host of [`${NAME}:5000`, 'localhost.example.com', '127.0.0.1.nip.io', '10.0.0.1:5000']) assert.equal(isLoopbackRegistry(host), false, host);
  });

  test('a registry by name in front of a plain-HTTP server: no fallback to HTTP, not one HTTP request', async () => {
    plain.reset();
    const c = client();
    try {
      const error = await failure(c.getManifest({ registry: `${NAME}:${plain.port}`, repository: 'team/app' }, 'v1'));
      assert.ok(['TLS', 'NETWORK'].includes(error.code), `${error.code}: ${error.message}`);
      assert.equal(await c.http.baseUrl(`${NAME}:${plain.port}`), `https://${NAME}:${plain.port}`);
    } finally {
      await c.close();
    }
    assert.ok(plain.connections() > 0, 'the client did connect (over TLS)');
    assert.deepEqual(plain.requests, [], 'no plain-HTTP request reached the server');
  });

  test('the same registry marked insecure: the probe falls back to HTTP and the manifest arrives', async () => {
    plain.reset();
    const c = client({ insecure: [`${NAME}:${plain.port}`] });
    try {
      const fetched = await c.getManifest({ registry: `${NAME}:${plain.port}`, repository: 'team/app' }, 'v1');
      assert.equal(fetched.bytes.toString(), manifest);
    } finally {
      await c.close();
    }
    assert.ok(plain.requests.some((r) => r.path === '/v2/team/app/manifests/v1'));
  });
});

describe('TLS errors', () => {
  test('a self-signed certificate: TLS in one line with what to do; nothing was sent', async () => {
    tlsRequests = 0;
    const c = client();
    try {
      const error = await failure(c.getManifest({ registry: `${NAME}:${tlsPort}`, repository: 'team/app' }, 'v1'));
      assert.equal(error.code, 'TLS', error.message);
      assert.match(error.message, new RegExp(`^pull ${NAME.replace(/\./g, '\\.')}:${tlsPort}/team/app: TLS failed \\(`));
      assert.match(error.message, /fix the registry certificate/);
      assert.equal(error.retryable, false);
    } finally {
      await c.close();
    }
    assert.equal(tlsRequests, 0, 'no request got past the handshake');
  });

  test('the same server with its certificate trusted: it works (the failure was the certificate)', async () => {
    tlsRequests = 0;
    const c = client({ ca: cert });
    try {
      const fetched = await c.getManifest({ registry: `${NAME}:${tlsPort}`, repository: 'team/app' }, 'v1');
      assert.equal(fetched.bytes.toString(), manifest);
    } finally {
      await c.close();
    }
    assert.ok(tlsRequests > 0);
  });

  test('a certificate for another name is refused as well', async () => {
    const c = client({ ca: cert });
    const other = 'other.layerlift.test';
    try {
      const error = await failure(c.getManifest({ registry: `${other}:${tlsPort}`, repository: 'team/app' }, 'v1'));
      assert.equal(error.code, 'TLS', error.message);
    } finally {
      await c.close();
    }
  });
});
