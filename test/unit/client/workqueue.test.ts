import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExponentialRateLimiter, WorkQueue } from '../../../src/client/workqueue.js';
import { setLogSink } from '../../../src/util/log.js';
import { poll } from '../../helpers/poll.js';

test('add dedups while queued; get hands keys out in order', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
  q.done('a');
  q.done('b');
  q.shutDown();
});

test('a key being processed is not handed out twice; added meanwhile, it is requeued by done()', async () => {
  const q = new WorkQueue();
  q.add('x');
  const k = await q.get();
  assert.equal(k, 'x');
  q.add('x');
  q.add('x');
  assert.equal(q.len(), 0, 'not queued while processing');
  let second: string | undefined;
  const waiting = q.get().then((v) => (second = v));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, 'a second worker does not get x while it is processed');
  q.done('x');
  await waiting;
  assert.equal(second, 'x');
  q.done('x');
  assert.equal(q.len(), 0);
  q.shutDown();
});

test('get waits for an add; shutDown drains then returns undefined, and ignores later adds', async () => {
  const q = new WorkQueue();
  const p = q.get();
  q.add('late');
  assert.equal(await p, 'late');
  q.done('late');
  q.add('left');
  q.shutDown();
  assert.equal(await q.get(), 'left', 'drained after shutdown');
  q.done('left');
  q.add('ignored');
  assert.equal(await q.get(), undefined);
  const waiter = new WorkQueue();
  const w = waiter.get();
  waiter.shutDown();
  assert.equal(await w, undefined, 'a waiting get is released by shutDown');
});

test('rate limiter: 5 ms doubling, capped at 1000 s, per key, reset by forget', () => {
  const rl = new ExponentialRateLimiter();
  assert.deepEqual([1, 2, 3, 4].map(() => rl.when('k')), [5, 10, 20, 40]);
  assert.equal(rl.when('other'), 5);
  assert.equal(rl.numRequeues('k'), 4);
  for (let i = 0; i < 40; i++) rl.when('k');
  assert.equal(rl.when('k'), 1000_000);
  rl.forget('k');
  assert.equal(rl.numRequeues('k'), 0);
  assert.equal(rl.when('k'), 5);
});

test('addAfter and addRateLimited delay the key; forget resets its backoff', async () => {
  const q = new WorkQueue();
  const t0 = Date.now();
  q.addAfter('later', 40);
  assert.equal(q.len(), 0);
  assert.equal(await q.get(), 'later');
  assert.ok(Date.now() - t0 >= 35, 'not before its delay');
  q.done('later');
  q.addRateLimited('r');
  q.addRateLimited('r');
  assert.equal(q.numRequeues('r'), 2);
  assert.equal(await q.get(), 'r');
  q.done('r');
  q.forget('r');
  assert.equal(q.numRequeues('r'), 0);
  q.addAfter('dropped', 60_000);
  q.shutDown(); // clears the pending timer: the test process does not hang on it
  assert.equal(await q.get(), undefined);
});

test('run: workers process keys, one key never concurrently, failures retried rate-limited then forgotten', async () => {
  const prev = setLogSink(() => {});
  try {
    const q = new WorkQueue({ name: 'test' });
    const inFlight = new Set<string>();
    const calls: string[] = [];
    let overlap = false;
    let failuresLeft = 3;
    const done = q.run(4, async (key) => {
      if (inFlight.has(key)) overlap = true;
      inFlight.add(key);
      calls.push(key);
      await new Promise((r) => setTimeout(r, 5));
      inFlight.delete(key);
      if (key === 'flaky' && failuresLeft-- > 0) throw new Error('boom');
    });
    for (let i = 0; i < 10; i++) {
      q.add('hot');
      q.add(`k${i}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    q.add('flaky');
    await poll(() => calls.filter((c) => c === 'flaky').length === 4, { what: 'flaky retried until it succeeds' });
    await poll(() => q.len() === 0 && inFlight.size === 0, { what: 'queue drained' });
    assert.equal(q.numRequeues('flaky'), 0, 'forgotten after success');
    assert.equal(overlap, false, 'a key was processed by two workers at once');
    for (let i = 0; i < 10; i++) assert.ok(calls.includes(`k${i}`));
    assert.ok(calls.filter((c) => c === 'hot').length < 10, 'repeated adds were deduplicated');
    q.shutDown();
    await done;
  } finally {
    setLogSink(prev);
  }
});
