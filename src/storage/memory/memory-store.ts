// In-memory backend, for unit tests: the full store semantics, nothing persisted.
import { type Engine, type LogRow, LocalStore, rowToEvent, toKeyValue } from '../local-store.js';
import type { KeyValue, WatchEvent } from '../types.js';

/** Index of the first element of the sorted array `a` that is >= x. */
function lowerBound<T>(a: T[], x: T): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class MemoryEngine implements Engine {
  /** Each key's rows, oldest first. */
  private rows = new Map<string, LogRow[]>();
  /** Every key that has rows, sorted. */
  private keys: string[] = [];
  /** All rows in revision order, for watch replay. */
  private log: LogRow[] = [];

  latest(key: string): LogRow | undefined {
    const h = this.rows.get(key);
    return h?.[h.length - 1];
  }

  rangeAt(start: string, end: string, rev: number, limit: number): KeyValue[] {
    const out: KeyValue[] = [];
    for (let i = lowerBound(this.keys, start); i < this.keys.length && this.keys[i] < end; i++) {
      const h = this.rows.get(this.keys[i])!;
      let j = h.length - 1;
      while (j >= 0 && h[j].rev > rev) j--;
      if (j < 0 || h[j].value === null) continue;
      out.push(toKeyValue(h[j]));
      if (limit && out.length >= limit) break;
    }
    return out;
  }

  append(row: LogRow): void {
    let h = this.rows.get(row.key);
    if (!h) {
      h = [];
      this.rows.set(row.key, h);
      this.keys.splice(lowerBound(this.keys, row.key), 0, row.key);
    }
    h.push(row);
    this.log.push(row);
  }

  historySince(prefix: string, after: number): WatchEvent[] {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid].rev <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: WatchEvent[] = [];
    for (let i = lo; i < this.log.length; i++) {
      const r = this.log[i];
      if (!r.key.startsWith(prefix)) continue;
      const prev = r.prevRev === null ? undefined : this.rows.get(r.key)!.find((x) => x.rev === r.prevRev);
      out.push(rowToEvent(r, prev && toKeyValue(prev)));
    }
    return out;
  }

  compactTo(rev: number): void {
    for (const [key, h] of this.rows) {
      let keep = h.length - 1;
      while (keep >= 0 && h[keep].rev > rev) keep--;
      // h[keep] is the latest row at or before rev: older rows go, and so does it if it is a tombstone.
      if (keep < 0) continue;
      const from = h[keep].value === null ? keep + 1 : keep;
      h.splice(0, from);
      if (h.length === 0) {
        this.rows.delete(key);
        this.keys.splice(lowerBound(this.keys, key), 1);
      }
    }
    this.log = this.log.filter((r) => r.rev > rev);
  }

  transaction<T>(fn: () => T): T {
    return fn();
  }

  close(): void {
    this.rows.clear();
    this.keys = [];
    this.log = [];
  }
}

export function openMemoryStore(): LocalStore {
  return new LocalStore('memory', new MemoryEngine(), 0, 0);
}
