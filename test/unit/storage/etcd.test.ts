import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdStore } from '../../../src/storage/etcd/etcd-store.js';
import { type Store, UnavailableError, type WatchEvent } from '../../../src/storage/index.js';
import { setLogSink } from '../../../src/util/log.js';
import { type EtcdProcess, startEtcd } from '../../helpers/etcd.js';
import { poll } from '../../helpers/poll.js';
import { freePort } from '../../helpers/ports.js';
import { storeConformance } from './conformance.js';

let etcd: EtcdProcess;
let shared: EtcdStore | undefined;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await shared?.close();
  await etcd?.destroy();
});

storeConformance('etcd', {
  open: async () => (shared ??= new EtcdStore([etcd.endpoint])),
  reopen: async (s: Store) => {
    // A full restart: the client and the etcd process both go away.
    await s.close();
    await etcd.stop();
    await etcd.start();
    shared = new EtcdStore([etcd.endpoint]);
    return shared;
  },
});

/** Captures log lines while `fn` runs. */
async function withLogs<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    return await fn(lines);
  } finally {
    setLogSink(prev);
  }
}

describe('etcd backend', () => {
  test('an unreachable etcd gives retries with backoff and a clear log line, then UnavailableError', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const s = new EtcdStore([endpoint], { retryForMs: 1500 });
    try {
      await withLogs(async (lines) => {
        const err = await s.get('/registry/x').catch((e) => e);
        assert.ok(err instanceof UnavailableError, String(err));
        assert.match(err.message, new RegExp(`etcd at ${endpoint} is unreachable`));
        const retries = lines.filter((l) => l.includes('msg="etcd unreachable, retrying"'));
        assert.ok(retries.length >= 2, `retry log lines: ${lines.join('\n')}`);
        assert.match(retries[0], /level=warn component=storage\/etcd .*op=get attempt=1 retryInMs=100/);
        assert.match(retries[1], /attempt=2 retryInMs=200/);
      });
    } finally {
      await s.close();
    }
  });

  test('a call made while etcd is down completes once it is back', async () => {
    const s = new EtcdStore([etcd.endpoint], { retryForMs: 30_000 });
    try {
      await s.create('/registry/outage/a', '1');
      await etcd.stop();
      await withLogs(async (lines) => {
        const pending = s.get('/registry/outage/a');
        await poll(() => lines.some((l) => l.includes('etcd unreachable, retrying')), { what: 'a retry log line' });
        await etcd.start();
        assert.equal((await pending)?.value, '1');
      });
    } finally {
      await s.close();
    }
  });

  test('a watch whose stream breaks resumes after the last revision it saw', async () => {
    const s = new EtcdStore([etcd.endpoint], { retryForMs: 30_000 });
    const got: WatchEvent[] = [];
    const errors: Error[] = [];
    try {
      const start = await s.currentRevision();
      const w = await s.watch('/registry/resume/', start, { onEvents: (e) => got.push(...e), onError: (e) => errors.push(e) });
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await s.create(`/registry/resume/a${i}`, String(i))).modRevision);
      await poll(() => got.length >= 5, { what: 'events before the outage' });
      await etcd.kill();
      await etcd.start();
      for (let i = 0; i < 5; i++) revs.push((await s.create(`/registry/resume/b${i}`, String(i))).modRevision);
      await poll(() => got.length >= 10, { timeoutMs: 20_000, what: 'events after the outage' });
      assert.deepEqual(got.map((e) => e.revision), revs, 'no loss and no duplicates across the break');
      assert.deepEqual(errors, []);
      w.close();
    } finally {
      await s.close();
    }
  });
});
