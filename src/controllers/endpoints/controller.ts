// The Endpoints controller: keeps an Endpoints object per selector-bearing
// Service in line with the pods it selects (the decisions are in plan.ts).
// Informers on services, pods and endpoints feed a work queue keyed by the
// service's namespace/name; writes carry resourceVersion and happen only when
// something changed.
import { type ApiClient, Informer, WorkQueue, isNotFound, startInformers } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { desiredEndpoints, endpointsUpToDate, mergeForWrite } from './plan.js';
import { type Obj, managesService, serviceSelects } from './util.js';

const log = logger('controller/endpoints');

export interface RunningController {
  stop(): void;
}

export async function startEndpointsController(client: ApiClient, opts: { workers?: number } = {}): Promise<RunningController> {
  const services = new Informer<Obj>(client, '/services');
  const pods = new Informer<Obj>(client, '/pods');
  const endpoints = new Informer<Obj>(client, '/endpoints');
  const queue = new WorkQueue<string>({ name: 'endpoints' });
  const key = (o: Obj) => `${o.metadata?.namespace}/${o.metadata?.name}`;

  const enqueueForPod = (...ps: Obj[]) => {
    const ns = ps[0]?.metadata?.namespace;
    for (const svc of services.lister.list(ns)) if (ps.some((p) => serviceSelects(svc, p))) queue.add(key(svc));
  };
  services.addEventHandler({ onAdd: (s) => queue.add(key(s)), onUpdate: (_o, s) => queue.add(key(s)), onDelete: (s) => queue.add(key(s)) });
  pods.addEventHandler({ onAdd: (p) => enqueueForPod(p), onUpdate: (o, p) => enqueueForPod(o, p), onDelete: (p) => enqueueForPod(p) });
  endpoints.addEventHandler({
    // Repair drift: an Endpoints of a managed service changed or went away behind our back.
    onUpdate: (_o, e) => {
      const svc = services.lister.get(e.metadata?.namespace, e.metadata?.name);
      if (svc && managesService(svc)) queue.add(key(e));
    },
    onDelete: (e) => queue.add(key(e)),
  });

  const sync = async (k: string) => {
    const [ns, name] = k.split('/') as [string, string];
    const svc = services.lister.get(ns, name);
    if (!svc) {
      // The service is gone: so is its Endpoints (upstream deletes it whoever made it).
      if (endpoints.lister.get(ns, name)) {
        try {
          await client.delete('/endpoints', ns, name);
          log.info('deleted endpoints of a deleted service', { service: k });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      return;
    }
    const desired = desiredEndpoints(svc, pods.lister.list(ns));
    if (!desired) return; // selector-less or ExternalName: user-managed, untouched
    const current = endpoints.lister.get(ns, name);
    if (current && endpointsUpToDate(current, desired)) return;
    const obj = mergeForWrite(current, desired, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
    if (current) {
      await client.update('/endpoints', obj);
      log.info('updated endpoints', { service: k });
    } else {
      await client.create('/endpoints', obj, { namespace: ns });
      log.info('created endpoints', { service: k });
    }
  };

  const informers = [services, pods, endpoints];
  await startInformers(informers);
  const done = queue.run(opts.workers ?? 2, sync);
  for (const s of services.lister.list()) queue.add(key(s));
  log.info('started');
  return {
    stop: () => {
      queue.shutDown();
      for (const i of informers) void i.stop();
      void done;
    },
  };
}
