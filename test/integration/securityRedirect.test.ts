// Credentials never follow a redirect to another host: a registry (the hostile bed server,
// demanding Basic auth or a real bearer token from the bed's token server) redirects blob and
// manifest reads, and hands out upload Locations, to a second 127.0.0.1 listener on another port
// that records every header. The CLI (inspect, copy) must send the registry its credentials —
// proven by the registry seeing them — and the other listener none of them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { apiRoot, json, startHostileRegistry, type HostileRegistry } from '../bed/hostileRegistry';
import { startTokenServer, type TokenServer } from '../bed/tokenServer';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';

const password = 'redirect-pw-7730';
const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const layer = Buffer.alloc(50_000, 3);
const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }] });
const OCI = 'application/vnd.oci.image.manifest.v1+json';

let work: { path: string; remove: () => Promise<void> };
let registry: HostileRegistry;
let storage: HostileRegistry;
let tokens: TokenServer;
let env: NodeJS.ProcessEnv;
let mode: 'basic' | 'bearer' = 'basic';

/** The registry: checks credentials, then redirects every blob read and upload to `storage`. */
function registryHandler(req: IncomingMessage, res: ServerResponse): unknown {
  const auth = req.headers.authorization ?? '';
  const ok = mode === 'basic' ? auth === `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` : tokens.issued.some((t) => auth === `Bearer ${t}`);
  if (!ok) {
    const challenge = mode === 'basic' ? 'Basic realm="redirect-test"' : `Bearer realm="${tokens.realm}",service="${tokens.service}"`;
    return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': challenge });
  }
  const url = req.url ?? '';
  if (url === '/v2/') return apiRoot(res);
  if (/\/manifests\//.test(url) && (req.method === 'GET' || req.method === 'HEAD')) {
    if (!url.includes('redirected=1') && req.method === 'GET') return (res.writeHead(307, { location: `${storage.url}/manifest?from=${encodeURIComponent(url)}` }), res.end());
    return json(res, 200, manifest, { 'content-type': OCI, 'docker-content-digest': sha256(manifest) });
  }
  if (/\/manifests\//.test(url) && req.method === 'PUT') return (res.writeHead(201, { 'docker-content-digest': sha256(manifest) }), res.end());
  if (/\/blobs\/uploads\/$/.test(url.split('?')[0] ?? '')) return (res.writeHead(202, { location: `${storage.url}/upload/1`, 'content-length': 0 }), res.end());
  if (/\/blobs\//.test(url) && req.method === 'HEAD') return (res.writeHead(404, { 'content-length': 0 }), res.end());
  if (/\/blobs\//.test(url)) return (res.writeHead(302, { location: `${storage.url}/blob/${url.split('/').pop() ?? ''}` }), res.end());
  return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
}

/** Object storage on another port: serves the bytes, records who sent what. */
function storageHandler(req: IncomingMessage, res: ServerResponse): unknown {
  const url = req.url ?? '';
  if (url.startsWith('/manifest')) return json(res, 200, manifest, { 'content-type': OCI });
  if (url === `/blob/${sha256(config)}`) return (res.writeHead(200, { 'content-length': config.length }), res.end(config));
  if (url === `/blob/${sha256(layer)}`) return (res.writeHead(200, { 'content-length': layer.length }), res.end(layer));
  if (url.startsWith('/upload/')) {
    const digest = new URL(url, storage.url).searchParams.get('digest');
    if (req.method === 'PUT' && digest) return (res.writeHead(201, { 'docker-content-digest': digest, location: `/v2/x/blobs/${digest}`, 'content-length': 0 }), res.end());
    return (res.writeHead(202, { location: `${storage.url}${url}`, range: '0-0', 'content-length': 0 }), res.end());
  }
  return json(res, 404, {});
}

before(async () => {
  work = await makeTempDir('redirect');
  tokens = await startTokenServer({ users: { alice: password } });
  registry = await startHostileRegistry(registryHandler);
  storage = await startHostileRegistry(storageHandler);
  const dockerConfig = join(work.path, 'docker');
  await mkdir(dockerConfig);
  await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } } }));
  env = { DOCKER_CONFIG: dockerConfig };
});
after(async () => {
  await registry?.stop();
  await storage?.stop();
  await tokens?.stop();
  await work?.remove();
});

/** No header the storage listener saw carries a credential or any secret we know. */
function assertStorageSawNoSecret(): void {
  const secrets = [password, Buffer.from(`alice:${password}`).toString('base64'), ...tokens.issued];
  assert.ok(storage.requests.length > 0, 'the redirects were followed');
  for (const request of storage.requests) {
    assert.equal(request.headers.authorization, undefined, `${request.method} ${request.path} carried Authorization`);
    assert.equal(request.headers.cookie, undefined);
    const all = JSON.stringify(request.headers) + request.path;
    for (const secret of secrets) assert.ok(!all.includes(secret), `${request.method} ${request.path} carried a secret`);
  }
}

describe('Authorization never follows a redirect to another host', () => {
  for (const scheme of ['basic', 'bearer'] as const) {
    test(`${scheme}: inspect reads the manifest and config through redirects; only the registry gets credentials`, async () => {
      mode = scheme;
      registry.reset();
      storage.reset();
      const run = await runCli(['inspect', '--json', `${registry.host}/team/app:v1`], env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal((JSON.parse(run.stdout) as { digest: string }).digest, sha256(manifest));
      assert.ok(registry.requests.some((r) => r.headers.authorization?.startsWith(scheme === 'basic' ? 'Basic ' : 'Bearer ')), 'the registry itself got the credentials');
      assert.ok(storage.requests.some((r) => r.path.startsWith('/blob/')) && storage.requests.some((r) => r.path.startsWith('/manifest')));
      assertStorageSawNoSecret();
    });

    test(`${scheme}: copy into the registry — uploads go to the storage Location without credentials`, async () => {
      mode = scheme;
      registry.reset();
      storage.reset();
      const run = await runCli(['copy', '--json', `${registry.host}/team/app:v1`, `${registry.host}/team/other:v1`], env);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(storage.requests.some((r) => r.method === 'PUT' && r.path.startsWith('/upload/')), JSON.stringify(storage.requests.map((r) => `${r.method} ${r.path}`)));
      assertStorageSawNoSecret();
    });
  }
});
