// Mounting the base while the plan is made (push/mountAhead.ts): which blobs are candidates, that
// a mount starts only once the probes said the target lacks the blob and its source holds it, that
// a refusal is cancelled and an error left to the mover, and how the plan reports the result.
// The registry is undici's MockAgent (a unit edge case; the real registry runs in enginePush.test.ts).
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { parseReference } from '../../server/src/core/reference';
import { RegistryClient } from '../../server/src/registry/registryClient';
import type { LayerIndex } from '../../server/src/push/layerIndex';
import { MountAhead, mountAheadCandidates, presentWithMounted, withMountedAhead } from '../../server/src/push/mountAhead';
import type { PushPlan } from '../../server/src/push/plan';

const REGISTRY = 'r.example.com';
const ORIGIN = `https://${REGISTRY}`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const diffId = (c: string) => `sha256:d${c.repeat(63)}`;
const mediaType = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const target = parseReference(`${REGISTRY}/team/app:1`);
const base = {
  ref: parseReference(`hub.example.com/library/python@${digest('f')}`),
  blobs: { manifestDigest: digest('f'), diffIds: [diffId('1'), diffId('2'), diffId('3')], layers: ['a', 'b', 'c'].map((c) => ({ mediaType, digest: digest(c), size: 100 })) },
};
/** A LayerIndex as far as mountAheadCandidates reads it. */
const indexPlacing = (entries: Record<string, string[]>) => ({ lookup: (d: string) => (entries[d] ? [{ digest: digest('a'), size: 100, mediaType, repositories: entries[d] }] : []) }) as unknown as LayerIndex;

describe('mountAheadCandidates', () => {
  test("the base's own path in the target registry, for each base blob the image uses", () => {
    const chosen = mountAheadCandidates({ target, base, diffIds: [diffId('1'), diffId('2'), 'sha256:app'] });
    assert.deepEqual(chosen, [
      { digest: digest('a'), from: 'library/python' },
      { digest: digest('b'), from: 'library/python' },
    ]);
  });

  test("the user's mirror comes first; a mirror in another registry is not a mount source", () => {
    assert.equal(mountAheadCandidates({ target, base, diffIds: [diffId('1')], mirrors: { 'hub.example.com/*': `${REGISTRY}/mirror/*` } })[0]?.from, 'mirror/library/python');
    assert.equal(mountAheadCandidates({ target, base, diffIds: [diffId('1')], mirrors: { 'hub.example.com/*': 'elsewhere.example.com/mirror/*' } })[0]?.from, 'library/python');
  });

  test('a blob the local index places in the target is left alone; the target is never its own source', () => {
    const index = indexPlacing({ [diffId('1')]: [`${REGISTRY}/team/app`] });
    assert.deepEqual(mountAheadCandidates({ target, base, diffIds: [diffId('1'), diffId('2')], index }).map((c) => c.digest), [digest('b')]);
    const selfBase = { ...base, ref: parseReference(`${REGISTRY}/team/app@${digest('f')}`) };
    assert.deepEqual(mountAheadCandidates({ target, base: selfBase, diffIds: [diffId('1')] }), []);
  });
});

describe('MountAhead', () => {
  let agent: MockAgent;
  let client: RegistryClient;
  let posts: string[];
  let deletes: number;
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    // No retries: the 500 below is an error the mover would meet again, not one to wait out here.
    client = new RegistryClient({ dispatcher: agent, retryPolicy: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, statusCodes: new Set(), methods: new Set() } });
    posts = [];
    deletes = 0;
    agent
      .get(ORIGIN)
      .intercept({ path: (p) => p.startsWith('/v2/team/app/blobs/uploads/'), method: 'POST' })
      .reply((opts) => {
        const query = new URL(opts.path, ORIGIN).searchParams;
        posts.push(`${query.get('mount')} from ${query.get('from')}`);
        if (query.get('mount') === digest('c')) return { statusCode: 500, data: '' };
        if (query.get('mount') === digest('b')) return { statusCode: 202, data: '', responseOptions: { headers: { location: '/v2/team/app/blobs/uploads/u1' } } };
        return { statusCode: 201, data: '', responseOptions: { headers: { location: `/v2/team/app/blobs/${query.get('mount')}` } } };
      })
      .persist();
    agent
      .get(ORIGIN)
      .intercept({ path: '/v2/team/app/blobs/uploads/u1', method: 'DELETE' })
      .reply(() => {
        deletes++;
        return { statusCode: 204, data: '' };
      })
      .persist();
  });
  afterEach(async () => {
    await agent.close();
  });

  const repo = { registry: REGISTRY, repository: 'team/app' };
  const candidates = ['a', 'b', 'c'].map((c) => ({ digest: digest(c), from: 'library/python' }));

  test('mounts once both answers say so, not before, and never what the target has or the source lacks', async () => {
    const ahead = new MountAhead(client, repo, candidates);
    ahead.answer(`${REGISTRY}/library/python|${digest('a')}`, true);
    assert.deepEqual(posts, [], 'the target has not answered yet');
    ahead.answer(`${REGISTRY}/team/app|${digest('a')}`, false);
    ahead.answer(`${REGISTRY}/team/app|${digest('a')}`, false); // answered twice: mounted once
    ahead.answer(`${REGISTRY}/other/repo|${digest('a')}`, true);
    const mounted = await ahead.settled();
    assert.deepEqual(posts, [`${digest('a')} from library/python`]);
    assert.deepEqual([...mounted], [[digest('a'), 'library/python']]);

    const none = new MountAhead(client, repo, candidates);
    none.answer(`${REGISTRY}/team/app|${digest('a')}`, true);
    none.answer(`${REGISTRY}/library/python|${digest('a')}`, true);
    none.answer(`${REGISTRY}/team/app|${digest('b')}`, false);
    none.answer(`${REGISTRY}/library/python|${digest('b')}`, false);
    none.answer(`${REGISTRY}/team/app|${digest('9')}`, false);
    assert.equal((await none.settled()).size, 0);
    assert.equal(posts.length, 1, 'nothing more was mounted');
  });

  test("a refused mount's session is cancelled; an error is left to the mover; neither counts as mounted", async () => {
    const ahead = new MountAhead(client, repo, candidates);
    for (const c of ['b', 'c']) {
      ahead.answer(`${REGISTRY}/team/app|${digest(c)}`, false);
      ahead.answer(`${REGISTRY}/library/python|${digest(c)}`, true);
    }
    assert.equal((await ahead.settled()).size, 0);
    assert.equal(deletes, 1);
    assert.equal(posts.length, 2);
  });
});

describe('the plan with what was mounted ahead', () => {
  test('the target holds it now, and the plan calls it a mount from its source', () => {
    const present = presentWithMounted(new Map([[`${REGISTRY}/team/app|${digest('a')}`, false]]), { registry: REGISTRY, repository: 'team/app' }, new Map([[digest('a'), 'library/python']]));
    assert.equal(present.get(`${REGISTRY}/team/app|${digest('a')}`), true);
    const plan: PushPlan = {
      layers: [
        { action: 'exists', diffId: diffId('1'), digest: digest('a'), size: 100, mediaType },
        { action: 'exists', diffId: diffId('2'), digest: digest('b'), size: 100, mediaType },
        { action: 'upload', diffId: 'sha256:app' },
      ],
      uploader: 'engine',
      config: { action: 'upload', digest: digest('9'), size: 10 },
      uplinkBytes: 10,
      unknownUploads: 1,
      totalBytes: 210,
    };
    const after = withMountedAhead(plan, new Map([[digest('a'), 'library/python']]));
    assert.deepEqual(after.layers[0], { action: 'mount', diffId: diffId('1'), digest: digest('a'), size: 100, mediaType, from: 'library/python' });
    assert.deepEqual(after.layers.slice(1), plan.layers.slice(1), 'what the target had stays "exists"');
    assert.equal(withMountedAhead(plan, new Map()), plan);
  });
});
