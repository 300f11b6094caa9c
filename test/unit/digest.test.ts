// Digest validation follows go-digest Digest.Validate (the checks Docker and containerd run).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeDigest,
  DigestMismatchError,
  digestProblem,
  InvalidDigestError,
  isDigest,
  parseDigest,
  sha256Digest,
  shortDigest,
  verifyDigest,
} from '../../server/src/core/digest';

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HELLO_SHA256 = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

void describe('digest validation', () => {
  const valid = [
    EMPTY_SHA256,
    `sha256:${'0'.repeat(64)}`,
    `sha384:${'a'.repeat(96)}`,
    `sha512:${'f'.repeat(128)}`,
  ];
  for (const d of valid) {
    void it(`accepts ${d.slice(0, 20)}...`, () => {
      assert.equal(isDigest(d), true);
      assert.equal(digestProblem(d), undefined);
      const parsed = parseDigest(d);
      assert.equal(`${parsed.algorithm}:${parsed.hex}`, d);
    });
  }

  const invalid: [unknown, RegExp][] = [
    ['', /empty/],
    ['sha256', /algorithm:hex/],
    [':abc', /algorithm:hex/],
    ['sha256:', /algorithm:hex/],
    [`sha256:${'f'.repeat(63)}`, /64 hex characters, got 63/],
    [`sha256:${'f'.repeat(65)}`, /64 hex characters, got 65/],
    [`sha256:${'F'.repeat(64)}`, /lower-case hex/],
    [`sha256:${'g'.repeat(64)}`, /lower-case hex/],
    [`sha512:${'f'.repeat(64)}`, /128 hex characters/],
    [`md5:${'f'.repeat(32)}`, /unsupported digest algorithm "md5"/],
    [`sha256+b64u:${'f'.repeat(43)}`, /unsupported digest algorithm/],
    [`SHA256:${'f'.repeat(64)}`, /algorithm:hex/],
    [`sha256 :${'f'.repeat(64)}`, /algorithm:hex/],
  ];
  for (const [d, reason] of invalid) {
    void it(`rejects ${JSON.stringify(d).slice(0, 30)}`, () => {
      assert.equal(isDigest(d), false);
      const value = d as string;
      assert.match(digestProblem(value) ?? '', reason);
      assert.throws(
        () => parseDigest(value),
        (err: unknown) => err instanceof InvalidDigestError && err.code === 'INVALID_DIGEST' && reason.test(err.message) && !err.message.includes('\n'),
      );
    });
  }

  void it('isDigest refuses non-strings', () => {
    assert.equal(isDigest(undefined), false);
    assert.equal(isDigest(42), false);
  });
});

void describe('hashing', () => {
  void it('computes sha256 digests', () => {
    assert.equal(sha256Digest(new Uint8Array()), EMPTY_SHA256);
    assert.equal(sha256Digest(new TextEncoder().encode('hello')), HELLO_SHA256);
    assert.match(computeDigest(new Uint8Array([1]), 'sha512'), /^sha512:[a-f0-9]{128}$/);
  });

  void it('verifies, with the algorithm of the expected digest', () => {
    const hello = new TextEncoder().encode('hello');
    verifyDigest(hello, HELLO_SHA256);
    verifyDigest(hello, computeDigest(hello, 'sha512'));
    assert.throws(
      () => verifyDigest(hello, EMPTY_SHA256, 'layer'),
      (err: unknown) => {
        assert.ok(err instanceof DigestMismatchError);
        assert.equal(err.code, 'DIGEST_MISMATCH');
        assert.equal(err.expected, EMPTY_SHA256);
        assert.equal(err.actual, HELLO_SHA256);
        assert.equal(err.message, `layer digest mismatch: expected ${EMPTY_SHA256}, got ${HELLO_SHA256}`);
        return true;
      },
    );
    assert.throws(() => verifyDigest(hello, 'sha256:nope'), InvalidDigestError);
  });

  void it('shortens to 12 hex characters', () => {
    assert.equal(shortDigest(HELLO_SHA256), '2cf24dba5fb0');
    assert.equal(shortDigest('2cf24dba5fb0a30e26e83b2ac5b9e29e'), '2cf24dba5fb0');
  });
});
