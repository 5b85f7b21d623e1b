// The ReplicaSet controller's I/O layer: informers on ReplicaSets and pods,
// a work queue of ReplicaSet keys, and a sync that carries out planReplicaSet's
// decisions through the API (the decisions are in plan.ts).
import { type ApiClient, type Informer, isNotFound } from '../../client/index.js';
import { PODS, WorkloadController } from '../workload.js';
import { type Obj, planReplicaSet, podFromTemplate, statusChanged } from './plan.js';

export * from './plan.js';

const RS = 'apps/replicasets';

export class ReplicaSetController extends WorkloadController {
  constructor(client: ApiClient, opts: { workers?: number } = {}) {
    super(client, { resource: RS, kind: 'ReplicaSet', name: 'replicaset', revisions: false }, opts.workers);
  }

  get rsInformer(): Informer<Obj> {
    return this.ownerInformer;
  }

  protected async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const rs = this.rsInformer.lister.get(ns, name);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const pods = this.podInformer.lister.list(ns);
    const manage = this.expectations.satisfied(key);
    const plan = planReplicaSet(rs, pods, Date.now(), manage);
    for (const pod of plan.adopt) await this.setControllerRef(PODS, pod, rs, true);
    for (const pod of plan.release) await this.setControllerRef(PODS, pod, rs, false);
    let err: unknown;
    if (plan.create > 0) err = await this.createPods(key, rs, plan.create);
    else if (plan.delete.length > 0) err = await this.deletePods(key, rs, plan.delete);
    if (statusChanged(rs, plan.status)) await this.writeStatus(rs, plan.status);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
    if (err) throw err;
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
          void this.recorder.event(this.ref(rs), 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata?.name}`);
        } else {
          this.expectations.lower(key, 1, 0);
          failed ??= r.reason;
          void this.recorder.event(this.ref(rs), 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error)?.message ?? r.reason}`);
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
          void this.recorder.event(this.ref(rs), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
        } catch (e) {
          this.expectations.lower(key, 0, 1);
          if (isNotFound(e)) return;
          failed ??= e;
          void this.recorder.event(this.ref(rs), 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        }
      }),
    );
    return failed;
  }
}

export async function startReplicaSetController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new ReplicaSetController(client);
  await c.start();
  return { stop: () => void c.stop() };
}
