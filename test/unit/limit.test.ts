// runLimited: bounded concurrency, results in input order, stop on the first failure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLimited } from '../../server/src/core/limit';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending microtask and immediate run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks what a promise did without awaiting it. */
function observe<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

void describe('runLimited', () => {
  void it('never has more than `limit` in flight, and uses all of them', async () => {
    for (const limit of [1, 2, 3, 5]) {
      let inFlight = 0;
      let maxInFlight = 0;
      const items = Array.from({ length: 12 }, (_, i) => i);
      const results = await runLimited(items, limit, async (item) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(1 + ((item * 7) % 5));
        inFlight--;
        return item * 10;
      });
      assert.equal(maxInFlight, limit, `limit ${limit}`);
      assert.equal(inFlight, 0);
      assert.deepEqual(results, items.map((i) => i * 10));
    }
  });

  void it('starts exactly `limit` items at once and the next one only when one finishes', async () => {
    const gates = Array.from({ length: 5 }, () => deferred<string>());
    const started: number[] = [];
    const run = observe(
      runLimited([0, 1, 2, 3, 4], 2, (i) => {
        started.push(i);
        return (gates[i] as Deferred<string>).promise;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    gates[1]?.resolve('b');
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]?.resolve('a');
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3]);
    gates[3]?.resolve('d');
    gates[2]?.resolve('c');
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(run.settled, false);
    gates[4]?.resolve('e');
    await settle();
    assert.equal(run.settled, true);
    assert.deepEqual(run.value, ['a', 'b', 'c', 'd', 'e']);
  });

  void it('keeps results in input order when they finish in reverse', async () => {
    const items = [50, 40, 30, 20, 10, 0];
    const finished: number[] = [];
    const results = await runLimited(items, 6, async (ms) => {
      await sleep(ms);
      finished.push(ms);
      return `done ${ms}`;
    });
    assert.deepEqual(finished, [0, 10, 20, 30, 40, 50]);
    assert.deepEqual(results, ['done 50', 'done 40', 'done 30', 'done 20', 'done 10', 'done 0']);
  });

  void it('passes each item to work exactly once', async () => {
    const seen: string[] = [];
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    await runLimited(items, 3, async (item) => {
      seen.push(item);
      await sleep(1);
    });
    assert.deepEqual(seen.sort(), items);
  });

  void it('throws the first failure, starts no new work after it, and waits for the running ones', async () => {
    const gates = Array.from({ length: 6 }, () => deferred<number>());
    const started: number[] = [];
    const first = new Error('upload of blob 0 failed');
    const run = observe(
      runLimited([0, 1, 2, 3, 4, 5], 2, (i) => {
        started.push(i);
        return (gates[i] as Deferred<number>).promise;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    gates[0]?.reject(first);
    await settle();
    assert.deepEqual(started, [0, 1], 'nothing new starts after a failure');
    assert.equal(run.settled, false, 'waits for the item still running');
    gates[1]?.reject(new Error('a later failure'));
    await settle();
    assert.deepEqual(started, [0, 1]);
    assert.equal(run.settled, true);
    assert.equal(run.error, first, 'the first failure is the one thrown');
  });

  void it('stops after a failure with limit 1 (sequential)', async () => {
    const started: number[] = [];
    await assert.rejects(
      runLimited([0, 1, 2, 3], 1, async (i) => {
        started.push(i);
        await sleep(1);
        if (i === 1) throw new Error(`item ${i} failed`);
        return i;
      }),
      /item 1 failed/,
    );
    assert.deepEqual(started, [0, 1]);
  });

  void it('passes a synchronous throw from work up as the failure', async () => {
    const started: number[] = [];
    await assert.rejects(
      runLimited([0, 1, 2], 1, (i) => {
        started.push(i);
        if (i === 0) throw new TypeError('sync');
        return Promise.resolve(i);
      }),
      TypeError,
    );
    assert.deepEqual(started, [0]);
  });

  void it('returns [] for empty input without calling work', async () => {
    let calls = 0;
    const results = await runLimited([], 4, () => {
      calls++;
      return Promise.resolve(1);
    });
    assert.deepEqual(results, []);
    assert.equal(calls, 0);
  });

  void it('runs everything at once when the limit exceeds the item count', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const results = await runLimited([1, 2, 3], 100, async (item) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(5);
      inFlight--;
      return item + 1;
    });
    assert.equal(maxInFlight, 3);
    assert.deepEqual(results, [2, 3, 4]);
  });

  void it('treats a limit below 1 as 1 rather than running nothing', async () => {
    for (const limit of [0, -3]) {
      let inFlight = 0;
      let maxInFlight = 0;
      const results = await runLimited(['x', 'y', 'z'], limit, async (item) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(1);
        inFlight--;
        return item.toUpperCase();
      });
      assert.equal(maxInFlight, 1, `limit ${limit}`);
      assert.deepEqual(results, ['X', 'Y', 'Z']);
    }
  });
});
