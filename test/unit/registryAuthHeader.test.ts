// The engine push's X-Registry-Auth header (pure): the JSON AuthConfig in Go's base64.URLEncoding
// WITH `=` padding — dockerd 20.10 decodes it with that exact alphabet and, when decoding fails,
// silently pushes anonymously. Every header here is decoded the way dockerd does, then compared
// as JSON (never as a string: key order is not part of the contract).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRegistryAuth, type RegistryLogin } from '../../server/src/core/registryAuthHeader';

/**
 * Go's base64.URLEncoding (padded) decoder, strictly: only the URL alphabet, a length that is a
 * multiple of 4, and `=` only as the last one or two characters. Anything else throws, as
 * dockerd's decoder fails (and then pushes anonymously).
 */
function goUrlDecode(header: string): Buffer {
  if (!/^[A-Za-z0-9_-]*(?:[A-Za-z0-9_-]={2}|[A-Za-z0-9_-]{2}=|[A-Za-z0-9_-]{3}=)?$/.test(header)) throw new Error(`not Go URLEncoding: ${header}`);
  if (header.length % 4 !== 0) throw new Error(`unpadded (${header.length} chars): dockerd 20.10 would push anonymously`);
  const bytes = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  // Round trip: the header is the canonical encoding of what it decodes to.
  assert.equal(bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_'), header);
  return bytes;
}

const decode = (header: string): unknown => JSON.parse(goUrlDecode(header).toString('utf8'));

describe('encodeRegistryAuth: what dockerd decodes', () => {
  test('username and password, with the server address', () => {
    const header = encodeRegistryAuth({ username: 'alice', password: 's3cret' }, '127.0.0.1:5000');
    assert.deepEqual(decode(header), { username: 'alice', password: 's3cret', serveraddress: '127.0.0.1:5000' });
  });

  test('Docker Hub: the server address as docker writes it', () => {
    const header = encodeRegistryAuth({ username: 'bob', password: 'pw' }, 'https://index.docker.io/v1/');
    assert.deepEqual(decode(header), { username: 'bob', password: 'pw', serveraddress: 'https://index.docker.io/v1/' });
  });

  test('an identity token (docker login refresh token) is sent alone: no username/password beside it', () => {
    const header = encodeRegistryAuth({ identityToken: 'refresh-token-1', username: '<token>', password: 'ignored' }, 'registry.example.com');
    assert.deepEqual(decode(header), { identitytoken: 'refresh-token-1', serveraddress: 'registry.example.com' });
  });

  test('an identity token beats a registry token', () => {
    const header = encodeRegistryAuth({ identityToken: 'idt', registryToken: 'rt' }, 'r.example.com');
    assert.deepEqual(decode(header), { identitytoken: 'idt', serveraddress: 'r.example.com' });
  });

  test('a registry token is sent as it is, without username/password', () => {
    const header = encodeRegistryAuth({ registryToken: 'bearer-xyz', username: 'u', password: 'p' }, 'r.example.com');
    assert.deepEqual(decode(header), { registrytoken: 'bearer-xyz', serveraddress: 'r.example.com' });
  });

  test('an empty identity token falls through to the username and password', () => {
    const header = encodeRegistryAuth({ identityToken: '', username: 'u', password: 'p' }, 'r');
    assert.deepEqual(decode(header), { username: 'u', password: 'p', serveraddress: 'r' });
  });

  test('a username without a password (and the reverse) still sends both keys', () => {
    assert.deepEqual(decode(encodeRegistryAuth({ username: 'only-user' }, 'r')), { username: 'only-user', password: '', serveraddress: 'r' });
    assert.deepEqual(decode(encodeRegistryAuth({ password: 'only-pass' }, 'r')), { username: '', password: 'only-pass', serveraddress: 'r' });
  });

  test("anonymous: exactly '{}' → 'e30=' (padded), with no server address", () => {
    assert.equal(encodeRegistryAuth(undefined, 'r.example.com'), 'e30=');
    assert.equal(encodeRegistryAuth({}, 'r.example.com'), 'e30=');
    assert.deepEqual(decode('e30='), {});
  });

  test('JSON metacharacters and non-ASCII in a password survive the trip', () => {
    const password = 'p"a\\s\ns{}:,ü€😀';
    assert.deepEqual(decode(encodeRegistryAuth({ username: 'u', password }, 'r')), { username: 'u', password, serveraddress: 'r' });
  });
});

describe('encodeRegistryAuth: Go URLEncoding with padding', () => {
  test("bytes whose standard base64 has '+' and '/' come out as '-' and '_'", () => {
    // '~~~' is 0x7e7e7e → std base64 'fn5+'; '???' is 0x3f3f3f → 'Pz8/'.
    const login: RegistryLogin = { username: '~~~', password: '???' };
    const json = JSON.stringify({ username: '~~~', password: '???', serveraddress: 'r' });
    const std = Buffer.from(json).toString('base64');
    assert.ok(std.includes('+') && std.includes('/'), `the fixture must produce both in std base64: ${std}`);
    const header = encodeRegistryAuth(login, 'r');
    assert.doesNotMatch(header, /[+/]/);
    assert.match(header, /-/);
    assert.match(header, /_/);
    assert.deepEqual(decode(header), { username: '~~~', password: '???', serveraddress: 'r' });
  });

  test('always padded to a multiple of 4, for every remainder length', () => {
    const paddings = new Set<number>();
    for (let n = 0; n < 12; n++) {
      const password = 'x'.repeat(n);
      const header = encodeRegistryAuth({ username: 'u', password }, 'r');
      assert.equal(header.length % 4, 0, `password of ${n} chars: ${header}`);
      paddings.add(/=*$/.exec(header)?.[0].length ?? 0);
      assert.deepEqual(decode(header), { username: 'u', password, serveraddress: 'r' });
    }
    // The lengths above hit every case: no padding, one `=` and two `=`.
    assert.deepEqual([...paddings].sort(), [0, 1, 2]);
  });

  test("not Node's 'base64url' (which drops the padding)", () => {
    const header = encodeRegistryAuth({ username: 'u', password: 'pw' }, 'r');
    const json = Buffer.from(JSON.stringify({ username: 'u', password: 'pw', serveraddress: 'r' }));
    const unpadded = json.toString('base64url');
    assert.ok(unpadded.length % 4 !== 0, 'the fixture needs padding');
    assert.throws(() => goUrlDecode(unpadded), /unpadded/);
    assert.deepEqual(decode(header), JSON.parse(json.toString('utf8')));
  });

  test('a long login (a 2 kB registry token) is one line, no line breaks as MIME base64 would add', () => {
    const registryToken = 'eyJ' + 'a'.repeat(2048);
    const header = encodeRegistryAuth({ registryToken }, 'r');
    assert.doesNotMatch(header, /[\r\n\s]/);
    assert.deepEqual(decode(header), { registrytoken: registryToken, serveraddress: 'r' });
  });
});
