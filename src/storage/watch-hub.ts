// Fan-out of committed changes to watchers, for backends whose writes happen in
// this process (memory, sqlite). The backend calls publish() right after each
// commit, synchronously; subscribe() takes the replayed history in the same
// synchronous step, so no change can fall between replay and live delivery.
// Delivery is batched per watcher on a microtask, so a handler that writes to
// the store never runs re-entrantly inside that write.
import type { Watch, WatchEvent, WatchHandler } from './types.js';

interface Sub {
  prefix: string;
  handler: WatchHandler;
  pending: WatchEvent[];
  scheduled: boolean;
  closed: boolean;
}

export class WatchHub {
  private subs = new Set<Sub>();

  get size(): number {
    return this.subs.size;
  }

  subscribe(prefix: string, history: WatchEvent[], handler: WatchHandler): Watch {
    const sub: Sub = { prefix, handler, pending: [], scheduled: false, closed: false };
    this.subs.add(sub);
    for (const ev of history) this.enqueue(sub, ev);
    return {
      close: () => {
        sub.closed = true;
        sub.pending = [];
        this.subs.delete(sub);
      },
    };
  }

  publish(ev: WatchEvent): void {
    for (const sub of this.subs) if (ev.key.startsWith(sub.prefix)) this.enqueue(sub, ev);
  }

  /** Ends every watch with an error (the store is closing). */
  fail(err: Error): void {
    for (const sub of this.subs) {
      sub.closed = true;
      queueMicrotask(() => sub.handler.onError?.(err));
    }
    this.subs.clear();
  }

  private enqueue(sub: Sub, ev: WatchEvent): void {
    sub.pending.push(ev);
    if (sub.scheduled) return;
    sub.scheduled = true;
    queueMicrotask(() => {
      sub.scheduled = false;
      if (sub.closed || sub.pending.length === 0) return;
      const batch = sub.pending;
      sub.pending = [];
      try {
        sub.handler.onEvents(batch);
      } catch (err) {
        // A handler bug must not take the store down with it: end that watch only.
        sub.closed = true;
        this.subs.delete(sub);
        sub.handler.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
