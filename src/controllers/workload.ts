// The I/O shared by the controllers that own pods and ControllerRevisions
// (ReplicaSet, StatefulSet, DaemonSet, Job): informers on the owner, its pods and revisions,
// a work queue of owner keys, adoption and release, revision writes (with
// hash collisions bumping status.collisionCount, as upstream) and status
// writes. Each controller's decisions stay in its pure plan.ts.
import { type ApiClient, EventRecorder, Informer, WorkQueue, isAlreadyExists, isConflict, isNotFound, objectKey } from '../client/index.js';
import { logger } from '../util/log.js';
import { CONTROLLER_REVISIONS, type RevisionAction, equalRevision } from './history.js';
import { Expectations, type Obj, controllerRefOf, selectorOf } from './replicaset/plan.js';

export const PODS = '/pods';

export interface WorkloadKind {
  /** e.g. 'apps/statefulsets'. */
  resource: string;
  kind: string;
  /** Queue and log name, e.g. 'statefulset'. */
  name: string;
  /** Whether the owner keeps ControllerRevisions (default true; ReplicaSets do not). */
  revisions?: boolean;
}

export abstract class WorkloadController {
  readonly ownerInformer: Informer<Obj>;
  readonly podInformer: Informer<Obj>;
  readonly revInformer: Informer<Obj>;
  protected readonly queue: WorkQueue<string>;
  protected readonly recorder: EventRecorder;
  protected readonly log;
  private readonly extra: Informer<Obj>[] = [];

  constructor(
    protected readonly client: ApiClient,
    protected readonly w: WorkloadKind,
    protected readonly workers = 5,
  ) {
    this.ownerInformer = new Informer<Obj>(client, w.resource);
    this.podInformer = new Informer<Obj>(client, PODS);
    this.revInformer = new Informer<Obj>(client, CONTROLLER_REVISIONS);
    this.queue = new WorkQueue<string>({ name: w.name });
    this.recorder = new EventRecorder(client, { component: `${w.name}-controller` });
    this.log = logger(`controller/${w.name}`);
  }

  /** Creations and deletions still to be seen through the pod informer (upstream's ControllerExpectations). */
  protected readonly expectations = new Expectations();
  /** Pods whose deletion was already counted when their deletionTimestamp appeared. */
  private readonly deletingSeen = new Set<string>();

  protected abstract sync(key: string): Promise<void>;
  /** Hooks for pod events; the owner's key is already resolved. By default they keep the expectations. */
  protected onPodAdded(key: string, _pod: Obj): void {
    this.expectations.observedAdd(key);
  }
  protected onPodDeleting(key: string, pod: Obj): void {
    this.deletingSeen.add(pod.metadata?.uid);
    this.expectations.observedDelete(key);
  }
  protected onPodDeleted(key: string, pod: Obj): void {
    if (!this.deletingSeen.delete(pod.metadata?.uid)) this.expectations.observedDelete(key);
  }
  protected onOwnerDeleted(key: string): void {
    this.expectations.delete(key);
  }

  /** An informer the controller needs besides the owner's, pods and revisions (started and stopped with them). */
  protected addInformer(inf: Informer<Obj>): Informer<Obj> {
    this.extra.push(inf);
    return inf;
  }

  async start(): Promise<void> {
    const enqueue = (o: Obj) => this.queue.add(objectKey(o));
    this.ownerInformer.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_o, n) => enqueue(n),
      onDelete: (o) => {
        this.onOwnerDeleted(objectKey(o));
        enqueue(o);
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        const key = this.ownerKey(pod);
        if (key) {
          this.onPodAdded(key, pod);
          this.queue.add(key);
        } else this.enqueueMatching(pod);
      },
      onUpdate: (old, pod) => {
        const key = this.ownerKey(pod);
        if (key && pod.metadata?.deletionTimestamp && !old.metadata?.deletionTimestamp) this.onPodDeleting(key, pod);
        const oldKey = this.ownerKey(old);
        if (oldKey && oldKey !== key) this.queue.add(oldKey);
        if (key) this.queue.add(key);
        else this.enqueueMatching(pod);
      },
      onDelete: (pod) => {
        const key = this.ownerKey(pod);
        if (!key) return;
        this.onPodDeleted(key, pod);
        this.queue.add(key);
      },
    });
    const onRev = (rev: Obj) => {
      const key = this.ownerKey(rev);
      if (key) this.queue.add(key);
      else this.enqueueMatching(rev);
    };
    this.revInformer.addEventHandler({ onAdd: onRev, onUpdate: (_o, r) => onRev(r), onDelete: onRev });
    const all = this.informers();
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync()));
    void this.queue.run(this.workers, (key) => this.sync(key));
    this.log.info('started');
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.informers().map((i) => i.stop()));
  }

  private informers(): Informer<Obj>[] {
    return [this.ownerInformer, this.podInformer, ...(this.w.revisions === false ? [] : [this.revInformer]), ...this.extra];
  }

  /** The key of the owner of this kind controlling `obj`, if it exists. */
  protected ownerKey(obj: Obj): string | undefined {
    const ref = controllerRefOf(obj);
    if (!ref || ref.kind !== this.w.kind) return undefined;
    const owner = this.ownerInformer.lister.get(obj.metadata?.namespace, ref.name);
    if (!owner || owner.metadata?.uid !== ref.uid) return undefined;
    return objectKey(owner);
  }

  /** An orphan: every owner that could adopt it looks again. */
  private enqueueMatching(obj: Obj): void {
    if (controllerRefOf(obj)) return;
    for (const o of this.ownerInformer.lister.list(obj.metadata?.namespace)) {
      if (selectorOf(o).matches(obj.metadata?.labels ?? {})) this.queue.add(objectKey(o));
    }
  }

  protected ref(owner: Obj): Obj {
    return { apiVersion: 'apps/v1', kind: this.w.kind, metadata: owner.metadata };
  }

  /** Adopts (sets the controller ref) or releases (removes it) a pod or revision. */
  protected async setControllerRef(resource: string, obj: Obj, owner: Obj, adopt: boolean): Promise<void> {
    try {
      const cur = await this.client.get<Obj>(resource, obj.metadata.namespace, obj.metadata.name);
      if (cur.metadata?.uid !== obj.metadata?.uid) return;
      const refs: Obj[] = cur.metadata.ownerReferences ?? [];
      if (adopt) {
        if (controllerRefOf(cur)) return;
        cur.metadata.ownerReferences = [...refs, { apiVersion: 'apps/v1', kind: this.w.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }];
      } else {
        const kept = refs.filter((r) => r.uid !== owner.metadata.uid);
        cur.metadata.ownerReferences = kept.length ? kept : undefined;
      }
      await this.client.update(resource, cur);
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  protected async claimAll(owner: Obj, plan: { adoptPods: Obj[]; releasePods: Obj[]; adoptRevisions: Obj[]; releaseRevisions: Obj[] }): Promise<void> {
    for (const p of plan.adoptPods) await this.setControllerRef(PODS, p, owner, true);
    for (const p of plan.releasePods) await this.setControllerRef(PODS, p, owner, false);
    for (const r of plan.adoptRevisions) await this.setControllerRef(CONTROLLER_REVISIONS, r, owner, true);
    for (const r of plan.releaseRevisions) await this.setControllerRef(CONTROLLER_REVISIONS, r, owner, false);
  }

  /**
   * Carries out a revision action. A create that meets another revision of
   * the same name with other data is a hash collision: status.collisionCount
   * goes up (so the next hash differs) and false is returned: the sync stops.
   */
  protected async revisionAction(owner: Obj, a: RevisionAction): Promise<boolean> {
    const ns = owner.metadata.namespace;
    switch (a.type) {
      case 'createRevision':
        try {
          await this.client.create(CONTROLLER_REVISIONS, a.revision, { namespace: ns });
          return true;
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          const cur = await this.client.get<Obj>(CONTROLLER_REVISIONS, ns, a.revision.metadata.name);
          if (equalRevision(cur, a.revision) && controllerRefOf(cur)?.uid === owner.metadata.uid) return true; // our cache lagged
          const collisionCount = (owner.status?.collisionCount ?? 0) + 1;
          await this.client.patch(this.w.resource, ns, owner.metadata.name, { status: { collisionCount } }, { type: 'merge', subresource: 'status' });
          this.log.warn('controller revision name collision', { owner: owner.metadata.name, collisionCount });
          return false;
        }
      case 'updateRevisionNumber':
        await this.client.patch(CONTROLLER_REVISIONS, ns, a.name, { revision: a.revision }, { type: 'merge' });
        return true;
      case 'deleteRevision':
        try {
          await this.client.delete(CONTROLLER_REVISIONS, ns, a.name, { preconditions: { uid: a.uid } });
        } catch (e) {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        }
        return true;
    }
  }

  /** Deletes a pod (uid precondition); false when it was already gone. */
  protected async deletePod(pod: Obj): Promise<boolean> {
    try {
      await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name, { preconditions: { uid: pod.metadata.uid } });
      return true;
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return false;
      throw e;
    }
  }

  /** Merges the computed status fields into the stored status. */
  protected async writeStatus(owner: Obj, status: Obj): Promise<void> {
    try {
      await this.client.patch(this.w.resource, owner.metadata.namespace, owner.metadata.name, { status }, { type: 'merge', subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
