// The watch cache: list + follow the store, replay a window of events, and
// refuse (TooOldError) resourceVersions older than the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CacheEvent, TooOldError, WatchCache } from '../../../src/apiserver/watch-cache.js';
import { openMemoryStore } from '../../../src/storage/memory/memory-store.js';
import { poll } from '../../helpers/poll.js';

const obj = (name: string, v = 1) => JSON.stringify({ kind: 'ConfigMap', metadata: { name }, data: { v: String(v) } });

test('the cache follows the store and replays events after a revision', async () => {
  const store = openMemoryStore();
  await store.create('/registry/configmaps/default/a', obj('a'));
  const cache = new WatchCache(store, '/registry/configmaps/', 3);
  await cache.start();
  assert.deepEqual(cache.list().map((o) => o.metadata.name), ['a']);
  const start = cache.rv;
  const b = await store.create('/registry/configmaps/default/b', obj('b'));
  await store.update('/registry/configmaps/default/b', obj('b', 2), b.modRevision);
  await store.delete('/registry/configmaps/default/a');
  await poll(() => cache.rv === b.modRevision + 2, { what: 'cache to apply 3 events' });
  assert.deepEqual(cache.list().map((o) => [o.metadata.name, o.data.v, o.metadata.resourceVersion]), [['b', '2', String(b.modRevision + 1)]]);
  const got: CacheEvent[] = [];
  cache.watch(start, { send: (e) => got.push(e), close: () => {} });
  assert.deepEqual(got.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'b'], ['MODIFIED', 'b'], ['DELETED', 'a']]);
  assert.equal(got[2].object.metadata.resourceVersion, String(b.modRevision + 2), 'a deletion carries the delete revision');
  // One more event pushes the first out of the 3-event window.
  await store.create('/registry/configmaps/default/c', obj('c'));
  await poll(() => cache.size === 2, { what: 'cache to see c' });
  assert.throws(() => cache.watch(start, { send: () => {}, close: () => {} }), TooOldError);
  assert.throws(() => cache.watch(start, { send: () => {}, close: () => {} }), /too old resource version: \d+ \(\d+\)/);
  cache.stop();
});
