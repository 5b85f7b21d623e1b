// The DaemonSet controller's I/O layer: informers on DaemonSets, pods,
// ControllerRevisions (see ../workload.ts) and nodes, and a sync that carries
// out planDaemonSet's actions through the API. Creations and deletions are
// counted in expectations, as upstream, so a slow watch never doubles a pod.
import { type ApiClient, Informer, objectKey } from '../../client/index.js';
import { PODS, WorkloadController } from '../workload.js';
import { type Obj, type PodAction, nodeShouldRunDaemonPod, planDaemonSet, statusChanged } from './plan.js';

export * from './plan.js';

const DS = 'apps/daemonsets';

export class DaemonSetController extends WorkloadController {
  readonly nodeInformer: Informer<Obj>;

  constructor(client: ApiClient, opts: { workers?: number } = {}) {
    super(client, { resource: DS, kind: 'DaemonSet', name: 'daemonset' }, opts.workers);
    this.nodeInformer = this.addInformer(new Informer<Obj>(client, '/nodes'));
    // A node that appears or changes its labels, taints or readiness may need a daemon pod, or lose one.
    const onNode = () => {
      for (const ds of this.ownerInformer.lister.list()) this.queue.add(objectKey(ds));
    };
    this.nodeInformer.addEventHandler({
      onAdd: onNode,
      onUpdate: (old, node) => {
        if (this.eligibilityChanged(old, node)) onNode();
      },
      onDelete: onNode,
    });
  }

  private eligibilityChanged(old: Obj, node: Obj): boolean {
    for (const ds of this.ownerInformer.lister.list()) {
      const a = nodeShouldRunDaemonPod(old, ds);
      const b = nodeShouldRunDaemonPod(node, ds);
      if (a.run !== b.run || a.keep !== b.keep) return true;
    }
    return false;
  }


  protected async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const ds = this.ownerInformer.lister.get(ns, name);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    if (selectorIsEmpty(ds)) {
      void this.recorder.event(this.ref(ds), 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    const manage = this.expectations.satisfied(key);
    const plan = planDaemonSet(ds, this.nodeInformer.lister.list(), this.podInformer.lister.list(ns), this.revInformer.lister.list(ns), Date.now(), manage);
    await this.claimAll(ds, plan);
    const podActions: PodAction[] = [];
    let err: unknown;
    for (const a of plan.actions) {
      if (a.type === 'createPod' || a.type === 'deletePod') podActions.push(a);
      else if (a.type === 'deleteRevision') continue; // after the pods, as upstream's cleanupHistory
      else {
        try {
          if (!(await this.revisionAction(ds, a))) return; // a collision: the next sync uses the new collisionCount
        } catch (e) {
          err = e;
          break;
        }
      }
    }
    if (!err) err = await this.syncNodes(key, ds, podActions);
    for (const a of plan.actions) {
      if (a.type === 'deleteRevision') await this.revisionAction(ds, a).catch((e) => (err ??= e));
    }
    if (statusChanged(ds, plan.status)) await this.writeStatus(ds, plan.status);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
    if (err) throw err;
  }

  /** upstream syncNodes: deletions, then creations in batches of 1, 2, 4, ...; returns the first error. */
  private async syncNodes(key: string, ds: Obj, actions: PodAction[]): Promise<unknown> {
    const creates = actions.filter((a) => a.type === 'createPod');
    const deletes = actions.filter((a) => a.type === 'deletePod');
    if (!creates.length && !deletes.length) return undefined;
    this.expectations.expect(key, creates.length, deletes.length);
    let failed: unknown;
    await Promise.all(
      deletes.map(async (a) => {
        if (a.reason === 'failed') {
          const msg = `Found failed daemon pod ${a.pod.metadata.namespace}/${a.pod.metadata.name} on node ${a.pod.spec?.nodeName ?? ''}, will try to kill it`;
          void this.recorder.event(this.ref(ds), 'Warning', 'FailedDaemonPod', msg);
        }
        try {
          if (await this.deletePod(a.pod)) void this.recorder.event(this.ref(ds), 'Normal', 'SuccessfulDelete', `Deleted pod: ${a.pod.metadata.name}`);
          else this.expectations.lower(key, 0, 1);
        } catch (e) {
          this.expectations.lower(key, 0, 1);
          failed ??= e;
          void this.recorder.event(this.ref(ds), 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
        }
      }),
    );
    let next = 0;
    for (let batch = 1; next < creates.length; batch *= 2) {
      const chunk = creates.slice(next, next + batch);
      next += chunk.length;
      const results = await Promise.allSettled(chunk.map((a) => this.client.create<Obj>(PODS, a.pod, { namespace: ds.metadata.namespace })));
      let batchFailed = false;
      for (const r of results) {
        if (r.status === 'fulfilled') void this.recorder.event(this.ref(ds), 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata?.name}`);
        else {
          batchFailed = true;
          this.expectations.lower(key, 1, 0);
          failed ??= r.reason;
          void this.recorder.event(this.ref(ds), 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error)?.message ?? r.reason}`);
        }
      }
      if (batchFailed) {
        this.expectations.lower(key, creates.length - next, 0);
        break;
      }
    }
    return failed;
  }
}

const selectorIsEmpty = (ds: Obj): boolean => {
  const s = ds.spec?.selector ?? {};
  return !Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length;
};

export async function startDaemonSetController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new DaemonSetController(client);
  await c.start();
  return { stop: () => void c.stop() };
}
