// The scheduler's pure core, as upstream's default-scheduler profile:
// pod + nodes + the pods already on each node -> a node, or the reasons no
// node fits (worded and sorted as upstream's FitError).
//
// Filters run in upstream's plugin order and stop at a node's first failure:
//   NodeUnschedulable, TaintToleration (plus the not-ready/unreachable taints
//   upstream's node lifecycle controller would add), NodeAffinity (nodeSelector
//   and required node affinity), NodePorts, NodeResourcesFit.
// Scores (upstream weights): NodeResourcesFit least-allocated (1),
//   NodeResourcesBalancedAllocation (1), spreading of one controller's pods
//   (2, as PodTopologySpread's default constraints), preferred node affinity
//   (2), PreferNoSchedule taints (3).
import { toMilli } from '../api/quantity.js';

export type Obj = Record<string, any>;

export interface ScheduleOptions {
  /** Picks among equally good nodes: the index (mod the number of ties). */
  tieBreak?: number;
}

export type ScheduleResult = { node: string; scores?: Record<string, number> } | { unschedulable: string };

export const DEFAULT_MAX_PODS = 110;
/** Upstream's defaults for scoring containers that request nothing (non-zero requests). */
const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY_MILLI = 200 * 1024 * 1024 * 1000;

export const ERR_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const ERR_UNSCHEDULABLE = 'node(s) were unschedulable';
export const ERR_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const ERR_TOO_MANY_PODS = 'Too many pods';
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';

const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';

// ---------- resources ----------

/** Resource amounts in milli-units ("cpu": millicores, "memory": milli-bytes). */
export type Resources = Record<string, number>;

function addInto(a: Resources, b: Resources): void {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
}
function maxInto(a: Resources, b: Resources): void {
  for (const [k, v] of Object.entries(b)) a[k] = Math.max(a[k] ?? 0, v);
}

function containerRequests(c: Obj, nonZero: boolean): Resources {
  const out: Resources = {};
  const req: Obj = c?.resources?.requests ?? {};
  // As upstream's defaulting, limits stand in for missing requests.
  const lim: Obj = c?.resources?.limits ?? {};
  for (const k of new Set([...Object.keys(req), ...Object.keys(lim)])) {
    const v = req[k] ?? lim[k];
    try {
      out[k] = toMilli(v);
    } catch {
      /* an invalid quantity counts as nothing */
    }
  }
  if (nonZero) {
    if (out.cpu === undefined) out.cpu = DEFAULT_MILLI_CPU;
    if (out.memory === undefined) out.memory = DEFAULT_MEMORY_MILLI;
  }
  return out;
}

/**
 * A pod's effective requests, as upstream's resource helpers: the larger of
 * the sum over its containers (plus restartable init containers, i.e.
 * sidecars) and each init container's (plus the sidecars started before it),
 * plus the pod's overhead. `nonZero` substitutes upstream's scoring defaults
 * for containers that request no cpu/memory.
 */
export function podRequests(pod: Obj, nonZero = false): Resources {
  const sum: Resources = {};
  for (const c of pod?.spec?.containers ?? []) addInto(sum, containerRequests(c, nonZero));
  const sidecars: Resources = {};
  const initMax: Resources = {};
  for (const c of pod?.spec?.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c?.restartPolicy === 'Always') {
      addInto(sidecars, r);
      const cur: Resources = { ...sidecars };
      maxInto(initMax, cur);
    } else {
      const cur: Resources = { ...sidecars };
      addInto(cur, r);
      maxInto(initMax, cur);
    }
  }
  addInto(sum, sidecars);
  maxInto(sum, initMax);
  const overhead: Obj = pod?.spec?.overhead ?? {};
  for (const [k, v] of Object.entries(overhead)) {
    try {
      sum[k] = (sum[k] ?? 0) + toMilli(v as string);
    } catch {
      /* ignore */
    }
  }
  return sum;
}

export function nodeAllocatable(node: Obj): Resources {
  const a: Obj = node?.status?.allocatable ?? node?.status?.capacity ?? {};
  const out: Resources = {};
  for (const [k, v] of Object.entries(a)) {
    try {
      out[k] = toMilli(v as string);
    } catch {
      /* ignore */
    }
  }
  return out;
}

function maxPods(node: Obj): number {
  const a = node?.status?.allocatable?.pods ?? node?.status?.capacity?.pods;
  if (a === undefined) return DEFAULT_MAX_PODS;
  try {
    return Math.floor(toMilli(a) / 1000);
  } catch {
    return DEFAULT_MAX_PODS;
  }
}

// ---------- taints and tolerations ----------

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export function tolerates(toleration: Obj, taint: Taint): boolean {
  if (toleration?.effect && toleration.effect !== taint.effect) return false;
  if (toleration?.key && toleration.key !== taint.key) return false;
  const op = toleration?.operator || 'Equal';
  if (op === 'Exists') return true;
  if (!toleration?.key) return false; // an empty key needs Exists
  return (toleration.value ?? '') === (taint.value ?? '');
}

const toleratedBy = (pod: Obj, taint: Taint): boolean => (pod?.spec?.tolerations ?? []).some((t: Obj) => tolerates(t, taint));

function readyStatus(node: Obj): string | undefined {
  return (node?.status?.conditions ?? []).find((c: Obj) => c?.type === 'Ready')?.status;
}

/**
 * The node's taints, plus the taint upstream's node lifecycle controller
 * would put on a node whose Ready condition is not True (not-ready when
 * False, unreachable when Unknown or missing).
 */
export function effectiveTaints(node: Obj): Taint[] {
  const taints: Taint[] = [...(node?.spec?.taints ?? [])];
  const ready = readyStatus(node);
  if (ready !== 'True') {
    const key = ready === 'False' ? TAINT_NOT_READY : TAINT_UNREACHABLE;
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
  }
  return taints;
}

// ---------- node affinity ----------

function matchExpression(req: Obj, value: string | undefined, present: boolean): boolean {
  const values: string[] = req?.values ?? [];
  switch (req?.operator) {
    case 'In':
      return present && values.includes(value!);
    case 'NotIn':
      return !present || !values.includes(value!);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
    case 'Lt': {
      if (!present || values.length !== 1 || !/^-?\d+$/.test(value!) || !/^-?\d+$/.test(values[0]!)) return false;
      const a = BigInt(value!);
      const b = BigInt(values[0]!);
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One NodeSelectorTerm: every expression and field must match; an empty term matches nothing. */
export function matchTerm(term: Obj, node: Obj): boolean {
  const exprs: Obj[] = term?.matchExpressions ?? [];
  const fields: Obj[] = term?.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels: Obj = node?.metadata?.labels ?? {};
  for (const e of exprs) {
    if (!matchExpression(e, labels[e.key], Object.prototype.hasOwnProperty.call(labels, e.key))) return false;
  }
  for (const f of fields) {
    if (f?.key !== 'metadata.name') return false;
    if (!matchExpression(f, node?.metadata?.name, true)) return false;
  }
  return true;
}

/** nodeSelector and required node affinity (terms are ORed). */
export function matchesNodeSelectorAndAffinity(pod: Obj, node: Obj): boolean {
  const labels: Obj = node?.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod?.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const terms: Obj[] = required.nodeSelectorTerms ?? [];
    if (!terms.some((t) => matchTerm(t, node))) return false;
  }
  return true;
}

// ---------- host ports ----------

interface HostPort {
  port: number;
  protocol: string;
  ip: string;
}

function hostPorts(pod: Obj): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod?.spec?.containers ?? []) {
    for (const p of c?.ports ?? []) {
      if (p?.hostPort > 0) out.push({ port: p.hostPort, protocol: p.protocol || 'TCP', ip: p.hostIP || '0.0.0.0' });
    }
  }
  return out;
}

const portsConflict = (a: HostPort, b: HostPort): boolean =>
  a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0');

// ---------- filtering ----------

interface FilterResult {
  reasons: string[];
  /** UnschedulableAndUnresolvable: preemption cannot help. */
  unresolvable: boolean;
}

function fitResources(pod: Obj, node: Obj, others: Obj[]): string[] {
  const reasons: string[] = [];
  if (others.length + 1 > maxPods(node)) reasons.push(ERR_TOO_MANY_PODS);
  const want = podRequests(pod);
  const alloc = nodeAllocatable(node);
  const used: Resources = {};
  for (const p of others) addInto(used, podRequests(p));
  const names = Object.keys(want).filter((k) => k !== 'pods' && want[k]! > 0);
  // cpu, memory, then the rest alphabetically (upstream: cpu, memory, ephemeral-storage, scalar resources).
  const rank = (k: string) => (k === 'cpu' ? 0 : k === 'memory' ? 1 : k === 'ephemeral-storage' ? 2 : 3);
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const k of names) {
    if ((alloc[k] ?? 0) < want[k]! + (used[k] ?? 0)) reasons.push(`Insufficient ${k}`);
  }
  return reasons;
}

function filter(pod: Obj, node: Obj, others: Obj[]): FilterResult | undefined {
  if (node?.spec?.unschedulable && !toleratedBy(pod, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' })) {
    return { reasons: [ERR_UNSCHEDULABLE], unresolvable: true };
  }
  const untolerated = effectiveTaints(node).find(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !toleratedBy(pod, t),
  );
  if (untolerated) {
    return { reasons: [`node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`], unresolvable: true };
  }
  if (!matchesNodeSelectorAndAffinity(pod, node)) return { reasons: [ERR_AFFINITY], unresolvable: true };
  const want = hostPorts(pod);
  if (want.length) {
    const used = others.flatMap(hostPorts);
    if (want.some((w) => used.some((u) => portsConflict(w, u)))) return { reasons: [ERR_PORTS], unresolvable: false };
  }
  const res = fitResources(pod, node, others);
  if (res.length) return { reasons: res, unresolvable: false };
  return undefined;
}

// ---------- scoring ----------

function leastAllocated(want: Resources, used: Resources, alloc: Resources): number {
  let total = 0;
  for (const k of ['cpu', 'memory']) {
    const cap = alloc[k] ?? 0;
    const req = (used[k] ?? 0) + (want[k] ?? 0);
    total += cap <= 0 || req > cap ? 0 : ((cap - req) * 100) / cap;
  }
  return total / 2;
}

function balanced(want: Resources, used: Resources, alloc: Resources): number {
  const frac = ['cpu', 'memory'].map((k) => {
    const cap = alloc[k] ?? 0;
    if (cap <= 0) return 1;
    return Math.min(1, ((used[k] ?? 0) + (want[k] ?? 0)) / cap);
  });
  const std = Math.abs(frac[0]! - frac[1]!) / 2;
  return (1 - std) * 100;
}

/** The uid of a pod's controller (ownerReferences[controller=true]). */
export function controllerUid(pod: Obj): string | undefined {
  return (pod?.metadata?.ownerReferences ?? []).find((r: Obj) => r?.controller)?.uid;
}

function preferredAffinity(pod: Obj, node: Obj): number {
  let sum = 0;
  for (const p of pod?.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (p?.weight && matchTerm(p.preference, node)) sum += p.weight;
  }
  return sum;
}

function preferNoScheduleCount(pod: Obj, node: Obj): number {
  return (node?.spec?.taints ?? []).filter((t: Taint) => t.effect === 'PreferNoSchedule' && !toleratedBy(pod, t)).length;
}

/** Scales raw values to 0..100 (higher raw is better unless `reverse`). */
function normalize(raw: number[], reverse: boolean): number[] {
  const max = Math.max(0, ...raw);
  return raw.map((v) => {
    if (max === 0) return reverse ? 100 : 0;
    const s = (v * 100) / max;
    return reverse ? 100 - s : s;
  });
}

function scoreNodes(pod: Obj, nodes: Obj[], podsOnNodes: Map<string, Obj[]>): number[] {
  const want = podRequests(pod, true);
  const owner = controllerUid(pod);
  const fit: number[] = [];
  const bal: number[] = [];
  const same: number[] = [];
  const aff: number[] = [];
  const taints: number[] = [];
  for (const n of nodes) {
    const others = podsOnNodes.get(n.metadata?.name) ?? [];
    const used: Resources = {};
    for (const p of others) addInto(used, podRequests(p, true));
    const alloc = nodeAllocatable(n);
    fit.push(leastAllocated(want, used, alloc));
    bal.push(balanced(want, used, alloc));
    same.push(owner ? others.filter((p) => controllerUid(p) === owner).length : 0);
    aff.push(preferredAffinity(pod, n));
    taints.push(preferNoScheduleCount(pod, n));
  }
  const spread = normalize(same, true);
  const affN = normalize(aff, false);
  const taintN = normalize(taints, true);
  return nodes.map((_, i) => fit[i]! + bal[i]! + 2 * spread[i]! + 2 * affN[i]! + 3 * taintN[i]!);
}

// ---------- the whole cycle ----------

function histogram(counts: Map<string, number>): string {
  return [...counts.entries()].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/** Pods that occupy a node: bound to it and not finished. */
export function isActive(pod: Obj): boolean {
  const phase = pod?.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * Picks a node for `pod`. `podsOnNodes` maps node name -> the pods already on
 * it (including ones assumed but not yet seen bound). Never throws.
 */
export function schedule(pod: Obj, nodes: Obj[], podsOnNodes: Map<string, Obj[]> | Record<string, Obj[]>, opts: ScheduleOptions = {}): ScheduleResult {
  const onNodes = podsOnNodes instanceof Map ? podsOnNodes : new Map(Object.entries(podsOnNodes));
  const sorted = [...nodes].sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  const feasible: Obj[] = [];
  const failures = new Map<string, FilterResult>();
  for (const n of sorted) {
    const others = (onNodes.get(n.metadata?.name) ?? []).filter(isActive);
    const f = filter(pod, n, others);
    if (f) failures.set(n.metadata?.name, f);
    else feasible.push(n);
  }
  if (!feasible.length) return { unschedulable: fitError(pod, sorted, onNodes, failures) };
  const filteredOn = new Map<string, Obj[]>();
  for (const n of feasible) filteredOn.set(n.metadata?.name, (onNodes.get(n.metadata?.name) ?? []).filter(isActive));
  const scores = scoreNodes(pod, feasible, filteredOn);
  const best = Math.max(...scores);
  // Float noise must not split ties.
  const ties = feasible.filter((_, i) => Math.abs(scores[i]! - best) < 1e-9);
  const idx = (((opts.tieBreak ?? 0) % ties.length) + ties.length) % ties.length;
  const byName: Record<string, number> = {};
  feasible.forEach((n, i) => (byName[n.metadata?.name] = Math.round(scores[i]! * 100) / 100));
  return { node: ties[idx]!.metadata.name, scores: byName };
}

function priorityOf(pod: Obj): number {
  return typeof pod?.spec?.priority === 'number' ? pod.spec.priority : 0;
}

function fitError(pod: Obj, nodes: Obj[], onNodes: Map<string, Obj[]>, failures: Map<string, FilterResult>): string {
  const counts = new Map<string, number>();
  for (const f of failures.values()) for (const r of f.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const n = nodes.length;
  let msg = `0/${n} nodes are available: ${histogram(counts)}.`;
  if (n === 0) msg = `no nodes available to schedule pods`;
  if (n === 0) return msg;
  // The PostFilter (default preemption) message, as upstream when it finds no candidate.
  if (pod?.spec?.preemptionPolicy === 'Never') return `${msg} preemption: not eligible due to preemptionPolicy=Never.`;
  const pre = new Map<string, number>();
  const bump = (r: string) => pre.set(r, (pre.get(r) ?? 0) + 1);
  const prio = priorityOf(pod);
  for (const node of nodes) {
    const f = failures.get(node.metadata?.name);
    if (!f || f.unresolvable) {
      bump(PREEMPTION_NOT_HELPFUL);
      continue;
    }
    const others = (onNodes.get(node.metadata?.name) ?? []).filter(isActive);
    const keep = others.filter((p) => priorityOf(p) >= prio);
    if (keep.length === others.length) {
      bump(NO_VICTIMS);
      continue;
    }
    // Victims exist: would removing them all help? (Preemption itself is not carried out.)
    const again = filter(pod, node, keep);
    if (again) for (const r of again.reasons) bump(r);
    else bump(NO_VICTIMS);
  }
  return `${msg} preemption: 0/${n} nodes are available: ${histogram(pre)}.`;
}
