// The StatefulSet controller's I/O layer: informers on StatefulSets, pods and
// ControllerRevisions (see ../workload.ts), and a sync that carries out
// planStatefulSet's actions through the API, with upstream's events.
import { type ApiClient, isAlreadyExists, isNotFound } from '../../client/index.js';
import { PODS, WorkloadController } from '../workload.js';
import { type Obj, planStatefulSet, statusChanged } from './plan.js';

export * from './plan.js';

const STS = 'apps/statefulsets';

export class StatefulSetController extends WorkloadController {
  constructor(client: ApiClient, opts: { workers?: number } = {}) {
    super(client, { resource: STS, kind: 'StatefulSet', name: 'statefulset' }, opts.workers);
  }

  protected async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const sts = this.ownerInformer.lister.get(ns, name);
    if (!sts) return;
    const plan = planStatefulSet(sts, this.podInformer.lister.list(ns), this.revInformer.lister.list(ns), Date.now());
    await this.claimAll(sts, plan);
    let err: unknown;
    for (const a of plan.actions) {
      try {
        if (a.type === 'createPod') await this.createPod(sts, a.pod);
        else if (a.type === 'deletePod') await this.removePod(sts, a.pod, a.reason);
        else if (!(await this.revisionAction(sts, a))) return; // a collision: the next sync uses the new collisionCount
      } catch (e) {
        err ??= e;
        // Pods wait for their revision; later pods wait for earlier ones, as upstream's ordered sync.
        if (a.type !== 'deleteRevision') break;
      }
    }
    if (statusChanged(sts, plan.status)) await this.writeStatus(sts, plan.status);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
    if (err) throw err;
  }

  private async createPod(sts: Obj, pod: Obj): Promise<void> {
    const msg = `create Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name}`;
    try {
      await this.client.create(PODS, pod, { namespace: sts.metadata.namespace });
      void this.recorder.event(this.ref(sts), 'Normal', 'SuccessfulCreate', `${msg} successful`);
    } catch (e) {
      if (isAlreadyExists(e)) return; // our cache lagged
      void this.recorder.event(this.ref(sts), 'Warning', 'FailedCreate', `${msg} failed error: ${(e as Error).message}`);
      throw e;
    }
  }

  private async removePod(sts: Obj, pod: Obj, reason: string): Promise<void> {
    if (reason === 'failed') {
      void this.recorder.event(this.ref(sts), 'Warning', 'RecreatingFailedPod', `StatefulSet ${sts.metadata.namespace}/${sts.metadata.name} is recreating failed Pod ${pod.metadata.name}`);
    }
    const msg = `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name}`;
    try {
      if (await this.deletePod(pod)) void this.recorder.event(this.ref(sts), 'Normal', 'SuccessfulDelete', `${msg} successful`);
    } catch (e) {
      if (isNotFound(e)) return;
      void this.recorder.event(this.ref(sts), 'Warning', 'FailedDelete', `${msg} failed error: ${(e as Error).message}`);
      throw e;
    }
  }
}

export async function startStatefulSetController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new StatefulSetController(client);
  await c.start();
  return { stop: () => void c.stop() };
}
