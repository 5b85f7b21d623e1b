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

export interface HostPort {
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

// ---------- per-pod and per-node facts (upstream's PodInfo and NodeInfo) ----------

/** What scheduling needs to know about a pod, computed once per pod. */
export interface PodInfo {
  pod: Obj;
  /** Effective requests (filtering). */
  requests: Resources;
  /** Requests with upstream's non-zero defaults (scoring). */
  nonZero: Resources;
  ports: HostPort[];
  owner: string | undefined;
  priority: number;
}

export function podInfo(pod: Obj): PodInfo {
  return {
    pod,
    requests: podRequests(pod),
    nonZero: podRequests(pod, true),
    ports: hostPorts(pod),
    owner: controllerUid(pod),
    priority: priorityOf(pod),
  };
}

// cpu and memory, the resources every cycle looks at, are also kept as plain
// number fields: a property lookup by a variable key costs far more (V8's
// keyed loads over objects of many shapes) than a cycle's whole arithmetic.

function subtractFrom(a: Resources, b: Resources): void {
  for (const k in b) a[k] = (a[k] ?? 0) - b[k]!;
}

/**
 * One node with the sums over the (active) pods on it, kept incrementally as
 * pods come and go, so that a scheduling cycle never walks a node's pods.
 */
export class NodeInfo {
  node: Obj | undefined;
  alloc: Resources = {};
  allocCpu = 0;
  allocMem = 0;
  maxPods = DEFAULT_MAX_PODS;
  /** Effective NoSchedule/NoExecute taints (including not-ready/unreachable). */
  hardTaints: Taint[] = [];
  /** spec.taints with effect PreferNoSchedule. */
  softTaints: Taint[] = [];
  unschedulable = false;
  readonly pods = new Map<string, PodInfo>();
  requested: Resources = {};
  nonZeroRequested: Resources = {};
  reqCpu = 0;
  reqMem = 0;
  nzCpu = 0;
  nzMem = 0;
  /** Pods per controller uid. */
  readonly owners = new Map<string, number>();
  /** Pods on the node that use host ports. */
  portPods = 0;

  constructor(
    readonly name: string,
    node?: Obj,
  ) {
    if (node) this.setNode(node);
  }

  setNode(node: Obj): void {
    this.node = node;
    this.alloc = nodeAllocatable(node);
    this.allocCpu = this.alloc.cpu ?? 0;
    this.allocMem = this.alloc.memory ?? 0;
    this.maxPods = maxPods(node);
    this.hardTaints = effectiveTaints(node).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    this.softTaints = (node?.spec?.taints ?? []).filter((t: Taint) => t.effect === 'PreferNoSchedule');
    this.unschedulable = !!node?.spec?.unschedulable;
  }

  addPod(key: string, info: PodInfo): void {
    if (this.pods.has(key)) this.removePod(key);
    this.pods.set(key, info);
    addInto(this.requested, info.requests);
    addInto(this.nonZeroRequested, info.nonZero);
    this.sums();
    if (info.owner) this.owners.set(info.owner, (this.owners.get(info.owner) ?? 0) + 1);
    if (info.ports.length) this.portPods++;
  }

  removePod(key: string): boolean {
    const info = this.pods.get(key);
    if (!info) return false;
    this.pods.delete(key);
    if (this.pods.size === 0) {
      // Start again from exact zeros (no float drift carried over).
      this.requested = {};
      this.nonZeroRequested = {};
      this.sums();
      this.owners.clear();
      this.portPods = 0;
      return true;
    }
    subtractFrom(this.requested, info.requests);
    subtractFrom(this.nonZeroRequested, info.nonZero);
    this.sums();
    if (info.owner) {
      const n = (this.owners.get(info.owner) ?? 0) - 1;
      if (n > 0) this.owners.set(info.owner, n);
      else this.owners.delete(info.owner);
    }
    if (info.ports.length) this.portPods--;
    return true;
  }

  private sums(): void {
    this.reqCpu = this.requested.cpu ?? 0;
    this.reqMem = this.requested.memory ?? 0;
    this.nzCpu = this.nonZeroRequested.cpu ?? 0;
    this.nzMem = this.nonZeroRequested.memory ?? 0;
  }

  usedPorts(): HostPort[] {
    if (!this.portPods) return [];
    const out: HostPort[] = [];
    for (const p of this.pods.values()) out.push(...p.ports);
    return out;
  }
}

// ---------- filtering ----------

interface FilterResult {
  reasons: string[];
  /** UnschedulableAndUnresolvable: preemption cannot help. */
  unresolvable: boolean;
}

const RESOURCE_RANK = (k: string) => (k === 'cpu' ? 0 : k === 'memory' ? 1 : k === 'ephemeral-storage' ? 2 : 3);

/** The resources a pod asks for, in upstream's check order: cpu, memory, ephemeral-storage, then the rest alphabetically. */
function checkedResources(want: Resources): string[] {
  const names = Object.keys(want).filter((k) => k !== 'pods' && want[k]! > 0);
  names.sort((a, b) => RESOURCE_RANK(a) - RESOURCE_RANK(b) || a.localeCompare(b));
  return names;
}

/** The per-cycle view of the pod being scheduled. */
interface Candidate {
  info: PodInfo;
  checked: string[];
  wantCpu: number;
  wantMem: number;
  nzCpu: number;
  nzMem: number;
  tolerations: Obj[];
  /** nodeSelector or required node affinity present. */
  affinity: boolean;
}

function candidate(pod: Obj): Candidate {
  const info = podInfo(pod);
  const spec = pod?.spec ?? {};
  return {
    info,
    checked: checkedResources(info.requests),
    wantCpu: info.requests.cpu ?? 0,
    wantMem: info.requests.memory ?? 0,
    nzCpu: info.nonZero.cpu ?? 0,
    nzMem: info.nonZero.memory ?? 0,
    tolerations: spec.tolerations ?? [],
    affinity: Object.keys(spec.nodeSelector ?? {}).length > 0 || !!spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
  };
}

const tolerated = (c: Candidate, taint: Taint): boolean => c.tolerations.some((t: Obj) => tolerates(t, taint));
const UNSCHEDULABLE_TAINT: Taint = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' };

function fitResources(c: Candidate, ni: NodeInfo): string[] | undefined {
  let reasons: string[] | undefined;
  if (ni.pods.size + 1 > ni.maxPods) reasons = [ERR_TOO_MANY_PODS];
  const want = c.info.requests;
  for (const k of c.checked) {
    const short =
      k === 'cpu' ? ni.allocCpu < c.wantCpu + ni.reqCpu : k === 'memory' ? ni.allocMem < c.wantMem + ni.reqMem : (ni.alloc[k] ?? 0) < want[k]! + (ni.requested[k] ?? 0);
    if (short) (reasons ??= []).push(`Insufficient ${k}`);
  }
  return reasons;
}

function filter(c: Candidate, ni: NodeInfo): FilterResult | undefined {
  const pod = c.info.pod;
  if (ni.unschedulable && !tolerated(c, UNSCHEDULABLE_TAINT)) return { reasons: [ERR_UNSCHEDULABLE], unresolvable: true };
  for (const t of ni.hardTaints) {
    if (!tolerated(c, t)) return { reasons: [`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`], unresolvable: true };
  }
  if (c.affinity && !matchesNodeSelectorAndAffinity(pod, ni.node!)) return { reasons: [ERR_AFFINITY], unresolvable: true };
  const want = c.info.ports;
  if (want.length && ni.portPods) {
    const used = ni.usedPorts();
    if (want.some((w) => used.some((u) => portsConflict(w, u)))) return { reasons: [ERR_PORTS], unresolvable: false };
  }
  const res = fitResources(c, ni);
  if (res) return { reasons: res, unresolvable: false };
  return undefined;
}

// ---------- scoring ----------

/** NodeResourcesFit least-allocated plus NodeResourcesBalancedAllocation, over cpu and memory (non-zero requests). */
function resourceScore(c: Candidate, ni: NodeInfo): number {
  const capC = ni.allocCpu;
  const capM = ni.allocMem;
  const reqC = ni.nzCpu + c.nzCpu;
  const reqM = ni.nzMem + c.nzMem;
  const least = ((capC <= 0 || reqC > capC ? 0 : ((capC - reqC) * 100) / capC) + (capM <= 0 || reqM > capM ? 0 : ((capM - reqM) * 100) / capM)) / 2;
  const fracC = capC <= 0 ? 1 : Math.min(1, reqC / capC);
  const fracM = capM <= 0 ? 1 : Math.min(1, reqM / capM);
  return least + (1 - Math.abs(fracC - fracM) / 2) * 100;
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

function preferNoScheduleCount(c: Candidate, ni: NodeInfo): number {
  let n = 0;
  for (const t of ni.softTaints) if (!tolerated(c, t)) n++;
  return n;
}

/** Scales a raw value to 0..100 given the maximum over the nodes (higher raw is better unless `reverse`). */
function normalized(v: number, max: number, reverse: boolean): number {
  if (max === 0) return reverse ? 100 : 0;
  const s = (v * 100) / max;
  return reverse ? 100 - s : s;
}

function scoreNodes(c: Candidate, nodes: NodeInfo[]): number[] {
  const owner = c.info.owner;
  const pod = c.info.pod;
  const hasPreferred = !!pod?.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length;
  const n = nodes.length;
  const scores = new Array<number>(n);
  // Raw values of the normalized scores, only when some node has one.
  let same: number[] | undefined;
  let aff: number[] | undefined;
  let taints: number[] | undefined;
  let maxSame = 0;
  let maxAff = 0;
  let maxTaints = 0;
  for (let i = 0; i < n; i++) {
    const ni = nodes[i]!;
    scores[i] = resourceScore(c, ni);
    if (owner) {
      const v = ni.owners.get(owner) ?? 0;
      if (v) (same ??= new Array<number>(n).fill(0))[i] = v;
      if (v > maxSame) maxSame = v;
    }
    if (hasPreferred) {
      const v = preferredAffinity(pod, ni.node!);
      if (v) (aff ??= new Array<number>(n).fill(0))[i] = v;
      if (v > maxAff) maxAff = v;
    }
    if (ni.softTaints.length) {
      const v = preferNoScheduleCount(c, ni);
      if (v) (taints ??= new Array<number>(n).fill(0))[i] = v;
      if (v > maxTaints) maxTaints = v;
    }
  }
  for (let i = 0; i < n; i++) {
    scores[i] =
      scores[i]! +
      2 * normalized(same?.[i] ?? 0, maxSame, true) +
      2 * normalized(aff?.[i] ?? 0, maxAff, false) +
      3 * normalized(taints?.[i] ?? 0, maxTaints, true);
  }
  return scores;
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

/** Upstream's minFeasibleNodesToFind and adaptive percentageOfNodesToScore. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * How many feasible nodes a cycle looks for before it stops filtering
 * (upstream's numFeasibleNodesToFind with the default adaptive percentage:
 * 50% - nodes/125, at least 5%, and never fewer than 100 nodes).
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) {
    pct = 50 - numAllNodes / 125;
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (pct >= 100) return numAllNodes;
  const n = Math.floor((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

export interface SnapshotScheduleOptions extends ScheduleOptions {
  /** Where the filtering starts in `nodes` (upstream's nextStartNodeIndex). */
  startIndex?: number;
  /** Stop filtering after this many feasible nodes (default: all). */
  numToFind?: number;
  /** Return every feasible node's score (default true). */
  withScores?: boolean;
}

export type SnapshotScheduleResult = ScheduleResult & {
  /** Nodes filtered in this cycle (for the next cycle's startIndex). */
  processed: number;
};

/**
 * Picks a node for `pod` among `nodes` (NodeInfos, in a stable order, e.g.
 * by name), filtering from `startIndex` round the list until `numToFind`
 * feasible nodes are found, then scoring those. Never throws.
 */
export function scheduleOnNodeInfos(pod: Obj, nodes: NodeInfo[], opts: SnapshotScheduleOptions = {}): SnapshotScheduleResult {
  const c = candidate(pod);
  const total = nodes.length;
  const want = Math.min(total, opts.numToFind ?? total);
  const start = total ? (((opts.startIndex ?? 0) % total) + total) % total : 0;
  const feasible: NodeInfo[] = [];
  let failures: Map<string, FilterResult> | undefined;
  let processed = 0;
  for (; processed < total && feasible.length < want; processed++) {
    const ni = nodes[(start + processed) % total]!;
    const f = filter(c, ni);
    if (f) (failures ??= new Map()).set(ni.name, f);
    else feasible.push(ni);
  }
  if (!feasible.length) return { unschedulable: fitError(c, nodes, failures ?? new Map()), processed };
  const scores = scoreNodes(c, feasible);
  let best = -Infinity;
  for (const s of scores) if (s > best) best = s;
  // Float noise must not split ties.
  const ties: NodeInfo[] = [];
  for (let i = 0; i < feasible.length; i++) if (Math.abs(scores[i]! - best) < 1e-9) ties.push(feasible[i]!);
  const idx = (((opts.tieBreak ?? 0) % ties.length) + ties.length) % ties.length;
  const node = ties[idx]!.name;
  if (opts.withScores === false) return { node, processed };
  const byName: Record<string, number> = {};
  feasible.forEach((n, i) => (byName[n.name] = Math.round(scores[i]! * 100) / 100));
  return { node, scores: byName, processed };
}

const collator = new Intl.Collator();
/** The order nodes are examined in: by name (as String.prototype.localeCompare). */
export const compareNodeNames = (a: string, b: string): number => collator.compare(a, b);

/**
 * Picks a node for `pod`. `podsOnNodes` maps node name -> the pods already on
 * it (including ones assumed but not yet seen bound). Never throws.
 * Every node is examined (no sampling).
 */
export function schedule(pod: Obj, nodes: Obj[], podsOnNodes: Map<string, Obj[]> | Record<string, Obj[]>, opts: ScheduleOptions = {}): ScheduleResult {
  const onNodes = podsOnNodes instanceof Map ? podsOnNodes : new Map(Object.entries(podsOnNodes));
  const sorted = [...nodes].sort((a, b) => compareNodeNames(String(a.metadata?.name), String(b.metadata?.name)));
  const infos = sorted.map((n) => {
    const ni = new NodeInfo(n.metadata?.name, n);
    (onNodes.get(n.metadata?.name) ?? []).forEach((p, i) => {
      if (isActive(p)) ni.addPod(String(i), podInfo(p));
    });
    return ni;
  });
  const { processed: _processed, ...r } = scheduleOnNodeInfos(pod, infos, { tieBreak: opts.tieBreak });
  return r as ScheduleResult;
}

function priorityOf(pod: Obj): number {
  return typeof pod?.spec?.priority === 'number' ? pod.spec.priority : 0;
}

function fitError(c: Candidate, nodes: NodeInfo[], failures: Map<string, FilterResult>): string {
  const pod = c.info.pod;
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
  const prio = c.info.priority;
  for (const node of nodes) {
    const f = failures.get(node.name);
    if (!f || f.unresolvable) {
      bump(PREEMPTION_NOT_HELPFUL);
      continue;
    }
    const others = [...node.pods.entries()];
    const keep = others.filter(([, p]) => p.priority >= prio);
    if (keep.length === others.length) {
      bump(NO_VICTIMS);
      continue;
    }
    // Victims exist: would removing them all help? (Preemption itself is not carried out.)
    const without = new NodeInfo(node.name, node.node);
    for (const [k, p] of keep) without.addPod(k, p);
    const again = filter(c, without);
    if (again) for (const r of again.reasons) bump(r);
    else bump(NO_VICTIMS);
  }
  return `${msg} preemption: 0/${n} nodes are available: ${histogram(pre)}.`;
}
