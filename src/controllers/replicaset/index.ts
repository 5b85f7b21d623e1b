// The ReplicaSet controller's I/O layer: informers on ReplicaSets and pods,
// a work queue of ReplicaSet keys, and a sync that carries out planReplicaSet's
// decisions through the API (the decisions are in plan.ts).
import { type ApiClient, EventRecorder, Informer, WorkQueue, isConflict, isNotFound, objectKey } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { type Obj, Expectations, controllerRefOf, planReplicaSet, podFromTemplate, selectorOf, statusChanged } from './plan.js';

export * from './plan.js';

const log = logger('controller/replicaset');
const RS = 'apps/replicasets';
const PODS = '/pods';

export class ReplicaSetController {
  readonly rsInformer: Informer<Obj>;
  readonly podInformer: Informer<Obj>;
  private readonly queue = new WorkQueue<string>({ name: 'replicaset' });
  private readonly expectations = new Expectations();
  /** Pods whose deletion was already counted when their deletionTimestamp appeared. */
  private readonly deletingSeen = new Set<string>();
  private readonly recorder: EventRecorder;
  private running?: Promise<void>;

  constructor(
    private readonly client: ApiClient,
    private readonly opts: { workers?: number } = {},
  ) {
    this.rsInformer = new Informer<Obj>(client, RS);
    this.podInformer = new Informer<Obj>(client, PODS);
    this.recorder = new EventRecorder(client, { component: 'replicaset-controller' });
  }

  async start(): Promise<void> {
    this.rsInformer.addEventHandler({
      onAdd: (rs) => this.queue.add(objectKey(rs)),
      onUpdate: (_o, rs) => this.queue.add(objectKey(rs)),
      onDelete: (rs) => {
        this.expectations.delete(objectKey(rs));
        this.queue.add(objectKey(rs));
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        const key = this.ownerKey(pod);
        if (key) {
          this.expectations.observedAdd(key);
          this.queue.add(key);
        } else this.enqueueMatching(pod);
      },
      onUpdate: (old, pod) => {
        const key = this.ownerKey(pod);
        if (key && pod.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp) {
          this.deletingSeen.add(pod.metadata.uid);
          this.expectations.observedDelete(key);
        }
        const oldKey = this.ownerKey(old);
        if (oldKey && oldKey !== key) this.queue.add(oldKey);
        if (key) this.queue.add(key);
        else this.enqueueMatching(pod);
      },
      onDelete: (pod) => {
        const key = this.ownerKey(pod);
        if (!key) return;
        if (!this.deletingSeen.delete(pod.metadata?.uid)) this.expectations.observedDelete(key);
        this.queue.add(key);
      },
    });
    this.rsInformer.start();
    this.podInformer.start();
    await Promise.all([this.rsInformer.waitForSync(), this.podInformer.waitForSync()]);
    this.running = this.queue.run(this.opts.workers ?? 5, (key) => this.sync(key));
    log.info('started');
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all([this.rsInformer.stop(), this.podInformer.stop()]);
  }

  /** The key of the ReplicaSet controlling the pod, if any. */
  private ownerKey(pod: Obj): string | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = this.rsInformer.lister.get(pod.metadata?.namespace, ref.name);
    if (!rs || rs.metadata?.uid !== ref.uid) return undefined;
    return objectKey(rs);
  }

  /** An orphan pod: every ReplicaSet that could adopt it looks again. */
  private enqueueMatching(pod: Obj): void {
    if (controllerRefOf(pod)) return;
    for (const rs of this.rsInformer.lister.list(pod.metadata?.namespace)) {
      if (selectorOf(rs).matches(pod.metadata?.labels ?? {})) this.queue.add(objectKey(rs));
    }
  }

  async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const rs = this.rsInformer.lister.get(ns, name);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const pods = this.podInformer.lister.list(ns);
    const manage = this.expectations.satisfied(key);
    const plan = planReplicaSet(rs, pods, Date.now(), manage);
    for (const pod of plan.adopt) await this.setControllerRef(pod, rs, true);
    for (const pod of plan.release) await this.setControllerRef(pod, rs, false);
    let err: unknown;
    if (plan.create > 0) err = await this.createPods(key, rs, plan.create);
    else if (plan.delete.length > 0) err = await this.deletePods(key, rs, plan.delete);
    if (statusChanged(rs, plan.status)) await this.writeStatus(rs, plan.status);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
    if (err) throw err;
  }

  private async setControllerRef(pod: Obj, rs: Obj, adopt: boolean): Promise<void> {
    try {
      const cur = await this.client.get<Obj>(PODS, pod.metadata.namespace, pod.metadata.name);
      if (cur.metadata?.uid !== pod.metadata?.uid) return;
      const refs: Obj[] = cur.metadata.ownerReferences ?? [];
      if (adopt) {
        if (controllerRefOf(cur)) return;
        cur.metadata.ownerReferences = [...refs, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }];
      } else {
        const kept = refs.filter((r) => r.uid !== rs.metadata.uid);
        cur.metadata.ownerReferences = kept.length ? kept : undefined;
      }
      await this.client.update(PODS, cur);
      log.info(adopt ? 'adopted pod' : 'released pod', { replicaset: `${rs.metadata.namespace}/${rs.metadata.name}`, pod: pod.metadata.name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Creates pods in batches of 1, 2, 4, ... (upstream slowStartBatch); returns the first error. */
  private async createPods(key: string, rs: Obj, count: number): Promise<unknown> {
    this.expectations.expect(key, count, 0);
    let remaining = count;
    let batch = 1;
    while (remaining > 0) {
      const n = Math.min(batch, remaining);
      const results = await Promise.allSettled(
        Array.from({ length: n }, () => this.client.create<Obj>(PODS, podFromTemplate(rs), { namespace: rs.metadata.namespace })),
      );
      remaining -= n;
      let failed: unknown;
      for (const r of results) {
        if (r.status === 'fulfilled') {
          void this.recorder.event(rsRef(rs), 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata?.name}`);
        } else {
          this.expectations.lower(key, 1, 0);
          failed ??= r.reason;
          void this.recorder.event(rsRef(rs), 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error)?.message ?? r.reason}`);
        }
      }
      if (failed) {
        // The pods never attempted will not be observed either.
        this.expectations.lower(key, remaining, 0);
        return failed;
      }
      batch *= 2;
    }
    return undefined;
  }

  private async deletePods(key: string, rs: Obj, pods: Obj[]): Promise<unknown> {
    this.expectations.expect(key, 0, pods.length);
    let failed: unknown;
    await Promise.all(
      pods.map(async (pod) => {
        try {
          await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name, { preconditions: { uid: pod.metadata.uid } });
          void this.recorder.event(rsRef(rs), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (e) {
          this.expectations.lower(key, 0, 1);
          if (isNotFound(e)) return;
          failed ??= e;
          void this.recorder.event(rsRef(rs), 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        }
      }),
    );
    return failed;
  }

  private async writeStatus(rs: Obj, status: Obj): Promise<void> {
    let cur = rs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.updateStatus(RS, { ...cur, status: { ...(cur.status ?? {}), ...status } });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 1) throw e;
        cur = await this.client.get<Obj>(RS, rs.metadata.namespace, rs.metadata.name);
        if (cur.metadata?.uid !== rs.metadata?.uid) return;
      }
    }
  }
}

const rsRef = (rs: Obj): Obj => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: rs.metadata });

export async function startReplicaSetController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new ReplicaSetController(client);
  await c.start();
  return { stop: () => void c.stop() };
}
