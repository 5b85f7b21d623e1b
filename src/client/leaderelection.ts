// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection: candidates try every retryPeriod to acquire the lease (free,
// expired, or already theirs) with a compare-and-swap update (resourceVersion);
// the leader renews it every retryPeriod and gives up leadership when it could
// not renew within renewDeadline. Expiry is judged by when this candidate last
// saw the lease record change (its own clock), never by the holder's clock.
import { cancellableSleep } from '../util/sleep.js';
import { logger } from '../util/log.js';
import { type ApiClient, type KObject, isAlreadyExists, isConflict, isNotFound } from './rest.js';

export interface LeaderElectionOptions {
  client: ApiClient;
  /** The Lease's namespace and name. */
  namespace: string;
  name: string;
  /** This candidate's identity (unique, e.g. hostname + random suffix). */
  identity: string;
  leaseDurationMs?: number; // default 15 s
  renewDeadlineMs?: number; // default 10 s
  retryPeriodMs?: number; // default 2 s
  /** Give the lease up (holder cleared) when stopped while leading (default true). */
  releaseOnCancel?: boolean;
  /** Called when this candidate becomes leader; the signal aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called when leadership ends (lost or stopped); only after onStartedLeading. */
  onStoppedLeading(): void;
  /** Called when a (new) leader is observed, including this candidate. */
  onNewLeader?(identity: string): void;
}

const LEASE = 'coordination.k8s.io/leases';
const microTime = (d = new Date()): string => d.toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly log;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed?: KObject;
  /** Local time when the lease record was last seen to change. */
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private sleepCancel?: () => void;
  private abort?: AbortController;
  private running?: Promise<void>;
  private lastLeader = '';

  constructor(private readonly o: LeaderElectionOptions) {
    this.log = logger('leaderelection').child(`${o.namespace}/${o.name}`);
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaderelection: leaseDuration must exceed renewDeadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs) throw new Error('leaderelection: renewDeadline must exceed retryPeriod');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder of the lease as last observed. */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  /** Starts campaigning (idempotent); resolves when stopped. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Stops campaigning; releases the lease if leading (releaseOnCancel). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sleepCancel?.();
    await this.running;
  }

  private sleep(ms: number): Promise<void> {
    const s = cancellableSleep(ms);
    this.sleepCancel = s.cancel;
    return s.promise;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // Acquire.
      while (!this.stopped && !(await this.tryAcquireOrRenew())) await this.sleep(this.retryPeriodMs);
      if (this.stopped) break;
      this.leading = true;
      this.abort = new AbortController();
      this.log.info('became leader', { identity: this.o.identity });
      Promise.resolve()
        .then(() => this.o.onStartedLeading(this.abort!.signal))
        .catch((err) => this.log.error('onStartedLeading failed', { error: err }));
      // Renew.
      let lastRenew = Date.now();
      while (!this.stopped) {
        await this.sleep(this.retryPeriodMs);
        if (this.stopped) break;
        if (await this.tryAcquireOrRenew()) {
          lastRenew = Date.now();
          continue;
        }
        if (Date.now() - lastRenew >= this.renewDeadlineMs || (this.getLeader() !== '' && this.getLeader() !== this.o.identity)) {
          this.log.warn('lost leadership', { identity: this.o.identity, holder: this.getLeader() });
          break;
        }
      }
      if (this.stopped && (this.o.releaseOnCancel ?? true)) await this.release();
      this.leading = false;
      this.abort.abort();
      try {
        this.o.onStoppedLeading();
      } catch (err) {
        this.log.error('onStoppedLeading failed', { error: err });
      }
    }
  }

  private observe(lease: KObject): void {
    const prev = this.observed;
    if (!prev || prev.metadata?.resourceVersion !== lease.metadata?.resourceVersion) {
      this.observed = lease;
      this.observedAt = Date.now();
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== this.lastLeader) {
      this.lastLeader = holder;
      this.log.info('new leader observed', { holder });
      try {
        this.o.onNewLeader?.(holder);
      } catch (err) {
        this.log.error('onNewLeader failed', { error: err });
      }
    }
  }

  /** One attempt; true if this candidate holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const now = new Date();
    const spec = (prev?: KObject) => {
      const was = prev?.spec ?? {};
      const mine = was.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
        acquireTime: mine && was.acquireTime ? was.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: prev ? (was.leaseTransitions ?? 0) + (mine ? 0 : 1) : 0,
      };
    };
    try {
      let lease: KObject;
      try {
        lease = await client.get(LEASE, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const created = await client.create(LEASE, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec() });
        this.observe(created);
        return true;
      }
      this.observe(lease);
      const holder = lease.spec?.holderIdentity ?? '';
      // The holder's own duration, in local time from when we saw the record change.
      const durationMs = (lease.spec?.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
      if (holder && holder !== identity && this.observedAt + durationMs > Date.now()) return false;
      const updated = await client.update(LEASE, { ...lease, spec: { ...lease.spec, ...spec(lease) } });
      this.observe(updated);
      return true;
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) this.log.debug('lease changed under us', { error: err });
      else this.log.warn('could not acquire or renew lease', { error: err });
      return false;
    }
  }

  /** Clears the holder so another candidate need not wait for expiry. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || lease.spec?.holderIdentity !== this.o.identity) return;
    try {
      const updated = await this.o.client.update(LEASE, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() },
      });
      this.observe(updated);
      this.log.info('released lease', { identity: this.o.identity });
    } catch (err) {
      this.log.warn('could not release lease', { error: err });
    }
  }
}
