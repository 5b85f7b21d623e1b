// An informer for one resource, as client-go's reflector + indexer + shared
// informer: list, then watch from the list's resourceVersion, keeping a local
// cache and calling handlers. A watch that breaks is resumed from the last
// resourceVersion seen (bounded exponential backoff); a 410 Expired re-lists
// and reconciles the cache (adds, updates and deletes for what changed).
import { cancellableSleep } from '../util/sleep.js';
import { logger } from '../util/log.js';
import { type ApiClient, ApiStatusError, type KObject, type ResourceRef, isExpired, resolveResource } from './rest.js';

export interface EventHandlers<T extends KObject = KObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  /** Watch one namespace only (default: all). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Every period, onUpdate(obj, obj) is called for every cached object (0: never). */
  resyncPeriodMs?: number;
  /** Bounds of the retry backoff (default 100 ms .. 10 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side timeout of each watch (default random 300..600 s, as client-go). */
  watchTimeoutSeconds?: number;
}

/** The cache key of an object: namespace/name, or name for cluster-scoped objects. */
export function objectKey(obj: KObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : String(obj.metadata?.name);
}

/** A read-only view of an informer's cache. */
export class Lister<T extends KObject = KObject> {
  constructor(private readonly cache: Map<string, T>) {}

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string, selector?: (obj: T) => boolean): T[] {
    const out: T[] = [];
    for (const o of this.cache.values()) {
      if (namespace !== undefined && o.metadata?.namespace !== namespace) continue;
      if (selector && !selector(o)) continue;
      out.push(o);
    }
    return out;
  }
}

export class Informer<T extends KObject = KObject> {
  private readonly cache = new Map<string, T>();
  readonly lister: Lister<T>;
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly log;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private stopped = false;
  private running?: Promise<void>;
  private current?: { close(): void };
  private sleepCancel?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  /** The resourceVersion the next watch starts from. */
  lastResourceVersion = '';
  /** Consecutive failures (reset by a watch that delivers events). */
  private attempt = 0;
  /** How many times the informer has listed (1 after the first sync). */
  listCount = 0;

  constructor(
    private readonly client: ApiClient,
    readonly resource: ResourceRef,
    private readonly opts: InformerOptions = {},
  ) {
    this.lister = new Lister(this.cache);
    const info = resolveResource(resource);
    this.log = logger(`informer/${info.group ? `${info.plural}.${info.group}` : info.plural}`);
  }

  addEventHandler(h: EventHandlers<T>): this {
    this.handlers.push(h);
    // Late handlers see what is already cached, as client-go's shared informer.
    if (this.synced) for (const o of this.cache.values()) h.onAdd?.(o);
    return this;
  }

  onAdd(fn: (obj: T) => void): this {
    return this.addEventHandler({ onAdd: fn });
  }
  onUpdate(fn: (oldObj: T, newObj: T) => void): this {
    return this.addEventHandler({ onUpdate: fn });
  }
  onDelete(fn: (obj: T) => void): this {
    return this.addEventHandler({ onDelete: fn });
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; rejects after timeoutMs (default 30 s) or if stopped first. */
  waitForSync(timeoutMs = 30_000): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`informer: not synced after ${timeoutMs} ms`)), timeoutMs);
      this.syncWaiters.push(() => {
        clearTimeout(t);
        if (this.synced) resolve();
        else reject(new Error('informer: stopped before sync'));
      });
    });
  }

  /** Starts listing and watching (idempotent). */
  start(): this {
    if (!this.running && !this.stopped) {
      this.running = this.loop();
      if (this.opts.resyncPeriodMs && this.opts.resyncPeriodMs > 0) {
        this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncPeriodMs);
      }
    }
    return this;
  }

  /** Stops the informer; resolves when its loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.current?.close();
    this.sleepCancel?.();
    for (const w of this.syncWaiters.splice(0)) w();
    await this.running;
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const o of this.cache.values()) this.emit('update', o, o);
  }

  private emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.onAdd?.(a);
        else if (kind === 'update') h.onUpdate?.(a, b!);
        else h.onDelete?.(a);
      } catch (err) {
        this.log.error('event handler threw', { event: kind, key: objectKey(a), error: err });
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    const s = cancellableSleep(ms);
    this.sleepCancel = s.cancel;
    return s.promise;
  }

  private async loop(): Promise<void> {
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 10_000;
    const delay = () => Math.min(min * 2 ** Math.max(0, this.attempt - 1), max);
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const started = Date.now();
        const events = await this.watchOnce();
        // The watch ended normally (its timeout, or the server closing it): resume,
        // backing off only when it ended at once with nothing in it.
        if (events > 0 || Date.now() - started > 1000) {
          this.attempt = 0;
        } else if (!this.stopped) {
          this.attempt++;
          this.log.warn('watch ended at once; retrying', { attempt: this.attempt, delayMs: delay() });
          await this.sleep(delay());
        }
      } catch (err) {
        if (this.stopped) break;
        if (isExpired(err)) {
          this.log.info('watch expired (410); re-listing', { resourceVersion: this.lastResourceVersion, error: err });
          needList = true;
          // A re-list right away, as client-go; a repeated 410 still backs off.
          if (this.attempt === 0) {
            this.attempt++;
            continue;
          }
        }
        this.attempt++;
        this.log.warn('list/watch failed; retrying', { attempt: this.attempt, delayMs: delay(), relist: needList, error: err });
        await this.sleep(delay());
      }
    }
  }

  private async list(): Promise<void> {
    const list = await this.client.listAll<T>(this.resource, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
    });
    if (this.stopped) return;
    this.listCount++;
    const seen = new Set<string>();
    for (const o of list.items) {
      const key = objectKey(o);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, o);
      if (!old) this.emit('add', o);
      else if (old.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.emit('update', old, o);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit('delete', old);
      }
    }
    this.lastResourceVersion = list.metadata?.resourceVersion ?? '';
    this.log.debug('listed', { items: list.items.length, resourceVersion: this.lastResourceVersion });
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch, until it ends; returns how many events it carried. */
  private async watchOnce(): Promise<number> {
    let events = 0;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    const w = await this.client.watch<T>(this.resource, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      resourceVersion: this.lastResourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
    });
    this.current = w;
    if (this.stopped) w.close();
    try {
      for await (const ev of w) {
        if (this.stopped) break;
        events++;
        const o = ev.object;
        if (ev.type === 'ERROR') throw new ApiStatusError(o as never);
        this.attempt = 0;
        const rv = o?.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK') {
          if (rv) this.lastResourceVersion = rv;
          continue;
        }
        const key = objectKey(o);
        const old = this.cache.get(key);
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
          this.cache.set(key, o);
          if (old) this.emit('update', old, o);
          else this.emit('add', o);
        } else if (ev.type === 'DELETED') {
          this.cache.delete(key);
          this.emit('delete', o);
        }
        if (rv) this.lastResourceVersion = rv;
      }
    } finally {
      w.close();
      this.current = undefined;
    }
    return events;
  }
}

/** Starts informers and waits until all have synced; on failure stops them all and rethrows. */
export async function startInformers(informers: Array<{ start(): unknown; stop(): unknown; waitForSync(ms: number): Promise<unknown> }>, timeoutMs = 30_000): Promise<void> {
  for (const i of informers) i.start();
  try {
    await Promise.all(informers.map((i) => i.waitForSync(timeoutMs)));
  } catch (e) {
    for (const i of informers) void i.stop();
    throw e;
  }
}
