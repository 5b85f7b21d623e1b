// A rate-limited work queue, as client-go's workqueue: a key is queued at most
// once (add dedups while queued), a key being processed is never handed to a
// second worker (adding it meanwhile re-queues it when done() is called), and
// failures are retried with per-key exponential backoff.
import { logger } from '../util/log.js';

const log = logger('workqueue');

/** Per-key exponential backoff: base * 2^failures, capped (client-go's default item limiter: 5 ms .. 1000 s). */
export class ExponentialRateLimiter {
  private readonly failures = new Map<string, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1000_000,
  ) {}

  /** The delay before the key's next retry; counts one more failure. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const d = this.baseMs * 2 ** n;
    return Math.min(d, this.maxMs);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

export interface WorkQueueOptions {
  name?: string;
  rateLimiter?: ExponentialRateLimiter;
}

export class WorkQueue<K extends string = string> {
  readonly name: string;
  readonly rateLimiter: ExponentialRateLimiter;
  private queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: Array<(v: K | undefined) => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? 'queue';
    this.rateLimiter = opts.rateLimiter ?? new ExponentialRateLimiter();
  }

  /** Queues the key unless it is already queued; a key being processed is re-queued when done. */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  private push(key: K): void {
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(key);
      this.processing.add(key);
      w(key);
    } else this.queue.push(key);
  }

  /** Adds the key after a delay (immediately when ms <= 0). */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  /** Adds the key after its backoff (which grows with each call until forget()). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Stops tracking the key's failures (call after it was processed successfully). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys waiting to be handed out. */
  len(): number {
    return this.queue.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * The next key (waiting for one); undefined once the queue is shut down and
   * drained. Call done(key) when finished with it.
   */
  get(): Promise<K | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      if (this.shuttingDown) return;
      this.add(key);
    }
  }

  /** No more adds; get() drains what is queued, then returns undefined. Pending addAfter timers are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /**
   * Runs `workers` loops that each take a key, call handler(key), forget the key
   * on success and re-queue it rate-limited when the handler throws. Resolves
   * when the queue is shut down and every worker has finished.
   */
  run(workers: number, handler: (key: K) => unknown | Promise<unknown>): Promise<void> {
    const worker = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await handler(key);
          this.forget(key);
        } catch (err) {
          const retries = this.numRequeues(key);
          log.warn('handler failed; requeueing', { queue: this.name, key, retries: retries + 1, error: err });
          this.addRateLimited(key);
        } finally {
          this.done(key);
        }
      }
    };
    return Promise.all(Array.from({ length: Math.max(1, workers) }, worker)).then(() => undefined);
  }
}
