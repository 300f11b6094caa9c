// Image reference parsing against Docker's own vectors: distribution/reference normalize_test.go
// (TestValidateReferenceName, TestValidateRemoteName, TestParseRepositoryInfo,
// TestParseAnyReference, TestNormalizedSplitHostname) and reference_test.go (TestReferenceParse,
// run through ParseNormalizedNamed, which is what `docker push` uses).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  credentialKeyRegistry,
  credentialKeys,
  familiarReference,
  formatReference,
  InvalidReferenceError,
  isLoopbackRegistry,
  parseReference,
  registryApiHost,
  repositoryString,
  withDigest,
  withTag,
  type ImageReference,
} from '../../server/src/core/reference';

const SHA = `sha256:${'f'.repeat(64)}`;
const SHA_DBCC = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const SHA512 = `sha512:${'f'.repeat(128)}`;
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

function ref(registry: string, repository: string, tag?: string, digest?: string): ImageReference {
  const r: ImageReference = { registry, repository };
  if (tag !== undefined) r.tag = tag;
  if (digest !== undefined) r.digest = digest;
  return r;
}

// [input, expected parse (defaultTag "latest" applied), familiar string]
const valid: [string, ImageReference, string][] = [
  ['ubuntu', ref('docker.io', 'library/ubuntu', 'latest'), 'ubuntu:latest'],
  ['ubuntu:22.04', ref('docker.io', 'library/ubuntu', '22.04'), 'ubuntu:22.04'],
  ['user/app', ref('docker.io', 'user/app', 'latest'), 'user/app:latest'],
  ['user/app:1', ref('docker.io', 'user/app', '1'), 'user/app:1'],
  ['docker.io/ubuntu', ref('docker.io', 'library/ubuntu', 'latest'), 'ubuntu:latest'],
  ['docker.io/library/ubuntu', ref('docker.io', 'library/ubuntu', 'latest'), 'ubuntu:latest'],
  ['index.docker.io/x', ref('docker.io', 'library/x', 'latest'), 'x:latest'],
  ['index.docker.io/docker/docker', ref('docker.io', 'docker/docker', 'latest'), 'docker/docker:latest'],
  ['library/debian', ref('docker.io', 'library/debian', 'latest'), 'debian:latest'],
  ['docker.io/library/foo/bar', ref('docker.io', 'library/foo/bar', 'latest'), 'library/foo/bar:latest'],
  ['store/foo/bar', ref('docker.io', 'store/foo/bar', 'latest'), 'store/foo/bar:latest'],
  ['other/library', ref('docker.io', 'other/library', 'latest'), 'other/library:latest'],
  ['localhost/x', ref('localhost', 'x', 'latest'), 'localhost/x:latest'],
  ['localhost:5000/x', ref('localhost:5000', 'x', 'latest'), 'localhost:5000/x:latest'],
  ['localhost:5000/a/b:dev', ref('localhost:5000', 'a/b', 'dev'), 'localhost:5000/a/b:dev'],
  ['host:5000/path/more:tag', ref('host:5000', 'path/more', 'tag'), 'host:5000/path/more:tag'],
  ['test:5000/repo', ref('test:5000', 'repo', 'latest'), 'test:5000/repo:latest'],
  ['test-com:8080/foo', ref('test-com:8080', 'foo', 'latest'), 'test-com:8080/foo:latest'],
  ['test.com/foo', ref('test.com', 'foo', 'latest'), 'test.com/foo:latest'],
  ['test.com/repo:tag', ref('test.com', 'repo', 'tag'), 'test.com/repo:tag'],
  ['test_com/foo', ref('docker.io', 'test_com/foo', 'latest'), 'test_com/foo:latest'],
  ['test_com', ref('docker.io', 'library/test_com', 'latest'), 'test_com:latest'],
  // A single component is always an official image, even when it looks like host:port.
  ['test.com:tag', ref('docker.io', 'library/test.com', 'tag'), 'test.com:tag'],
  ['test.com:5000', ref('docker.io', 'library/test.com', '5000'), 'test.com:5000'],
  ['192.168.0.1', ref('docker.io', 'library/192.168.0.1', 'latest'), '192.168.0.1:latest'],
  ['192.168.0.1:80', ref('docker.io', 'library/192.168.0.1', '80'), '192.168.0.1:80'],
  ['foo_bar.com:8080', ref('docker.io', 'library/foo_bar.com', '8080'), 'foo_bar.com:8080'],
  ['foo/foo_bar.com:8080', ref('docker.io', 'foo/foo_bar.com', '8080'), 'foo/foo_bar.com:8080'],
  ['192.168.1.1/repo', ref('192.168.1.1', 'repo', 'latest'), '192.168.1.1/repo:latest'],
  ['192.168.0.1:8/debian', ref('192.168.0.1:8', 'debian', 'latest'), '192.168.0.1:8/debian:latest'],
  ['192.168.1.1:5000/repo:5050', ref('192.168.1.1:5000', 'repo', '5050'), '192.168.1.1:5000/repo:5050'],
  ['127.0.0.1:5000/library/debian', ref('127.0.0.1:5000', 'library/debian', 'latest'), '127.0.0.1:5000/library/debian:latest'],
  ['127.0.0.1:8000/private/moonbase', ref('127.0.0.1:8000', 'private/moonbase', 'latest'), '127.0.0.1:8000/private/moonbase:latest'],
  ['example.com:8000/privatebasee', ref('example.com:8000', 'privatebasee', 'latest'), 'example.com:8000/privatebasee:latest'],
  ['xn--n3h.com/myimage:xn--n3h.com', ref('xn--n3h.com', 'myimage', 'xn--n3h.com'), 'xn--n3h.com/myimage:xn--n3h.com'],
  ['xn--n3h.com:18080/foo', ref('xn--n3h.com:18080', 'foo', 'latest'), 'xn--n3h.com:18080/foo:latest'],
  ['b.gcr.io/test.example.com/my-app:test.example.com', ref('b.gcr.io', 'test.example.com/my-app', 'test.example.com'), 'b.gcr.io/test.example.com/my-app:test.example.com'],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', ref('sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag'), 'sub-dom1.foo.com/bar/baz/quux:some-long-tag'],
  ['ubuntu-12.04-base', ref('docker.io', 'library/ubuntu-12.04-base', 'latest'), 'ubuntu-12.04-base:latest'],
  ['lowercase:Uppercase', ref('docker.io', 'library/lowercase', 'Uppercase'), 'lowercase:Uppercase'],
  // Upper-case first components are hosts (splitDockerDomain), so these are valid.
  ['Foo/bar', ref('Foo', 'bar', 'latest'), 'Foo/bar:latest'],
  ['DOCKER/docker', ref('DOCKER', 'docker', 'latest'), 'DOCKER/docker:latest'],
  // IPv6 hosts (regexp.go ipv6address).
  ['[::1]:5000/x', ref('[::1]:5000', 'x', 'latest'), '[::1]:5000/x:latest'],
  ['[fc00::1]:5000/docker/docker', ref('[fc00::1]:5000', 'docker/docker', 'latest'), '[fc00::1]:5000/docker/docker:latest'],
  ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', ref('[fc00:1:2:3:4:5:6:7]:5000', 'library/debian', 'latest'), '[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest'],
  ['[2001:db8::1]/repo', ref('[2001:db8::1]', 'repo', 'latest'), '[2001:db8::1]/repo:latest'],
  ['[2001:db8::]:5000/repo', ref('[2001:db8::]:5000', 'repo', 'latest'), '[2001:db8::]:5000/repo:latest'],
  ['[2001:db8::1]:5000/repo:tag', ref('[2001:db8::1]:5000', 'repo', 'tag'), '[2001:db8::1]:5000/repo:tag'],
  // Digests: no default tag; with both, both are kept.
  [`redis@${SHA_DBCC}`, ref('docker.io', 'library/redis', undefined, SHA_DBCC), `redis@${SHA_DBCC}`],
  [`dmcgowan/myapp@${SHA_DBCC}`, ref('docker.io', 'dmcgowan/myapp', undefined, SHA_DBCC), `dmcgowan/myapp@${SHA_DBCC}`],
  [`busybox:latest@${SHA}`, ref('docker.io', 'library/busybox', 'latest', SHA), `busybox:latest@${SHA}`],
  [`test:5000/repo@${SHA}`, ref('test:5000', 'repo', undefined, SHA), `test:5000/repo@${SHA}`],
  [`test:5000/repo:tag@${SHA}`, ref('test:5000', 'repo', 'tag', SHA), `test:5000/repo:tag@${SHA}`],
  [`[2001:db8::1]:5000/repo:tag@${SHA}`, ref('[2001:db8::1]:5000', 'repo', 'tag', SHA), `[2001:db8::1]:5000/repo:tag@${SHA}`],
  [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`, ref('xn--7o8h.com', 'myimage', 'xn--7o8h.com', SHA512), `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`],
  // 64 hex is only refused as the whole input; with a host it is a name.
  [`docker.io/${HEX64}`, ref('docker.io', `library/${HEX64}`, 'latest'), `${HEX64}:latest`],
  [HEX64.slice(0, 63), ref('docker.io', `library/${HEX64.slice(0, 63)}`, 'latest'), `${HEX64.slice(0, 63)}:latest`],
  // TestValidateRemoteName.
  ['thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', ref('docker.io', 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', 'latest'), 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest'],
  ['docker---rules/docker', ref('docker.io', 'docker---rules/docker', 'latest'), 'docker---rules/docker:latest'],
  ['d/docker', ref('docker.io', 'd/docker', 'latest'), 'd/docker:latest'],
  ['jess/t', ref('docker.io', 'jess/t', 'latest'), 'jess/t:latest'],
  ['dock__er/docker', ref('docker.io', 'dock__er/docker', 'latest'), 'dock__er/docker:latest'],
  // Name length limit applies to the path: 255 characters is fine.
  [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, ref('docker.io', `${'a/'.repeat(127)}a`, 'tag-puts-this-over-max'), `${'a/'.repeat(127)}a:tag-puts-this-over-max`],
  [`ubuntu:${'t'.repeat(128)}`, ref('docker.io', 'library/ubuntu', 't'.repeat(128)), `ubuntu:${'t'.repeat(128)}`],
  ['ubuntu:_x.Y-1', ref('docker.io', 'library/ubuntu', '_x.Y-1'), 'ubuntu:_x.Y-1'],
];

// [input, fragment of the reason]
const invalid: [string, RegExp][] = [
  ['', /empty/],
  [HEX64, /image ID/],
  ['https://github.com/docker/docker', /URL scheme/],
  ['docker/Docker', /"docker\/Docker" must be lowercase/],
  ['Uppercase:tag', /"Uppercase" must be lowercase/],
  ['docker.io/docker/Docker', /must be lowercase/],
  ['test:5000/Uppercase/lowercase:tag', /must be lowercase/],
  ['-docker', /component "-docker"/],
  ['-docker/docker', /component "-docker"/],
  ['-docker.io/docker/docker', /invalid registry host "-docker.io"/],
  ['docker///docker', /empty path component/],
  ['docker.io/docker///docker', /empty path component/],
  ['docker/', /empty path component/],
  ['docker-/docker', /component "docker-"/],
  ['-docker-/docker', /component/],
  ['____/____', /component "____"/],
  ['_docker/_docker', /component "_docker"/],
  ['dock_.er/docker', /registry host "dock_.er"/],
  ['dock-.er/docker', /registry host "dock-.er"/],
  ['dock..er/docker', /registry host "dock..er"/],
  ['[fc00::1]', /missing repository name after registry host/],
  ['[fc00::1]:5000', /missing repository name after registry host/],
  ['[2001:db8::1]:tag', /missing repository name after registry host/],
  ['fc00::1:5000/debian', /registry host "fc00::1:5000"/],
  ['[fe80::1%eth0]:5000/debian', /registry host/],
  ['[fe80::1%@invalidzone]:5000/repo', /./],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', /registry host/],
  ['foo_bar.com/x', /registry host "foo_bar.com"/],
  [':justtag', /missing repository name/],
  [`@${SHA}`, /missing repository name/],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', /64 hex characters, got 34/],
  [`validname@invaliddigest:${'f'.repeat(64)}`, /unsupported digest algorithm "invaliddigest"/],
  [`ubuntu@sha256:${'F'.repeat(64)}`, /lower-case hex/],
  ['ubuntu@sha256:abc', /invalid digest/],
  ['ubuntu@', /digest is empty/],
  ['ubuntu:', /tag is empty/],
  ['ubuntu:-x', /tag "-x" is invalid/],
  ['ubuntu:.x', /tag ".x" is invalid/],
  [`ubuntu:${'t'.repeat(129)}`, /longer than 128/],
  [`${'a/'.repeat(128)}a:tag`, /not be more than 255 characters/],
  ['aa/asdf$$^/aa', /component "asdf\$\$\^"/],
  ['ubuntu ', /whitespace/],
  ['ub untu', /whitespace/],
];

void describe('parseReference: Docker vectors', () => {
  for (const [input, expected, familiar] of valid) {
    void it(`parses ${JSON.stringify(input.length > 70 ? `${input.slice(0, 67)}...` : input)}`, () => {
      const parsed = parseReference(input);
      assert.deepEqual(parsed, expected);
      assert.equal(familiarReference(parsed), familiar);
      // The canonical form parses back to the same reference.
      assert.deepEqual(parseReference(formatReference(parsed)), expected);
    });
  }

  for (const [input, reason] of invalid) {
    void it(`rejects ${JSON.stringify(input.length > 70 ? `${input.slice(0, 67)}...` : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          assert.ok(err instanceof InvalidReferenceError);
          assert.equal(err.code, 'INVALID_REFERENCE');
          assert.equal(err.input, input);
          assert.ok(err.message.startsWith(`invalid image reference "`), err.message);
          assert.ok(!err.message.includes('\n'), 'one line');
          assert.match(err.reason, reason);
          return true;
        },
      );
    });
  }
});

void describe('parseReference options', () => {
  void it('applies defaultTag only when there is no tag and no digest', () => {
    assert.equal(parseReference('ubuntu', { defaultTag: 'stable' }).tag, 'stable');
    assert.equal(parseReference('ubuntu:1', { defaultTag: 'stable' }).tag, '1');
    assert.equal(parseReference(`ubuntu@${SHA}`, { defaultTag: 'stable' }).tag, undefined);
  });

  void it('rejects an invalid defaultTag', () => {
    assert.throws(() => parseReference('ubuntu', { defaultTag: '-bad' }), InvalidReferenceError);
  });
});

void describe('formatting', () => {
  void it('formats canonical, familiar and repository strings', () => {
    const r = parseReference(`busybox:1@${SHA}`);
    assert.equal(formatReference(r), `docker.io/library/busybox:1@${SHA}`);
    assert.equal(familiarReference(r), `busybox:1@${SHA}`);
    assert.equal(repositoryString(r), 'docker.io/library/busybox');
    assert.equal(formatReference(ref('ghcr.io', 'o/a')), 'ghcr.io/o/a');
    assert.equal(familiarReference(ref('docker.io', 'library/ubuntu')), 'ubuntu');
  });

  void it('withTag and withDigest keep the other part (reference.go WithTag/WithDigest)', () => {
    const r = parseReference('test.com:8000/foo');
    assert.equal(formatReference(withTag(r, 'TAG5')), 'test.com:8000/foo:TAG5');
    const digested = withDigest(r, SHA);
    assert.equal(formatReference(digested), `test.com:8000/foo:latest@${SHA}`);
    assert.equal(formatReference(withTag(digested, 'v2')), `test.com:8000/foo:v2@${SHA}`);
    assert.equal(r.digest, undefined, 'inputs are not mutated');
    assert.throws(() => withTag(r, '-foo'), InvalidReferenceError);
    assert.throws(() => withDigest(r, 'foo'), InvalidReferenceError);
    assert.throws(() => withDigest(r, 'sha256:1234567890098765432112345667890098765'), /64 hex characters/);
  });
});

void describe('registries', () => {
  void it('maps docker.io to its API host', () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('ghcr.io'), 'ghcr.io');
    assert.equal(registryApiHost('localhost:5000'), 'localhost:5000');
  });

  void it('lists config.json keys in lookup order', () => {
    const hub = credentialKeys('docker.io');
    assert.deepEqual(hub.slice(0, 1), ['https://index.docker.io/v1/']);
    assert.ok(hub.includes('index.docker.io') && hub.includes('docker.io') && hub.includes('registry-1.docker.io'));
    const other = credentialKeys('registry.example.com:5000');
    assert.equal(other[0], 'registry.example.com:5000');
    assert.ok(other.includes('https://registry.example.com:5000'));
    assert.ok(other.includes('http://registry.example.com:5000'));
    assert.ok(other.includes('https://registry.example.com:5000/v2/'));
  });

  void it('folds config.json keys to registries (docker/cli ConvertToHostname)', () => {
    assert.equal(credentialKeyRegistry('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(credentialKeyRegistry('registry-1.docker.io'), 'docker.io');
    assert.equal(credentialKeyRegistry('http://myregistry:5000/v2/'), 'myregistry:5000');
    assert.equal(credentialKeyRegistry('ghcr.io'), 'ghcr.io');
    for (const key of credentialKeys('docker.io')) assert.equal(credentialKeyRegistry(key), 'docker.io', key);
    for (const key of credentialKeys('[::1]:5000')) assert.equal(credentialKeyRegistry(key), '[::1]:5000', key);
  });

  void it('recognises loopback registries', () => {
    for (const r of ['localhost', 'localhost:5000', 'LOCALHOST:5000', '127.0.0.1', '127.0.0.1:5000', '127.1.2.3:80', '[::1]', '[::1]:5000', '::1', '[0:0:0:0:0:0:0:1]:5000', '[::0001]']) {
      assert.equal(isLoopbackRegistry(r), true, r);
    }
    for (const r of ['docker.io', 'localhost.example.com', '128.0.0.1:5000', '127.0.0.256', '10.0.0.1:5000', '[::2]:5000', '[fc00::1]:5000', '[::1', '[::1]x', 'localhost:abc', '::', '1::1']) {
      assert.equal(isLoopbackRegistry(r), false, r);
    }
  });
});
