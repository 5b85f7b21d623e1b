// The watch cache, as upstream's cacher: one per resource, it lists the
// resource's prefix once, then follows the store's watch. Lists and watches are
// served from it, so many watchers never each read the store. It keeps a window
// of recent events; a watch from a resourceVersion inside the window replays
// from it, one older than the window gets 410 Gone.
import type { Store, WatchEvent } from '../storage/types.js';
import { CompactedError } from '../storage/types.js';
import { logger } from '../util/log.js';

const log = logger('apiserver/watch-cache');

export type K8sObject = Record<string, any> & { metadata: Record<string, any> };
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: EventType;
  key: string;
  rv: number;
  object: K8sObject;
  /** The object before this change (absent for ADDED). */
  prev?: K8sObject;
}

export interface CacheWatcher {
  /** Called with events in order; return false if the watcher is gone. */
  send(ev: CacheEvent): void;
  /** The cache was reset (e.g. the store's history was compacted while it was away). */
  close(reason: string): void;
}

/** Parses a stored value into an object whose resourceVersion is the store revision. */
export function decodeStored(value: string, modRevision: number): K8sObject {
  const obj = JSON.parse(value) as K8sObject;
  obj.metadata ??= {};
  obj.metadata.resourceVersion = String(modRevision);
  return obj;
}

export class TooOldError extends Error {
  constructor(public readonly requested: number, public readonly oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

export class WatchCache {
  private objects = new Map<string, K8sObject>();
  private sortedKeys: string[] | null = null;
  private window: CacheEvent[] = [];
  /** Events after this revision are all in the window (or came later). */
  private windowStart = 0;
  /** The last revision this cache has applied. */
  rv = 0;
  private watchers = new Set<CacheWatcher>();
  private storeWatch?: { close(): void };
  private ready?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly store: Store,
    readonly prefix: string,
    private readonly capacity = 5000,
  ) {}

  /** Lists and starts following the store; idempotent. */
  start(): Promise<void> {
    this.ready ??= this.load();
    return this.ready;
  }

  private async load(): Promise<void> {
    const list = await this.store.list(this.prefix);
    this.objects.clear();
    for (const kv of list.items) this.objects.set(kv.key, decodeStored(kv.value, kv.modRevision));
    this.sortedKeys = null;
    this.window = [];
    this.rv = list.revision;
    this.windowStart = list.revision;
    this.storeWatch = await this.store.watch(this.prefix, list.revision, {
      onEvents: (evs) => this.apply(evs),
      onError: (err) => this.reset(err),
    });
  }

  /** The store's history moved past us: start over, and tell every watcher to re-list. */
  private reset(err: Error): void {
    if (this.stopped) return;
    log.warn('watch broke; re-listing', { prefix: this.prefix, error: err, compacted: err instanceof CompactedError });
    for (const w of this.watchers) w.close('the watch cache was re-initialised');
    this.watchers.clear();
    this.ready = undefined;
    this.start().catch((e) => log.error('re-list failed', { prefix: this.prefix, error: e }));
  }

  private apply(evs: WatchEvent[]): void {
    for (const e of evs) {
      const prev = this.objects.get(e.key);
      let ev: CacheEvent;
      if (e.type === 'put') {
        const obj = decodeStored(e.kv.value, e.kv.modRevision);
        if (!prev) this.sortedKeys = null;
        this.objects.set(e.key, obj);
        ev = { type: prev ? 'MODIFIED' : 'ADDED', key: e.key, rv: e.revision, object: obj, prev };
      } else {
        this.objects.delete(e.key);
        this.sortedKeys = null;
        // A deleted object is reported with the revision of the delete, as upstream does.
        const last = prev ?? decodeStored(e.prevKv.value, e.prevKv.modRevision);
        const obj = { ...last, metadata: { ...last.metadata, resourceVersion: String(e.revision) } };
        ev = { type: 'DELETED', key: e.key, rv: e.revision, object: obj, prev: last };
      }
      this.rv = e.revision;
      this.window.push(ev);
      if (this.window.length > this.capacity) {
        const dropped = this.window.splice(0, this.window.length - this.capacity);
        this.windowStart = dropped[dropped.length - 1].rv;
      }
      for (const w of this.watchers) w.send(ev);
    }
  }

  get(key: string): K8sObject | undefined {
    return this.objects.get(key);
  }

  /** Objects under `prefix` (a namespace's keys, or all), in key order. */
  list(prefix = this.prefix): K8sObject[] {
    this.sortedKeys ??= [...this.objects.keys()].sort();
    const out: K8sObject[] = [];
    for (const k of this.sortedKeys) if (k.startsWith(prefix)) out.push(this.objects.get(k)!);
    return out;
  }

  get size(): number {
    return this.objects.size;
  }

  /**
   * Subscribes a watcher from revision `after`: the window's later events are
   * replayed first. Throws TooOldError when `after` is older than the window.
   */
  watch(after: number, w: CacheWatcher): () => void {
    if (after < this.windowStart) throw new TooOldError(after, this.windowStart);
    for (const ev of this.window) if (ev.rv > after) w.send(ev);
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  stop(): void {
    this.stopped = true;
    this.storeWatch?.close();
    for (const w of this.watchers) w.close('server shutting down');
    this.watchers.clear();
  }
}
