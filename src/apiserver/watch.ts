// Serving a watch from the watch cache: a chunked stream of JSON watch events
// (`{"type":"ADDED","object":{...}}` per line). A resourceVersion older than
// the cache's window yields an ERROR event carrying a 410 Expired Status, as
// upstream's cacher does; the client then re-lists.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf } from '../api/registry.js';
import { storagePrefix } from './objects.js';
import type { ResourceStorage } from './rest.js';
import { gone } from './status.js';
import { tableFor } from './table-output.js';
import { type CacheEvent, type EventType, type K8sObject, TooOldError } from './watch-cache.js';

/** A watch stream whose client reads too slowly is ended past this much buffered output. */
const MAX_BUFFERED = 16 * 1024 * 1024;
const BOOKMARK_EVERY_MS = 60_000;

export interface WatchRequest {
  storage: ResourceStorage;
  namespace?: string;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
  filter?: (o: K8sObject) => boolean;
  table: boolean;
}

export async function serveWatch(w: WatchRequest): Promise<void> {
  const { storage, query, res } = w;
  const cache = storage.cache;
  await cache.start();
  const rvParam = query.get('resourceVersion') ?? '';
  const sendInitial = query.get('sendInitialEvents') === 'true';
  const bookmarks = query.get('allowWatchBookmarks') === 'true';
  const timeoutSeconds = query.get('timeoutSeconds');
  const timeoutMs = timeoutSeconds !== null ? Math.max(0, Number(timeoutSeconds)) * 1000 : (1800 + Math.random() * 1800) * 1000;
  const prefix = storagePrefix(storage.info, w.namespace);
  const matches = (o: K8sObject | undefined) => !!o && (!w.filter || w.filter(o));

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  let first = true;
  let closed = false;
  const write = (type: EventType | 'BOOKMARK' | 'ERROR', object: unknown) => {
    if (closed) return;
    let obj = object;
    if (w.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      obj = tableFor(storage, [object as K8sObject], w.req.headers.accept, query, {}, !first);
      first = false;
    }
    res.write(JSON.stringify({ type, object: obj }) + '\n');
    if (res.writableLength > MAX_BUFFERED) end();
  };
  const bookmark = (annotations?: Record<string, string>) =>
    write('BOOKMARK', {
      kind: storage.info.kind,
      apiVersion: apiVersionOf(storage.info),
      metadata: { resourceVersion: String(cache.rv), ...(annotations ? { annotations } : {}) },
    });

  let unsubscribe = () => {};
  const timers: NodeJS.Timeout[] = [];
  const end = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    res.end();
  };
  w.req.on('close', end);
  res.on('error', end);

  const watcher = {
    send(ev: CacheEvent) {
      if (!ev.key.startsWith(prefix)) return;
      const now = matches(ev.object);
      const before = ev.type === 'MODIFIED' ? matches(ev.prev) : ev.type === 'DELETED' ? matches(ev.prev) : false;
      if (ev.type === 'ADDED' && now) write('ADDED', ev.object);
      else if (ev.type === 'DELETED' && before) write('DELETED', ev.object);
      else if (ev.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', ev.object);
        else if (now) write('ADDED', ev.object);
        else if (before) write('DELETED', ev.object);
      }
    },
    close: () => end(),
  };

  if (rvParam === '' || rvParam === '0' || sendInitial) {
    // Current state first, then changes; list and subscribe in one synchronous step.
    const items = cache.list(prefix).filter(matches);
    const from = cache.rv;
    for (const o of items) write('ADDED', o);
    unsubscribe = cache.watch(from, watcher);
    if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const after = Number(rvParam);
    if (!Number.isInteger(after) || after < 0) {
      write('ERROR', gone(`invalid resource version: ${rvParam}`).toStatus());
      return end();
    }
    try {
      unsubscribe = cache.watch(after, watcher);
    } catch (e) {
      if (e instanceof TooOldError) {
        write('ERROR', gone(e.message).toStatus());
        return end();
      }
      throw e;
    }
  }
  if (bookmarks) {
    const tick = () => {
      bookmark();
      timers.push(setTimeout(tick, BOOKMARK_EVERY_MS));
    };
    timers.push(setTimeout(tick, BOOKMARK_EVERY_MS));
  }
  timers.push(setTimeout(end, timeoutMs));
}
