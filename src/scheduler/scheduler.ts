// The scheduler's I/O layer: informers on pods and nodes, a queue of pods
// waiting for a node, the pure core (core.ts) to choose, and the API to bind
// (pods/binding), record events and set the PodScheduled condition.
// Pods bound but not yet seen bound by the informer are "assumed" on their
// node, so back-to-back pods see each other.
import { type ApiClient, EventRecorder, Informer, type KObject, WorkQueue, isConflict, isNotFound, objectKey } from '../client/index.js';
import { logger } from '../util/log.js';
import { type Obj, isActive, schedule } from './core.js';

const log = logger('scheduler');

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  schedulerName?: string;
  /** Longest wait before an unschedulable pod is retried with no cluster change (default 60 s). */
  maxBackoffMs?: number;
}

export interface Scheduler {
  stop(): Promise<void>;
}

/** Pods this scheduler must place: its name, no node yet, not being deleted, not finished. */
export function needsScheduling(pod: Obj, schedulerName = DEFAULT_SCHEDULER_NAME): boolean {
  const name = pod?.spec?.schedulerName || DEFAULT_SCHEDULER_NAME;
  return name === schedulerName && !pod?.spec?.nodeName && !pod?.metadata?.deletionTimestamp && isActive(pod);
}

/** What about a node can change whether a pod fits it (not its heartbeats). */
function nodeFacts(n: Obj): string {
  const ready = (n?.status?.conditions ?? []).find((c: Obj) => c?.type === 'Ready')?.status;
  return JSON.stringify([n?.metadata?.labels, n?.spec?.taints, n?.spec?.unschedulable, n?.status?.allocatable, n?.status?.capacity, ready]);
}

export async function startScheduler(client: ApiClient, opts: SchedulerOptions = {}): Promise<Scheduler> {
  const schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  const maxBackoff = opts.maxBackoffMs ?? 60_000;
  const pods = new Informer<KObject>(client, '/pods');
  const nodes = new Informer<KObject>(client, '/nodes');
  const queue = new WorkQueue<string>({ name: 'scheduler' });
  const recorder = new EventRecorder(client, { component: schedulerName });
  /** pod key -> node name, for pods bound but not yet seen bound. */
  const assumed = new Map<string, { node: string; pod: Obj }>();
  /** Pods that did not fit, with their retry count (for backoff). */
  const unschedulable = new Map<string, number>();
  let cycle = 0;

  const retryUnschedulable = () => {
    for (const key of unschedulable.keys()) queue.add(key);
  };

  pods.addEventHandler({
    onAdd: (p) => {
      if (needsScheduling(p, schedulerName)) queue.add(objectKey(p));
      if (p.spec?.nodeName) assumed.delete(objectKey(p));
    },
    onUpdate: (old, p) => {
      const key = objectKey(p);
      if (p.spec?.nodeName) assumed.delete(key);
      if (needsScheduling(p, schedulerName)) {
        // Its own status writes do not retry it; a change of its spec does.
        if (!unschedulable.has(key) || JSON.stringify(old.spec) !== JSON.stringify(p.spec)) queue.add(key);
      }
      // Capacity freed on a node: retry the pods that did not fit.
      const freed = (old.spec?.nodeName && isActive(old) && !isActive(p)) || (!!old.spec?.nodeName && p.spec?.nodeName !== old.spec?.nodeName);
      if (freed || (!old.metadata?.deletionTimestamp && p.metadata?.deletionTimestamp && p.spec?.nodeName)) retryUnschedulable();
    },
    onDelete: (p) => {
      const key = objectKey(p);
      assumed.delete(key);
      unschedulable.delete(key);
      if (p.spec?.nodeName) retryUnschedulable();
    },
  });
  nodes.addEventHandler({
    onAdd: () => retryUnschedulable(),
    onUpdate: (old, n) => {
      if (nodeFacts(old) !== nodeFacts(n)) retryUnschedulable();
    },
    onDelete: (n) => {
      for (const [k, a] of assumed) if (a.node === n.metadata?.name) assumed.delete(k);
    },
  });
  pods.start();
  nodes.start();
  await Promise.all([pods.waitForSync(30_000), nodes.waitForSync(30_000)]);

  const podsOnNodes = (): Map<string, Obj[]> => {
    const m = new Map<string, Obj[]>();
    const add = (node: string, p: Obj) => {
      const l = m.get(node);
      if (l) l.push(p);
      else m.set(node, [p]);
    };
    for (const p of pods.lister.list()) {
      const key = objectKey(p);
      if (p.spec?.nodeName) add(p.spec.nodeName, p);
      else if (assumed.has(key)) add(assumed.get(key)!.node, p);
    }
    // Assumed pods the cache no longer holds still occupy their node until seen bound or deleted.
    for (const [key, a] of assumed) if (!pods.lister.get(a.pod.metadata?.namespace, a.pod.metadata?.name)) assumed.delete(key);
    return m;
  };

  const markUnschedulable = async (pod: Obj, message: string) => {
    await recorder.event(pod, 'Warning', 'FailedScheduling', message);
    try {
      const cur = await client.get<Obj>('/pods', pod.metadata.namespace, pod.metadata.name);
      const conds: Obj[] = (cur.status?.conditions ?? []).filter((c: Obj) => c.type !== 'PodScheduled');
      const prev = (cur.status?.conditions ?? []).find((c: Obj) => c.type === 'PodScheduled');
      if (prev && prev.status === 'False' && prev.reason === 'Unschedulable' && prev.message === message) return;
      conds.push({
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message,
        lastProbeTime: null,
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      cur.status = { ...(cur.status ?? {}), phase: cur.status?.phase ?? 'Pending', conditions: conds };
      await client.updateStatus('/pods', cur);
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) log.warn('could not set PodScheduled condition', { pod: objectKey(pod), error: e as Error });
    }
  };

  const scheduleOne = async (key: string) => {
    const [ns, name] = key.split('/') as [string, string];
    const pod = pods.lister.get(ns, name);
    if (!pod || !needsScheduling(pod, schedulerName) || assumed.has(key)) {
      unschedulable.delete(key);
      return;
    }
    const result = schedule(pod, nodes.lister.list(), podsOnNodes(), { tieBreak: cycle++ });
    if ('unschedulable' in result) {
      const tries = (unschedulable.get(key) ?? 0) + 1;
      unschedulable.set(key, tries);
      log.info('pod unschedulable', { pod: key, message: result.unschedulable });
      await markUnschedulable(pod, result.unschedulable);
      queue.addAfter(key, Math.min(maxBackoff, 1000 * 2 ** Math.min(tries, 10)));
      return;
    }
    const node = result.node;
    assumed.set(key, { node, pod });
    try {
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
    } catch (e) {
      assumed.delete(key);
      if (isNotFound(e)) return; // the pod went away
      if (isConflict(e)) return; // already bound (by someone else): the informer will tell
      throw e; // requeued rate-limited
    }
    unschedulable.delete(key);
    log.info('bound pod', { pod: key, node });
    void recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`);
  };

  const running = queue.run(1, scheduleOne);
  for (const p of pods.lister.list()) if (needsScheduling(p, schedulerName)) queue.add(objectKey(p));
  log.info('started', { schedulerName });

  return {
    async stop() {
      queue.shutDown();
      await Promise.all([pods.stop(), nodes.stop()]);
      await running;
    },
  };
}
