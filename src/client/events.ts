// An event recorder, as client-go's record.EventRecorder with a simplified
// correlator: the first (object, type, reason, message) creates a core/v1
// Event; repeats patch its count and lastTimestamp. Recording never throws:
// failures are logged, as upstream (events are best-effort).
import crypto from 'node:crypto';
import { logger } from '../util/log.js';
import { type ApiClient, type KObject, isNotFound } from './rest.js';

const log = logger('events');

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** source.component and reportingComponent, e.g. "deployment-controller". */
  component: string;
  /** source.host (e.g. the node name of a node agent). */
  host?: string;
  /** Forget aggregation state after this many distinct events (default 4096, as upstream's LRU). */
  maxCached?: number;
}

interface Aggregate {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class EventRecorder {
  private readonly seen = new Map<string, Aggregate>();
  /** Serialises writes per aggregation key, so repeats count correctly. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly client: ApiClient,
    private readonly opts: EventRecorderOptions,
  ) {}

  /**
   * Records an event about `obj` (any object with apiVersion, kind and
   * metadata). Resolves when it is written (or its failure logged).
   */
  event(obj: KObject, type: EventType, reason: string, message: string): Promise<void> {
    const md = obj.metadata ?? {};
    const involvedObject = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: md.namespace,
      name: md.name,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
    };
    const key = JSON.stringify([involvedObject.kind, involvedObject.namespace, involvedObject.name, involvedObject.uid, type, reason, message]);
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.write(key, involvedObject, type, reason, message)).catch((err) => {
      log.warn('could not record event', { reason, object: `${involvedObject.kind}/${involvedObject.name}`, error: err });
    });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** As event(), with printf-style %s/%d/%v arguments. */
  eventf(obj: KObject, type: EventType, reason: string, fmt: string, ...args: unknown[]): Promise<void> {
    let i = 0;
    const message = fmt.replace(/%[sdv]/g, () => String(args[i++]));
    return this.event(obj, type, reason, message);
  }

  private async write(key: string, involvedObject: Record<string, unknown>, type: EventType, reason: string, message: string): Promise<void> {
    const ts = now();
    const agg = this.seen.get(key);
    if (agg) {
      try {
        await this.client.patch('/events', agg.namespace, agg.name, { count: agg.count + 1, lastTimestamp: ts }, { type: 'merge' });
        agg.count++;
        // Refresh its place in the LRU order.
        this.seen.delete(key);
        this.seen.set(key, agg);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.seen.delete(key); // the event expired or was deleted: start over
      }
    }
    const namespace = (involvedObject.namespace as string | undefined) || 'default';
    const name = `${involvedObject.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(crypto.randomInt(1_000_000))).toString(16)}`;
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      type,
      source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    await this.client.create('/events', ev, { namespace });
    this.seen.set(key, { namespace, name, count: 1, firstTimestamp: ts });
    const max = this.opts.maxCached ?? 4096;
    while (this.seen.size > max) this.seen.delete(this.seen.keys().next().value!);
  }
}
