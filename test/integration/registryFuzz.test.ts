// The registry client against a hostile registry (a real HTTP server on 127.0.0.1): malformed
// JSON, lying Content-Lengths, digest mismatches, huge headers, redirect loops, a manifest with
// 100,000 layers, a token server that never answers, WWW-Authenticate garbage, broken chunked
// framing — then a seeded random loop over response mutations. Every case must end, within its
// time bound, in the right data or a typed one-line RegistryError with a stable code; memory
// stays bounded (heap and RSS deltas are measured and printed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { apiRoot, json, raw, startHostileRegistry, type HostileRegistry } from '../bed/hostileRegistry';
import { startTokenServer, type TokenServer } from '../bed/tokenServer';
import { RegistryClient, maxManifestBytes } from '../../server/src/registry/registryClient';
import { RegistryError, type RegistryErrorCode } from '../../server/src/registry/errors';
import { staticCredentials } from '../../server/src/registry/credentials';
import type { RetryPolicy } from '../../server/src/registry/retryInterceptor';
import { prng } from '../lsp/mutate';
import { fuzzResponse, mutations, type Mutation } from './registryFuzzMutations';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const policy: RetryPolicy = { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 50, statusCodes: new Set([429, 500, 502, 503, 504]), methods: new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'POST']) };
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const layer = Buffer.alloc(200_000, 7);
const manifestOf = (layers: { digest: string; size: number }[]) =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })) }));
const manifest = manifestOf([{ digest: sha256(layer), size: layer.length }]);
const OCI = 'application/vnd.oci.image.manifest.v1+json';

let hostile: HostileRegistry;
let second: HostileRegistry;
let tokens: TokenServer;
const figures: string[] = [];

before(async () => {
  hostile = await startHostileRegistry();
  second = await startHostileRegistry();
  tokens = await startTokenServer({ users: { alice: 'fuzz-pw-1' } });
});
after(async () => {
  await hostile?.stop();
  await second?.stop();
  await tokens?.stop();
  console.log(`registry fuzz figures:\n  ${figures.join('\n  ')}`);
});

function client(extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  return new RegistryClient({ retryPolicy: policy, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, ...extra });
}
const repo = () => ({ registry: hostile.host, repository: 'team/app' });

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Runs `op`, which must fail with a typed one-line error of one of `codes`, within `boundMs`. */
async function typedFailure(name: string, op: (c: RegistryClient) => Promise<unknown>, codes: RegistryErrorCode[], boundMs = 5000, c = client()): Promise<RegistryError> {
  const started = performance.now();
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), boundMs + 2000).unref());
  try {
    const outcome = await Promise.race([op(c).then(() => 'ok' as const, (e: unknown) => e), timer]);
    const ms = performance.now() - started;
    assert.notEqual(outcome, 'timeout', `${name}: no answer within ${boundMs} ms`);
    assert.notEqual(outcome, 'ok', `${name}: succeeded on a hostile answer`);
    assert.ok(outcome instanceof RegistryError, `${name}: not a RegistryError: ${String(outcome)} (${(outcome as { code?: string })?.code})`);
    assert.ok(codes.includes(outcome.code), `${name}: code ${outcome.code} not in ${codes.join('/')}: ${outcome.message}`);
    assert.ok(!/[\r\n]/.test(outcome.message), `${name}: multi-line: ${JSON.stringify(outcome.message)}`);
    assert.ok(outcome.message.length < 500, `${name}: message of ${outcome.message.length} chars`);
    assert.ok(ms < boundMs, `${name}: took ${ms.toFixed(0)} ms`);
    figures.push(`${name}: ${outcome.code} in ${ms.toFixed(0)} ms`);
    return outcome;
  } finally {
    await c.close();
  }
}

const getManifest = (c: RegistryClient) => c.getManifest(repo(), 'v1');
const v2 = (req: http.IncomingMessage, res: http.ServerResponse) => (req.url === '/v2/' ? (apiRoot(res), true) : false);

describe('malformed answers', () => {
  test('bad JSON, a non-object, schema 1: MANIFEST_INVALID', async () => {
    for (const body of ['{"schemaVersion": 2, "layers": [', '[]', '{"schemaVersion":1}', '\u0000\u00ff garbage']) {
      hostile.handle((req, res) => v2(req, res) || json(res, 200, body, { 'content-type': OCI }));
      await typedFailure(`manifest ${JSON.stringify(body.slice(0, 20))}`, getManifest, ['MANIFEST_INVALID']);
    }
  });

  test('Content-Length shorter than the body sent, then the connection closes: a typed error, not a raw undici one', async () => {
    hostile.handle((req, res) => v2(req, res) || raw(res, `HTTP/1.1 200 OK\r\ncontent-type: ${OCI}\r\ncontent-length: ${manifest.length + 500}\r\n\r\n${manifest.toString()}`));
    await typedFailure('content-length long, body short', getManifest, ['NETWORK', 'PROTOCOL']);
  });

  test('a body longer than its Content-Length: the extra bytes are never taken as the manifest', async () => {
    hostile.handle((req, res) => v2(req, res) || raw(res, `HTTP/1.1 200 OK\r\ncontent-type: ${OCI}\r\ndocker-content-digest: ${sha256(manifest)}\r\ncontent-length: ${manifest.length - 40}\r\n\r\n${manifest.toString()}GARBAGE`));
    await typedFailure('content-length short, body long', getManifest, ['DIGEST_MISMATCH', 'MANIFEST_INVALID']);
  });

  test('digest mismatches: manifest by header, manifest by digest, blob content', async () => {
    const other = Buffer.from(manifest.toString().replace('tar+gzip', 'tar+GZIP'));
    assert.notEqual(sha256(other), sha256(manifest));
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(200, { 'content-type': OCI, 'docker-content-digest': sha256(other) }), res.end(manifest)));
    await typedFailure('manifest header digest', getManifest, ['DIGEST_MISMATCH']);
    await typedFailure('manifest by digest', (c) => c.getManifest(repo(), sha256(other)), ['DIGEST_MISMATCH']);
    const evil = Buffer.from(layer);
    evil[1000] = 8;
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(200, { 'content-length': evil.length }), res.end(evil)));
    await typedFailure('blob content', async (c) => drain(await c.openBlob(repo(), sha256(layer), { size: layer.length })), ['DIGEST_MISMATCH']);
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(200, { 'content-length': layer.length - 10 }), res.end(layer.subarray(10))));
    await typedFailure('blob short', async (c) => drain(await c.openBlob(repo(), sha256(layer), { size: layer.length })), ['SIZE_MISMATCH']);
  });

  test('huge response headers (1 MiB): refused, bounded', async () => {
    hostile.handle((req, res) => v2(req, res) || raw(res, `HTTP/1.1 200 OK\r\nx-junk: ${'a'.repeat(1024 * 1024)}\r\ncontent-length: 2\r\n\r\n{}`));
    await typedFailure('huge header', getManifest, ['PROTOCOL', 'NETWORK']);
  });

  test('redirect loops: to itself, ping-pong between two servers', async () => {
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(307, { location: req.url ?? '/' }), res.end()));
    await typedFailure('self redirect', getManifest, ['TOO_MANY_REDIRECTS']);
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(302, { location: `${second.url}/bounce` }), res.end()));
    second.handle((_req, res) => (res.writeHead(302, { location: `${hostile.url}/v2/team/app/manifests/v1` }), res.end()));
    await typedFailure('ping-pong redirect', getManifest, ['TOO_MANY_REDIRECTS']);
  });

  test('a manifest with 100,000 layers is refused as too large; 25,000 layers (under 4 MiB) parse quickly', async () => {
    const layers = Array.from({ length: 100_000 }, (_, i) => ({ digest: sha256(String(i)), size: i }));
    const huge = manifestOf(layers);
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(200, { 'content-type': OCI }), res.end(huge)));
    await typedFailure(`manifest of 100,000 layers (${huge.length} bytes, chunked)`, getManifest, ['MANIFEST_TOO_LARGE']);
    const many = manifestOf(layers.slice(0, 25_000));
    assert.ok(many.length < maxManifestBytes);
    hostile.handle((req, res) => v2(req, res) || (res.writeHead(200, { 'content-type': OCI, 'content-length': many.length }), res.end(many)));
    const c = client();
    try {
      const started = performance.now();
      const fetched = await c.getManifest(repo(), 'v1');
      const ms = performance.now() - started;
      assert.equal(fetched.parsed.kind === 'image' ? fetched.parsed.manifest.layers.length : 0, 25_000);
      assert.ok(ms < 3000, `${ms} ms`);
      figures.push(`manifest of 25,000 layers (${many.length} bytes): parsed in ${ms.toFixed(0)} ms`);
    } finally {
      await c.close();
    }
  });

  test('chunked garbage and bytes that are not HTTP', async () => {
    hostile.handle((req, res) => v2(req, res) || raw(res, `HTTP/1.1 200 OK\r\ncontent-type: ${OCI}\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"sch\r\nZZZ\r\nnot a chunk\r\n`));
    await typedFailure('chunked garbage', getManifest, ['PROTOCOL', 'NETWORK']);
    hostile.handle((req, res) => v2(req, res) || raw(res, Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])));
    await typedFailure('not HTTP', getManifest, ['PROTOCOL', 'NETWORK']);
    hostile.handle((req, res) => v2(req, res) || raw(res, 'HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n'));
    await typedFailure('negative content-length', getManifest, ['PROTOCOL', 'NETWORK']);
  });
});

describe('authentication answers', () => {
  test('WWW-Authenticate garbage: UNAUTHORIZED in one line, never a crash', async () => {
    for (const header of ['', 'Bearer', 'Bearer realm', 'Bearer realm="', 'Bearer realm="::::"', 'Bearer realm="ftp://x/token"', 'Negotiate abc', `Bearer realm="${'x'.repeat(10_000)}"`, 'Basic realm="a", Bearer realm=",,,,"', '\u0000\u0001']) {
      hostile.handle((_req, res) => raw(res, `HTTP/1.1 401 Unauthorized\r\n${header ? `www-authenticate: ${header}\r\n` : ''}content-length: 0\r\n\r\n`));
      // Control characters in a header are not HTTP at all: PROTOCOL is the right answer there.
      await typedFailure(`www-authenticate ${JSON.stringify(header.slice(0, 24))}`, getManifest, ['UNAUTHORIZED', 'TOKEN_FAILED', 'INSECURE_REFUSED', ...(/[\u0000-\u001f]/.test(header) ? (['PROTOCOL'] as const) : [])], 5000, client({ credentials: staticCredentials({ [hostile.host]: { username: 'alice', password: 'fuzz-pw-1' } }) }));
    }
  });

  test('a token server that never answers: TOKEN_FAILED within the client timeouts', async () => {
    tokens.stall = true;
    try {
      hostile.handle((req, res) => (res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}"` }), res.end()));
      // headers timeout 1 s, three attempts: the bound is the retry budget, not the default 30 s.
      await typedFailure('token never comes', getManifest, ['TOKEN_FAILED'], 6000, client({ credentials: staticCredentials({ [hostile.host]: { username: 'alice', password: 'fuzz-pw-1' } }) }));
    } finally {
      tokens.stall = false;
    }
  });

  test('a token server answering junk: TOKEN_FAILED', async () => {
    second.handle((_req, res) => json(res, 200, '{"token": 12'));
    hostile.handle((req, res) => (res.writeHead(401, { 'www-authenticate': `Bearer realm="${second.url}/token",service="x"` }), res.end()));
    await typedFailure('token junk', getManifest, ['TOKEN_FAILED']);
    second.handle((_req, res) => raw(res, `HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"tok`));
    await typedFailure('token cut', getManifest, ['TOKEN_FAILED']);
  });
});

describe('random response mutations (seeded)', () => {
  const cases = Number(process.env.LAYERLIFT_REGISTRY_FUZZ_CASES ?? 300);
  test(`${cases} cases: correct data or a typed one-line error, bounded time and memory`, { timeout: 300_000 }, async () => {
    const seed = Number(process.env.LAYERLIFT_FUZZ_SEED ?? 20261123);
    const random = prng(seed);
    const c = client({ headersTimeoutMs: 250, bodyTimeoutMs: 250 });
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let maxMs = 0;
    const outcomes = new Map<string, number>();
    try {
      for (let i = 0; i < cases; i++) {
        const op = Math.floor(random() * 4);
        const mutation: Mutation = mutations[Math.floor(random() * mutations.length)] as Mutation;
        const variant = random();
        hostile.handle((req, res) => v2(req, res) || fuzzResponse(req, res, { manifest, config, layer, mutation, variant }));
        const started = performance.now();
        let outcome: string;
        try {
          if (op === 0) assert.deepEqual((await c.getManifest(repo(), 'v1')).bytes, manifest);
          else if (op === 1) assert.deepEqual(await drain(await c.openBlob(repo(), sha256(layer), { size: layer.length })), layer);
          else if (op === 2) await c.headManifest(repo(), 'v1');
          else await c.headBlob(repo(), sha256(layer));
          outcome = 'ok';
        } catch (error) {
          assert.ok(error instanceof RegistryError, `case ${i} (seed ${seed}, op ${op}, ${mutation}): ${String(error)} code=${(error as { code?: string }).code}`);
          assert.ok(!/[\r\n]/.test(error.message), `case ${i}: multi-line ${JSON.stringify(error.message)}`);
          outcome = error.code;
        }
        const ms = performance.now() - started;
        maxMs = Math.max(maxMs, ms);
        assert.ok(ms < 5000, `case ${i} (${mutation}) took ${ms.toFixed(0)} ms`);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
    } finally {
      await c.close();
    }
    gc();
    const heapDelta = process.memoryUsage().heapUsed - heapBefore;
    const summary = [...outcomes].map(([k, v]) => `${k} ${v}`).join(', ');
    figures.push(`random loop: ${cases} cases (seed ${seed}), max ${maxMs.toFixed(0)} ms; heap delta ${heapDelta >= 0 ? '+' : ''}${(heapDelta / 1e6).toFixed(2)} MB, RSS peak +${((peakRss - rssBefore) / 1e6).toFixed(1)} MB; outcomes: ${summary}`);
    assert.ok(outcomes.size >= 4, `the mutations reached few outcomes: ${summary}`);
    assert.ok((outcomes.get('ok') ?? 0) > 0, 'some cases succeed (the harness is not always failing)');
    assert.ok(heapDelta < 30e6, `heap grew by ${heapDelta}`);
    assert.ok(peakRss - rssBefore < 200e6, `RSS grew by ${peakRss - rssBefore}`);
  });
});
