// The pod table: upstream's printPod. The STATUS cell is the subtle one; it is
// computed in the same order upstream computes it:
//   1. the phase, or status.reason when set (Evicted, NodeLost, ...);
//      SchedulingGated when the PodScheduled condition says so;
//   2. init containers in order: completed ones (exit 0) and started sidecars
//      (restartPolicy Always) are passed; the first other one decides
//      Init:<reason>, Init:ExitCode:N, Init:Signal:N or Init:i/n;
//   3. once initialized, regular containers from last to first, so the first
//      container with a waiting or terminated reason wins (CrashLoopBackOff,
//      ErrImagePull, Completed, Error, ExitCode:N); Completed with a container
//      still running reads Running (or NotReady without the Ready condition);
//   4. a deletion timestamp makes it Terminating (Unknown for NodeLost)
//      unless the pod already finished.

import { humanDuration, parseTime, since } from './format.js';
import { ageColumn, column, nameColumn, type PrintContext, type PrintedRow, type Printer, WIDE } from './types.js';

const isSidecar = (c: any): boolean => c?.restartPolicy === 'Always';
const isTrue = (conds: any[] | undefined, type: string): boolean => (conds ?? []).some((c) => c?.type === type && c?.status === 'True');

/** Tracks the latest "finishedAt" of previous terminations, as upstream's lastRestartDate. */
class LastRestart {
  t: number | undefined;
  see(status: any): void {
    const t = parseTime(status?.lastState?.terminated?.finishedAt);
    if (t !== undefined && (this.t === undefined || this.t < t)) this.t = t;
  }
}

export function podStatusCells(pod: any, now: number): { ready: string; status: string; restarts: string } {
  const spec = pod?.spec ?? {};
  const status = pod?.status ?? {};
  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  for (const c of status.conditions ?? []) if (c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated') reason = 'SchedulingGated';

  const initSpecs = new Map<string, any>();
  let total = (spec.containers ?? []).length;
  for (const c of spec.initContainers ?? []) {
    initSpecs.set(c.name, c);
    if (isSidecar(c)) total++;
  }

  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  const last = new LastRestart();
  const lastSidecar = new LastRestart();
  let initializing = false;
  const initStatuses: any[] = status.initContainerStatuses ?? [];
  const initCount = (spec.initContainers ?? []).length;
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += cs.restartCount ?? 0;
    last.see(cs);
    const sidecar = isSidecar(initSpecs.get(cs.name));
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      lastSidecar.see(cs);
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode ?? 0}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
    break;
  }

  let lastRestart = last.t;
  if (!initializing || isTrue(status.conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    const lr = lastSidecar;
    let hasRunning = false;
    const statuses: any[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += cs.restartCount ?? 0;
      lr.see(cs);
      const waiting = cs.state?.waiting;
      const terminated = cs.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? 0}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = isTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
    lastRestart = lr.t;
  }

  if (pod?.metadata?.deletionTimestamp) {
    if (status.reason === 'NodeLost') reason = 'Unknown';
    else if (phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  }

  const restartsText = restarts !== 0 && lastRestart !== undefined ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : `${restarts}`;
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

/** The "True readiness gates / all readiness gates" cell, "<none>" without gates. */
function readinessGates(pod: any): string {
  const gates: any[] = pod?.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const conds: any[] = pod?.status?.conditions ?? [];
  const satisfied = gates.filter((g) => conds.find((c) => c?.type === g?.conditionType)?.status === 'True').length;
  return `${satisfied}/${gates.length}`;
}

const COMPLETED = {
  Succeeded: [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }],
  Failed: [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }],
} as const;

export const pods: Printer = {
  columns: [
    nameColumn(),
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    ageColumn(),
    column('IP', 'string', 'PodStatus.podIP', WIDE),
    column('Node', 'string', 'PodSpec.nodeName', WIDE),
    column('Nominated Node', 'string', 'PodStatus.nominatedNodeName', WIDE),
    column('Readiness Gates', 'string', 'PodSpec.readinessGates', WIDE),
  ],
  row(pod: any, { now }: PrintContext): PrintedRow {
    const { ready, status, restarts } = podStatusCells(pod, now);
    // status.podIP alone counts as podIPs[0], as upstream's conversion makes it.
    const ip = pod.status?.podIPs?.[0]?.ip || pod.status?.podIP || '<none>';
    const cells = [
      pod.metadata?.name ?? '',
      ready,
      status,
      restarts,
      since(pod.metadata?.creationTimestamp, now),
      ip,
      pod.spec?.nodeName || '<none>',
      pod.status?.nominatedNodeName || '<none>',
      readinessGates(pod),
    ];
    const phase = pod.status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') return { cells };
    return { cells, conditions: COMPLETED[phase as 'Succeeded' | 'Failed'].map((c) => ({ ...c })) };
  },
};
