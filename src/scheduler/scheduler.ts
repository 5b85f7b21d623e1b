// The scheduler's I/O layer: informers on pods and nodes, a queue of pods
// waiting for a node, the pure core (core.ts) to choose, and the API to bind
// (pods/binding), record events and set the PodScheduled condition.
// Pods bound but not yet seen bound by the informer are "assumed" on their
// node, so back-to-back pods see each other.
import { type ApiClient, EventRecorder, Informer, type KObject, WorkQueue, isConflict, isNotFound, objectKey } from '../client/index.js';
import { logger } from '../util/log.js';
import { SchedulerCache } from './cache.js';
import { type Obj, isActive, numFeasibleNodesToFind, scheduleOnNodeInfos } from './core.js';

const log = logger('scheduler');

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
/** Upstream's maxQueuedEvents of the event broadcaster. */
const MAX_QUEUED_EVENTS = 1000;

export interface SchedulerOptions {
  schedulerName?: string;
  /** Longest wait before an unschedulable pod is retried with no cluster change (default 60 s). */
  maxBackoffMs?: number;
  /** Bindings in flight at once (default 32); scheduling goes on while they run. */
  maxInFlightBindings?: number;
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
  const maxInFlight = Math.max(1, opts.maxInFlightBindings ?? 32);
  const pods = new Informer<KObject>(client, '/pods');
  const nodes = new Informer<KObject>(client, '/nodes');
  const queue = new WorkQueue<string>({ name: 'scheduler' });
  const recorder = new EventRecorder(client, { component: schedulerName });
  /** NodeInfos kept from the informers' events plus the pods assumed on their node while their binding is in flight. */
  const cache = new SchedulerCache();
  /** Pods that did not fit, with their retry count (for backoff). */
  const unschedulable = new Map<string, number>();
  let cycle = 0;
  /** Upstream's nextStartNodeIndex: where the next cycle starts filtering. */
  let nextStartNodeIndex = 0;

  const retryUnschedulable = () => {
    for (const key of unschedulable.keys()) queue.add(key);
  };

  pods.addEventHandler({
    onAdd: (p) => {
      const key = objectKey(p);
      cache.setPod(key, p);
      if (needsScheduling(p, schedulerName)) queue.add(key);
    },
    onUpdate: (old, p) => {
      const key = objectKey(p);
      cache.setPod(key, p);
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
      cache.removePod(key);
      unschedulable.delete(key);
      if (p.spec?.nodeName) retryUnschedulable();
    },
  });
  nodes.addEventHandler({
    onAdd: (n) => {
      cache.setNode(n);
      retryUnschedulable();
    },
    onUpdate: (old, n) => {
      cache.setNode(n);
      if (nodeFacts(old) !== nodeFacts(n)) retryUnschedulable();
    },
    onDelete: (n) => cache.removeNode(String(n.metadata?.name)),
  });
  pods.start();
  nodes.start();
  await Promise.all([pods.waitForSync(30_000), nodes.waitForSync(30_000)]);

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

  // Events about bound pods go out as upstream's event broadcaster sends them:
  // one at a time, from a queue of at most MAX_QUEUED_EVENTS, dropping what
  // does not fit (events are best-effort; binding must not wait for them).
  const eventQueue: Array<() => Promise<void>> = [];
  let eventsWriting = false;
  let eventsDropped = 0;
  const queueEvent = (write: () => Promise<void>) => {
    if (eventQueue.length >= MAX_QUEUED_EVENTS) {
      if (eventsDropped++ % 1000 === 0) log.warn('event queue full; dropping events', { dropped: eventsDropped });
      return;
    }
    eventQueue.push(write);
    if (eventsWriting) return;
    eventsWriting = true;
    void (async () => {
      while (eventQueue.length) await eventQueue.shift()!();
      eventsWriting = false;
    })();
  };

  // Bindings run asynchronously (upstream's binding cycle), at most maxInFlight at once;
  // the pod stays assumed on its node meanwhile, so the next cycles see it there.
  let inFlight = 0;
  const slotWaiters: Array<() => void> = [];
  const bindings = new Set<Promise<void>>();
  const bind = async (key: string, pod: Obj, node: string) => {
    const [ns, name] = key.split('/') as [string, string];
    try {
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
    } catch (e) {
      cache.forget(key);
      if (isNotFound(e)) return; // the pod went away
      if (isConflict(e)) return; // already bound (by someone else): the informer will tell
      log.warn('binding failed; retrying', { pod: key, node, error: e as Error });
      queue.addRateLimited(key);
      return;
    }
    queue.forget(key);
    unschedulable.delete(key);
    log.debug('bound pod', { pod: key, node });
    queueEvent(() => recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`));
  };

  const scheduleOne = async (key: string) => {
    const [ns, name] = key.split('/') as [string, string];
    const pod = pods.lister.get(ns, name);
    if (!pod || !needsScheduling(pod, schedulerName) || cache.isAssumed(key)) {
      unschedulable.delete(key);
      return;
    }
    const list = cache.nodeList();
    const result = scheduleOnNodeInfos(pod, list, {
      tieBreak: cycle++,
      startIndex: nextStartNodeIndex,
      numToFind: numFeasibleNodesToFind(list.length),
      withScores: false,
    });
    if (list.length) nextStartNodeIndex = (nextStartNodeIndex + result.processed) % list.length;
    if ('unschedulable' in result) {
      const tries = (unschedulable.get(key) ?? 0) + 1;
      unschedulable.set(key, tries);
      log.info('pod unschedulable', { pod: key, message: result.unschedulable });
      await markUnschedulable(pod, result.unschedulable);
      queue.addAfter(key, Math.min(maxBackoff, 1000 * 2 ** Math.min(tries, 10)));
      return;
    }
    cache.assume(key, pod, result.node);
    while (inFlight >= maxInFlight) await new Promise<void>((r) => slotWaiters.push(r));
    inFlight++;
    const b = bind(key, pod, result.node).finally(() => {
      inFlight--;
      bindings.delete(b);
      slotWaiters.shift()?.();
    });
    bindings.add(b);
  };

  const running = queue.run(1, scheduleOne);
  for (const p of pods.lister.list()) if (needsScheduling(p, schedulerName)) queue.add(objectKey(p));
  log.info('started', { schedulerName });

  return {
    async stop() {
      queue.shutDown();
      await Promise.all([pods.stop(), nodes.stop()]);
      await running;
      await Promise.all([...bindings]);
    },
  };
}
