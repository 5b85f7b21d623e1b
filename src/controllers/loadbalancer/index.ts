// The LoadBalancer IP controller's I/O layer: one informer on Services and a
// queue with a single key, since an address handed to one service is taken
// from all others: any change replans every service (planLoadBalancers) and
// writes the status that differs. No pools: the controller does nothing.
import { type ApiClient, EventRecorder, Informer, WorkQueue, isNotFound } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { type LbEvent, type Obj, parsePools, planLoadBalancers } from './plan.js';

export * from './plan.js';

const log = logger('controller/loadbalancer');
const SERVICES = '/services';
const ALL = 'all';

const svcRef = (svc: Obj): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: svc.metadata });

export class LoadBalancerController {
  readonly informer: Informer<Obj>;
  private readonly queue = new WorkQueue<string>({ name: 'loadbalancer' });
  private readonly recorder: EventRecorder;
  private readonly pools;
  /** The last AllocationFailed message per service uid, so a retry that fails alike stays quiet. */
  private readonly failed = new Map<string, string>();
  private running?: Promise<void>;

  constructor(
    private readonly client: ApiClient,
    opts: { pools: string[] },
  ) {
    this.pools = parsePools(opts.pools);
    this.informer = new Informer<Obj>(client, SERVICES);
    this.recorder = new EventRecorder(client, { component: 'service-lb-controller' });
  }

  get enabled(): boolean {
    return this.pools.length > 0;
  }

  async start(): Promise<void> {
    if (!this.enabled) {
      log.info('no load balancer pools configured: idle');
      return;
    }
    const kick = () => this.queue.add(ALL);
    this.informer.addEventHandler({
      onAdd: kick,
      onUpdate: kick,
      onDelete: (svc) => {
        this.failed.delete(svc.metadata?.uid);
        kick();
      },
    });
    this.informer.start();
    await this.informer.waitForSync();
    this.running = this.queue.run(1, () => this.sync());
    log.info('started', { pools: this.pools.length });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    if (this.enabled) await this.informer.stop();
    await this.running;
  }

  async sync(): Promise<void> {
    const plan = planLoadBalancers(this.informer.lister.list(), this.pools);
    const allocated = new Set<Obj>();
    let err: unknown;
    for (const { svc, ingress } of plan.updates) {
      try {
        await this.client.updateStatus(SERVICES, { ...svc, status: { ...(svc.status ?? {}), loadBalancer: ingress.length ? { ingress } : {} } });
        allocated.add(svc);
        log.info(ingress.length ? 'assigned address' : 'released address', { service: `${svc.metadata.namespace}/${svc.metadata.name}`, ip: ingress[0]?.ip });
      } catch (e) {
        // A stale cache (conflict) or a service gone: the informer's event replans.
        if (!isNotFound(e)) err ??= e;
      }
    }
    for (const e of plan.events) this.report(e, allocated);
    if (err) throw err;
  }

  private report(e: LbEvent, written: Set<Obj>): void {
    const uid = e.svc.metadata?.uid;
    if (e.reason === 'IPAllocated') {
      this.failed.delete(uid);
      if (!written.has(e.svc)) return;
    } else {
      if (this.failed.get(uid) === e.message) return;
      this.failed.set(uid, e.message);
    }
    void this.recorder.event(svcRef(e.svc), e.type, e.reason, e.message);
  }
}

export async function startLoadBalancerController(client: ApiClient, opts: { pools: string[] }): Promise<{ stop(): void }> {
  const c = new LoadBalancerController(client, opts);
  await c.start();
  return { stop: () => c.stop() };
}
