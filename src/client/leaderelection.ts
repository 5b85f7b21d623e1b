// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection: candidates try every retryPeriod to acquire the lease (free,
// expired, or already theirs) with a compare-and-swap update (resourceVersion);
// the leader renews it every retryPeriod and gives up leadership when it could
// not renew within renewDeadline. Expiry is judged by when this candidate last
// saw the lease record change (its own clock), never by the holder's clock.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
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

/** Leader election settings, as upstream's --leader-elect-* flags. */
export interface LeaderElectionConfig {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Lease namespace (default kube-system). */
  namespace?: string;
  /** Candidate identity (default `<hostname>_<random uuid>`, as upstream). */
  identity?: string;
}

export interface LeaderElectedOptions {
  /** For log lines: "controller-manager", "scheduler". */
  component: string;
  leaseName: string;
  /** undefined: no election, `start` runs at once. */
  config?: LeaderElectionConfig;
  /** Starts the component; called each time leadership is gained. */
  start(): Promise<{ stop(): unknown }>;
}

/**
 * Runs a component only while this process leads the named Lease: started on
 * gaining leadership, stopped on losing it, and campaigning goes on (upstream
 * exits the process instead; inside `k8ts server` the API server must stay up).
 */
export async function runLeaderElected(client: ApiClient, o: LeaderElectedOptions): Promise<{ stop(): Promise<void>; isLeader(): boolean }> {
  const log = logger(o.component);
  if (!o.config) {
    const running = await o.start();
    return { stop: async () => void (await running.stop()), isLeader: () => true };
  }
  const identity = o.config.identity ?? `${os.hostname()}_${randomUUID()}`;
  // Start and stop in turn, never overlapping.
  let chain: Promise<unknown> = Promise.resolve();
  let running: { stop(): unknown } | undefined;
  const elector = new LeaderElector({
    client,
    namespace: o.config.namespace ?? 'kube-system',
    name: o.leaseName,
    identity,
    leaseDurationMs: o.config.leaseDurationMs,
    renewDeadlineMs: o.config.renewDeadlineMs,
    retryPeriodMs: o.config.retryPeriodMs,
    onStartedLeading: () => {
      chain = chain.then(async () => {
        log.info('leading; starting', { lease: `${o.config!.namespace ?? 'kube-system'}/${o.leaseName}`, identity });
        try {
          running = await o.start();
        } catch (err) {
          log.error('could not start', { error: err });
        }
      });
    },
    onStoppedLeading: () => {
      chain = chain.then(async () => {
        log.warn('leaderelection lost; stopping', { identity });
        await running?.stop();
        running = undefined;
      });
    },
    onNewLeader: (holder) => {
      if (holder !== identity) log.info('another instance leads; standing by', { leader: holder });
    },
  });
  void elector.run();
  return {
    isLeader: () => elector.isLeader(),
    stop: async () => {
      await elector.stop();
      await chain;
    },
  };
}
