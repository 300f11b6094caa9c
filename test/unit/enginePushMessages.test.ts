// The engine push's JSON message stream (pure): lines recorded from dockerd 20.10 and Podman 4.3
// on this machine, read into typed messages; the line splitter a chunked HTTP body goes through;
// and which diff_id a 12-hex progress id stands for.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diffIdForProgressId, LineSplitter, parseEnginePushLine, type EnginePushMessage } from '../../server/src/core/enginePushMessages';

const LAYER = 'dd474bbff0f6';
const DOCKER_DIGEST = 'sha256:e9c5247cb71cf0563d51afe3e29b4eda989932f775f9eb5578383cfa6d6351c2';
const PODMAN_DIGEST = 'sha256:32b19a7ad43544553cdd7f347fcdf48ea5850d725b8121fc434efc506db91b6d';

/** dockerd 20.10, `POST /images/127.0.0.1:42301/team/bb/push?tag=1`, as recorded (JSON text as sent). */
const docker = {
  refers: String.raw`{"status":"The push refers to repository [127.0.0.1:42301/team/bb]"}`,
  preparing: String.raw`{"status":"Preparing","progressDetail":{},"id":"dd474bbff0f6"}`,
  waiting: String.raw`{"status":"Waiting","progressDetail":{},"id":"dd474bbff0f6"}`,
  pushing: String.raw`{"status":"Pushing","progressDetail":{"current":34304,"total":1982296},"progress":"[\u003e   ]   34.3kB/1.982MB","id":"dd474bbff0f6"}`,
  pushingPast: String.raw`{"status":"Pushing","progressDetail":{"current":2002944,"total":1982296},"progress":"...","id":"dd474bbff0f6"}`,
  pushed: String.raw`{"status":"Pushed","progressDetail":{},"id":"dd474bbff0f6"}`,
  exists: String.raw`{"status":"Layer already exists","progressDetail":{},"id":"dd474bbff0f6"}`,
  mounted: String.raw`{"status":"Mounted from team/base","progressDetail":{},"id":"dd474bbff0f6"}`,
  retrying: String.raw`{"status":"Retrying in 5 seconds","progressDetail":{},"id":"dd474bbff0f6"}`,
  digest: String.raw`{"status":"1: digest: sha256:e9c5247cb71cf0563d51afe3e29b4eda989932f775f9eb5578383cfa6d6351c2 size: 527"}`,
  aux: String.raw`{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:e9c5247cb71cf0563d51afe3e29b4eda989932f775f9eb5578383cfa6d6351c2","Size":527}}`,
  denied: String.raw`{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied: requested access to the resource is denied"}`,
};

/** Podman 4.3's compatible service (`podman system service`). */
const PODMAN_HTTP_ERROR = 'trying to reuse blob sha256:c2c0… at destination: pinging container registry 127.0.0.1:36669: Get "https://127.0.0.1:36669/v2/": http: server gave HTTP response to HTTPS client';
const podman = {
  refers: String.raw`{"status":"The push refers to repository [127.0.0.1:36669/team/pp:1]"}`,
  digest: String.raw`{"status":"1: digest: sha256:32b19a7ad43544553cdd7f347fcdf48ea5850d725b8121fc434efc506db91b6d size: 423"}`,
  error: JSON.stringify({ errorDetail: { message: PODMAN_HTTP_ERROR }, error: PODMAN_HTTP_ERROR }),
};

const parse = (line: string): EnginePushMessage | undefined => parseEnginePushLine(line);

describe('parseEnginePushLine: dockerd 20.10', () => {
  test('"The push refers to repository" is a plain status', () => {
    assert.deepEqual(parse(docker.refers), { kind: 'status', text: 'The push refers to repository [127.0.0.1:42301/team/bb]' });
  });

  test('Preparing and Waiting: a layer by its 12-hex id, no byte counts from an empty progressDetail', () => {
    assert.deepEqual(parse(docker.preparing), { kind: 'layer', id: LAYER, state: 'preparing', text: 'Preparing' });
    assert.deepEqual(parse(docker.waiting), { kind: 'layer', id: LAYER, state: 'waiting', text: 'Waiting' });
  });

  test('Pushing: current and total bytes; the progress bar text is ignored', () => {
    assert.deepEqual(parse(docker.pushing), { kind: 'layer', id: LAYER, state: 'pushing', text: 'Pushing', current: 34304, total: 1982296 });
  });

  test('Pushing past the total (current counts bytes into the compressor): both kept as sent', () => {
    assert.deepEqual(parse(docker.pushingPast), { kind: 'layer', id: LAYER, state: 'pushing', text: 'Pushing', current: 2002944, total: 1982296 });
  });

  test('Pushed, Layer already exists', () => {
    assert.deepEqual(parse(docker.pushed), { kind: 'layer', id: LAYER, state: 'pushed', text: 'Pushed' });
    assert.deepEqual(parse(docker.exists), { kind: 'layer', id: LAYER, state: 'exists', text: 'Layer already exists' });
  });

  test('Mounted from REPO: the source repository', () => {
    assert.deepEqual(parse(docker.mounted), { kind: 'layer', id: LAYER, state: 'mounted', text: 'Mounted from team/base', from: 'team/base' });
    const deep = parse(String.raw`{"status":"Mounted from org/group/base-image","progressDetail":{},"id":"dd474bbff0f6"}`);
    assert.deepEqual(deep, { kind: 'layer', id: LAYER, state: 'mounted', text: 'Mounted from org/group/base-image', from: 'org/group/base-image' });
  });

  test('Retrying in N seconds (any N)', () => {
    assert.deepEqual(parse(docker.retrying), { kind: 'layer', id: LAYER, state: 'retrying', text: 'Retrying in 5 seconds' });
    const countdown = parse(String.raw`{"status":"Retrying in 12 seconds","progressDetail":{},"id":"dd474bbff0f6"}`);
    assert.equal(countdown?.kind === 'layer' ? countdown.state : undefined, 'retrying');
  });

  test('an unknown per-layer status is kept as "other" with its text', () => {
    assert.deepEqual(parse(String.raw`{"status":"Layer is being checked","progressDetail":{},"id":"dd474bbff0f6"}`), { kind: 'layer', id: LAYER, state: 'other', text: 'Layer is being checked' });
  });

  test('the digest line: tag, digest, size', () => {
    assert.deepEqual(parse(docker.digest), { kind: 'digest', tag: '1', digest: DOCKER_DIGEST, size: 527 });
  });

  test('the aux message: the same digest, tag and size', () => {
    assert.deepEqual(parse(docker.aux), { kind: 'digest', tag: '1', digest: DOCKER_DIGEST, size: 527 });
  });

  test('the digest line of a tag with dots, dashes and underscores', () => {
    assert.deepEqual(parse(`{"status":"v1.2.3-rc_1: digest: ${DOCKER_DIGEST} size: 1234"}`), { kind: 'digest', tag: 'v1.2.3-rc_1', digest: DOCKER_DIGEST, size: 1234 });
  });

  test('a digest line without a tag', () => {
    assert.deepEqual(parse(`{"status":"digest: ${DOCKER_DIGEST} size: 9"}`), { kind: 'digest', digest: DOCKER_DIGEST, size: 9 });
  });

  test('errorDetail: its message', () => {
    assert.deepEqual(parse(docker.denied), { kind: 'error', message: 'denied: requested access to the resource is denied' });
  });

  test('the recorded dockerd stream, in order', () => {
    const kinds = Object.values(docker).map((line) => {
      const m = parse(line);
      return m?.kind === 'layer' ? `layer:${m.state}` : m?.kind;
    });
    assert.deepEqual(kinds, ['status', 'layer:preparing', 'layer:waiting', 'layer:pushing', 'layer:pushing', 'layer:pushed', 'layer:exists', 'layer:mounted', 'layer:retrying', 'digest', 'digest', 'error']);
  });
});

describe('parseEnginePushLine: Podman 4.3', () => {
  test('the first status names repository and tag', () => {
    assert.deepEqual(parse(podman.refers), { kind: 'status', text: 'The push refers to repository [127.0.0.1:36669/team/pp:1]' });
  });

  test('then only the digest line', () => {
    assert.deepEqual(parse(podman.digest), { kind: 'digest', tag: '1', digest: PODMAN_DIGEST, size: 423 });
  });

  test('or the error, its message whole (quotes and the ellipsis included)', () => {
    assert.deepEqual(parse(podman.error), { kind: 'error', message: PODMAN_HTTP_ERROR });
  });

  test('a digest line that still carries the id of the last progress event is the digest', () => {
    assert.deepEqual(parse(`{"status":"1: digest: ${PODMAN_DIGEST} size: 423","progressDetail":{},"id":"32b19a7ad435"}`), { kind: 'digest', tag: '1', digest: PODMAN_DIGEST, size: 423 });
  });

  test('an error that still carries a status and an id is the error', () => {
    assert.deepEqual(parse(JSON.stringify({ status: 'Pushing', id: LAYER, progressDetail: { current: 1, total: 2 }, errorDetail: { message: 'boom' }, error: 'boom' })), { kind: 'error', message: 'boom' });
  });

  test('an unknown total (-1) is left out; the current bytes are kept', () => {
    assert.deepEqual(parse(`{"status":"Pushing","progressDetail":{"current":512,"total":-1},"id":"${LAYER}"}`), { kind: 'layer', id: LAYER, state: 'pushing', text: 'Pushing', current: 512 });
  });
});

describe('parseEnginePushLine: junk and edges', () => {
  test('blank lines are nothing', () => {
    assert.equal(parse(''), undefined);
    assert.equal(parse('   \t '), undefined);
    assert.equal(parse('\r'), undefined);
  });

  test('JSON that is not an object is nothing', () => {
    for (const line of ['42', 'null', 'true', '"a string"']) assert.equal(parse(line), undefined, line);
  });

  test('an object that is no message (no status, error or aux digest) is nothing', () => {
    assert.equal(parse('{}'), undefined);
    assert.equal(parse('{"progressDetail":{}}'), undefined);
    assert.equal(parse('{"id":"dd474bbff0f6"}'), undefined);
    assert.equal(parse('{"aux":{"Tag":"1"}}'), undefined, 'aux without a Digest');
    assert.equal(parse('{"status":42}'), undefined);
  });

  test('a line that is not JSON is shown as a status, trimmed, at most 500 characters', () => {
    assert.deepEqual(parse('  not json at all \r'), { kind: 'status', text: 'not json at all' });
    assert.deepEqual(parse('{"status":"Pushing",'), { kind: 'status', text: '{"status":"Pushing",' });
    const long = parse('x'.repeat(2000));
    assert.equal(long?.kind, 'status');
    assert.equal(long?.kind === 'status' ? long.text.length : 0, 500);
  });

  test('a CRLF line parses as the same message', () => {
    assert.deepEqual(parse(`${docker.pushed}\r`), parse(docker.pushed));
  });

  test('an error with only "error", only "errorDetail", or neither message', () => {
    assert.deepEqual(parse('{"error":"boom"}'), { kind: 'error', message: 'boom' });
    assert.deepEqual(parse('{"errorDetail":{"message":"detail wins"},"error":"short"}'), { kind: 'error', message: 'detail wins' });
    assert.deepEqual(parse('{"errorDetail":{"code":1},"error":"from error"}'), { kind: 'error', message: 'from error' });
    const bare = parse('{"errorDetail":{}}');
    assert.equal(bare?.kind, 'error');
    assert.match(bare?.kind === 'error' ? bare.message : '', /error without a message/);
  });

  test('progress numbers that are not non-negative finite numbers are left out', () => {
    assert.deepEqual(parse(`{"status":"Pushing","progressDetail":{"current":"10","total":null},"id":"${LAYER}"}`), { kind: 'layer', id: LAYER, state: 'pushing', text: 'Pushing' });
    assert.deepEqual(parse(`{"status":"Pushing","progressDetail":{"current":0,"total":0},"id":"${LAYER}"}`), { kind: 'layer', id: LAYER, state: 'pushing', text: 'Pushing', current: 0, total: 0 });
  });

  test('a status with an empty id is a plain status', () => {
    assert.deepEqual(parse('{"status":"Pushed","id":""}'), { kind: 'status', text: 'Pushed' });
  });

  test('a digest line with a malformed digest is not a digest', () => {
    assert.equal(parse('{"status":"1: digest: sha256:abc size: 5"}')?.kind, 'status');
    assert.equal(parse(`{"status":"1: digest: ${DOCKER_DIGEST.toUpperCase()} size: 5"}`)?.kind, 'status');
  });

  test('aux with a non-numeric Size keeps the digest and tag only', () => {
    assert.deepEqual(parse(`{"aux":{"Tag":"1","Digest":"${DOCKER_DIGEST}","Size":"527"}}`), { kind: 'digest', tag: '1', digest: DOCKER_DIGEST });
  });
});

describe('LineSplitter', () => {
  test('a message split across chunks comes out whole, once the newline arrives', () => {
    const split = new LineSplitter();
    const line = docker.pushing;
    assert.deepEqual(split.push(line.slice(0, 10)), []);
    assert.deepEqual(split.push(line.slice(10, 40)), []);
    assert.deepEqual(split.push(`${line.slice(40)}\n`), [line]);
    assert.deepEqual(split.end(), []);
  });

  test('several messages in one chunk, in order', () => {
    const split = new LineSplitter();
    assert.deepEqual(split.push(`${docker.preparing}\n${docker.pushing}\n${docker.pushed}\n`), [docker.preparing, docker.pushing, docker.pushed]);
    assert.deepEqual(split.end(), []);
  });

  test('several messages and a piece of the next in one chunk', () => {
    const split = new LineSplitter();
    assert.deepEqual(split.push(`${docker.preparing}\n${docker.pushed}\n${docker.digest.slice(0, 20)}`), [docker.preparing, docker.pushed]);
    assert.deepEqual(split.push(`${docker.digest.slice(20)}\n${docker.aux}\n`), [docker.digest, docker.aux]);
  });

  test('a trailing line without a newline is given by end(), once', () => {
    const split = new LineSplitter();
    assert.deepEqual(split.push(`${docker.pushed}\n${podman.digest}`), [docker.pushed]);
    assert.deepEqual(split.end(), [podman.digest]);
    assert.deepEqual(split.end(), []);
  });

  test('end() drops a blank remainder', () => {
    const split = new LineSplitter();
    assert.deepEqual(split.push(`${docker.pushed}\n  \t`), [docker.pushed]);
    assert.deepEqual(split.end(), []);
  });

  test('CRLF and empty lines pass through; the parser ignores them', () => {
    const split = new LineSplitter();
    const lines = split.push(`${docker.preparing}\r\n\r\n\n${docker.pushed}\r\n`);
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.map((l) => parseEnginePushLine(l)?.kind),
      ['layer', undefined, undefined, 'layer'],
    );
  });

  test('the whole recorded stream, fed one character at a time, gives every message', () => {
    const stream = `${Object.values(docker).join('\n')}\n`;
    const split = new LineSplitter();
    const out: string[] = [];
    for (const ch of stream) out.push(...split.push(ch));
    out.push(...split.end());
    assert.deepEqual(out, Object.values(docker));
  });

  test('the splitter is reusable after end()', () => {
    const split = new LineSplitter();
    split.push('{"partial"');
    assert.deepEqual(split.end(), ['{"partial"']);
    assert.deepEqual(split.push(`${docker.pushed}\n`), [docker.pushed]);
  });
});

describe('diffIdForProgressId', () => {
  const a = `sha256:dd474bbff0f6${'1'.repeat(52)}`;
  const b = `sha256:0123456789ab${'2'.repeat(52)}`;
  const twinA = `sha256:0123456789ab${'3'.repeat(52)}`;

  test('the first 12 hex of one diff_id name it', () => {
    assert.equal(diffIdForProgressId('dd474bbff0f6', [b, a]), a);
    assert.equal(diffIdForProgressId('0123456789ab', [a, b]), b);
  });

  test('the same diff_id twice in the image (a repeated layer) is still one match', () => {
    assert.equal(diffIdForProgressId('dd474bbff0f6', [a, b, a]), a);
  });

  test('two diff_ids sharing the prefix: ambiguous → undefined; a longer id settles it', () => {
    assert.equal(diffIdForProgressId('0123456789ab', [a, b, twinA]), undefined);
    assert.equal(diffIdForProgressId('0123456789ab2', [a, b, twinA]), b);
    assert.equal(diffIdForProgressId(twinA.slice('sha256:'.length), [a, b, twinA]), twinA, 'the full 64 hex');
  });

  test('no match → undefined', () => {
    assert.equal(diffIdForProgressId('ffffffffffff', [a, b]), undefined);
    assert.equal(diffIdForProgressId('dd474bbff0f6', []), undefined);
  });

  test('not 12–64 lowercase hex → undefined (never a loose match)', () => {
    for (const id of ['', 'dd474bbff0f', 'DD474BBFF0F6', 'dd474bbff0fg', 'sha256:dd474bbff0f6', ' dd474bbff0f6', 'not-hex-at-all', `${'a'.repeat(65)}`]) {
      assert.equal(diffIdForProgressId(id, [a, b, `sha256:${'a'.repeat(64)}`]), undefined, JSON.stringify(id));
    }
  });

  test('the prefix is matched after the algorithm, not inside the hex', () => {
    const inner = `sha256:ffff${'dd474bbff0f6'}${'0'.repeat(48)}`;
    assert.equal(diffIdForProgressId('dd474bbff0f6', [inner]), undefined);
  });
});
