// The base's mount candidates answered by one manifest HEAD each (push/pushFacts.ts baseHolders):
// where the candidate holds the base's manifest, its blobs are present without a HEAD each; where
// it does not (404, another digest, an error), they are asked one by one as before. The registry is
// undici's MockAgent (a unit edge case; enginePush.test.ts runs the real one).
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { parseReference } from '../../server/src/core/reference';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { baseHolders, KnownBlobs, probePresence } from '../../server/src/push/pushFacts';

const REGISTRY = 'r.example.com';
const ORIGIN = `https://${REGISTRY}`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const mediaType = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const target = parseReference(`${REGISTRY}/team/app:1`);
const manifestDigest = digest('f');
const base = {
  ref: parseReference(`hub.example.com/library/python@${manifestDigest}`),
  blobs: { manifestDigest, diffIds: ['sha256:d1', 'sha256:d2'], layers: [digest('a'), digest('b')].map((d) => ({ mediaType, digest: d, size: 100 })) },
};

let agent: MockAgent;
let client: RegistryClient;
let requests: string[];

/** The registry: `manifestAnswer` for the base's manifest in library/python; blob HEADs 200 there, 404 in the target. */
function registry(manifestAnswer: { status: number; digest?: string }) {
  agent
    .get(ORIGIN)
    .intercept({ path: (p) => p.startsWith('/v2/'), method: 'HEAD' })
    .reply((opts) => {
      requests.push(opts.path);
      if (opts.path.includes('/manifests/')) {
        return { statusCode: manifestAnswer.status, data: '', responseOptions: { headers: manifestAnswer.digest ? { 'docker-content-digest': manifestAnswer.digest, 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' } : {} } };
      }
      return { statusCode: opts.path.startsWith('/v2/library/python/') ? 200 : 404, data: '', responseOptions: { headers: { 'content-length': '100', 'docker-content-digest': opts.path.split('/').pop() ?? '' } } };
    })
    .persist();
}

function known(): KnownBlobs {
  const blobs = new KnownBlobs();
  base.blobs.layers.forEach((layer, i) => blobs.add(base.blobs.diffIds[i] ?? '', layer, `${REGISTRY}/library/python`));
  return blobs;
}

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  client = new RegistryClient({ dispatcher: agent, retryPolicy: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, statusCodes: new Set(), methods: new Set() } });
  requests = [];
});
afterEach(async () => {
  await agent.close();
});

describe('baseHolders', () => {
  test("the candidate holds the base's manifest: its blobs are present, asked with one HEAD", async () => {
    registry({ status: 200, digest: manifestDigest });
    const holders = baseHolders(client, target, base, undefined);
    assert.deepEqual([...holders.keys()], [`${REGISTRY}/library/python`]);
    const present = await probePresence(client, { registry: REGISTRY, repository: 'team/app' }, known(), undefined, undefined, { holders });
    assert.equal(present.get(`${REGISTRY}/library/python|${digest('a')}`), true);
    assert.equal(present.get(`${REGISTRY}/library/python|${digest('b')}`), true);
    assert.equal(present.get(`${REGISTRY}/team/app|${digest('a')}`), false);
    assert.deepEqual(requests.filter((p) => p.startsWith('/v2/library/python/')), [`/v2/library/python/manifests/${manifestDigest}`]);
  });

  for (const [what, answer] of [
    ['is absent', { status: 404 }],
    ['answers with another digest', { status: 200, digest: digest('e') }],
    ['cannot be read', { status: 403 }],
  ] as const) {
    test(`the candidate's manifest ${what}: each blob is asked as before`, async () => {
      registry(answer);
      const present = await probePresence(client, { registry: REGISTRY, repository: 'team/app' }, known(), undefined, undefined, { holders: baseHolders(client, target, base, undefined) });
      assert.equal(present.get(`${REGISTRY}/library/python|${digest('a')}`), true);
      assert.equal(requests.filter((p) => p.startsWith('/v2/library/python/blobs/')).length, 2);
    });
  }

  test('the target itself and candidates in other registries are not asked', () => {
    registry({ status: 404 });
    const own = { ...base, ref: parseReference(`${REGISTRY}/team/app@${manifestDigest}`) };
    assert.equal(baseHolders(client, target, own, undefined).size, 0);
    assert.deepEqual([...baseHolders(client, target, base, { 'hub.example.com/*': 'elsewhere.example.com/*' }).keys()], [`${REGISTRY}/library/python`]);
  });
});
