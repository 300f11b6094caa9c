// Typed registry errors: OCI distribution-spec error bodies ("Error Codes"), the status fallback,
// and transport failures, each rendered as one actionable line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  errorFromResponse,
  errorFromTransport,
  isRegistryError,
  parseRegistryErrorBody,
  RegistryError,
  type RegistryErrorBodyCode,
} from '../../server/src/registry/errors';

const body = (...errors: unknown[]) => JSON.stringify({ errors });

function assertOneLine(message: string): void {
  assert.ok(!/[\r\n]/.test(message), `message is not one line: ${JSON.stringify(message)}`);
  assert.ok(!message.includes('    at '), 'message carries a stack trace');
}

void describe('parseRegistryErrorBody', () => {
  void it('parses a valid OCI error body', () => {
    const text = body(
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'nope' } },
      { code: 'NAME_UNKNOWN', message: 'repository name not known to registry' },
    );
    assert.deepEqual(parseRegistryErrorBody(text), [
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'nope' } },
      { code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: undefined },
    ]);
  });

  void it('keeps unknown codes and drops entries without a string code', () => {
    const text = body({ code: 'SOMETHING_NEW' }, { message: 'no code' }, { code: 42 }, 'a string', null, [1]);
    assert.deepEqual(parseRegistryErrorBody(text), [{ code: 'SOMETHING_NEW', message: undefined, detail: undefined }]);
  });

  void it('ignores a non-string message', () => {
    assert.deepEqual(parseRegistryErrorBody(body({ code: 'DENIED', message: { nested: true } })), [{ code: 'DENIED', message: undefined, detail: undefined }]);
  });

  void it('returns [] for junk', () => {
    for (const junk of ['', 'not json', '<html><body>502 Bad Gateway</body></html>', 'null', '42', '"errors"', '[]', '{}', '{"errors":"DENIED"}', '{"errors":{"code":"DENIED"}}', '{"errors":[', '{"details":"x"}']) {
      assert.deepEqual(parseRegistryErrorBody(junk), [], junk);
    }
  });

  void it('returns [] for a body over 64 KiB without parsing it, and parses one just at the limit', () => {
    const small = body({ code: 'DENIED', message: 'no' });
    const atLimit = small + ' '.repeat(64 * 1024 - small.length);
    assert.equal(atLimit.length, 64 * 1024);
    assert.deepEqual(parseRegistryErrorBody(atLimit), [{ code: 'DENIED', message: 'no', detail: undefined }]);
    assert.deepEqual(parseRegistryErrorBody(atLimit + ' '), []);
    const huge = body({ code: 'DENIED', message: 'x'.repeat(1024 * 1024) });
    assert.deepEqual(parseRegistryErrorBody(huge), []);
  });
});

void describe('errorFromResponse', () => {
  const base = { operation: 'pull', registry: 'registry.example.com', repository: 'team/app' };

  void it('takes the code from the body over the status', () => {
    const error = errorFromResponse({ ...base, status: 404, bodyText: body({ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }), notFound: 'MANIFEST_UNKNOWN' });
    assert.ok(error instanceof RegistryError);
    assert.ok(isRegistryError(error));
    assert.equal(error.code, 'BLOB_UNKNOWN');
    assert.equal(error.status, 404);
    assert.deepEqual(error.registryErrors, [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: undefined }]);
    assert.equal(error.operation, 'pull');
    assert.equal(error.registry, 'registry.example.com');
    assert.equal(error.repository, 'team/app');
    assert.equal(error.name, 'RegistryError');
  });

  void it('a body code wins even when the status suggests otherwise', () => {
    assert.equal(errorFromResponse({ ...base, status: 400, bodyText: body({ code: 'DIGEST_INVALID', message: 'digest did not match' }) }).code, 'DIGEST_INVALID');
    assert.equal(errorFromResponse({ ...base, status: 401, bodyText: body({ code: 'UNAUTHORIZED', message: 'authentication required' }) }).code, 'UNAUTHORIZED');
    assert.equal(errorFromResponse({ ...base, status: 429, bodyText: body({ code: 'TOOMANYREQUESTS', message: 'pull rate limit' }) }).code, 'TOOMANYREQUESTS');
  });

  void it('falls back to the status when the body code is unknown', () => {
    const error = errorFromResponse({ ...base, status: 403, bodyText: body({ code: 'QUOTA_EXCEEDED', message: 'over quota' }) });
    assert.equal(error.code, 'DENIED');
    assert.match(error.message, /over quota \(HTTP 403, QUOTA_EXCEEDED\)/);
  });

  void it('maps statuses without a body', () => {
    const cases: [number, string][] = [
      [401, 'UNAUTHORIZED'],
      [403, 'DENIED'],
      [404, 'NAME_UNKNOWN'],
      [413, 'SIZE_INVALID'],
      [416, 'RANGE_INVALID'],
      [429, 'TOOMANYREQUESTS'],
      [500, 'SERVER_ERROR'],
      [502, 'SERVER_ERROR'],
      [503, 'SERVER_ERROR'],
      [504, 'SERVER_ERROR'],
      [400, 'UNEXPECTED_STATUS'],
      [405, 'UNEXPECTED_STATUS'],
      [409, 'UNEXPECTED_STATUS'],
      [302, 'UNEXPECTED_STATUS'],
    ];
    for (const [status, code] of cases) {
      assert.equal(errorFromResponse({ ...base, status, bodyText: '' }).code, code, `HTTP ${status}`);
    }
  });

  void it('uses the caller\'s code for a bare 404', () => {
    const codes: RegistryErrorBodyCode[] = ['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN', 'NAME_UNKNOWN'];
    for (const notFound of codes) {
      assert.equal(errorFromResponse({ ...base, status: 404, bodyText: 'Not Found', notFound }).code, notFound);
    }
    // Only 404 uses it.
    assert.equal(errorFromResponse({ ...base, status: 500, bodyText: '', notFound: 'MANIFEST_UNKNOWN' }).code, 'SERVER_ERROR');
  });

  void it('denied: true is DENIED whatever the status and the body say', () => {
    const error = errorFromResponse({
      ...base,
      operation: 'push',
      status: 401,
      bodyText: body({ code: 'UNAUTHORIZED', message: 'authentication required' }),
      denied: true,
    });
    assert.equal(error.code, 'DENIED');
    assert.equal(error.status, 401);
    assert.match(error.message, /requested access to the resource is denied/);
    assert.doesNotMatch(error.message, /authentication required/);
    assert.match(error.message, /docker login registry\.example\.com/);
    assert.match(error.message, /push to team\/app/);
    assert.equal(error.retryable, false);
  });

  void it('renders ONE line naming the operation and registry/repository, the registry\'s message and a hint', () => {
    const error = errorFromResponse({
      ...base,
      status: 404,
      bodyText: body({ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown:\n  tag "9.9" not\tfound' }),
      notFound: 'MANIFEST_UNKNOWN',
    });
    assertOneLine(error.message);
    assert.ok(error.message.startsWith('pull registry.example.com/team/app: '), error.message);
    assert.ok(error.message.includes('manifest unknown: tag "9.9" not found (HTTP 404, MANIFEST_UNKNOWN)'), error.message);
    assert.ok(error.hint, 'has a hint');
    assert.ok(error.message.endsWith(` — ${error.hint}`), error.message);
    assert.match(error.hint, /tag or digest/);
    assert.equal(error.problem, 'manifest unknown: tag "9.9" not found (HTTP 404, MANIFEST_UNKNOWN)');
  });

  void it('describes the status when the registry sent no message', () => {
    const cases: [number, string][] = [
      [401, 'authentication required (HTTP 401)'],
      [403, 'access denied (HTTP 403)'],
      [404, 'not found (HTTP 404)'],
      [429, 'too many requests (HTTP 429)'],
      [503, 'registry error (HTTP 503)'],
      [418, 'unexpected response (HTTP 418)'],
    ];
    for (const [status, problem] of cases) {
      const error = errorFromResponse({ ...base, status, bodyText: '<html>gateway</html>' });
      assert.equal(error.problem, problem);
      assert.ok(error.message.startsWith(`pull registry.example.com/team/app: ${problem}`), error.message);
      assertOneLine(error.message);
    }
  });

  void it('names the code without a message when the body has only a code', () => {
    const error = errorFromResponse({ ...base, status: 404, bodyText: body({ code: 'NAME_UNKNOWN' }) });
    assert.equal(error.problem, 'not found (HTTP 404, NAME_UNKNOWN)');
  });

  void it('truncates a long registry message to 200 characters', () => {
    const error = errorFromResponse({ ...base, status: 500, bodyText: body({ code: 'UNKNOWN', message: 'y'.repeat(5000) }) });
    assert.equal(error.problem, `${'y'.repeat(200)} (HTTP 500, UNKNOWN)`);
    assertOneLine(error.message);
  });

  void it('names only the registry when there is no repository', () => {
    const error = errorFromResponse({ operation: 'ping', registry: '127.0.0.1:5000', status: 401, bodyText: '' });
    assert.ok(error.message.startsWith('ping 127.0.0.1:5000: authentication required (HTTP 401)'), error.message);
    assert.equal(error.repository, undefined);
    assert.match(error.message, /docker login 127\.0\.0\.1:5000.* pull from it/);
  });

  void it('gives a hint for every code a user can act on', () => {
    const hints: [number, string, RegExp][] = [
      [401, 'pull', /run "docker login registry\.example\.com" with an account that may pull from team\/app/],
      [401, 'push', /may push to team\/app/],
      [403, 'mount', /not allowed.*may push to team\/app/],
      [403, 'inspect', /not allowed.*may pull from team\/app/],
      [404, 'pull', /repository name/],
      [413, 'push', /refused the size/],
      [429, 'pull', /rate limiting/],
      [500, 'push', /retry later/],
    ];
    for (const [status, operation, hint] of hints) {
      const error = errorFromResponse({ ...base, operation, status, bodyText: '' });
      assert.match(error.hint ?? '', hint, `HTTP ${status} ${operation}`);
      assert.ok(error.message.includes(` — ${error.hint ?? '(none)'}`));
      assertOneLine(error.message);
    }
    assert.match(errorFromResponse({ ...base, status: 404, bodyText: body({ code: 'MANIFEST_BLOB_UNKNOWN' }) }).hint ?? '', /push the image again/);
  });

  void it('has no hint (and no dash) for a status nobody can act on', () => {
    const error = errorFromResponse({ ...base, status: 400, bodyText: '' });
    assert.equal(error.hint, undefined);
    assert.ok(!error.message.includes(' — '), error.message);
  });

  void it('is retryable for 429 and 5xx only', () => {
    for (const status of [429, 500, 502, 503, 504, 599]) {
      assert.equal(errorFromResponse({ ...base, status, bodyText: '' }).retryable, true, `HTTP ${status}`);
    }
    for (const status of [400, 401, 403, 404, 413, 416]) {
      assert.equal(errorFromResponse({ ...base, status, bodyText: '' }).retryable, false, `HTTP ${status}`);
    }
  });

  void it('carries retryAfterSeconds', () => {
    assert.equal(errorFromResponse({ ...base, status: 429, bodyText: '', retryAfterSeconds: 30 }).retryAfterSeconds, 30);
    assert.equal(errorFromResponse({ ...base, status: 429, bodyText: '' }).retryAfterSeconds, undefined);
  });

  void it(
    'stays one line even when the registry puts a newline in the error code',
    () => {
      const error = errorFromResponse({ ...base, status: 500, bodyText: body({ code: 'BAD\nCODE', message: 'boom' }) });
      assertOneLine(error.message);
    },
  );
});

void describe('errorFromTransport', () => {
  const context = { operation: 'push', registry: 'registry.example.com', repository: 'team/app' };

  void it('maps ECONNREFUSED to a retryable NETWORK error', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
    const error = errorFromTransport(cause, context);
    assert.equal(error.code, 'NETWORK');
    assert.equal(error.retryable, true);
    assert.equal(error.cause, cause);
    assert.equal(error.message, 'push registry.example.com/team/app: connection failed (ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:443) — check that the registry is reachable, then retry');
  });

  void it('maps other socket errors to NETWORK, keeping only the first line of the message', () => {
    const error = errorFromTransport(Object.assign(new Error('other side closed\n    at Socket.onclose (x.js:1:1)'), { code: 'UND_ERR_SOCKET' }), context);
    assert.equal(error.code, 'NETWORK');
    assert.equal(error.retryable, true);
    assert.match(error.message, /connection failed \(UND_ERR_SOCKET: other side closed\)/);
    assertOneLine(error.message);
    const bare = errorFromTransport({}, context);
    assert.equal(bare.code, 'NETWORK');
    assert.match(bare.message, /connection failed \(error\)/);
  });

  void it('maps the undici timeouts and ETIMEDOUT to a retryable TIMEOUT', () => {
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']) {
      const error = errorFromTransport(Object.assign(new Error('Headers Timeout Error'), { code }), context);
      assert.equal(error.code, 'TIMEOUT', code);
      assert.equal(error.retryable, true, code);
      assert.ok(error.message.includes(`timed out (${code})`), error.message);
      assertOneLine(error.message);
    }
  });

  void it('maps TLS failures by code', () => {
    const error = errorFromTransport(
      Object.assign(new Error("Hostname/IP does not match certificate's altnames: Host: registry.example.com. is not in the cert's altnames: DNS:other.example"), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      }),
      context,
    );
    assert.equal(error.code, 'TLS');
    assert.equal(error.retryable, false);
    assert.match(error.message, /^push registry\.example\.com\/team\/app: TLS failed \(ERR_TLS_CERT_ALTNAME_INVALID\): Hostname\/IP does not match/);
    assert.match(error.hint ?? '', /insecureRegistries/);
    assertOneLine(error.message);
    // A plain object with only a code, as some wrappers rethrow.
    assert.equal(errorFromTransport({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, context).code, 'TLS');
    assert.equal(errorFromTransport({ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, context).code, 'TLS');
    assert.equal(errorFromTransport({ code: 'EPROTO', message: 'write EPROTO' }, context).code, 'TLS');
  });

  void it('maps TLS failures by message (OpenSSL verify codes)', () => {
    const leaf = errorFromTransport({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' }, context);
    assert.equal(leaf.code, 'TLS');
    assert.ok(leaf.message.includes('TLS failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE): unable to verify the first certificate'), leaf.message);
    const selfSigned = errorFromTransport({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, context);
    assert.equal(selfSigned.code, 'TLS');
    const noCode = errorFromTransport(new Error('self signed certificate in certificate chain'), context);
    assert.equal(noCode.code, 'TLS');
    assert.ok(noCode.message.includes('TLS failed (handshake)'), noCode.message);
  });

  void it('maps AbortError and abort codes to a non-retryable ABORTED', () => {
    const inputs: unknown[] = [
      Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }),
      new DOMException('This operation was aborted', 'AbortError'),
      AbortSignal.abort().reason,
      { code: 'ABORT_ERR' },
      Object.assign(new Error('Request aborted'), { code: 'UND_ERR_ABORTED' }),
    ];
    for (const input of inputs) {
      const error = errorFromTransport(input, context);
      assert.equal(error.code, 'ABORTED');
      assert.equal(error.retryable, false);
      assert.equal(error.message, 'push registry.example.com/team/app: cancelled');
      assert.equal(error.cause, input);
    }
  });

  void it('returns a RegistryError unchanged', () => {
    const original = errorFromResponse({ ...context, status: 403, bodyText: '' });
    assert.equal(errorFromTransport(original, context), original);
  });

  void it(
    'maps a TimeoutError DOMException (AbortSignal.timeout) instead of throwing',
    () => {
      const error = errorFromTransport(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), context);
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, 'TIMEOUT');
    },
  );

  void it('maps null and undefined instead of throwing', () => {
    assert.equal(errorFromTransport(null, context).code, 'NETWORK');
    assert.equal(errorFromTransport(undefined, context).code, 'NETWORK');
  });
});
