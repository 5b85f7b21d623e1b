// Store semantics shared by the backends that keep their data in this process
// (memory, sqlite): revisions, CAS, paging at a revision, watch, compaction.
// Each backend supplies an Engine: synchronous access to its revision log.
import {
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type Watch,
  type WatchEvent,
  type WatchHandler,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  StoreError,
  checkValueSize,
  decodeContinue,
  encodeContinue,
  prefixEnd,
} from './types.js';
import { WatchHub } from './watch-hub.js';

/** One row of the revision log: a write (value set) or a delete tombstone (value null). */
export interface LogRow {
  key: string;
  rev: number;
  value: string | null;
  createRev: number;
  version: number;
  /** Revision of the live value this row replaced, if any (gives watch events their prevKv). */
  prevRev: number | null;
}

export interface Engine {
  /** The latest row of `key`, tombstone included. */
  latest(key: string): LogRow | undefined;
  /** Live keys in [start, end) as of revision `rev`, in key order; limit 0 = all. */
  rangeAt(start: string, end: string, rev: number, limit: number): KeyValue[];
  append(row: LogRow): void;
  /** Changes under `prefix` with revision > after, in order, with prevKv. */
  historySince(prefix: string, after: number): WatchEvent[];
  /** Removes rows superseded at or before `rev`, and tombstones at or before it. */
  compactTo(rev: number): void;
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function toKeyValue(r: LogRow): KeyValue {
  return { key: r.key, value: r.value as string, createRevision: r.createRev, modRevision: r.rev, version: r.version };
}

export function rowToEvent(r: LogRow, prev: KeyValue | undefined): WatchEvent {
  if (r.value === null) return { type: 'delete', key: r.key, revision: r.rev, prevKv: prev! };
  return { type: 'put', key: r.key, revision: r.rev, kv: toKeyValue(r), prevKv: prev };
}

export class LocalStore implements Store {
  private readonly hub = new WatchHub();
  private closed = false;

  constructor(
    readonly kind: string,
    private readonly engine: Engine,
    private rev: number,
    private compactedAt: number,
    /** Persists the compaction point (sqlite writes it to its meta table). */
    private readonly saveCompactRevision: (rev: number) => void = () => {},
  ) {}

  async get(key: string): Promise<KeyValue | null> {
    this.checkOpen();
    const r = this.engine.latest(key);
    return r && r.value !== null ? toKeyValue(r) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    let rev = opts.revision || this.rev;
    let start = prefix;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      rev = c.rev;
      start = c.start;
    }
    if (rev > this.rev) throw new FutureRevisionError(rev, this.rev);
    if (rev < this.compactedAt) throw new CompactedError(rev, this.compactedAt);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items = this.engine.rangeAt(start, prefixEnd(prefix), rev, limit ? limit + 1 : 0);
    let cont: string | undefined;
    if (limit && items.length > limit) {
      items.length = limit;
      cont = encodeContinue(rev, items[limit - 1].key + '\x00');
    }
    return { items, revision: rev, continue: cont };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.write(key, value, (cur) => {
      if (cur && cur.value !== null) throw new KeyExistsError(key);
    });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.write(key, value, (cur) => {
      if (!cur || cur.value === null) throw new NotFoundError(key);
      if (cur.rev !== expectedModRevision) throw new ConflictError(key, expectedModRevision, cur.rev);
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const ev = this.commit(key, null, (cur) => {
      if (!cur || cur.value === null) throw new NotFoundError(key);
      if (expectedModRevision !== undefined && cur.rev !== expectedModRevision) {
        throw new ConflictError(key, expectedModRevision, cur.rev);
      }
    });
    return ev.prevKv!;
  }

  async watch(prefix: string, afterRevision: number, handler: WatchHandler): Promise<Watch> {
    this.checkOpen();
    const after = afterRevision || this.rev;
    if (after < this.compactedAt) throw new CompactedError(after, this.compactedAt);
    // Replay and subscription happen in one synchronous step: nothing can commit in between.
    return this.hub.subscribe(prefix, this.engine.historySince(prefix, after), handler);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision <= this.compactedAt) return;
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    this.engine.transaction(() => {
      this.engine.compactTo(revision);
      this.saveCompactRevision(revision);
    });
    this.compactedAt = revision;
  }

  async currentRevision(): Promise<number> {
    return this.rev;
  }

  async compactRevision(): Promise<number> {
    return this.compactedAt;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.fail(new StoreError('store closed'));
    this.engine.close();
  }

  private write(key: string, value: string, check: (cur: LogRow | undefined) => void): KeyValue {
    checkValueSize(key, value);
    const ev = this.commit(key, value, check);
    return (ev as Extract<WatchEvent, { type: 'put' }>).kv;
  }

  /** Checks and appends one row in a transaction, then publishes it to watchers. */
  private commit(key: string, value: string | null, check: (cur: LogRow | undefined) => void): WatchEvent {
    this.checkOpen();
    const rev = this.rev + 1;
    let prev: KeyValue | undefined;
    const row = this.engine.transaction(() => {
      const cur = this.engine.latest(key);
      check(cur);
      const live = cur && cur.value !== null ? cur : undefined;
      prev = live ? toKeyValue(live) : undefined;
      const r: LogRow = {
        key,
        rev,
        value,
        createRev: live ? live.createRev : rev,
        version: value === null ? 0 : live ? live.version + 1 : 1,
        prevRev: live ? live.rev : null,
      };
      this.engine.append(r);
      return r;
    });
    this.rev = rev;
    const ev = rowToEvent(row, prev);
    this.hub.publish(ev);
    return ev;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('store closed');
  }
}
