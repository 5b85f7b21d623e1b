// The garbage collector's pure core: from a snapshot of objects, the actions
// that ownerReferences and the deletion finalizers call for, as upstream's
// garbage collector does:
//   - an owner being deleted with the `orphan` finalizer: its dependents lose
//     their ownerReference to it, then the finalizer goes;
//   - an owner being deleted with `foregroundDeletion`: its dependents are
//     deleted (foreground too), and once none is left the finalizer goes;
//   - an object all of whose owners are gone is deleted (background).
// "Gone" is judged from the snapshot; the I/O layer confirms with a live read
// before it deletes anything.

export type Obj = Record<string, any>;

export interface Ref {
  /** GroupResource of the object ("/pods", "apps/replicasets"). */
  gr: string;
  namespace?: string;
  name: string;
  uid: string;
}

export interface Node {
  ref: Ref;
  obj: Obj;
}

export type Action =
  | { type: 'removeOwnerRefs'; target: Ref; ownerUids: string[] }
  | { type: 'removeFinalizer'; target: Ref; finalizer: 'orphan' | 'foregroundDeletion' }
  | { type: 'delete'; target: Ref; propagationPolicy: 'Background' | 'Foreground'; reason: string; owners?: Array<{ kind: string; name: string; uid: string }> };

const refOf = (n: Node) => n.ref;

export function plan(nodes: Node[]): Action[] {
  const byUid = new Map<string, Node>();
  for (const n of nodes) byUid.set(n.ref.uid, n);
  const dependents = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const o of n.obj.metadata?.ownerReferences ?? []) {
      if (!o?.uid) continue;
      let list = dependents.get(o.uid);
      if (!list) dependents.set(o.uid, (list = []));
      list.push(n);
    }
  }
  const actions: Action[] = [];
  for (const n of nodes) {
    const m = n.obj.metadata ?? {};
    const finalizers: string[] = m.finalizers ?? [];
    const deps = dependents.get(n.ref.uid) ?? [];
    if (m.deletionTimestamp && finalizers.includes('orphan')) {
      if (deps.length) for (const d of deps) actions.push({ type: 'removeOwnerRefs', target: refOf(d), ownerUids: [n.ref.uid] });
      else actions.push({ type: 'removeFinalizer', target: n.ref, finalizer: 'orphan' });
      continue;
    }
    if (m.deletionTimestamp && finalizers.includes('foregroundDeletion')) {
      const waiting = deps.filter((d) => !d.obj.metadata?.deletionTimestamp);
      for (const d of waiting) actions.push({ type: 'delete', target: refOf(d), propagationPolicy: 'Foreground', reason: `owner ${n.ref.name} is being deleted in the foreground` });
      // Upstream waits only for dependents that block their owner's deletion.
      const blocking = deps.filter((d) => (d.obj.metadata?.ownerReferences ?? []).some((o: Obj) => o.uid === n.ref.uid && o.blockOwnerDeletion));
      if (blocking.length === 0) actions.push({ type: 'removeFinalizer', target: n.ref, finalizer: 'foregroundDeletion' });
    }
  }
  for (const n of nodes) {
    const owners: Obj[] = n.obj.metadata?.ownerReferences ?? [];
    if (owners.length === 0 || n.obj.metadata?.deletionTimestamp) continue;
    if (owners.every((o) => !byUid.has(o.uid))) {
      actions.push({
        type: 'delete',
        target: n.ref,
        propagationPolicy: 'Background',
        reason: 'all owners are gone',
        owners: owners.map((o) => ({ kind: o.kind, name: o.name, uid: o.uid })),
      });
    }
  }
  return actions;
}
