// The base candidates a push reuses: Podman's `localhost/NAME` names are local (not a registry on
// port 80); candidates in the target registry are tried first; duplicates once. readFirstBase
// reads them side by side on undici's MockAgent: an unreachable or unknown candidate is skipped
// with a note, the target registry's is preferred.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MockAgent } from 'undici';
import { formatReference, parseReference, type ImageReference } from '../../server/src/core/reference';
import { isLocalOnlyName, orderCandidates, readFirstBase } from '../../server/src/push/baseCandidates';
import { RegistryClient } from '../../server/src/registry/registryClient';

const hex = (c: string) => c.repeat(64);
const ref = (text: string): ImageReference => parseReference(text);
const names = (refs: ImageReference[]) => refs.map((r) => formatReference(r));

describe('isLocalOnlyName', () => {
  test("Podman's localhost/NAME (RepoDigests included) is local", () => {
    assert.equal(isLocalOnlyName(ref(`localhost/app@sha256:${hex('a')}`)), true);
    assert.equal(isLocalOnlyName(ref('localhost/app:1')), true);
    assert.equal(isLocalOnlyName(ref('localhost/team/app')), true);
  });

  test('localhost with a port is a registry', () => {
    assert.equal(isLocalOnlyName(ref('localhost:5000/x')), false);
    assert.equal(isLocalOnlyName(ref(`localhost:5000/team/x@sha256:${hex('b')}`)), false);
    assert.equal(isLocalOnlyName(ref('localhost:80/x')), false);
  });

  test('other registries, loopback addresses and Docker Hub are not local-only', () => {
    for (const text of ['127.0.0.1:5000/x', '127.0.0.1/x', 'registry.example.com/team/base:1', 'python:3.12', 'docker.io/library/ubuntu', 'localhost.example.com/x', '[::1]:5000/x']) {
      assert.equal(isLocalOnlyName(ref(text)), false, text);
    }
  });

  test('a Docker Hub repository called "localhost" is not local', () => {
    assert.equal(isLocalOnlyName(ref('docker.io/library/localhost')), false);
  });
});

describe('orderCandidates', () => {
  const base = `sha256:${hex('a')}`;
  const other = `sha256:${hex('b')}`;

  test('target-registry candidates first, the others after, each group in its own order', () => {
    const refs = [`hub.example.com/library/base@${base}`, `r.example.com/library/base@${base}`, `mirror.example.com/base@${base}`, `r.example.com/team/base@${base}`].map(ref);
    assert.deepEqual(names(orderCandidates(refs, 'r.example.com')), [`r.example.com/library/base@${base}`, `r.example.com/team/base@${base}`, `hub.example.com/library/base@${base}`, `mirror.example.com/base@${base}`]);
  });

  test("Podman's localhost/ names are dropped; localhost:5000 is kept as a registry", () => {
    const refs = [`localhost/base@${base}`, `localhost:5000/base@${base}`, `r.example.com/base@${base}`].map(ref);
    assert.deepEqual(names(orderCandidates(refs, 'r.example.com')), [`r.example.com/base@${base}`, `localhost:5000/base@${base}`]);
    assert.deepEqual(names(orderCandidates(refs, 'localhost:5000')), [`localhost:5000/base@${base}`, `r.example.com/base@${base}`]);
  });

  test('duplicates (the same reference twice, also as spelled differently) are removed, first one kept', () => {
    const refs = [`hub.example.com/base@${base}`, `r.example.com/base@${base}`, `hub.example.com/base@${base}`, `r.example.com/base@${base}`].map(ref);
    assert.deepEqual(names(orderCandidates(refs, 'r.example.com')), [`r.example.com/base@${base}`, `hub.example.com/base@${base}`]);
    const hub = [`ubuntu@${base}`, `docker.io/library/ubuntu@${base}`, `index.docker.io/library/ubuntu@${base}`].map(ref);
    assert.equal(orderCandidates(hub, 'r.example.com').length, 1, 'docker.io spellings normalise to one reference');
  });

  test('the same repository at different digests is two candidates', () => {
    const refs = [`hub.example.com/base@${base}`, `hub.example.com/base@${other}`].map(ref);
    assert.deepEqual(names(orderCandidates(refs, 'r.example.com')), [`hub.example.com/base@${base}`, `hub.example.com/base@${other}`]);
  });

  test('nothing, or only local names → nothing', () => {
    assert.deepEqual(orderCandidates([], 'r.example.com'), []);
    assert.deepEqual(orderCandidates([ref(`localhost/a@${base}`), ref('localhost/b:1')], 'r.example.com'), []);
  });

  test('the input is not changed', () => {
    const refs = [`hub.example.com/base@${base}`, `localhost/base@${base}`, `r.example.com/base@${base}`].map(ref);
    const before = names(refs);
    orderCandidates(refs, 'r.example.com');
    assert.deepEqual(names(refs), before);
  });
});

// ---- readFirstBase on MockAgent -------------------------------------------------------------

const sha = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const diffIds = [`sha256:${hex('1')}`, `sha256:${hex('2')}`];
const configText = JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', rootfs: { type: 'layers', diff_ids: diffIds } });
const configDigest = sha(configText);
const layers = [
  { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex('c')}`, size: 1000 },
  { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex('d')}`, size: 2000 },
];
const manifestText = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: Buffer.byteLength(configText) }, layers });
const manifestDigest = sha(manifestText);
const platform = { os: 'linux', architecture: 'amd64' };
const tiny = { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, statusCodes: new Set<number>(), methods: new Set(['GET']) };

const agents: MockAgent[] = [];
after(async () => {
  for (const agent of agents) await agent.close();
});

function mock(): { agent: MockAgent; client: RegistryClient; serve: (host: string, repository: string) => void } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const client = new RegistryClient({ dispatcher: agent, retryPolicy: tiny });
  const serve = (host: string, repository: string) => {
    const origin = agent.get(`https://${host}`);
    origin.intercept({ path: `/v2/${repository}/manifests/${manifestDigest}`, method: 'GET' }).reply(200, manifestText, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': manifestDigest } });
    origin.intercept({ path: `/v2/${repository}/blobs/${configDigest}`, method: 'GET' }).reply(200, configText, { headers: { 'content-type': 'application/octet-stream' } });
  };
  return { agent, client, serve };
}

const candidates = (texts: string[]) => ({ find: () => Promise.resolve(texts.map(ref)) });
const target = ref('r.example.com/team/app:1');

describe('readFirstBase', () => {
  test('no base, or no candidates → undefined, no warning', async () => {
    const { client } = mock();
    const warnings: string[] = [];
    assert.equal(await readFirstBase(undefined, { client, platform, target, warnings }), undefined);
    assert.equal(await readFirstBase(candidates([]), { client, platform, target, warnings }), undefined);
    assert.equal(await readFirstBase(candidates([`localhost/base@${manifestDigest}`]), { client, platform, target, warnings }), undefined, 'a Podman local name is never asked');
    assert.deepEqual(warnings, []);
  });

  test('a named base is read: its manifest digest, layers, diff_ids and created', async () => {
    const { client, serve } = mock();
    serve('hub.example.com', 'library/base');
    const warnings: string[] = [];
    const found = await readFirstBase(ref(`hub.example.com/library/base@${manifestDigest}`), { client, platform, target, warnings });
    assert.ok(found);
    assert.equal(formatReference(found.ref), `hub.example.com/library/base@${manifestDigest}`);
    assert.equal(found.blobs.manifestDigest, manifestDigest);
    assert.deepEqual(found.blobs.diffIds, diffIds);
    assert.deepEqual(found.blobs.layers.map((l) => l.digest), layers.map((l) => l.digest));
    assert.equal(found.blobs.created, '2024-01-02T03:04:05Z');
    assert.deepEqual(warnings, []);
  });

  test('the target registry is preferred even when listed last; the other answering candidate gives no note', async () => {
    const { client, serve } = mock();
    serve('hub.example.com', 'library/base');
    serve('r.example.com', 'library/base');
    const warnings: string[] = [];
    const found = await readFirstBase(candidates([`hub.example.com/library/base@${manifestDigest}`, `r.example.com/library/base@${manifestDigest}`]), { client, platform, target, warnings });
    assert.equal(found && formatReference(found.ref), `r.example.com/library/base@${manifestDigest}`);
    assert.deepEqual(warnings, []);
  });

  test('an unreachable candidate is skipped with a one-line note naming the one used', async () => {
    const { agent, client, serve } = mock();
    agent
      .get('https://gone.example.com')
      .intercept({ path: `/v2/library/base/manifests/${manifestDigest}`, method: 'GET' })
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:443'), { code: 'ECONNREFUSED' }));
    serve('hub.example.com', 'library/base');
    const warnings: string[] = [];
    const found = await readFirstBase(candidates([`gone.example.com/library/base@${manifestDigest}`, `hub.example.com/library/base@${manifestDigest}`]), { client, platform, target, warnings });
    assert.equal(found && formatReference(found.ref), `hub.example.com/library/base@${manifestDigest}`);
    assert.equal(warnings.length, 1, warnings.join(' | '));
    assert.match(warnings[0] ?? '', /^the base candidate gone\.example\.com\/library\/base@sha256:[0-9a-f]{64} was skipped \(.+\); using hub\.example\.com\/library\/base@/);
    assert.ok(!(warnings[0] ?? '').includes('\n'));
  });

  test('an unknown candidate (404 MANIFEST_UNKNOWN) is skipped as "not found"', async () => {
    const { agent, client, serve } = mock();
    agent
      .get('https://r.example.com')
      .intercept({ path: `/v2/library/base/manifests/${manifestDigest}`, method: 'GET' })
      .reply(404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }), { headers: { 'content-type': 'application/json' } });
    serve('hub.example.com', 'library/base');
    const warnings: string[] = [];
    const found = await readFirstBase(candidates([`hub.example.com/library/base@${manifestDigest}`, `r.example.com/library/base@${manifestDigest}`]), { client, platform, target, warnings });
    assert.equal(found && formatReference(found.ref), `hub.example.com/library/base@${manifestDigest}`);
    assert.deepEqual(warnings, [`the base candidate r.example.com/library/base@${manifestDigest} was skipped (not found); using hub.example.com/library/base@${manifestDigest}`]);
  });

  test('no candidate can be read: undefined, a note per candidate and one summary', async () => {
    const { agent, client } = mock();
    for (const host of ['a.example.com', 'b.example.com']) {
      agent
        .get(`https://${host}`)
        .intercept({ path: `/v2/base/manifests/${manifestDigest}`, method: 'GET' })
        .replyWithError(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    }
    const warnings: string[] = [];
    const found = await readFirstBase(candidates([`a.example.com/base@${manifestDigest}`, `b.example.com/base@${manifestDigest}`]), { client, platform, target, warnings });
    assert.equal(found, undefined);
    assert.equal(warnings.length, 3, warnings.join(' | '));
    assert.match(warnings[0] ?? '', /^the base candidate a\.example\.com\/base@.* was skipped \(.+\)$/);
    assert.match(warnings[1] ?? '', /^the base candidate b\.example\.com\/base@.* was skipped \(.+\)$/);
    assert.equal(warnings[2], 'no base candidate could be read: the base layers are treated as unique');
  });

  test('a named base that cannot be read: undefined, its layers treated as unique', async () => {
    const { agent, client } = mock();
    agent
      .get('https://gone.example.com')
      .intercept({ path: `/v2/base/manifests/${manifestDigest}`, method: 'GET' })
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const warnings: string[] = [];
    assert.equal(await readFirstBase(ref(`gone.example.com/base@${manifestDigest}`), { client, platform, target, warnings }), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /^the base gone\.example\.com\/base@.* was skipped \(.+\); its layers are treated as unique$/);
  });

  test('a candidate that does not answer within the budget is skipped quickly, naming the budget', async () => {
    const { agent, client, serve } = mock();
    agent
      .get('https://slow.example.com')
      .intercept({ path: `/v2/base/manifests/${manifestDigest}`, method: 'GET' })
      .reply(200, manifestText, { headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } })
      .delay(5_000);
    serve('hub.example.com', 'library/base');
    const warnings: string[] = [];
    const started = Date.now();
    const found = await readFirstBase(candidates([`slow.example.com/base@${manifestDigest}`, `hub.example.com/library/base@${manifestDigest}`]), { client, platform, target, warnings, budgetMs: 200 });
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    assert.equal(found && formatReference(found.ref), `hub.example.com/library/base@${manifestDigest}`);
    assert.equal(warnings.length, 1, warnings.join(' | '));
    assert.match(warnings[0] ?? '', /slow\.example\.com.* was skipped \(no answer within 0\.2 s\); using hub\.example\.com/);
  });

  test("the caller's cancel is thrown, not turned into notes", async () => {
    const { agent, client } = mock();
    agent
      .get('https://slow.example.com')
      .intercept({ path: `/v2/base/manifests/${manifestDigest}`, method: 'GET' })
      .reply(200, manifestText)
      .delay(5_000);
    const controller = new AbortController();
    const reason = new Error('cancelled by the user');
    setTimeout(() => controller.abort(reason), 50);
    const warnings: string[] = [];
    await assert.rejects(readFirstBase(candidates([`slow.example.com/base@${manifestDigest}`]), { client, platform, target, warnings, signal: controller.signal, budgetMs: 5_000 }), (error: unknown) => error === reason);
  });
});
