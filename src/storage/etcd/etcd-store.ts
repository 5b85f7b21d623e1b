// etcd v3 backend, for HA and scale (k3s-style --datastore-endpoint http://...).
// Keys and revisions are etcd's own. Writes are single transactions comparing
// the key's create/mod revision, exactly as Kubernetes' etcd3 storage does.
// Calls that cannot reach etcd are retried with exponential backoff and a log
// line per attempt; a watch whose stream breaks resumes after the last
// revision it delivered.
import { ExponentialBackoff, noop } from 'cockatiel';
import { Etcd3, type IKeyValue, type IWatchResponse, type Watcher } from 'etcd3';
import { logger } from '../../util/log.js';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  type KeyValue,
  KeyExistsError,
  type ListOptions,
  type ListResult,
  NotFoundError,
  type Store,
  StoreError,
  UnavailableError,
  ValueTooLargeError,
  type Watch,
  type WatchEvent,
  type WatchHandler,
  checkValueSize,
  decodeContinue,
  encodeContinue,
  prefixEnd,
} from '../types.js';

const log = logger('storage/etcd');

export interface EtcdOptions {
  /** How long one call keeps retrying an unreachable etcd before failing with UnavailableError. */
  retryForMs?: number;
}

const CompareResultEqual = 0;
const TargetCreate = 1;
const TargetMod = 2;

function toKv(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
}

function isUnreachable(err: unknown): boolean {
  const name = (err as Error)?.name ?? '';
  const msg = (err as Error)?.message ?? '';
  return (
    /Unavailable|DeadlineExceeded|ClientClosed/.test(name) ||
    /UNAVAILABLE|No connection established|connect ECONNREFUSED|deadline|timed out|Connection dropped/i.test(msg)
  );
}

/** Maps etcd's errors to the store's own. */
function mapError(err: unknown, revision?: number, key = ''): Error {
  const msg = (err as Error)?.message ?? String(err);
  if (/required revision has been compacted/.test(msg)) return new CompactedError(revision ?? 0, 0);
  if (/future revision/.test(msg)) return new FutureRevisionError(revision ?? 0, 0);
  if (/request is too large/.test(msg)) return new ValueTooLargeError(key);
  return err instanceof Error ? err : new Error(msg);
}

export class EtcdStore implements Store {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly retryForMs: number;
  private lastCompacted = 0;
  private closed = false;
  private readonly watches = new Set<{ close(): void }>();

  constructor(readonly endpoints: string[], opts: EtcdOptions = {}) {
    this.retryForMs = opts.retryForMs ?? 60_000;
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 2000,
      // One retry policy (ours, with logging) instead of etcd3's silent ones.
      faultHandling: { host: () => noop, global: noop, watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }).next() },
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
        // A full list can be far larger than gRPC's 4 MiB default (upstream lifts it too).
        'grpc.max_receive_message_length': -1,
      },
    });
  }

  /** Runs an etcd call, retrying with backoff while etcd is unreachable. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.retryForMs;
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new StoreError('store closed');
      try {
        const r = await fn();
        if (attempt > 1) log.info('etcd reachable again', { endpoints: this.endpoints.join(','), op: what, attempts: attempt });
        return r;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        if (Date.now() + delay > deadline) {
          throw new UnavailableError(`etcd at ${this.endpoints.join(',')} is unreachable: ${(err as Error).message}`);
        }
        log.warn('etcd unreachable, retrying', {
          endpoints: this.endpoints.join(','),
          op: what,
          attempt,
          retryInMs: delay,
          error: (err as Error).message,
        });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  async get(key: string): Promise<KeyValue | null> {
    const res = await this.call('get', () => this.client.kv.range({ key: Buffer.from(key) }));
    return res.kvs.length ? toKv(res.kvs[0]) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let rev = opts.revision || 0;
    let start = prefix;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      rev = c.rev;
      start = c.start;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const res = await this.call('list', () =>
      this.client.kv.range({ key: Buffer.from(start), range_end: Buffer.from(prefixEnd(prefix)), revision: rev, limit }),
    ).catch((e) => {
      throw mapError(e, rev);
    });
    const revision = rev || Number(res.header.revision);
    const items = res.kvs.map(toKv);
    const cont = limit && res.more && items.length ? encodeContinue(revision, items[items.length - 1].key + '\x00') : undefined;
    return { items, revision, continue: cont };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    checkValueSize(key, value);
    const k = Buffer.from(key);
    const res = await this.call('create', () =>
      this.client.kv.txn({
        compare: [{ key: k, target: TargetCreate, result: CompareResultEqual, create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [],
      }),
    ).catch((e) => {
      throw mapError(e, undefined, key);
    });
    if (!res.succeeded) throw new KeyExistsError(key);
    const rev = Number(res.header.revision);
    return { key, value, createRevision: rev, modRevision: rev, version: 1 };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    checkValueSize(key, value);
    const k = Buffer.from(key);
    const res = await this.call('update', () =>
      this.client.kv.txn({
        compare: [{ key: k, target: TargetMod, result: CompareResultEqual, mod_revision: expectedModRevision }],
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    ).catch((e) => {
      throw mapError(e, undefined, key);
    });
    if (!res.succeeded) {
      const cur = res.responses[0]?.response_range?.kvs?.[0];
      if (!cur) throw new NotFoundError(key);
      throw new ConflictError(key, expectedModRevision, Number(cur.mod_revision));
    }
    const prev = res.responses[0]?.response_put?.prev_kv;
    if (!prev) {
      // Only possible if the key had mod_revision 0, i.e. did not exist.
      throw new NotFoundError(key);
    }
    return {
      key,
      value,
      createRevision: Number(prev.create_revision),
      modRevision: Number(res.header.revision),
      version: Number(prev.version) + 1,
    };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const k = Buffer.from(key);
    const res = await this.call('delete', () =>
      this.client.kv.txn({
        compare:
          expectedModRevision === undefined
            ? [{ key: k, target: TargetCreate, result: 1 /* Greater */, create_revision: 0 }]
            : [{ key: k, target: TargetMod, result: CompareResultEqual, mod_revision: expectedModRevision }],
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    ).catch((e) => {
      throw mapError(e, undefined, key);
    });
    if (!res.succeeded) {
      const cur = res.responses[0]?.response_range?.kvs?.[0];
      if (!cur) throw new NotFoundError(key);
      throw new ConflictError(key, expectedModRevision ?? 0, Number(cur.mod_revision));
    }
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new NotFoundError(key);
    return toKv(prev);
  }

  async watch(prefix: string, afterRevision: number, handler: WatchHandler): Promise<Watch> {
    let last = afterRevision || (await this.currentRevision());
    await this.checkWatchable(last);
    const watcher: Watcher = await this.call('watch', () =>
      this.client.watch().prefix(prefix).startRevision(String(last + 1)).withPreviousKV().create(),
    ).catch(async (e) => {
      throw await this.explainWatchError(e, last);
    });
    let closed = false;
    let broken = false;
    watcher.on('data', (res: IWatchResponse) => {
      if (closed) return;
      const out: WatchEvent[] = [];
      for (const ev of res.events) {
        const revision = Number(ev.kv.mod_revision);
        // After a reconnect etcd3 resubscribes from its own bookmark: never deliver a revision twice.
        if (revision <= last) continue;
        last = revision;
        const key = ev.kv.key.toString();
        const prevKv = ev.prev_kv ? toKv(ev.prev_kv) : undefined;
        if (ev.type === 'Delete') out.push({ type: 'delete', key, revision, prevKv: prevKv! });
        else out.push({ type: 'put', key, revision, kv: toKv(ev.kv), prevKv });
      }
      if (out.length) handler.onEvents(out);
    });
    watcher.on('disconnected', () => {
      if (closed || this.closed || broken) return;
      broken = true;
      log.warn('etcd watch stream broken; will resume', { prefix, afterRevision: last });
    });
    watcher.on('connected', () => {
      if (broken) log.info('etcd watch resumed', { prefix, afterRevision: last });
      broken = false;
    });
    watcher.on('error', async (e: Error) => {
      if (closed) return;
      closed = true;
      this.watches.delete(w);
      watcher.cancel().catch(() => {});
      handler.onError?.(await this.explainWatchError(e, last));
    });
    const w = {
      close: () => {
        if (closed) return;
        closed = true;
        this.watches.delete(w);
        watcher.cancel().catch(() => {});
      },
    };
    this.watches.add(w);
    return w;
  }

  /** Rejects with CompactedError when revision `after` is no longer watchable. */
  private async checkWatchable(after: number): Promise<void> {
    const current = await this.currentRevision();
    if (after + 1 > current) return; // nothing to replay yet
    await this.call('watch-check', () =>
      this.client.kv.range({ key: Buffer.from('\0'), revision: after + 1, limit: 1, keys_only: true }),
    ).catch((e) => {
      const m = mapError(e, after);
      if (m instanceof CompactedError) {
        this.lastCompacted = Math.max(this.lastCompacted, after + 1);
        throw new CompactedError(after, this.lastCompacted);
      }
      throw m;
    });
  }

  private async explainWatchError(e: unknown, after: number): Promise<Error> {
    try {
      await this.checkWatchable(after);
    } catch (c) {
      return c as Error;
    }
    return mapError(e, after);
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.call('compact', () => this.client.kv.compact({ revision, physical: false }));
    } catch (e) {
      const m = mapError(e, revision);
      if (m instanceof CompactedError) return; // already compacted that far
      throw m;
    }
    this.lastCompacted = Math.max(this.lastCompacted, revision);
  }

  async currentRevision(): Promise<number> {
    const res = await this.call('revision', () => this.client.kv.range({ key: Buffer.from('\0'), limit: 1, keys_only: true }));
    return Number(res.header.revision);
  }

  /** etcd does not report it; this is the newest compaction this client made or ran into. */
  async compactRevision(): Promise<number> {
    return this.lastCompacted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.close();
    this.client.close();
  }
}
