// The node lifecycle and taint eviction controllers' pure core, after
// upstream's pkg/controller/nodelifecycle and pkg/controller/tainteviction:
//
//   - node health: the controller keeps, per node, the time (on its own
//     clock) when it last saw the kubelet's Ready heartbeat or the node's Lease
//     change (the "probe timestamp"). A node not heard from for the grace
//     period (the startup grace period if it never posted a Ready condition)
//     gets Ready, MemoryPressure, DiskPressure and PIDPressure set to Unknown
//     ("Kubelet stopped posting node status.").
//   - taints by condition (NoSchedule, not rate limited): Ready False ->
//     not-ready, Ready Unknown -> unreachable, MemoryPressure/DiskPressure/
//     PIDPressure/NetworkUnavailable True -> the matching pressure taint,
//     spec.unschedulable -> unschedulable.
//   - taint-based eviction (NoExecute): Ready False -> not-ready, Unknown ->
//     unreachable (with timeAdded), both removed when Ready is True again. New
//     NoExecute taints go through a per-zone rate limiter whose rate follows
//     the zone's disruption state; when every zone is fully disrupted
//     (FullDisruption: no Ready node at all) no node is tainted and the
//     controller's NoExecute taints are removed, as upstream's "master
//     disruption mode".
//   - taint eviction: a pod on a node with NoExecute taints it does not
//     tolerate is deleted at once; if it tolerates them all, it is deleted when
//     the first of the tolerations' tolerationSeconds runs out (counted from
//     the taint's timeAdded); without tolerationSeconds it stays.
// No I/O here (see index.ts).

export type Obj = Record<string, any>;

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

/** upstream's defaults (kube-controller-manager flags). */
export const DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS = 40_000;
export const DEFAULT_NODE_STARTUP_GRACE_PERIOD_MS = 60_000;
export const DEFAULT_NODE_MONITOR_PERIOD_MS = 5_000;
export const DEFAULT_EVICTION_QPS = 0.1;
export const DEFAULT_SECONDARY_EVICTION_QPS = 0.01;
export const DEFAULT_LARGE_CLUSTER_THRESHOLD = 50;
export const DEFAULT_UNHEALTHY_ZONE_THRESHOLD = 0.55;

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

/** Kubernetes Time (seconds precision). */
export const kubeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** ms since the epoch, or undefined when the string is not a time. Microseconds are dropped. */
export function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string' || !s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

export function nodeCondition(node: Obj, type: string): Obj | undefined {
  return (node?.status?.conditions ?? []).find((c: Obj) => c?.type === type);
}

export function readyStatus(node: Obj): 'True' | 'False' | 'Unknown' {
  const s = nodeCondition(node, 'Ready')?.status;
  return s === 'True' || s === 'False' ? s : 'Unknown';
}

// ---- node health -------------------------------------------------------------------

/** What the controller remembers about a node between checks (upstream nodeHealthData). */
export interface NodeHealth {
  /** When (controller clock, ms) the node was last heard from. */
  probeTimestamp: number;
  /** When (controller clock, ms) the Ready condition last changed. */
  readyTransitionTimestamp: number;
  /** The Ready condition's lastHeartbeatTime / lastTransitionTime as last seen (undefined: none). */
  readyHeartbeat?: string;
  readyTransition?: string;
  hadReady: boolean;
  /** The Lease's renewTime as last seen. */
  leaseRenewTime?: string;
}

export interface HealthOptions {
  gracePeriodMs: number;
  startupGracePeriodMs: number;
}

export interface HealthCheck {
  health: NodeHealth;
  gracePeriodMs: number;
  /** Ready status before this check (Unknown when the node has no Ready condition). */
  observedReady: 'True' | 'False' | 'Unknown';
  /** Ready status after it. */
  currentReady: 'True' | 'False' | 'Unknown';
  /** The node's new status.conditions when the controller must write them. */
  conditions?: Obj[];
}

const NODE_CONDITIONS_MARKED_UNKNOWN = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

function leaseRenewed(saved: string | undefined, observed: string | undefined): boolean {
  if (!observed) return false;
  if (!saved) return true;
  if (saved === observed) return false;
  const a = parseTime(saved);
  const b = parseTime(observed);
  if (a === undefined || b === undefined) return true;
  return b >= a; // same millisecond but different microseconds counts as newer
}

/**
 * upstream tryUpdateNodeHealth: updates what the controller knows about the
 * node from its status and Lease, and says whether its conditions must become
 * Unknown (returned as `conditions`).
 */
export function checkNodeHealth(prev: NodeHealth | undefined, node: Obj, lease: Obj | undefined, now: number, opts: HealthOptions): HealthCheck {
  const ready = nodeCondition(node, 'Ready');
  const created = parseTime(node?.metadata?.creationTimestamp) ?? now;
  const seen = (probe: number, transition: number): NodeHealth => ({
    probeTimestamp: probe,
    readyTransitionTimestamp: transition,
    readyHeartbeat: ready?.lastHeartbeatTime,
    readyTransition: ready?.lastTransitionTime,
    hadReady: !!ready,
    leaseRenewTime: prev?.leaseRenewTime,
  });
  let health: NodeHealth;
  let gracePeriodMs: number;
  if (!ready) {
    // Never posted: judge from the node's creation, with the startup grace period.
    gracePeriodMs = opts.startupGracePeriodMs;
    if (!prev) health = seen(created, created);
    else if (prev.hadReady) health = seen(now, now); // the Ready condition was removed: start over, as upstream
    else health = { ...prev };
  } else {
    gracePeriodMs = opts.gracePeriodMs;
    if (!prev || !prev.hadReady) health = seen(now, now);
    else if (prev.readyHeartbeat !== ready.lastHeartbeatTime) {
      health = seen(now, prev.readyTransition !== ready.lastTransitionTime ? now : prev.readyTransitionTimestamp);
    } else health = { ...prev, readyTransition: ready.lastTransitionTime };
  }
  const renew = lease?.spec?.renewTime;
  if (leaseRenewed(health.leaseRenewTime, renew)) {
    health = { ...health, leaseRenewTime: renew, probeTimestamp: now };
  }
  const observedReady = readyStatus(node);
  const out: HealthCheck = { health, gracePeriodMs, observedReady, currentReady: observedReady };
  if (now <= health.probeTimestamp + gracePeriodMs) return out;

  // Not heard from for the grace period: every kubelet-owned condition is Unknown.
  const t = kubeTime(now);
  const conditions: Obj[] = (node?.status?.conditions ?? []).map((c: Obj) => ({ ...c }));
  for (const type of NODE_CONDITIONS_MARKED_UNKNOWN) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      conditions.push({
        type,
        status: 'Unknown',
        lastHeartbeatTime: node?.metadata?.creationTimestamp,
        lastTransitionTime: t,
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
      });
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = t;
    }
  }
  const newReady = conditions.find((c) => c.type === 'Ready');
  if (ready && JSON.stringify(newReady) === JSON.stringify(ready)) return out; // already Unknown: nothing to write
  out.conditions = conditions;
  out.currentReady = 'Unknown';
  out.health = { ...health, readyTransitionTimestamp: now, readyTransition: newReady?.lastTransitionTime, hadReady: true, readyHeartbeat: newReady?.lastHeartbeatTime };
  return out;
}

// ---- taints ------------------------------------------------------------------------

const sameTaint = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
const hasTaint = (taints: Taint[], key: string, effect: string) => taints.some((t) => t.key === key && t.effect === effect);

/** upstream's nodeConditionToTaintKeyStatusMap. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

/** The NoSchedule taints the node's conditions and spec.unschedulable call for (upstream TaintNodesByCondition). */
export function conditionTaints(node: Obj): Taint[] {
  const out: Taint[] = [];
  for (const c of node?.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c?.type]?.[c?.status];
    if (key && !hasTaint(out, key, 'NoSchedule')) out.push({ key, effect: 'NoSchedule' });
  }
  if (node?.spec?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return out;
}

/** The NoExecute taint the node's Ready status calls for, if any. */
export function noExecuteTaintKey(ready: 'True' | 'False' | 'Unknown'): string | undefined {
  return ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
}

/** True when the node should get a NoExecute taint it does not have yet (neither not-ready nor unreachable). */
export function needsNewNoExecuteTaint(node: Obj): boolean {
  const key = noExecuteTaintKey(readyStatus(node));
  if (!key) return false;
  const taints: Taint[] = node?.spec?.taints ?? [];
  return !hasTaint(taints, TAINT_NOT_READY, 'NoExecute') && !hasTaint(taints, TAINT_UNREACHABLE, 'NoExecute');
}

export interface TaintPlanOptions {
  now: number;
  /** A new NoExecute taint may be added (the zone's rate limiter allows it). */
  allowNewNoExecute: boolean;
  /** Every zone is fully disrupted: remove the controller's NoExecute taints and add none. */
  masterDisruption?: boolean;
}

/**
 * The node's taints after the condition (NoSchedule) pass and the NoExecute
 * pass; undefined when nothing changes. Taints the controller does not own
 * are kept as they are, in their order.
 */
export function planNodeTaints(node: Obj, opts: TaintPlanOptions): Taint[] | undefined {
  const current: Taint[] = (node?.spec?.taints ?? []).map((t: Taint) => ({ ...t }));
  // NoSchedule: the condition taints exactly.
  const wantNoSchedule = conditionTaints(node);
  const ownedNoSchedule = (t: Taint) => t.effect === 'NoSchedule' && (t.key === TAINT_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key));
  let next = current.filter((t) => !ownedNoSchedule(t) || wantNoSchedule.some((w) => sameTaint(w, t)));
  for (const w of wantNoSchedule) if (!next.some((t) => sameTaint(t, w))) next.push(w);

  // NoExecute: not-ready / unreachable follow the Ready condition.
  const want = opts.masterDisruption ? undefined : noExecuteTaintKey(readyStatus(node));
  const hasNotReady = hasTaint(next, TAINT_NOT_READY, 'NoExecute');
  const hasUnreachable = hasTaint(next, TAINT_UNREACHABLE, 'NoExecute');
  const isOwnedNoExecute = (t: Taint) => t.effect === 'NoExecute' && (t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE);
  if (!want) {
    next = next.filter((t) => !isOwnedNoExecute(t));
  } else if (!hasTaint(next, want, 'NoExecute')) {
    // Swapping one for the other is immediate; a first taint waits for the rate limiter.
    if (hasNotReady || hasUnreachable || opts.allowNewNoExecute) {
      next = next.filter((t) => !isOwnedNoExecute(t));
      next.push({ key: want, effect: 'NoExecute', timeAdded: kubeTime(opts.now) });
    }
  } else {
    next = next.filter((t) => !isOwnedNoExecute(t) || t.key === want);
  }
  return taintsEqual(current, next) ? undefined : next;
}

function taintsEqual(a: Taint[], b: Taint[]): boolean {
  if (a.length !== b.length) return false;
  const key = (t: Taint) => `${t.key}\0${t.value ?? ''}\0${t.effect}`;
  const sa = a.map(key).sort();
  const sb = b.map(key).sort();
  return sa.every((k, i) => k === sb[i]);
}

// ---- disruption ----------------------------------------------------------------------

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** upstream GetZoneKey: region and zone labels (either may be empty). */
export function zoneOf(node: Obj): string {
  const l = node?.metadata?.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region || zone ? `${region}:\u0000:${zone}` : '';
}

/** upstream ComputeZoneState: no Ready node -> full; > 2 not ready and at least the threshold share -> partial. */
export function computeZoneState(ready: Array<'True' | 'False' | 'Unknown'>, unhealthyThreshold = DEFAULT_UNHEALTHY_ZONE_THRESHOLD): ZoneState {
  const readyCount = ready.filter((s) => s === 'True').length;
  const notReady = ready.length - readyCount;
  if (readyCount === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / ready.length >= unhealthyThreshold) return 'PartialDisruption';
  return 'Normal';
}

export interface DisruptionOptions {
  evictionQps: number;
  secondaryEvictionQps: number;
  largeClusterThreshold: number;
  unhealthyZoneThreshold: number;
}

export interface Disruption {
  zones: Map<string, { state: ZoneState; size: number; qps: number }>;
  /** Every zone is fully disrupted (upstream "master disruption mode"). */
  allFullyDisrupted: boolean;
}

/** Zone states and the rate at which each zone's nodes may be newly tainted NoExecute (upstream handleDisruption/setLimiterInZone). */
export function computeDisruption(nodes: Obj[], readyOf: (n: Obj) => 'True' | 'False' | 'Unknown', opts: DisruptionOptions): Disruption {
  const byZone = new Map<string, Array<'True' | 'False' | 'Unknown'>>();
  for (const n of nodes) {
    const z = zoneOf(n);
    const list = byZone.get(z) ?? [];
    list.push(readyOf(n));
    byZone.set(z, list);
  }
  const zones: Disruption['zones'] = new Map();
  for (const [z, list] of byZone) {
    const state = computeZoneState(list, opts.unhealthyZoneThreshold);
    let qps = opts.evictionQps;
    if (state === 'PartialDisruption') qps = list.length > opts.largeClusterThreshold ? opts.secondaryEvictionQps : 0;
    zones.set(z, { state, size: list.length, qps });
  }
  const allFullyDisrupted = zones.size > 0 && [...zones.values()].every((z) => z.state === 'FullDisruption');
  if (allFullyDisrupted) for (const z of zones.values()) z.qps = 0;
  return { zones, allFullyDisrupted };
}

/** A token bucket (burst 1 by default), as the rate limiter behind upstream's RateLimitedTimedQueue. */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;
  constructor(
    private qps: number,
    private readonly burst = 1,
  ) {
    this.tokens = burst;
  }

  get rate(): number {
    return this.qps;
  }

  /** A new rate; as upstream's SwapLimiter, the bucket starts over (full). */
  setQps(qps: number, now: number): void {
    if (qps === this.qps) return;
    this.qps = qps;
    this.tokens = this.burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (this.last !== undefined && this.qps > 0) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  tryAccept(now: number): boolean {
    if (this.qps <= 0) return false;
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

// ---- pods ---------------------------------------------------------------------------

/**
 * upstream MarkPodsNotReady for one pod: its status with Ready False (and the
 * transition time now), or undefined when it is not Ready=True-or-Unknown.
 */
export function podStatusNotReady(pod: Obj, now: number): Obj | undefined {
  const conditions: Obj[] = pod?.status?.conditions ?? [];
  const i = conditions.findIndex((c) => c?.type === 'Ready');
  if (i < 0 || conditions[i].status === 'False') return undefined;
  const next = conditions.map((c, j) => (j === i ? { ...c, status: 'False', lastTransitionTime: kubeTime(now) } : c));
  return { ...pod.status, conditions: next };
}

// ---- taint eviction -----------------------------------------------------------------

/** upstream Toleration.ToleratesTaint. */
export function toleratesTaint(tol: Obj, taint: Taint): boolean {
  if (tol?.effect && tol.effect !== taint.effect) return false;
  if (tol?.key && tol.key !== taint.key) return false;
  const op = tol?.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (tol?.value ?? '') === (taint.value ?? '');
  return false;
}

export function noExecuteTaints(node: Obj | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t: Taint) => t?.effect === 'NoExecute');
}

export type EvictionDecision =
  | { action: 'none' }
  | { action: 'evict'; taint: Taint }
  | { action: 'evictAt'; at: number; taint: Taint };

/**
 * What the taint eviction controller does with a pod on a node with these
 * NoExecute taints: nothing (no taints, or tolerated forever), delete now (a
 * taint no toleration matches, or tolerationSeconds <= 0 / already run out),
 * or delete at a time. For each taint the first matching toleration counts
 * (upstream GetMatchingTolerations); its tolerationSeconds run from the
 * taint's timeAdded, or from `firstSeen(taint)` when it has none.
 */
export function planTaintEviction(pod: Obj, taints: Taint[], now: number, firstSeen: (t: Taint) => number = () => now): EvictionDecision {
  if (taints.length === 0) return { action: 'none' };
  const tolerations: Obj[] = pod?.spec?.tolerations ?? [];
  let earliest: { at: number; taint: Taint } | undefined;
  for (const taint of taints) {
    const tol = tolerations.find((t) => toleratesTaint(t, taint));
    if (!tol) return { action: 'evict', taint };
    const secs = tol.tolerationSeconds;
    if (secs === undefined || secs === null) continue; // tolerated forever
    const start = parseTime(taint.timeAdded) ?? firstSeen(taint);
    const at = start + Math.max(0, Number(secs)) * 1000;
    if (!earliest || at < earliest.at) earliest = { at, taint };
  }
  if (!earliest) return { action: 'none' };
  return earliest.at <= now ? { action: 'evict', taint: earliest.taint } : { action: 'evictAt', at: earliest.at, taint: earliest.taint };
}

/** Terminal pods are never evicted (nothing runs). */
export const isTerminal = (pod: Obj): boolean => pod?.status?.phase === 'Succeeded' || pod?.status?.phase === 'Failed';
