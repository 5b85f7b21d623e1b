// The EndpointSlice controller: keeps the EndpointSlices of each selector-bearing
// Service in line with the pods it selects (decisions in plan.ts). Informers on
// services, pods, nodes (zones) and the managed slices feed a work queue keyed
// by the service's namespace/name. Because the slice cache lags our own writes,
// the controller remembers what it wrote (as upstream's endpointSliceTracker)
// and waits for the cache to catch up before planning that service again.
import { type ApiClient, Informer, WorkQueue, isNotFound, startInformers } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { type Obj, serviceSelects } from '../endpoints/util.js';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, planSlices } from './plan.js';

const log = logger('controller/endpointslice');
const GR = 'discovery.k8s.io/endpointslices';

export interface RunningController {
  stop(): void;
}

export async function startEndpointSliceController(client: ApiClient, opts: { workers?: number; maxEndpointsPerSlice?: number } = {}): Promise<RunningController> {
  const services = new Informer<Obj>(client, '/services');
  const pods = new Informer<Obj>(client, '/pods');
  const nodes = new Informer<Obj>(client, '/nodes');
  const slices = new Informer<Obj>(client, GR, { labelSelector: `${LABEL_MANAGED_BY}=${CONTROLLER_NAME}` });
  const queue = new WorkQueue<string>({ name: 'endpointslice' });
  const key = (o: Obj) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  /** Per service: slice name -> resourceVersion we wrote ('' for deleted). */
  const expected = new Map<string, Map<string, string>>();

  const enqueueForPod = (...ps: Obj[]) => {
    const ns = ps[0]?.metadata?.namespace;
    for (const svc of services.lister.list(ns)) if (ps.some((p) => serviceSelects(svc, p))) queue.add(key(svc));
  };
  const enqueueAll = () => {
    for (const s of services.lister.list()) queue.add(key(s));
  };
  const enqueueForSlice = (s: Obj) => {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (svc) queue.add(`${s.metadata?.namespace}/${svc}`);
  };
  services.addEventHandler({ onAdd: (s) => queue.add(key(s)), onUpdate: (_o, s) => queue.add(key(s)), onDelete: (s) => queue.add(key(s)) });
  pods.addEventHandler({ onAdd: (p) => enqueueForPod(p), onUpdate: (o, p) => enqueueForPod(o, p), onDelete: (p) => enqueueForPod(p) });
  nodes.addEventHandler({
    onUpdate: (o, n) => {
      if (o !== n && o.metadata?.labels?.['topology.kubernetes.io/zone'] !== n.metadata?.labels?.['topology.kubernetes.io/zone']) enqueueAll();
    },
  });
  slices.addEventHandler({ onAdd: enqueueForSlice, onUpdate: (_o, s) => enqueueForSlice(s), onDelete: enqueueForSlice });

  /** True when the slice cache reflects every write we made for the service. */
  const caughtUp = (k: string, ns: string): boolean => {
    const exp = expected.get(k);
    if (!exp) return true;
    for (const [name, rv] of exp) {
      const cur = slices.lister.get(ns, name);
      if (rv === '' ? cur !== undefined : !cur || Number(cur.metadata?.resourceVersion) < Number(rv)) return false;
    }
    expected.delete(k);
    return true;
  };

  const sync = async (k: string) => {
    const [ns, name] = k.split('/') as [string, string];
    if (!caughtUp(k, ns)) {
      queue.addAfter(k, 50);
      return;
    }
    const svc = services.lister.get(ns, name);
    const mine = slices.lister.list(ns, (s) => s.metadata?.labels?.[LABEL_SERVICE_NAME] === name);
    const exp = new Map<string, string>();
    expected.set(k, exp);
    if (!svc) {
      // The garbage collector would remove them through ownerReferences; do it at once.
      for (const s of mine) await del(s, exp);
      return;
    }
    const nodeMap = new Map(nodes.lister.list().map((n) => [n.metadata?.name as string, n]));
    const plan = planSlices(svc, pods.lister.list(ns), mine, { nodes: nodeMap, maxPerSlice: opts.maxEndpointsPerSlice });
    for (const s of plan.create) {
      const created = await client.create<Obj>(GR, s, { namespace: ns });
      exp.set(created.metadata.name, String(created.metadata.resourceVersion));
    }
    for (const s of plan.update) {
      const updated = await client.update<Obj>(GR, s);
      exp.set(updated.metadata.name, String(updated.metadata.resourceVersion));
    }
    for (const s of plan.delete) await del(s, exp);
    if (plan.create.length + plan.update.length + plan.delete.length > 0) {
      log.info('synced endpoint slices', { service: k, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length });
    }
  };
  const del = async (s: Obj, exp: Map<string, string>) => {
    try {
      await client.delete(GR, s.metadata.namespace, s.metadata.name, { preconditions: { uid: s.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    exp.set(s.metadata.name, '');
  };

  const informers = [services, pods, nodes, slices];
  await startInformers(informers);
  void queue.run(opts.workers ?? 2, sync);
  enqueueAll();
  log.info('started');
  return {
    stop: () => {
      queue.shutDown();
      for (const i of informers) void i.stop();
    },
  };
}
