// The namespace controller, as upstream's: when a namespace is being deleted
// (phase Terminating), it deletes every object in it, resource by resource,
// and once nothing is left removes the `kubernetes` finalizer through the
// namespaces/finalize subresource, which lets the API server delete the
// namespace itself. Objects that take time to go (graceful pods, other
// finalizers) make it check again after a short delay.
import { RESOURCES, grOf } from '../../api/registry.js';
import { type ApiClient, Informer, WorkQueue, isNotFound, startInformers } from '../../client/index.js';
import { logger } from '../../util/log.js';

type Obj = Record<string, any>;
const log = logger('controller/namespace');

/** Namespaced resources whose objects a namespace deletion removes. */
export const NAMESPACED_CONTENT = RESOURCES.filter(
  (r) => r.namespaced && r.verbs.includes('list') && r.verbs.includes('delete') && !(r.group === 'events.k8s.io'),
);

export async function startNamespaceController(client: ApiClient, opts: { recheckMs?: number } = {}): Promise<{ stop(): void }> {
  const namespaces = new Informer<Obj>(client, '/namespaces');
  const queue = new WorkQueue<string>();
  const enqueue = (ns: Obj) => {
    if (ns.metadata?.deletionTimestamp) queue.add(ns.metadata.name);
  };
  namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });

  const sync = async (name: string) => {
    const ns = namespaces.lister.get(undefined, name);
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes('kubernetes')) return;
    let remaining = 0;
    for (const r of NAMESPACED_CONTENT) {
      const list = await client.list<Obj>(grOf(r), { namespace: name });
      for (const o of list.items) {
        remaining++;
        if (o.metadata?.deletionTimestamp) continue; // already going
        await client.delete(grOf(r), name, o.metadata.name, { propagationPolicy: 'Background' }).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
      }
    }
    if (remaining > 0) {
      log.info('waiting for namespace content to go', { namespace: name, remaining });
      queue.addAfter(name, opts.recheckMs ?? 1000);
      return;
    }
    const finalizers = (ns.spec.finalizers as string[]).filter((f) => f !== 'kubernetes');
    await client
      .request('PUT', `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`, { ...ns, spec: { ...ns.spec, finalizers } })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    log.info('namespace emptied and finalized', { namespace: name });
  };

  await startInformers([namespaces]);
  void queue.run(2, sync);
  for (const ns of namespaces.lister.list()) enqueue(ns);
  return {
    stop: () => {
      queue.shutDown();
      void namespaces.stop();
    },
  };
}
