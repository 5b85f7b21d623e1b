// The service proxy's runner (kube-proxy's ProxyServer + the sync loop of a
// proxier): informers on Services and EndpointSlices feed the change tracker;
// syncs are coalesced and rate-limited by minSyncPeriod (upstream's
// BoundedFrequencyRunner), a full resync runs every syncPeriod, and each
// sync hands the snapshot and the changed service ports to the backend.
import { Informer, startInformers } from '../client/informer.js';
import type { ApiClient, KObject } from '../client/rest.js';
import { logger } from '../util/log.js';
import { ChangeTracker } from './tracker.js';
import type { ProxyBackend, SyncResult } from './types.js';

export interface ProxierOptions {
  client: ApiClient;
  nodeName: string;
  nodeIPs: string[];
  /** Pod network range, for masquerade decisions ('' if unknown). */
  clusterCidr: string;
  backend: ProxyBackend;
  /** Minimum time between syncs (upstream --iptables-min-sync-period; default 1 s). */
  minSyncPeriodMs?: number;
  /** Full resync period (upstream --iptables-sync-period; default 30 s). */
  syncPeriodMs?: number;
}

export interface Proxier {
  stop(): Promise<void>;
  /** Prometheus text of the proxy's metrics. */
  metricsText(): string;
  /** Syncs now (waits for an ongoing sync first); resolves with its result. */
  syncNow(full?: boolean): Promise<SyncResult | undefined>;
}

// --- a tiny Prometheus histogram/gauge (upstream names and buckets) ---

const exponential = (start: number, factor: number, count: number): number[] => Array.from({ length: count }, (_, i) => start * factor ** i);
const linear = (start: number, width: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + width * i);

export class Histogram {
  private counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
    this.sum += v;
    this.count++;
  }
  get samples(): number {
    return this.count;
  }
  render(): string {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return out.join('\n');
  }
}

export class ProxyMetrics {
  readonly syncDuration = new Histogram('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', exponential(0.001, 2, 15));
  readonly networkProgramming = new Histogram(
    'kubeproxy_network_programming_duration_seconds',
    'In Cluster Network Programming Latency in seconds',
    [...linear(0.25, 0.25, 2), ...linear(1, 1, 59), ...linear(60, 5, 12), ...linear(120, 30, 7)],
  );
  lastSyncTimestamp = 0;
  render(): string {
    return [
      this.syncDuration.render(),
      this.networkProgramming.render(),
      '# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds The last time proxy rules were successfully synced',
      '# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge',
      `kubeproxy_sync_proxy_rules_last_timestamp_seconds ${this.lastSyncTimestamp}`,
      '',
    ].join('\n');
  }
}

export async function startProxier(o: ProxierOptions): Promise<Proxier> {
  const log = logger('proxy');
  const minSync = o.minSyncPeriodMs ?? 1000;
  const period = o.syncPeriodMs ?? 30_000;
  const tracker = new ChangeTracker({ nodeName: o.nodeName, nodeIPs: o.nodeIPs, clusterCidr: o.clusterCidr });
  const metrics = new ProxyMetrics();
  const services = new Informer(o.client, 'services');
  const slices = new Informer(o.client, 'discovery.k8s.io/endpointslices');

  let stopped = false;
  let initialized = false;
  let running: Promise<SyncResult | undefined> | undefined;
  let pending = false;
  let pendingFull = false;
  let needFull = true;
  let lastSyncStart = 0;
  let timer: NodeJS.Timeout | undefined;

  const syncOnce = async (full: boolean): Promise<SyncResult | undefined> => {
    const start = Date.now();
    lastSyncStart = start;
    const { snapshot, changes } = tracker.take();
    const doFull = full || needFull;
    try {
      const r = await o.backend.sync(snapshot, doFull ? undefined : changes.changed);
      needFull = false;
      const end = Date.now();
      metrics.syncDuration.observe((end - start) / 1000);
      metrics.lastSyncTimestamp = end / 1000;
      for (const t of changes.triggerTimes) metrics.networkProgramming.observe(Math.max(0, end - t) / 1000);
      log.info('synced proxy rules', {
        backend: o.backend.name,
        full: r.full,
        changed: r.changed,
        servicePorts: snapshot.services.size,
        durationMs: Math.round((end - start) * 10) / 10,
      });
      return r;
    } catch (err) {
      // What changed is lost with this snapshot: the retry rewrites everything.
      needFull = true;
      metrics.syncDuration.observe((Date.now() - start) / 1000);
      log.error('sync of proxy rules failed', { backend: o.backend.name, durationMs: Date.now() - start, error: err });
      schedule(false, minSync);
      return undefined;
    }
  };

  const runOne = async (): Promise<SyncResult | undefined> => {
    const full = pendingFull;
    pending = false;
    pendingFull = false;
    return syncOnce(full);
  };

  const kick = (): Promise<SyncResult | undefined> => {
    if (!running) {
      running = runOne().finally(() => {
        running = undefined;
        // A request that arrived while the last sync ran waits out minSync.
        if (pending && !stopped) {
          pending = false;
          schedule(pendingFull);
        }
      });
    }
    return running;
  };

  /** Requests a sync no sooner than `delayMs` from now (and minSync after the last one). */
  function schedule(full: boolean, delayMs = 0): void {
    if (stopped || !initialized) return;
    pending = true;
    pendingFull ||= full;
    if (running || timer) return;
    const wait = Math.max(delayMs, minSync - (Date.now() - lastSyncStart), 0);
    timer = setTimeout(() => {
      timer = undefined;
      void kick();
    }, wait);
  }

  const onService = (svc: KObject, deleted = false) => {
    if (tracker.onServiceUpdate(svc, deleted)) schedule(false);
  };
  const onSlice = (slice: KObject, deleted = false) => {
    if (tracker.onSliceUpdate(slice, deleted)) schedule(false);
  };
  services.addEventHandler({ onAdd: (s) => onService(s), onUpdate: (_o, s) => onService(s), onDelete: (s) => onService(s, true) });
  slices.addEventHandler({ onAdd: (s) => onSlice(s), onUpdate: (_o, s) => onSlice(s), onDelete: (s) => onSlice(s, true) });
  await startInformers([services, slices]);
  initialized = true;
  // The first sync runs at once and is full, as upstream's OnServiceSynced.
  pending = true;
  pendingFull = true;
  await kick();
  const resync = setInterval(() => schedule(true), period);

  return {
    async stop() {
      stopped = true;
      clearInterval(resync);
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await Promise.all([services.stop(), slices.stop()]);
    },
    metricsText: () => metrics.render(),
    async syncNow(full = false) {
      if (stopped) return undefined;
      await running?.catch(() => undefined);
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      pending = true;
      pendingFull ||= full;
      return kick();
    },
  };
}
