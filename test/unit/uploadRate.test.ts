// --limit-rate: RATE parsed as curl does, the token bucket's pace, and layerlift.push.limitRate.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRate } from '../../server/src/core/rate';
import { TokenBucket, pacedBody } from '../../server/src/registry/uploadRate';
import { normalizeSettings } from '../../server/src/analysis/settings';

void describe('--limit-rate', () => {
  void it('parses RATE as curl: K/M/G are powers of 1024', () => {
    assert.equal(parseRate('1M'), 1024 * 1024);
    assert.equal(parseRate('500k'), 500 * 1024);
    assert.equal(parseRate('1.5m'), 1.5 * 1024 * 1024);
    assert.equal(parseRate('250000'), 250000);
    assert.equal(parseRate('2G'), 2 * 1024 ** 3);
    for (const bad of ['', 'fast', '-1M', '1T', '10', 'M']) assert.equal(parseRate(bad), undefined, bad);
  });

  void it('paces a body at the bucket rate', async () => {
    const bucket = new TokenBucket(2 * 1024 * 1024);
    const started = performance.now();
    let bytes = 0;
    for await (const piece of pacedBody(new Uint8Array(1024 * 1024), bucket)) bytes += (piece as Uint8Array).length;
    const seconds = (performance.now() - started) / 1000;
    assert.equal(bytes, 1024 * 1024);
    assert.ok(seconds >= 0.45 && seconds < 0.75, `1 MiB at 2 MiB/s took ${seconds.toFixed(3)} s`);
  });

  void it('reads layerlift.push.limitRate; an invalid one is no cap', () => {
    assert.equal(normalizeSettings({ push: { limitRate: '1M' } }).push.limitRate, 1024 * 1024);
    assert.equal(normalizeSettings({ push: { limitRate: 'fast' } }).push.limitRate, undefined);
    assert.equal(normalizeSettings({}).push.limitRate, undefined);
  });
});
