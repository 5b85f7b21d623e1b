// The Deployment controller's I/O layer: informers on Deployments and
// ReplicaSets, a work queue of Deployment keys, and a sync that claims
// ReplicaSets, then carries out planDeployment's actions through the API.
import { type ApiClient, EventRecorder, Informer, WorkQueue, isAlreadyExists, isNotFound, objectKey } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { claim, controllerRefOf, selectorOf } from '../replicaset/plan.js';
import { type Action, type Obj, deploymentStatusChanged, equalIgnoreHash, planDeployment } from './plan.js';

export * from './plan.js';

const log = logger('controller/deployment');
const DEPLOY = 'apps/deployments';
const RS = 'apps/replicasets';

export class DeploymentController {
  readonly dInformer: Informer<Obj>;
  readonly rsInformer: Informer<Obj>;
  private readonly queue = new WorkQueue<string>({ name: 'deployment' });
  private readonly recorder: EventRecorder;

  constructor(
    private readonly client: ApiClient,
    private readonly opts: { workers?: number } = {},
  ) {
    this.dInformer = new Informer<Obj>(client, DEPLOY);
    this.rsInformer = new Informer<Obj>(client, RS);
    this.recorder = new EventRecorder(client, { component: 'deployment-controller' });
  }

  async start(): Promise<void> {
    const enqueueD = (d: Obj) => this.queue.add(objectKey(d));
    this.dInformer.addEventHandler({ onAdd: enqueueD, onUpdate: (_o, d) => enqueueD(d), onDelete: enqueueD });
    const onRS = (rs: Obj) => {
      const ref = controllerRefOf(rs);
      if (ref) {
        if (ref.kind !== 'Deployment') return;
        const d = this.dInformer.lister.get(rs.metadata?.namespace, ref.name);
        if (d && d.metadata?.uid === ref.uid) enqueueD(d);
        return;
      }
      for (const d of this.dInformer.lister.list(rs.metadata?.namespace)) {
        if (selectorOf(d).matches(rs.metadata?.labels ?? {})) enqueueD(d);
      }
    };
    this.rsInformer.addEventHandler({
      onAdd: onRS,
      onUpdate: (old, rs) => {
        onRS(old);
        onRS(rs);
      },
      onDelete: onRS,
    });
    this.dInformer.start();
    this.rsInformer.start();
    await Promise.all([this.dInformer.waitForSync(), this.rsInformer.waitForSync()]);
    void this.queue.run(this.opts.workers ?? 5, (key) => this.sync(key));
    log.info('started');
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all([this.dInformer.stop(), this.rsInformer.stop()]);
  }

  async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const d = this.dInformer.lister.get(ns, name);
    if (!d) return;
    const selector = selectorOf(d);
    if (selector.isEmpty()) {
      void this.recorder.event(dRef(d), 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      return;
    }
    const c = claim(d, this.rsInformer.lister.list(ns), selector);
    for (const rs of c.adopt) await this.setControllerRef(rs, d, true);
    for (const rs of c.release) await this.setControllerRef(rs, d, false);
    const plan = planDeployment(d, c.owned, Date.now());
    for (const a of plan.actions) {
      if (!(await this.execute(d, a))) return; // a collision: the status now carries a new collisionCount
    }
    if (deploymentStatusChanged(d, plan.status)) {
      try {
        await this.client.patch(DEPLOY, ns, name, { status: plan.status }, { type: 'merge', subresource: 'status' });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
  }

  private async execute(d: Obj, a: Action): Promise<boolean> {
    const ns = d.metadata.namespace;
    switch (a.type) {
      case 'createReplicaSet': {
        try {
          const rs = await this.client.create<Obj>(RS, a.replicaSet, { namespace: ns });
          log.info('created replica set', { deployment: `${ns}/${d.metadata.name}`, replicaset: rs.metadata?.name });
          const n = a.replicaSet.spec.replicas ?? 0;
          if (n > 0) void this.recorder.event(dRef(d), 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${a.replicaSet.metadata.name} from 0 to ${n}`);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          const cur = await this.client.get<Obj>(RS, ns, a.replicaSet.metadata.name);
          if (controllerRefOf(cur)?.uid === d.metadata.uid && equalIgnoreHash(cur.spec?.template, d.spec?.template)) return true; // our cache lagged
          // A hash collision (upstream): bump collisionCount so the next hash differs.
          const collisionCount = (d.status?.collisionCount ?? 0) + 1;
          await this.client.patch(DEPLOY, ns, d.metadata.name, { status: { collisionCount } }, { type: 'merge', subresource: 'status' });
          log.warn('replica set name collision', { deployment: d.metadata.name, collisionCount });
          return false;
        }
        return true;
      }
      case 'scaleReplicaSet': {
        await this.client.patch(RS, ns, a.name, { metadata: { annotations: a.annotations }, spec: { replicas: a.to } }, { type: 'merge' });
        if (a.from !== a.to) {
          const dir = a.to > a.from ? 'up' : 'down';
          void this.recorder.event(dRef(d), 'Normal', 'ScalingReplicaSet', `Scaled ${dir} replica set ${a.name} from ${a.from} to ${a.to}`);
        }
        return true;
      }
      case 'annotateReplicaSet':
        await this.client.patch(RS, ns, a.name, { metadata: { annotations: a.annotations } }, { type: 'merge' });
        return true;
      case 'deleteReplicaSet':
        try {
          await this.client.delete(RS, ns, a.name, { preconditions: { uid: a.uid } });
          log.info('deleted old replica set', { deployment: d.metadata.name, replicaset: a.name });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        return true;
      case 'annotateDeployment':
        await this.client.patch(DEPLOY, ns, d.metadata.name, { metadata: { annotations: a.annotations } }, { type: 'merge' });
        return true;
    }
  }

  private async setControllerRef(rs: Obj, d: Obj, adopt: boolean): Promise<void> {
    try {
      const cur = await this.client.get<Obj>(RS, rs.metadata.namespace, rs.metadata.name);
      if (cur.metadata?.uid !== rs.metadata?.uid) return;
      const refs: Obj[] = cur.metadata.ownerReferences ?? [];
      if (adopt) {
        if (controllerRefOf(cur)) return;
        cur.metadata.ownerReferences = [...refs, { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }];
      } else {
        const kept = refs.filter((r) => r.uid !== d.metadata.uid);
        cur.metadata.ownerReferences = kept.length ? kept : undefined;
      }
      await this.client.update(RS, cur);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

const dRef = (d: Obj): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: d.metadata });

export async function startDeploymentController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new DeploymentController(client);
  await c.start();
  return { stop: () => void c.stop() };
}
