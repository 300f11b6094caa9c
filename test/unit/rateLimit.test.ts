// The editor's registry pauses: 429 with and without Retry-After, a low RateLimit-Remaining
// (Docker Hub's headers) pausing GETs only, and the sentences the hover shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, parseRateLimit, parseRetryAfter, pauseFor } from '../../server/src/remote/rateLimit';

const now = Date.parse('2026-12-05T12:00:00Z');

test('parseRateLimit and parseRetryAfter', () => {
  assert.deepEqual(parseRateLimit('76;w=21600'), { count: 76, windowSeconds: 21600 });
  assert.deepEqual(parseRateLimit('3'), { count: 3 });
  assert.equal(parseRateLimit('junk'), undefined);
  assert.equal(parseRetryAfter('30', now), 30_000);
  assert.equal(parseRetryAfter('Sat, 05 Dec 2026 12:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('a 429 pauses every request until Retry-After, then lifts', () => {
  const backoff = new Backoff();
  const pause = pauseFor('registry.example', 429, { 'retry-after': '30' }, now);
  assert.equal(pause?.reason, 'registry.example answered 429 Too Many Requests: registry checks paused until 12:00:30 UTC (Retry-After 30 s), not retried meanwhile');
  backoff.note('registry.example', pause);
  assert.ok(backoff.blocking('registry.example', 'HEAD', now + 29_999));
  assert.ok(backoff.blocking('registry.example', 'GET', now + 1));
  assert.equal(backoff.blocking('other.example', 'HEAD', now + 1), undefined);
  assert.deepEqual(backoff.notices(now + 1), [pause?.reason]);
  assert.equal(backoff.blocking('registry.example', 'HEAD', now + 30_000), undefined);
  assert.deepEqual(backoff.notices(now + 30_000), []);
  assert.equal(pauseFor('r', 429, {}, now)?.until, now + 60_000);
});

test('a low RateLimit-Remaining pauses GETs only; a healthy count pauses nothing', () => {
  const backoff = new Backoff();
  const low = pauseFor('docker.io', 200, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '3;w=21600' }, now);
  assert.equal(low?.reason, 'docker.io rate limit is low (3 of 100 pulls left): manifests are not downloaded until 12:10:00 UTC, only checked by HEAD');
  backoff.note('docker.io', low);
  assert.equal(backoff.blocking('docker.io', 'HEAD', now + 1), undefined);
  assert.ok(backoff.blocking('docker.io', 'GET', now + 1));
  assert.equal(pauseFor('docker.io', 200, { 'ratelimit-remaining': '76;w=21600' }, now), undefined);
});
