// The retrying undici interceptor: Retry-After parsing (RFC 9110 section 10.2.3), equal-jitter
// backoff, the per-origin shared backoff, and the interceptor composed on an undici MockAgent.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { MockAgent, request, type Dispatcher } from 'undici';
import {
  backoffDelayMs,
  defaultRetryPolicy,
  HostBackoff,
  parseRetryAfterMs,
  retryInterceptor,
  type RetryPolicy,
} from '../../server/src/registry/retryInterceptor';

void describe('parseRetryAfterMs', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  void it('reads delay-seconds', () => {
    assert.equal(parseRetryAfterMs('0', now), 0);
    assert.equal(parseRetryAfterMs('1', now), 1000);
    assert.equal(parseRetryAfterMs('120', now), 120_000);
    assert.equal(parseRetryAfterMs('  30 ', now), 30_000);
  });

  void it('reads an HTTP-date relative to now', () => {
    assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:30 GMT', now), 30_000);
    assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 08:28:00 GMT', now), 3_600_000);
  });

  void it('clamps a date in the past to 0', () => {
    assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:00:00 GMT', now), 0);
  });

  void it('uses the first value of a repeated header', () => {
    assert.equal(parseRetryAfterMs(['5', '60'], now), 5000);
  });

  void it('is undefined when absent, empty or junk', () => {
    assert.equal(parseRetryAfterMs(undefined, now), undefined);
    assert.equal(parseRetryAfterMs('', now), undefined);
    assert.equal(parseRetryAfterMs('   ', now), undefined);
    assert.equal(parseRetryAfterMs([], now), undefined);
    assert.equal(parseRetryAfterMs('soon', now), undefined);
    assert.equal(parseRetryAfterMs('120s', now), undefined);
    assert.equal(parseRetryAfterMs('0x10', now), undefined);
  });

  void it(
    'is undefined for numbers that are not delay-seconds',
    () => {
      assert.equal(parseRetryAfterMs('1.5', now), undefined);
      assert.equal(parseRetryAfterMs('-1', now), undefined);
      assert.equal(parseRetryAfterMs('later 3', now), undefined);
    },
  );
});

void describe('backoffDelayMs', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };

  void it('is half the ceiling with random 0 and the full ceiling with random 1', () => {
    assert.equal(backoffDelayMs(0, policy, () => 0), 50);
    assert.equal(backoffDelayMs(0, policy, () => 1), 100);
    assert.equal(backoffDelayMs(1, policy, () => 0), 100);
    assert.equal(backoffDelayMs(1, policy, () => 1), 200);
    assert.equal(backoffDelayMs(3, policy, () => 0), 400);
    assert.equal(backoffDelayMs(3, policy, () => 1), 800);
  });

  void it('caps the ceiling at maxDelayMs', () => {
    assert.equal(backoffDelayMs(4, policy, () => 0), 500);
    assert.equal(backoffDelayMs(4, policy, () => 1), 1000);
    assert.equal(backoffDelayMs(30, policy, () => 1), 1000);
    assert.equal(backoffDelayMs(30, policy, () => 0), 500);
  });

  void it('lies between the bounds for a middle random value', () => {
    assert.equal(backoffDelayMs(2, policy, () => 0.5), 300);
  });

  void it('never collapses to 0 and stays within bounds with Math.random', () => {
    for (let retry = 0; retry < 10; retry++) {
      const ceiling = Math.min(1000, 100 * 2 ** retry);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelayMs(retry, policy);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `retry ${retry}: ${delay} not in [${ceiling / 2}, ${ceiling}]`);
      }
    }
  });

  void it('the default policy starts at 100..200 ms and stops growing at 10 s', () => {
    assert.equal(backoffDelayMs(0, defaultRetryPolicy, () => 0), 100);
    assert.equal(backoffDelayMs(0, defaultRetryPolicy, () => 1), 200);
    assert.equal(backoffDelayMs(20, defaultRetryPolicy, () => 1), 10_000);
  });
});

void describe('HostBackoff', () => {
  void it('is 0 for an origin nobody pushed', () => {
    assert.equal(new HostBackoff().delayFor('https://r.example', 1000), 0);
  });

  void it('counts down from a push', () => {
    const backoff = new HostBackoff();
    backoff.push('https://r.example', 500, 1000);
    assert.equal(backoff.delayFor('https://r.example', 1000), 500);
    assert.equal(backoff.delayFor('https://r.example', 1200), 300);
    assert.equal(backoff.delayFor('https://r.example', 1500), 0);
    assert.equal(backoff.delayFor('https://r.example', 9000), 0);
  });

  void it('is per origin', () => {
    const backoff = new HostBackoff();
    backoff.push('https://a.example', 500, 1000);
    assert.equal(backoff.delayFor('https://b.example', 1000), 0);
    assert.equal(backoff.delayFor('https://a.example:443', 1000), 0);
  });

  void it('a shorter push never shortens a longer one; a longer one extends it', () => {
    const backoff = new HostBackoff();
    backoff.push('o', 1000, 0);
    backoff.push('o', 10, 100);
    assert.equal(backoff.delayFor('o', 100), 900);
    backoff.push('o', 2000, 100);
    assert.equal(backoff.delayFor('o', 100), 2000);
  });

  void it('is shared: every request through one interceptor waits for a pushed backoff', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    try {
      const backoff = new HostBackoff();
      const dispatcher = agent.compose(retryInterceptor(testPolicy(), backoff));
      const pool = agent.get(ORIGIN);
      pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'get');
      pool.intercept({ path: '/v2/x/blobs/uploads/1', method: 'PATCH' }).reply(202, 'patch');
      pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'other');
      backoff.push(ORIGIN, 150);
      const started = Date.now();
      const [get, patch] = await Promise.all([
        request(`${ORIGIN}/v2/`, { dispatcher }),
        request(`${ORIGIN}/v2/x/blobs/uploads/1`, { dispatcher, method: 'PATCH', body: 'chunk' }),
      ]);
      const elapsed = Date.now() - started;
      assert.equal(get.statusCode, 200);
      assert.equal(await get.body.text(), 'get');
      assert.equal(patch.statusCode, 202);
      assert.equal(await patch.body.text(), 'patch');
      assert.ok(elapsed >= 140, `requests went out after ${elapsed} ms, before the shared backoff ended`);
      // Another origin is not held back.
      const other = new HostBackoff();
      other.push('http://elsewhere.test', 10_000);
      const quick = agent.compose(retryInterceptor(testPolicy(), other));
      const t0 = Date.now();
      const res = await request(`${ORIGIN}/v2/`, { dispatcher: quick });
      assert.equal(await res.body.text(), 'other');
      assert.ok(Date.now() - t0 < 1000);
    } finally {
      await agent.close();
    }
  });
});

const ORIGIN = 'http://registry.test';

function testPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    maxRetries: 3,
    baseDelayMs: 1,
    maxDelayMs: 5,
    maxRetryAfterMs: 5_000,
    statusCodes: new Set([429, 500, 502, 503, 504]),
    methods: new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'POST']),
    ...overrides,
  };
}

/** Records every push so a test can see what the interceptor told the shared backoff. */
class RecordingBackoff extends HostBackoff {
  readonly pushes: { origin: string; delayMs: number }[] = [];
  override push(origin: string, delayMs: number, now?: number): void {
    this.pushes.push({ origin, delayMs });
    super.push(origin, delayMs, now);
  }
}

function connectionError(code: string): Error {
  return Object.assign(new Error(`socket failed: ${code}`), { code });
}

void describe('retryInterceptor on a MockAgent', () => {
  let agent: MockAgent;
  let backoff: RecordingBackoff;
  let dispatcher: Dispatcher;
  let pool: ReturnType<MockAgent['get']>;

  const setup = (policy: RetryPolicy = testPolicy()) => {
    dispatcher = agent.compose(retryInterceptor(policy, backoff));
  };

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    pool = agent.get(ORIGIN);
    backoff = new RecordingBackoff();
    setup();
  });

  afterEach(async () => {
    await agent.close();
  });

  const pending = () => agent.pendingInterceptors().length;

  void it('passes a first 200 straight through, without pushing any backoff', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'hello', { headers: { 'docker-distribution-api-version': 'registry/2.0' } });
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(await res.body.text(), 'hello');
    assert.deepEqual(backoff.pushes, []);
  });

  void it('retries a 503 and the caller sees only the 200 and its body', async () => {
    pool.intercept({ path: '/v2/a/manifests/1', method: 'GET' }).reply(503, 'the registry is busy', { headers: { 'x-attempt': '1' } });
    pool.intercept({ path: '/v2/a/manifests/1', method: 'GET' }).reply(200, '{"ok":true}', { headers: { 'x-attempt': '2' } });
    const res = await request(`${ORIGIN}/v2/a/manifests/1`, { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-attempt'], '2');
    assert.equal(await res.body.text(), '{"ok":true}');
    assert.equal(pending(), 0);
    assert.equal(backoff.pushes.length, 1);
    assert.equal(backoff.pushes[0]?.origin, ORIGIN);
    // No Retry-After: the computed backoff for retry 0 with base 1 ms.
    assert.ok((backoff.pushes[0]?.delayMs ?? -1) >= 0 && (backoff.pushes[0]?.delayMs ?? 99) <= 1);
  });

  void it('retries a 429 with Retry-After: 0 and waits what the registry said', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(429, 'slow down', { headers: { 'retry-after': '0' } });
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'ok');
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'ok');
    assert.equal(pending(), 0);
    assert.deepEqual(backoff.pushes, [{ origin: ORIGIN, delayMs: 0 }]);
  });

  void it('honours a Retry-After of one second before retrying', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(503, 'maintenance', { headers: { 'retry-after': '1' } });
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'back');
    const started = Date.now();
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    const elapsed = Date.now() - started;
    assert.equal(await res.body.text(), 'back');
    assert.ok(elapsed >= 950, `retried after ${elapsed} ms, before Retry-After`);
    assert.deepEqual(backoff.pushes, [{ origin: ORIGIN, delayMs: 1000 }]);
  });

  void it('passes up a 429 whose Retry-After is longer than maxRetryAfterMs', async () => {
    setup(testPolicy({ maxRetryAfterMs: 1000 }));
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(429, '{"errors":[{"code":"TOOMANYREQUESTS"}]}', { headers: { 'retry-after': '3600' } });
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'must not be reached');
    const started = Date.now();
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '3600');
    assert.equal(await res.body.text(), '{"errors":[{"code":"TOOMANYREQUESTS"}]}');
    assert.ok(Date.now() - started < 1000);
    assert.equal(pending(), 1, 'no second attempt');
    assert.deepEqual(backoff.pushes, []);
  });

  void it('gives up after maxRetries and passes the last 5xx response up', async () => {
    setup(testPolicy({ maxRetries: 2 }));
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(500, 'first');
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(502, 'second');
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(503, 'third', { headers: { 'x-last': 'yes' } });
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'a fourth attempt must not happen');
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['x-last'], 'yes');
    assert.equal(await res.body.text(), 'third');
    assert.equal(pending(), 1, 'exactly maxRetries + 1 attempts');
    assert.equal(backoff.pushes.length, 2);
  });

  void it('does not retry statuses outside the policy', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(404, 'nope');
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'must not be reached');
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    assert.equal(res.statusCode, 404);
    assert.equal(await res.body.text(), 'nope');
    assert.equal(pending(), 1);
  });

  void it('replays a string body on retry (POST and PUT)', async () => {
    pool.intercept({ path: '/v2/a/blobs/uploads/', method: 'POST', body: 'payload' }).reply(503, 'busy');
    pool.intercept({ path: '/v2/a/blobs/uploads/', method: 'POST', body: 'payload' }).reply(202, 'accepted');
    const post = await request(`${ORIGIN}/v2/a/blobs/uploads/`, { dispatcher, method: 'POST', body: 'payload' });
    assert.equal(post.statusCode, 202);
    assert.equal(await post.body.text(), 'accepted');

    // MockAgent compares a Buffer body through a matcher function, not as a string.
    const sameBytes = (body: unknown) => Buffer.isBuffer(body) && body.toString('utf8') === '{"m":1}';
    pool.intercept({ path: '/v2/a/manifests/t', method: 'PUT', body: sameBytes }).reply(500, 'oops');
    pool.intercept({ path: '/v2/a/manifests/t', method: 'PUT', body: sameBytes }).reply(201, 'created');
    const put = await request(`${ORIGIN}/v2/a/manifests/t`, { dispatcher, method: 'PUT', body: Buffer.from('{"m":1}') });
    assert.equal(put.statusCode, 201);
    assert.equal(await put.body.text(), 'created');
    assert.equal(pending(), 0);
  });

  void it('does not retry PATCH (not in the policy methods)', async () => {
    pool.intercept({ path: '/v2/a/blobs/uploads/u1', method: 'PATCH' }).reply(503, 'patch failed');
    pool.intercept({ path: '/v2/a/blobs/uploads/u1', method: 'PATCH' }).reply(202, 'must not be reached');
    const res = await request(`${ORIGIN}/v2/a/blobs/uploads/u1`, { dispatcher, method: 'PATCH', body: 'chunk' });
    assert.equal(res.statusCode, 503);
    assert.equal(await res.body.text(), 'patch failed');
    assert.equal(pending(), 1);
    assert.deepEqual(backoff.pushes, []);
  });

  void it('does not retry a streamed (Readable) body', async () => {
    pool.intercept({ path: '/v2/a/blobs/uploads/u2', method: 'PUT' }).reply(503, 'put failed');
    pool.intercept({ path: '/v2/a/blobs/uploads/u2', method: 'PUT' }).reply(201, 'must not be reached');
    const res = await request(`${ORIGIN}/v2/a/blobs/uploads/u2`, { dispatcher, method: 'PUT', body: Readable.from([Buffer.from('layer bytes')]) });
    assert.equal(res.statusCode, 503);
    assert.equal(await res.body.text(), 'put failed');
    assert.equal(pending(), 1);
  });

  void it('retries a connection reset (ECONNRESET)', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).replyWithError(connectionError('ECONNRESET'));
    pool.intercept({ path: '/v2/', method: 'GET' }).replyWithError(connectionError('UND_ERR_SOCKET'));
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'reconnected');
    const res = await request(`${ORIGIN}/v2/`, { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'reconnected');
    assert.equal(pending(), 0);
    assert.equal(backoff.pushes.length, 2);
  });

  void it('passes the connection error up once retries are exhausted', async () => {
    setup(testPolicy({ maxRetries: 1 }));
    pool.intercept({ path: '/v2/', method: 'GET' }).replyWithError(connectionError('ECONNRESET'));
    pool.intercept({ path: '/v2/', method: 'GET' }).replyWithError(connectionError('ECONNREFUSED'));
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'must not be reached');
    await assert.rejects(request(`${ORIGIN}/v2/`, { dispatcher }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ECONNREFUSED');
      return true;
    });
    assert.equal(pending(), 1);
  });

  void it('does not retry an error that is not a connection error', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).replyWithError(connectionError('EWEIRD'));
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'must not be reached');
    await assert.rejects(request(`${ORIGIN}/v2/`, { dispatcher }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EWEIRD');
      return true;
    });
    assert.equal(pending(), 1);
  });

  void it('rejects promptly with AbortError when aborted during the backoff wait', async () => {
    setup(testPolicy({ maxRetryAfterMs: 60_000 }));
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(503, 'busy', { headers: { 'retry-after': '30' } });
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'must not be reached');
    const controller = new AbortController();
    const started = Date.now();
    const timer = setTimeout(() => controller.abort(), 50);
    try {
      await assert.rejects(request(`${ORIGIN}/v2/`, { dispatcher, signal: controller.signal }), (error: Error) => {
        assert.equal(error.name, 'AbortError');
        return true;
      });
    } finally {
      clearTimeout(timer);
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `abort took ${elapsed} ms`);
    assert.equal(pending(), 1, 'the retry never went out');
    assert.deepEqual(backoff.pushes, [{ origin: ORIGIN, delayMs: 30_000 }]);
  });

  void it(
    'rejects promptly when a not-retried request (PATCH) is aborted while it waits out the shared backoff',
    async () => {
      pool.intercept({ path: '/v2/a/blobs/uploads/u3', method: 'PATCH' }).reply(202, 'must not be reached');
      backoff.push(ORIGIN, 1000);
      const controller = new AbortController();
      const started = Date.now();
      const timer = setTimeout(() => controller.abort(), 20);
      try {
        await assert.rejects(request(`${ORIGIN}/v2/a/blobs/uploads/u3`, { dispatcher, method: 'PATCH', body: 'chunk', signal: controller.signal }), { name: 'AbortError' });
      } finally {
        clearTimeout(timer);
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 500, `abort took ${elapsed} ms`);
    },
  );

  void it('rejects with AbortError for a signal aborted before the request', async () => {
    pool.intercept({ path: '/v2/', method: 'GET' }).reply(200, 'must not be reached');
    await assert.rejects(request(`${ORIGIN}/v2/`, { dispatcher, signal: AbortSignal.abort() }), (error: Error) => {
      assert.equal(error.name, 'AbortError');
      return true;
    });
  });
});
