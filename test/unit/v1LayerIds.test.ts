// v1LayerIds.ts: the `<v1 id>` directories of a dockerd < 25 export, predicted from diff_ids.
// Golden values: `docker save` of an image built on this machine's dockerd 20.10.24 (Debian
// docker.io, daemon in UTC): FROM an imported busybox rootfs, COPY, ENV, COPY, RUN — four layers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chainIds, createV1Id, EMPTY_CONTAINER_CONFIG, goJsonString, layerIndexFromJson, predictV1Ids, rawMembers } from '../../server/src/push/v1LayerIds';

const diffIds = [
  'sha256:dd474bbff0f6897ca0540f9e21ed0d59c2233df7f55d25ce4a66756a88dd5d6e',
  'sha256:64e922cf0127242ef4e5cb0ee366322ed4606bcf31ac25bfac7fc4b792278c69',
  'sha256:b64b7b2ee4fb3e9398c49f2d59c6bdc24e85b7b8f04fc9b80f85a3e34b6648bd',
  'sha256:ef52e816db545110f5c3337af7ab3b0e0dfde0bc99c187ea3d9d03cf8f4a6b51',
];
// manifest.json's Layers, in order (the directories).
const dirs = [
  '7c9e8b8b444da1086568fb3084fa4312ce6861aea2a5ff30bf8c2d38d8c806b1',
  '6313d041f0f51adb89e02c4e9ef57e4326d674303380a3bd619b531ac15f0388',
  'e43477c9b00804436e54783400debbd73b9c8c361941fda6bd7fe052e24eeeee',
  'a996a55907dcad4be75d42b0066a32975e22b771edc42be997cb7bd227c8a571',
];
/** `<dirs[1]>/json` and the top layer's `<dirs[3]>/json`, byte for byte. */
const secondJson = "{\"id\":\"6313d041f0f51adb89e02c4e9ef57e4326d674303380a3bd619b531ac15f0388\",\"parent\":\"7c9e8b8b444da1086568fb3084fa4312ce6861aea2a5ff30bf8c2d38d8c806b1\",\"created\":\"1970-01-01T00:00:00Z\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"os\":\"linux\"}";
const topJson = "{\"id\":\"a996a55907dcad4be75d42b0066a32975e22b771edc42be997cb7bd227c8a571\",\"parent\":\"e43477c9b00804436e54783400debbd73b9c8c361941fda6bd7fe052e24eeeee\",\"created\":\"2026-12-05T14:53:46.360664471Z\",\"container\":\"9010ef3ba9a6376c288ffa25afdfaccad2d138c894b8962e156e116c4d8c2fa3\",\"container_config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"X=1\"],\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi \\u003e /c.txt\"],\"Image\":\"sha256:be1a8c3964b045dc6e941919cde056bc07dc078e3c7e1d99a19916ccd22d7b41\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"docker_version\":\"20.10.24+dfsg1\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"X=1\"],\"Cmd\":[\"/bin/sh\"],\"Image\":\"sha256:be1a8c3964b045dc6e941919cde056bc07dc078e3c7e1d99a19916ccd22d7b41\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},\"architecture\":\"amd64\",\"os\":\"linux\"}";

void describe('v1 layer ids (moby image/v1 CreateID, image/tarexport/save.go)', () => {
  void test('every layer but the top one is predicted from the diff_ids alone', () => {
    assert.deepEqual(predictV1Ids(diffIds), dirs.slice(0, 3));
  });

  void test('one layer: nothing to predict (the only layer is the top one)', () => {
    assert.deepEqual(predictV1Ids(diffIds.slice(0, 1)), []);
    assert.deepEqual(predictV1Ids([]), []);
  });

  void test('chain ids: the first is the diff_id, then sha256("<parent chain> <diff_id>")', () => {
    const chains = chainIds(diffIds);
    assert.equal(chains[0], diffIds[0]);
    assert.equal(chains.length, 4);
    assert.match(chains[3] ?? '', /^sha256:[a-f0-9]{64}$/);
  });

  void test("the top layer is recognised by its own json (the image's config, its predicted parent)", () => {
    assert.equal(layerIndexFromJson(dirs[3] ?? '', topJson, chainIds(diffIds)), 3);
    assert.match(topJson, new RegExp(`"parent":"${dirs[2]}"`));
  });

  void test("a lower layer is recognised by its json too (its os is not part of the id)", () => {
    assert.equal(layerIndexFromJson(dirs[1] ?? '', secondJson, chainIds(diffIds)), 1);
    assert.equal(layerIndexFromJson(dirs[1] ?? '', secondJson, chainIds(diffIds), [0, 2, 3]), undefined, 'only the candidates asked for');
  });

  void test('a daemon not in UTC: the prediction misses, the json still names the layer', () => {
    const chains = chainIds(diffIds);
    const fields = new Map([
      ['container_config', EMPTY_CONTAINER_CONFIG],
      ['created', '"1970-01-01T01:00:00+01:00"'],
    ]);
    const first = createV1Id(fields, chains[0] ?? '', undefined);
    const second = createV1Id(fields, chains[1] ?? '', first);
    assert.notEqual(first, dirs[0]);
    const json = `{"id":"${second}","parent":"${first}","created":"1970-01-01T01:00:00+01:00","container_config":${EMPTY_CONTAINER_CONFIG},"os":"linux"}`;
    assert.equal(layerIndexFromJson(second, json, chains), 1);
    assert.equal(layerIndexFromJson(second, json.replace('01:00:00+01:00', '02:00:00+01:00'), chains), undefined, 'another time: no match, never a guess');
  });

  void test('json that cannot be split is no match', () => {
    assert.equal(layerIndexFromJson(dirs[1] ?? '', '{"id":', chainIds(diffIds)), undefined);
    assert.equal(layerIndexFromJson(dirs[1] ?? '', '[1]', chainIds(diffIds)), undefined);
    assert.equal(layerIndexFromJson(dirs[1] ?? '', '{"parent":1}', chainIds(diffIds)), undefined);
  });

  void test('raw members keep the text as Go wrote it; Go escapes <, > and & in strings', () => {
    const members = rawMembers('{"a":"x\\u003ey","b":{"c":[1,{"d":"}"}]},"e":null, "f" : 2.50}');
    assert.deepEqual([...(members ?? new Map<string, string>()).entries()], [
      ['a', '"x\\u003ey"'],
      ['b', '{"c":[1,{"d":"}"}]}'],
      ['e', 'null'],
      ['f', '2.50'],
    ]);
    assert.equal(rawMembers('{}')?.size, 0);
    assert.equal(rawMembers('{"a":1} x'), undefined);
    assert.equal(goJsonString('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
  });
});
