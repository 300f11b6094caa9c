// An engine push's failure (the errorDetail of its message stream) as the same typed, one-line
// RegistryError Layerlift's own uploader throws: a code, retryable or not, the registry and
// repository, the engine's words, what to do — and never a registered secret.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineFailure } from '../../server/src/push/engineErrors';
import { RegistryError } from '../../server/src/registry/errors';
import { registerSecret } from '../../server/src/registry/credentials';

const where = { registry: 'r.example.com', repository: 'team/app' };

function check(message: string, engine = 'Docker engine'): RegistryError {
  const error = engineFailure(message, where, engine);
  assert.ok(error instanceof RegistryError);
  assert.equal(error.name, 'RegistryError');
  assert.equal(error.operation, 'push');
  assert.equal(error.registry, 'r.example.com');
  assert.equal(error.repository, 'team/app');
  assert.ok(!/[\r\n]/.test(error.message), `one line: ${JSON.stringify(error.message)}`);
  assert.ok(error.message.startsWith(`push r.example.com/team/app: the ${engine}'s push failed: `), error.message);
  assert.ok(error.hint && error.hint.length > 0, 'says what to do');
  assert.ok(error.message.endsWith(` — ${error.hint}`), 'the hint closes the line');
  return error;
}

describe('engineFailure: codes', () => {
  const cases: { message: string; code: string; retryable: boolean; hint?: RegExp }[] = [
    // distribution's errcode texts, as dockerd prints them
    { message: 'denied: requested access to the resource is denied', code: 'DENIED', retryable: false, hint: /may not push to r\.example\.com\/team\/app.*docker login r\.example\.com/ },
    { message: 'denied: permission_denied: write_package', code: 'DENIED', retryable: false },
    { message: 'unauthorized: authentication required', code: 'UNAUTHORIZED', retryable: false, hint: /docker login r\.example\.com/ },
    { message: 'unauthorized: incorrect username or password', code: 'UNAUTHORIZED', retryable: false },
    { message: 'Get "https://r.example.com/v2/": unauthorized: bad credentials', code: 'UNAUTHORIZED', retryable: false },
    { message: 'trying to reuse blob sha256:c2c0 at destination: unable to retrieve auth token: invalid username/password: unauthorized: bad credentials', code: 'UNAUTHORIZED', retryable: false },
    { message: 'toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit', code: 'TOOMANYREQUESTS', retryable: true, hint: /wait/ },
    { message: 'toomanyrequests: too many requests', code: 'TOOMANYREQUESTS', retryable: true },
    { message: 'received unexpected HTTP status: 429 Too Many Requests', code: 'TOOMANYREQUESTS', retryable: true },
    { message: 'received unexpected HTTP status: 413 Request Entity Too Large', code: 'SIZE_INVALID', retryable: false, hint: /limit/ },
    { message: 'error parsing HTTP 413 response body: invalid character \'<\' looking for beginning of value: "<html>\\r\\n<head><title>413 Request Entity Too Large</title></head>"', code: 'SIZE_INVALID', retryable: false },
    { message: 'received unexpected HTTP status: 503 Service Unavailable', code: 'SERVER_ERROR', retryable: true, hint: /--uploader layerlift/ },
    { message: 'received unexpected HTTP status: 500 Internal Server Error', code: 'SERVER_ERROR', retryable: true, hint: /--uploader layerlift/ },
    { message: 'received unexpected HTTP status: 502 Bad Gateway', code: 'SERVER_ERROR', retryable: true },
    { message: 'received unexpected HTTP status: 504 Gateway Time-out', code: 'SERVER_ERROR', retryable: true },
    { message: 'Patch "https://r.example.com/v2/team/app/blobs/uploads/0c2b?_state=abc": read tcp 10.0.0.2:51234->10.0.0.1:443: read: connection reset by peer', code: 'NETWORK', retryable: true, hint: /--uploader layerlift/ },
    { message: 'Put "https://r.example.com/v2/team/app/blobs/uploads/0c2b?digest=sha256%3Aabc": EOF', code: 'NETWORK', retryable: true },
    { message: 'unexpected EOF', code: 'NETWORK', retryable: true },
    { message: 'Get "https://r.example.com/v2/": dial tcp 10.0.0.1:443: connect: connection refused', code: 'NETWORK', retryable: true },
    { message: 'write tcp 10.0.0.2:5->10.0.0.1:443: write: broken pipe', code: 'NETWORK', retryable: true },
    { message: 'Get "https://r.example.com/v2/": dial tcp: lookup r.example.com: no such host', code: 'NETWORK', retryable: true },
    { message: 'net/http: TLS handshake timeout', code: 'NETWORK', retryable: true },
    { message: 'Get "https://127.0.0.1:5077/v2/": http: server gave HTTP response to HTTPS client', code: 'TLS', retryable: false, hint: /insecure registries.*--uploader layerlift/ },
    { message: 'Get "https://r.example.com/v2/": x509: certificate signed by unknown authority', code: 'TLS', retryable: false, hint: /certificate/ },
    { message: 'blob upload unknown: blob upload unknown to registry', code: 'BLOB_UPLOAD_UNKNOWN', retryable: true },
    { message: 'blob upload invalid: blob upload invalid', code: 'BLOB_UPLOAD_UNKNOWN', retryable: true },
    { message: 'manifest invalid: manifest invalid', code: 'MANIFEST_INVALID', retryable: false },
    { message: 'name invalid: invalid repository name', code: 'NAME_INVALID', retryable: false },
    { message: 'something nobody expected', code: 'UNEXPECTED_STATUS', retryable: false, hint: /--uploader layerlift/ },
  ];
  for (const { message, code, retryable, hint } of cases) {
    test(`${code}${retryable ? ' (retryable)' : ''}: ${message.slice(0, 70)}`, () => {
      const error = check(message);
      assert.equal(error.code, code);
      assert.equal(error.retryable, retryable);
      assert.ok(error.problem.endsWith(message.replace(/\s+/g, ' ')), `the engine's words are kept: ${error.problem}`);
      if (hint) assert.match(error.hint ?? '', hint);
    });
  }
});

describe('engineFailure: Podman 4.3', () => {
  const recorded = 'trying to reuse blob sha256:c2c0… at destination: pinging container registry 127.0.0.1:36669: Get "https://127.0.0.1:36669/v2/": http: server gave HTTP response to HTTPS client';

  test('HTTPS to a plain-HTTP registry → TLS, naming the Podman service and the registry', () => {
    const error = engineFailure(recorded, { registry: '127.0.0.1:36669', repository: 'team/pp' }, 'Podman service');
    assert.equal(error.code, 'TLS');
    assert.equal(error.retryable, false);
    assert.match(error.message, /^push 127\.0\.0\.1:36669\/team\/pp: the Podman service's push failed: trying to reuse blob/);
    assert.match(error.hint ?? '', /add 127\.0\.0\.1:36669 to the Podman service's insecure registries, or add --uploader layerlift/);
  });
});

describe('engineFailure: one line, bounded', () => {
  test('newlines, tabs and runs of spaces in the engine text become single spaces', () => {
    const error = check('denied:\n  requested access\r\n\tto the resource is denied\n');
    assert.equal(error.code, 'DENIED');
    assert.match(error.message, /push failed: denied: requested access to the resource is denied — /);
  });

  test('a huge engine message is cut (400 characters of it), still one line', () => {
    const error = check(`received unexpected HTTP status: 503 Service Unavailable ${'<html>body</html>\n'.repeat(500)}`);
    assert.equal(error.code, 'SERVER_ERROR');
    assert.ok(error.problem.length <= "the Docker engine's push failed: ".length + 400, `${error.problem.length} chars`);
    assert.ok(error.message.length < 800, `${error.message.length} chars`);
  });

  test('an empty message still makes a line', () => {
    const error = check('');
    assert.equal(error.code, 'UNEXPECTED_STATUS');
  });
});

describe('engineFailure: no secret', () => {
  test('a registered password never appears (problem, hint or message)', () => {
    const secret = 'Hunter2-engine-Pa55';
    registerSecret(secret);
    const error = check(`unauthorized: password ${secret} rejected for user alice`, 'Podman service');
    assert.equal(error.code, 'UNAUTHORIZED');
    for (const text of [error.message, error.problem, error.hint ?? '']) assert.ok(!text.includes(secret), text);
  });

  test('its URL-encoded form neither', () => {
    const secret = 'p@ss/w:rd&more';
    registerSecret(secret);
    const error = check(`Get "https://r.example.com/token?password=${encodeURIComponent(secret)}": EOF`);
    assert.equal(error.code, 'NETWORK');
    assert.ok(!error.message.includes(encodeURIComponent(secret)), error.message);
    assert.ok(!error.message.includes(secret), error.message);
  });

  test('a secret cut by the 400-character limit leaks no part of it', () => {
    // The engine's text is cut to 400 characters before RegistryError redacts it, so a secret
    // straddling the cut is no longer the registered string and its first half is kept.
    const secret = 'Zq8-cut-in-half-SECRET-0042';
    registerSecret(secret);
    const prefix = 'unauthorized: ' + 'x'.repeat(400 - 'unauthorized: '.length - 12);
    const error = check(`${prefix}${secret} rest of the message`);
    const head = secret.slice(0, 12);
    assert.ok(!error.message.includes(head), `the first 12 characters of the password are in: …${error.message.slice(380, 460)}`);
  });

  test('a secret with runs of whitespace is redacted as registered, not after the spaces were folded', () => {
    const secret = 'correct  horse\tbattery';
    registerSecret(secret);
    const error = check(`unauthorized: password ${secret} rejected`);
    assert.ok(!error.message.includes('correct horse battery'), error.message);
  });
});
