// One conformance suite for every Store backend (memory, sqlite, etcd).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CompactedError,
  ConflictError,
  InvalidContinueError,
  type KeyValue,
  KeyExistsError,
  MAX_VALUE_BYTES,
  NotFoundError,
  type Store,
  ValueTooLargeError,
  type WatchEvent,
} from '../../../src/storage/types.js';
import { poll } from '../../helpers/poll.js';

export interface Backend {
  /** A store to test with; tests use their own key prefixes, so it may be shared. */
  open(): Promise<Store>;
  /** For persistent backends: closes `store` and opens the same data again (a process restart). */
  reopen?(store: Store): Promise<Store>;
}

const uniquePrefix = () => `/registry/conformance-${randomBytes(4).toString('hex')}/`;

/** Collects watch events until `count` have arrived. */
export async function collect(store: Store, prefix: string, after: number, count: number): Promise<WatchEvent[]> {
  const got: WatchEvent[] = [];
  const w = await store.watch(prefix, after, { onEvents: (evs) => got.push(...evs) });
  try {
    await poll(() => got.length >= count, { timeoutMs: 10_000, what: `${count} watch events (have ${got.length})` });
    return got;
  } finally {
    w.close();
  }
}

/** A deterministic mix of creates, updates and deletes under `prefix`; returns the revisions written. */
async function churn(store: Store, prefix: string, n: number): Promise<number[]> {
  const revs: number[] = [];
  const live = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = `${prefix}k${i % 7}`;
    const cur = live.get(key);
    if (cur === undefined) {
      const kv = await store.create(key, `v${i}`);
      live.set(key, kv.modRevision);
      revs.push(kv.modRevision);
    } else if (i % 3 === 0) {
      const prev = await store.delete(key, cur);
      live.delete(key);
      revs.push(await store.currentRevision());
      assert.equal(prev.modRevision, cur);
    } else {
      const kv = await store.update(key, `v${i}`, cur);
      live.set(key, kv.modRevision);
      revs.push(kv.modRevision);
    }
  }
  return revs;
}

export function storeConformance(name: string, backend: Backend): void {
  describe(`store conformance: ${name}`, () => {
    test('create, get, update, delete with compare-and-swap', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      const a = await s.create(`${p}a`, 'one');
      assert.equal(a.createRevision, a.modRevision);
      assert.equal(a.version, 1);
      assert.deepEqual(await s.get(`${p}a`), a);
      assert.equal(await s.get(`${p}missing`), null);
      await assert.rejects(s.create(`${p}a`, 'again'), KeyExistsError);

      const a2 = await s.update(`${p}a`, 'two', a.modRevision);
      assert.ok(a2.modRevision > a.modRevision);
      assert.equal(a2.createRevision, a.createRevision);
      assert.equal(a2.version, 2);
      assert.equal((await s.get(`${p}a`))?.value, 'two');

      const stale = await s.update(`${p}a`, 'stale', a.modRevision).catch((e) => e);
      assert.ok(stale instanceof ConflictError, `stale update: ${stale}`);
      assert.equal(stale.actual, a2.modRevision);
      await assert.rejects(s.update(`${p}nope`, 'x', 1), NotFoundError);
      await assert.rejects(s.delete(`${p}a`, a.modRevision), ConflictError);
      assert.equal((await s.get(`${p}a`))?.value, 'two', 'a failed CAS changes nothing');

      const gone = await s.delete(`${p}a`, a2.modRevision);
      assert.deepEqual(gone, a2);
      assert.equal(await s.get(`${p}a`), null);
      await assert.rejects(s.delete(`${p}a`), NotFoundError);
      await assert.rejects(s.update(`${p}a`, 'x', a2.modRevision), NotFoundError);

      const again = await s.create(`${p}a`, 'reborn');
      assert.ok(again.createRevision > a2.modRevision);
      assert.equal(again.version, 1);
      await s.delete(`${p}a`); // unconditional delete
      assert.equal(await s.get(`${p}a`), null);
    });

    test('every write gets a new, increasing revision', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      const before = await s.currentRevision();
      const revs = await churn(s, p, 30);
      assert.ok(revs[0] > before);
      for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `revision ${revs[i]} after ${revs[i - 1]}`);
      assert.equal(await s.currentRevision() >= revs[revs.length - 1], true);
    });

    test('values over 1.5 MiB are refused with a clear error, and nothing is written', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      const big = 'x'.repeat(MAX_VALUE_BYTES + 1);
      const err = await s.create(`${p}big`, big).catch((e) => e);
      assert.ok(err instanceof ValueTooLargeError);
      assert.match(err.message, /limit is 1572864 bytes \(1\.5 MiB\) per write/);
      assert.equal(await s.get(`${p}big`), null);
      const ok = await s.create(`${p}big`, 'x'.repeat(MAX_VALUE_BYTES - 1024));
      await assert.rejects(s.update(`${p}big`, big, ok.modRevision), ValueTooLargeError);
    });

    test('list returns the prefix only, in key order, and reads past revisions', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      await s.create(`${p}b`, 'b');
      await s.create(`${p}a`, 'a');
      await s.create(`${p.slice(0, -1)}x`, 'outside'); // shares the prefix's stem, not the prefix
      const r1 = await s.list(p);
      assert.deepEqual(r1.items.map((i) => i.key), [`${p}a`, `${p}b`]);
      const a = r1.items[0];
      await s.update(`${p}a`, 'a2', a.modRevision);
      await s.delete(`${p}b`);
      await s.create(`${p}c`, 'c');
      const now = await s.list(p);
      assert.deepEqual(now.items.map((i) => [i.key, i.value]), [[`${p}a`, 'a2'], [`${p}c`, 'c']]);
      const then = await s.list(p, { revision: r1.revision });
      assert.deepEqual(then.items, r1.items, 'the list at an old revision is the old state');
      assert.equal(then.revision, r1.revision);
    });

    test('pagination stays at one revision while writes continue', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      for (let i = 0; i < 25; i++) await s.create(`${p}${String(i).padStart(3, '0')}`, `v${i}`);
      const snapshot = await s.list(p);
      const pages: KeyValue[][] = [];
      let page = await s.list(p, { limit: 10 });
      assert.equal(page.revision, snapshot.revision);
      pages.push(page.items);
      let n = 0;
      while (page.continue) {
        // Writes between pages: new keys inside the range, updates and deletes of unread keys.
        await s.create(`${p}${String(100 + n).padStart(3, '0')}`, 'new');
        const victim = `${p}${String(20 + n).padStart(3, '0')}`;
        const v = await s.get(victim);
        if (v) await s.update(victim, 'changed', v.modRevision);
        await s.delete(`${p}${String(24 - n).padStart(3, '0')}`).catch(() => {});
        page = await s.list(p, { limit: 10, continue: page.continue });
        assert.equal(page.revision, snapshot.revision, 'every page is at the first page revision');
        pages.push(page.items);
        assert.ok(++n < 10, 'paging terminates');
      }
      assert.deepEqual(pages.map((x) => x.length), [10, 10, 5]);
      assert.deepEqual(pages.flat(), snapshot.items);
      await assert.rejects(s.list(p, { continue: 'not-a-token' }), InvalidContinueError);
    });

    test('watch delivers every change in order, with prevKv, from any revision', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      const start = await s.currentRevision();
      const revs = await churn(s, p, 40);
      const all = await collect(s, p, start, revs.length);
      assert.deepEqual(all.map((e) => e.revision), revs, 'in order, no loss, no duplicates');
      const byKey = new Map<string, KeyValue>();
      for (const e of all) {
        assert.deepEqual(e.prevKv, byKey.get(e.key), `prevKv of ${e.type} ${e.key}@${e.revision}`);
        if (e.type === 'put') {
          assert.equal(e.kv.modRevision, e.revision);
          byKey.set(e.key, e.kv);
        } else byKey.delete(e.key);
      }
      // Resume from every revision in the range: exactly the later events.
      for (let i = 0; i < revs.length; i += 5) {
        const from = revs[i];
        const rest = revs.filter((r) => r > from);
        if (rest.length === 0) continue;
        const got = await collect(s, p, from, rest.length);
        assert.deepEqual(got.map((e) => e.revision), rest, `resume after ${from}`);
      }
    });

    test('a live watch sees new writes and nothing outside its prefix; 0 means from now', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      await s.create(`${p}before`, 'x');
      const got: WatchEvent[] = [];
      const w = await s.watch(p, 0, { onEvents: (evs) => got.push(...evs) });
      await s.create(`${p.slice(0, -1)}-other`, 'not mine');
      const kv = await s.create(`${p}after`, 'y');
      await s.update(`${p}after`, 'z', kv.modRevision);
      await s.delete(`${p}before`);
      await poll(() => got.length >= 3, { what: '3 events' });
      assert.deepEqual(got.map((e) => [e.type, e.key]), [
        ['put', `${p}after`],
        ['put', `${p}after`],
        ['delete', `${p}before`],
      ]);
      w.close();
      await s.create(`${p}closed`, 'x');
      const n = got.length;
      await s.create(`${p}closed2`, 'x');
      await collect(s, p, 0, 0);
      assert.equal(got.length, n, 'a closed watch gets nothing');
    });

    test('compaction: old revisions give a distinct compacted error; later ones still work', async () => {
      const s = await backend.open();
      const p = uniquePrefix();
      const revs = await churn(s, p, 30);
      const mid = revs[15];
      const listBefore = await s.list(p, { revision: revs[20] });
      const page1 = await s.list(p, { limit: 1, revision: revs[5] });
      await s.compact(mid);
      const err = await s.watch(p, revs[2], { onEvents: () => {} }).catch((e) => e);
      assert.ok(err instanceof CompactedError, `watch from a compacted revision: ${err}`);
      assert.match(err.message, /compacted/);
      await assert.rejects(s.list(p, { revision: revs[5] }), CompactedError);
      await assert.rejects(s.list(p, { limit: 1, continue: page1.continue }), CompactedError);
      // At and after the compaction point everything is intact.
      assert.deepEqual(await s.list(p, { revision: revs[20] }), listBefore);
      const rest = revs.filter((r) => r > mid);
      const got = await collect(s, p, mid, rest.length);
      assert.deepEqual(got.map((e) => e.revision), rest);
      assert.ok((await s.compactRevision()) >= mid);
      await s.compact(revs[3]); // compacting to an older revision is a no-op
    });

    test('100 concurrent compare-and-swap increment loops lose no update', async () => {
      const s = await backend.open();
      const key = `${uniquePrefix()}counter`;
      await s.create(key, '0');
      const loops = 100;
      const perLoop = 2;
      let conflicts = 0;
      await Promise.all(
        Array.from({ length: loops }, async () => {
          for (let done = 0; done < perLoop; ) {
            const cur = (await s.get(key))!;
            try {
              await s.update(key, String(Number(cur.value) + 1), cur.modRevision);
              done++;
            } catch (e) {
              if (!(e instanceof ConflictError)) throw e;
              conflicts++;
            }
          }
        }),
      );
      assert.equal((await s.get(key))!.value, String(loops * perLoop));
      assert.ok(conflicts > 0, 'the loops really raced');
    });

    if (backend.reopen) {
      test('data and revisions persist across a restart', async () => {
        let s = await backend.open();
        const p = uniquePrefix();
        const revs = await churn(s, p, 20);
        const before = await s.list(p);
        const rev = await s.currentRevision();
        s = await backend.reopen!(s);
        assert.deepEqual(await s.list(p, { revision: before.revision }), before);
        assert.ok((await s.currentRevision()) >= rev);
        const next = await s.create(`${p}after-restart`, 'x');
        assert.ok(next.modRevision > rev, 'revisions keep increasing after a restart');
        const got = await collect(s, p, revs[10], revs.length - 11 + 1);
        assert.deepEqual(got.map((e) => e.revision), [...revs.slice(11), next.modRevision], 'history survives too');
      });
    }
  });
}
