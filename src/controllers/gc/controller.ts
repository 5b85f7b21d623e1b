// The garbage collector: watches every resource through informers, and acts
// on ownerReferences and the `orphan` / `foregroundDeletion` finalizers as
// upstream's garbage collector does (the decisions are in plan.ts). It talks
// to the cluster only through the API.
import { RESOURCES, type ResourceInfo, grOf } from '../../api/registry.js';
import { type ApiClient, Informer, WorkQueue, isConflict, isNotFound } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { type Action, type Node, type Obj, type Ref, plan } from './plan.js';

const log = logger('controller/garbage-collector');
const SYNC = 'sync';

/** Resources whose objects can own or be owned (everything listable but events and bindings). */
export function collectedResources(): ResourceInfo[] {
  return RESOURCES.filter(
    (r) => r.verbs.includes('watch') && r.plural !== 'events' && r.plural !== 'bindings',
  );
}

export class GarbageCollector {
  private readonly informers = new Map<string, Informer<Obj>>();
  private readonly queue = new WorkQueue<string>();
  private resync?: NodeJS.Timeout;
  /** Every uid some object names as its owner (may keep stale entries: they only cause an extra pass). */
  private readonly ownerUids = new Set<string>();

  constructor(
    private readonly client: ApiClient,
    private readonly opts: { resyncMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    for (const info of collectedResources()) {
      const inf = new Informer<Obj>(this.client, info);
      // Only changes that can matter start a pass: owned objects, deletions held
      // by the collector's finalizers, and the disappearance of a known owner.
      const kick = (matters: boolean) => {
        if (matters) this.queue.add(SYNC);
      };
      inf.addEventHandler({
        onAdd: (o) => kick(this.relevant(o)),
        // Either side: a dependent that just lost its owner reference matters too.
        onUpdate: (old, o) => kick(this.relevant(old) || this.relevant(o)),
        onDelete: (o) => kick(this.relevant(o) || this.ownerUids.has(o.metadata?.uid)),
      });
      this.informers.set(grOf(info), inf);
      inf.start();
    }
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(30_000)));
    this.resync = setInterval(() => this.queue.add(SYNC), this.opts.resyncMs ?? 30_000);
    this.resync.unref();
    void this.queue.run(1, () => this.sync());
    this.queue.add(SYNC);
    log.info('started', { resources: this.informers.size });
  }

  stop(): void {
    clearInterval(this.resync);
    this.queue.shutDown();
    for (const i of this.informers.values()) i.stop();
  }

  private relevant(o: Obj): boolean {
    const m = o.metadata ?? {};
    for (const r of m.ownerReferences ?? []) if (r?.uid) this.ownerUids.add(r.uid);
    if (m.ownerReferences?.length) return true;
    return !!m.deletionTimestamp && (m.finalizers ?? []).some((f: string) => f === 'orphan' || f === 'foregroundDeletion');
  }

  private snapshot(): Node[] {
    const nodes: Node[] = [];
    for (const [gr, inf] of this.informers) {
      for (const obj of inf.lister.list()) {
        const m = obj.metadata ?? {};
        if (m.uid) nodes.push({ ref: { gr, namespace: m.namespace, name: m.name, uid: m.uid }, obj });
      }
    }
    return nodes;
  }

  private async sync(): Promise<void> {
    const actions = plan(this.snapshot());
    let retry = false;
    let changed = false;
    for (const a of actions) {
      try {
        if (await this.execute(a)) changed = true;
      } catch (e) {
        if (isNotFound(e)) continue; // already gone
        retry = true;
        if (!isConflict(e)) log.warn('action failed; will retry', { action: a.type, object: describe(a.target), error: e as Error });
      }
    }
    if (retry) throw new Error('some garbage collection actions must be retried');
    // One step can enable the next (dependents orphaned -> owner's finalizer goes).
    if (changed) this.queue.add(SYNC);
  }

  /** Carries out one action; false when the live state shows nothing to do. */
  private async execute(a: Action): Promise<boolean> {
    const t = a.target;
    switch (a.type) {
      case 'removeOwnerRefs': {
        const cur = await this.client.get<Obj>(t.gr, t.namespace, t.name);
        const before: Obj[] = cur.metadata.ownerReferences ?? [];
        const refs = before.filter((o: Obj) => !a.ownerUids.includes(o.uid));
        if (refs.length === before.length) return false;
        cur.metadata.ownerReferences = refs.length ? refs : undefined;
        await this.client.update(t.gr, cur);
        log.info('orphaned dependent', { object: describe(t), owners: a.ownerUids.join(',') });
        return true;
      }
      case 'removeFinalizer': {
        const cur = await this.client.get<Obj>(t.gr, t.namespace, t.name);
        const before: string[] = cur.metadata.finalizers ?? [];
        const fin = before.filter((f) => f !== a.finalizer);
        if (fin.length === before.length) return false;
        cur.metadata.finalizers = fin.length ? fin : undefined;
        await this.client.update(t.gr, cur);
        log.info('removed finalizer', { object: describe(t), finalizer: a.finalizer });
        return true;
      }
      case 'delete': {
        // Confirm with live reads that the owners really are gone before deleting anything.
        if (a.owners && !(await this.ownersGone(t, a.owners))) return false;
        await this.client.delete(t.gr, t.namespace, t.name, { propagationPolicy: a.propagationPolicy, preconditions: { uid: t.uid } });
        log.info('deleted', { object: describe(t), reason: a.reason });
        return true;
      }
    }
  }

  private async ownersGone(t: Ref, owners: Array<{ kind: string; name: string; uid: string }>): Promise<boolean> {
    for (const o of owners) {
      const info = RESOURCES.find((r) => r.kind === o.kind && r.verbs.includes('get'));
      if (!info) return false; // an owner kind we do not serve: leave the object alone
      try {
        const live = await this.client.get<Obj>(grOf(info), info.namespaced ? t.namespace : undefined, o.name);
        if (live.metadata?.uid === o.uid) return false;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return true;
  }
}

function describe(r: Ref): string {
  return `${r.gr.replace(/^\//, '')} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

