// Opening a store from a k3s-style --datastore-endpoint:
//   (empty)                          sqlite at <data-dir>/db/state.db
//   sqlite:///path/state.db[?sync=full]
//   http://127.0.0.1:2379[,http://10.0.0.2:2379,...]   etcd v3
//   memory://                        in-memory (tests only; nothing persists)
import path from 'node:path';
import { logger } from '../util/log.js';
import { EtcdStore } from './etcd/etcd-store.js';
import { openMemoryStore } from './memory/memory-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export * from './types.js';

export type DatastoreSpec =
  | { kind: 'sqlite'; file: string; sync: 'normal' | 'full' }
  | { kind: 'etcd'; endpoints: string[] }
  | { kind: 'memory' };

export function parseDatastoreEndpoint(endpoint: string | undefined, dataDir: string): DatastoreSpec {
  const e = (endpoint ?? '').trim();
  if (e === '') return { kind: 'sqlite', file: path.join(dataDir, 'db', 'state.db'), sync: 'normal' };
  if (e.startsWith('sqlite://')) {
    const u = new URL(e);
    const file = decodeURIComponent(u.pathname);
    if (!file || file === '/') throw new Error(`--datastore-endpoint ${e}: give a file path, e.g. sqlite:///var/lib/k8ts/db/state.db`);
    const sync = u.searchParams.get('sync') ?? 'normal';
    if (sync !== 'normal' && sync !== 'full') throw new Error(`--datastore-endpoint ${e}: sync must be normal or full`);
    return { kind: 'sqlite', file, sync };
  }
  if (e === 'memory://' || e === 'memory') return { kind: 'memory' };
  const parts = e.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length && parts.every((p) => /^https?:\/\/[^/]+\/?$/.test(p))) return { kind: 'etcd', endpoints: parts };
  throw new Error(
    `--datastore-endpoint ${e}: not understood; use sqlite:///path/state.db, http://host:2379 (comma-separated for several etcd members) or memory://`,
  );
}

export function describeDatastore(spec: DatastoreSpec): string {
  switch (spec.kind) {
    case 'sqlite':
      return `sqlite ${spec.file}`;
    case 'etcd':
      return `etcd ${spec.endpoints.join(',')}`;
    case 'memory':
      return 'memory';
  }
}

export function openStore(spec: DatastoreSpec): Store {
  switch (spec.kind) {
    case 'sqlite':
      return openSqliteStore(spec.file, { sync: spec.sync });
    case 'etcd':
      return new EtcdStore(spec.endpoints);
    case 'memory':
      return openMemoryStore();
  }
}

export interface AutoCompactOptions {
  /** How often to compact (upstream's --etcd-compaction-interval defaults to 5 minutes). */
  intervalMs: number;
  /** How many recent revisions of history to keep for watchers that fall behind. */
  retain: number;
}

/**
 * Compacts the store periodically, keeping the last `retain` revisions, so that
 * its history does not grow without bound under churn. Returns a stop function.
 */
export function startAutoCompaction(store: Store, opts: AutoCompactOptions): () => void {
  const log = logger('storage/compactor');
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const target = (await store.currentRevision()) - opts.retain;
      if (target > (await store.compactRevision())) {
        const t0 = performance.now();
        await store.compact(target);
        log.info('compacted', { store: store.kind, revision: target, ms: Math.round(performance.now() - t0) });
      }
    } catch (err) {
      log.warn('compaction failed; will retry', { store: store.kind, error: err as Error });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
