// A pod's status as kubelet reports it, computed from what the agent knows of
// its containers (pure: state in, PodStatus out):
//   - containerStatuses/initContainerStatuses: state (waiting with a reason,
//     running, terminated with exit code and reason), lastState, ready,
//     started, restartCount, image, imageID, containerID;
//   - phase, as kubelet's getPhase: Pending until every container has been
//     started, Running while one runs or restarts, Succeeded when all exited 0
//     and none will restart, Failed when all exited and one failed for good;
//   - conditions PodReadyToStartContainers, Initialized, ContainersReady and
//     Ready with upstream's reasons and messages (PodScheduled is kept);
//   - podIP(s), hostIP(s), startTime.

export type Obj = Record<string, any>;

export const RUNTIME_SCHEME = 'k8ts';

/** One container as the agent tracks it. */
export interface ContainerView {
  name: string;
  image: string;
  imageId?: string;
  /** The current attempt: waiting (not started, or in back-off), running, or terminated. */
  state:
    | { waiting: { reason: string; message?: string } }
    | { running: { startedAt: string } }
    | { terminated: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string; signal?: number } };
  containerId?: string;
  /** The previous attempt's end, if any. */
  lastTerminated?: { exitCode: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string; containerId?: string };
  restartCount: number;
  /** Readiness probe result (true when there is no readiness probe and it runs). */
  ready: boolean;
  /** Startup probe passed (or none) and running. */
  started: boolean;
}

export interface PodView {
  sandboxReady: boolean;
  podIPs: string[];
  hostIPs: string[];
  startTime?: string;
  init: ContainerView[];
  containers: ContainerView[];
  /** A pod-level failure (e.g. DeadlineExceeded, Evicted): phase Failed with this reason. */
  failed?: { reason: string; message: string };
}

const isTerminated = (c: ContainerView): c is ContainerView & { state: { terminated: any } } => 'terminated' in c.state;
const isRunning = (c: ContainerView): boolean => 'running' in c.state;
const isWaiting = (c: ContainerView): boolean => 'waiting' in c.state;

/** Whether an init container has finished successfully. */
export const initDone = (c: ContainerView | undefined): boolean => !!c && isTerminated(c) && c.state.terminated.exitCode === 0;

/** kubelet's getPhase. */
export function podPhase(pod: Obj, v: PodView): string {
  if (v.failed) return 'Failed';
  const policy: string = pod.spec?.restartPolicy ?? 'Always';
  const initSpecs: Obj[] = pod.spec?.initContainers ?? [];
  // Init containers (non-sidecar) must all have succeeded first.
  const initPending = initSpecs.some((spec) => spec.restartPolicy !== 'Always' && !initDone(v.init.find((c) => c.name === spec.name)));
  if (initPending) {
    const failedForGood = v.init.some((c) => isTerminated(c) && c.state.terminated.exitCode !== 0) && policy === 'Never';
    return failedForGood ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  let unknown = 0;
  for (const spec of pod.spec?.containers ?? []) {
    const c = v.containers.find((x) => x.name === spec.name);
    if (!c) unknown++;
    else if (isRunning(c)) running++;
    else if (isTerminated(c)) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** A previous attempt's end as the API spells it (containerID with the runtime scheme). */
function lastTerminated({ containerId, ...rest }: NonNullable<ContainerView['lastTerminated']>): Obj {
  return { ...rest, containerID: containerId ? `${RUNTIME_SCHEME}://${containerId}` : undefined };
}

function containerStatus(c: ContainerView): Obj {
  const id = (x?: string) => (x ? `${RUNTIME_SCHEME}://${x}` : undefined);
  const state: Obj = {};
  if ('waiting' in c.state) state.waiting = { reason: c.state.waiting.reason, ...(c.state.waiting.message ? { message: c.state.waiting.message } : {}) };
  else if ('running' in c.state) state.running = { startedAt: c.state.running.startedAt };
  else state.terminated = { ...c.state.terminated, containerID: id(c.containerId) };
  const out: Obj = {
    name: c.name,
    state,
    lastState: c.lastTerminated ? { terminated: lastTerminated(c.lastTerminated) } : {},
    ready: c.ready && isRunning(c),
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.imageId ?? '',
    started: isRunning(c) && c.started,
  };
  if (c.containerId) out.containerID = id(c.containerId);
  return JSON.parse(JSON.stringify(out)); // drops undefined fields
}

interface Cond {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

function conditions(pod: Obj, v: PodView, phase: string): Cond[] {
  const initSpecs: Obj[] = pod.spec?.initContainers ?? [];
  const incompleteInit = initSpecs.filter((s) => s.restartPolicy !== 'Always' && !initDone(v.init.find((c) => c.name === s.name))).map((s) => s.name);
  const finished = phase === 'Succeeded' || phase === 'Failed';
  const initialized: Cond =
    incompleteInit.length === 0 || finished
      ? { type: 'Initialized', status: 'True' }
      : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incompleteInit.join(' ')}]` };
  const unready = (pod.spec?.containers ?? [])
    .map((s: Obj) => s.name)
    .filter((n: string) => {
      const c = v.containers.find((x) => x.name === n);
      return !c || !c.ready || !isRunning(c);
    });
  let containersReady: Cond;
  if (finished) containersReady = { type: 'ContainersReady', status: 'False', reason: phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed' };
  else if (unready.length === 0) containersReady = { type: 'ContainersReady', status: 'True' };
  else containersReady = { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  // Readiness gates: every listed condition must be True on the pod.
  const gates: string[] = (pod.spec?.readinessGates ?? []).map((g: Obj) => g.conditionType);
  const existing: Obj[] = pod.status?.conditions ?? [];
  const missingGates = gates.filter((g) => existing.find((c) => c.type === g)?.status !== 'True');
  let ready: Cond;
  if (containersReady.status !== 'True') ready = { ...containersReady, type: 'Ready' };
  else if (missingGates.length) ready = { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${missingGates[0]}" does not exist.` };
  else ready = { type: 'Ready', status: 'True' };
  const sandbox: Cond = { type: 'PodReadyToStartContainers', status: v.sandboxReady && !finished ? 'True' : 'False' };
  return [sandbox, initialized, ready, containersReady];
}

/** Merges new conditions into the existing ones: lastTransitionTime moves only when the status changes; others (PodScheduled, gates) are kept. */
export function mergeConditions(existing: Obj[], next: Cond[], now: string): Obj[] {
  const out: Obj[] = [];
  const types = new Set(next.map((c) => c.type));
  for (const c of next) {
    const prev = existing.find((e) => e.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : now;
    out.push(JSON.parse(JSON.stringify({ type: c.type, status: c.status, lastProbeTime: null, lastTransitionTime, reason: c.reason, message: c.message })));
  }
  for (const e of existing) if (!types.has(e.type)) out.push(e);
  return out;
}

/** The pod's full status (keeping fields the agent does not own, like qosClass and PodScheduled). */
export function podStatus(pod: Obj, v: PodView, now: string): Obj {
  const phase = podPhase(pod, v);
  const prev: Obj = pod.status ?? {};
  const out: Obj = {
    ...prev,
    phase,
    conditions: mergeConditions(prev.conditions ?? [], conditions(pod, v, phase), now),
    hostIP: v.hostIPs[0],
    hostIPs: v.hostIPs.map((ip) => ({ ip })),
    startTime: prev.startTime ?? v.startTime ?? now,
    containerStatuses: v.containers.map(containerStatus),
  };
  if (v.podIPs.length) {
    out.podIP = v.podIPs[0];
    out.podIPs = v.podIPs.map((ip) => ({ ip }));
  }
  if ((pod.spec?.initContainers ?? []).length) out.initContainerStatuses = v.init.map(containerStatus);
  if (v.failed) {
    out.reason = v.failed.reason;
    out.message = v.failed.message;
  }
  return JSON.parse(JSON.stringify(out));
}

/** Whether two statuses differ in anything but heartbeat-like noise (used to skip no-op writes). */
export function statusDiffers(a: Obj | undefined, b: Obj): boolean {
  return JSON.stringify(a ?? {}) !== JSON.stringify(b);
}
