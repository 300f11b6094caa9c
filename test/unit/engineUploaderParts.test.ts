// The pure parts of the engine uploader (issue 10): the X-Registry-Auth header, the engine's push
// message stream, the uploader choice, the plan from the index, base candidate order, and the
// engine's errors as typed one-line RegistryErrors. Lines below were recorded from dockerd 20.10
// and Podman 4.3 on this machine.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRegistryAuth } from '../../server/src/core/registryAuthHeader';
import { diffIdForProgressId, LineSplitter, parseEnginePushLine } from '../../server/src/core/enginePushMessages';
import { chooseUploader } from '../../server/src/push/chooseUploader';
import { planFromIndex } from '../../server/src/push/plan';
import { isLocalOnlyName, orderCandidates } from '../../server/src/push/baseCandidates';
import { engineFailure } from '../../server/src/push/engineErrors';
import { parseReference } from '../../server/src/core/reference';
import { registerSecret } from '../../server/src/registry/credentials';

/** Go's base64.URLEncoding decoder: the padded URL alphabet, nothing else. */
function goDecode(header: string): unknown {
  assert.match(header, /^[A-Za-z0-9_-]*={0,2}$/);
  assert.equal(header.length % 4, 0, 'padded to a multiple of 4, as Go writes it');
  return JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
}

describe('X-Registry-Auth', () => {
  test('a username and password, padded URL-safe base64 of the JSON AuthConfig', () => {
    const header = encodeRegistryAuth({ username: 'alice', password: 'pw' }, '127.0.0.1:5000');
    assert.deepEqual(goDecode(header), { username: 'alice', password: 'pw', serveraddress: '127.0.0.1:5000' });
  });
  test('bytes whose standard base64 has + and / become - and _', () => {
    const header = encodeRegistryAuth({ username: '~~~', password: '???>>>' }, 'r');
    assert.ok(!/[+/]/.test(header));
    assert.ok(header.endsWith('=='), 'this length needs padding: dockerd 20.10 drops an unpadded header and pushes anonymously');
    assert.deepEqual(goDecode(header), { username: '~~~', password: '???>>>', serveraddress: 'r' });
  });
  test('identity and registry tokens; anonymous is {}', () => {
    assert.deepEqual(goDecode(encodeRegistryAuth({ identityToken: 'refresh', username: 'u', password: 'p' }, 'https://index.docker.io/v1/')), { identitytoken: 'refresh', serveraddress: 'https://index.docker.io/v1/' });
    assert.deepEqual(goDecode(encodeRegistryAuth({ registryToken: 'bearer' }, 'r')), { registrytoken: 'bearer', serveraddress: 'r' });
    assert.equal(encodeRegistryAuth(undefined, 'r'), 'e30=');
  });
});

describe('the engine push message stream', () => {
  test('dockerd 20.10: layers by diff_id prefix, byte progress, digest, aux', () => {
    assert.deepEqual(parseEnginePushLine('{"status":"The push refers to repository [127.0.0.1:42301/team/bb]"}'), { kind: 'status', text: 'The push refers to repository [127.0.0.1:42301/team/bb]' });
    assert.deepEqual(parseEnginePushLine('{"status":"Preparing","progressDetail":{},"id":"dd474bbff0f6"}'), { kind: 'layer', id: 'dd474bbff0f6', state: 'preparing', text: 'Preparing' });
    assert.deepEqual(parseEnginePushLine('{"status":"Pushing","progressDetail":{"current":34304,"total":1982296},"progress":"[\\u003e   ]  34.3kB/1.982MB","id":"dd474bbff0f6"}'), { kind: 'layer', id: 'dd474bbff0f6', state: 'pushing', text: 'Pushing', current: 34304, total: 1982296 });
    assert.equal((parseEnginePushLine('{"status":"Pushed","progressDetail":{},"id":"dd474bbff0f6"}') as { state: string }).state, 'pushed');
    assert.equal((parseEnginePushLine('{"status":"Layer already exists","progressDetail":{},"id":"dd474bbff0f6"}') as { state: string }).state, 'exists');
    assert.deepEqual(parseEnginePushLine('{"status":"Mounted from team/base","progressDetail":{},"id":"dd474bbff0f6"}'), { kind: 'layer', id: 'dd474bbff0f6', state: 'mounted', text: 'Mounted from team/base', from: 'team/base' });
    assert.equal((parseEnginePushLine('{"status":"Retrying in 5 seconds","progressDetail":{},"id":"dd474bbff0f6"}') as { state: string }).state, 'retrying');
    const digest = 'sha256:e9c5247cb71cf0563d51afe3e29b4eda989932f775f9eb5578383cfa6d6351c2';
    assert.deepEqual(parseEnginePushLine(`{"status":"1: digest: ${digest} size: 527"}`), { kind: 'digest', digest, tag: '1', size: 527 });
    assert.deepEqual(parseEnginePushLine(`{"progressDetail":{},"aux":{"Tag":"1","Digest":"${digest}","Size":527}}`), { kind: 'digest', digest, tag: '1', size: 527 });
    assert.deepEqual(parseEnginePushLine('{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied: requested access to the resource is denied"}'), { kind: 'error', message: 'denied: requested access to the resource is denied' });
  });
  test('Podman 4.3: the digest line, or the error', () => {
    assert.equal(parseEnginePushLine('{"status":"1: digest: sha256:32b19a7ad43544553cdd7f347fcdf48ea5850d725b8121fc434efc506db91b6d size: 423"}')?.kind, 'digest');
    const error = parseEnginePushLine('{"errorDetail":{"message":"trying to reuse blob sha256:c2c0 at destination: pinging container registry 127.0.0.1:36669: Get \\"https://127.0.0.1:36669/v2/\\": http: server gave HTTP response to HTTPS client"},"error":"x"}');
    assert.equal(error?.kind, 'error');
  });
  test('junk and blank lines', () => {
    assert.equal(parseEnginePushLine('   '), undefined);
    assert.equal(parseEnginePushLine('42'), undefined);
    assert.deepEqual(parseEnginePushLine('not json'), { kind: 'status', text: 'not json' });
    assert.deepEqual(parseEnginePushLine('{"error":"boom"}'), { kind: 'error', message: 'boom' });
  });
  test('lines split across chunks, several in one chunk, a last line without a newline', () => {
    const split = new LineSplitter();
    assert.deepEqual(split.push('{"a":'), []);
    assert.deepEqual(split.push('1}\r\n{"b":2}\n{"c"'), ['{"a":1}\r', '{"b":2}']);
    assert.deepEqual(split.end(), ['{"c"']);
    assert.deepEqual(split.end(), []);
  });
  test('a progress id is the first 12 hex of one diff_id', () => {
    const ids = [`sha256:${'a'.repeat(64)}`, `sha256:ab${'c'.repeat(62)}`, `sha256:ab${'c'.repeat(10)}${'d'.repeat(52)}`];
    assert.equal(diffIdForProgressId('aaaaaaaaaaaa', ids), ids[0]);
    assert.equal(diffIdForProgressId('abcccccccccc', ids), undefined, 'two diff_ids share that prefix');
    assert.equal(diffIdForProgressId('abccccccccccc', ids), ids[1], 'a longer id settles it');
    assert.equal(diffIdForProgressId('not-hex-at-all', ids), undefined);
  });
});

describe('which uploader', () => {
  const unix = { kind: 'unix' } as const;
  test('engine images go to the engine; files and zstd to Layerlift; explicit choices kept or refused', () => {
    assert.deepEqual(chooseUploader('auto', { imageFile: false, compression: 'gzip', engineTransport: unix }), { uploader: 'engine' });
    assert.deepEqual(chooseUploader('auto', { imageFile: true, compression: 'gzip' }), { uploader: 'layerlift' });
    assert.match((chooseUploader('engine', { imageFile: true, compression: 'gzip' }) as { refused: string }).refused, /image file goes with --uploader layerlift/);
    assert.deepEqual(chooseUploader('layerlift', { imageFile: false, compression: 'gzip', engineTransport: unix }), { uploader: 'layerlift' });
    assert.equal((chooseUploader('auto', { imageFile: false, compression: 'zstd', engineTransport: unix }) as { uploader: string }).uploader, 'layerlift');
    assert.match((chooseUploader('engine', { imageFile: false, compression: 'zstd', engineTransport: unix }) as { refused: string }).refused, /zstd needs --uploader layerlift/);
  });
  test('the login never travels over plain TCP to another host', () => {
    const plain = { kind: 'tcp', tls: false, loopback: false, url: 'tcp://build:2375' } as const;
    const auto = chooseUploader('auto', { imageFile: false, compression: 'gzip', engineTransport: plain });
    assert.equal((auto as { uploader: string }).uploader, 'layerlift');
    assert.match((auto as { note: string }).note, /plain TCP.*in the clear/);
    assert.match((chooseUploader('engine', { imageFile: false, compression: 'gzip', engineTransport: plain }) as { refused: string }).refused, /use TLS .* or --uploader layerlift/);
    assert.deepEqual(chooseUploader('engine', { imageFile: false, compression: 'gzip', engineTransport: { ...plain, tls: true } }), { uploader: 'engine' });
    assert.deepEqual(chooseUploader('engine', { imageFile: false, compression: 'gzip', engineTransport: { ...plain, loopback: true } }), { uploader: 'engine' });
  });
});

describe('a plan from the local index', () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`;
  const target = 'r.example.com/team/app';
  const index = new Map([
    [d('1'), [{ digest: d('a'), size: 10, mediaType: 'm', repositories: ['r.example.com/library/base', target] }]],
    [d('2'), [{ digest: d('b'), size: 20, mediaType: 'm', repositories: [target] }]],
    [d('3'), [{ digest: d('c'), size: 5, mediaType: 'm', repositories: ['r.example.com/other/app'] }]],
  ]);
  const lookup = (diffId: string) => index.get(diffId) ?? [];
  test('a rebuild: lower layers in the target, new layers known nowhere', () => {
    const plan = planFromIndex({ layers: [{ diffId: d('1') }, { diffId: d('2') }, { diffId: d('9') }], configDigest: d('f') }, lookup, target);
    assert.deepEqual(plan?.layers.map((l) => l.action), ['exists', 'exists', 'upload']);
    assert.equal(plan?.uploader, 'engine');
    assert.equal(plan?.totalBytes, 30);
    assert.equal(plan?.unknownUploads, 1);
  });
  test('no plan: a first push, a layer another repository could lend, a gap', () => {
    assert.equal(planFromIndex({ layers: [{ diffId: d('9') }], configDigest: d('f') }, lookup, target), undefined);
    assert.equal(planFromIndex({ layers: [{ diffId: d('1') }, { diffId: d('3') }], configDigest: d('f') }, lookup, target), undefined);
    assert.equal(planFromIndex({ layers: [{ diffId: d('9') }, { diffId: d('1') }], configDigest: d('f') }, lookup, target), undefined);
  });
});

describe('base candidates', () => {
  test('Podman local names are not registries; the target registry first; duplicates once', () => {
    assert.ok(isLocalOnlyName(parseReference('localhost/app@sha256:' + 'a'.repeat(64))));
    assert.ok(!isLocalOnlyName(parseReference('localhost:5000/app:1')));
    const refs = ['hub.example.com/library/base@sha256:' + 'a'.repeat(64), 'localhost/base@sha256:' + 'b'.repeat(64), 'r.example.com/library/base@sha256:' + 'a'.repeat(64), 'hub.example.com/library/base@sha256:' + 'a'.repeat(64)].map((r) => parseReference(r));
    assert.deepEqual(orderCandidates(refs, 'r.example.com').map((r) => r.registry), ['r.example.com', 'hub.example.com']);
  });
});

describe('engine errors', () => {
  const where = { registry: 'r.example.com', repository: 'team/app' };
  const cases: [string, string, boolean][] = [
    ['denied: requested access to the resource is denied', 'DENIED', false],
    ['unauthorized: authentication required', 'UNAUTHORIZED', false],
    ['trying to reuse blob x at destination: unable to retrieve auth token: invalid username/password: unauthorized: bad credentials', 'UNAUTHORIZED', false],
    ['toomanyrequests: You have reached your pull rate limit', 'TOOMANYREQUESTS', true],
    ['received unexpected HTTP status: 413 Request Entity Too Large', 'SIZE_INVALID', false],
    ['received unexpected HTTP status: 503 Service Unavailable', 'SERVER_ERROR', true],
    ['Patch "http://r/v2/x/blobs/uploads/1": read tcp 1->2: read: connection reset by peer', 'NETWORK', true],
    ['Get "https://r/v2/": http: server gave HTTP response to HTTPS client', 'TLS', false],
    ['something nobody expected', 'UNEXPECTED_STATUS', false],
  ];
  for (const [message, code, retryable] of cases) {
    test(`${code}: ${message.slice(0, 50)}`, () => {
      const error = engineFailure(message, where, 'Docker engine');
      assert.equal(error.code, code);
      assert.equal(error.retryable, retryable);
      assert.equal(error.message.split('\n').length, 1);
      assert.match(error.message, /^push r\.example\.com\/team\/app: the Docker engine's push failed: .* — /);
    });
  }
  test('a retryable failure says how to resume; no secret in any message', () => {
    assert.match(engineFailure('received unexpected HTTP status: 502 Bad Gateway', where, 'Docker engine').message, /run the same command again .*--uploader layerlift/);
    registerSecret('hunter2-engine-secret');
    assert.ok(!engineFailure('unauthorized: password hunter2-engine-secret rejected', where, 'Podman service').message.includes('hunter2-engine-secret'));
  });
});
