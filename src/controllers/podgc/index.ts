// The pod garbage collector's I/O layer: pod and node informers and a
// periodic pass that force-deletes what planPodGc picks (see plan.ts).
import { type ApiClient, Informer, isNotFound, objectKey } from '../../client/index.js';
import { logger } from '../../util/log.js';
import {
  DEFAULT_GC_PERIOD_MS,
  DEFAULT_QUARANTINE_MS,
  DEFAULT_TERMINATED_POD_THRESHOLD,
  ORPHAN_CONDITION,
  type Obj,
  failedStatus,
  planPodGc,
} from './plan.js';

export * from './plan.js';

const log = logger('controller/podgc');
const PODS = '/pods';
const NODES = '/nodes';

export interface PodGcControllerOptions {
  gcPeriodMs?: number;
  terminatedPodThreshold?: number;
  quarantineMs?: number;
}

export class PodGcController {
  readonly podInformer: Informer<Obj>;
  readonly nodeInformer: Informer<Obj>;
  private missingSince = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly client: ApiClient,
    private readonly opts: PodGcControllerOptions = {},
  ) {
    this.podInformer = new Informer<Obj>(client, PODS);
    this.nodeInformer = new Informer<Obj>(client, NODES);
  }

  async start(): Promise<void> {
    this.podInformer.start();
    this.nodeInformer.start();
    await Promise.all([this.podInformer.waitForSync(), this.nodeInformer.waitForSync()]);
    this.timer = setInterval(() => this.tick(), this.opts.gcPeriodMs ?? DEFAULT_GC_PERIOD_MS);
    this.tick();
    log.info('started');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
    await Promise.all([this.podInformer.stop(), this.nodeInformer.stop()]);
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.gc()
      .catch((e) => log.warn('pod gc pass failed', { error: e as Error }))
      .finally(() => (this.running = undefined));
  }

  /** One pass (upstream PodGCController.gc). */
  async gc(now = Date.now()): Promise<void> {
    const pods = this.podInformer.lister.list();
    const nodes = new Map(this.nodeInformer.lister.list().map((n) => [n.metadata.name as string, n]));
    const plan = planPodGc(pods, nodes, this.missingSince, now, {
      terminatedPodThreshold: this.opts.terminatedPodThreshold ?? DEFAULT_TERMINATED_POD_THRESHOLD,
      quarantineMs: this.opts.quarantineMs ?? DEFAULT_QUARANTINE_MS,
    });
    this.missingSince = plan.missingSince;
    for (const p of plan.outOfService) await this.forceDelete(p, undefined, 'terminating pod on an out-of-service node', now);
    for (const p of plan.terminated) await this.forceDelete(p, undefined, 'terminated pod over the threshold', now);
    // Orphans: the informer may lag, so ask the API whether each node is really gone.
    const gone = new Map<string, boolean>();
    for (const p of plan.orphaned) {
      const node = p.spec.nodeName as string;
      if (!gone.has(node)) gone.set(node, await this.nodeGone(node));
      if (gone.get(node)) await this.forceDelete(p, ORPHAN_CONDITION, `orphaned pod (node ${node} no longer exists)`, now);
      else this.missingSince.delete(node);
    }
    for (const p of plan.unscheduledTerminating) await this.forceDelete(p, undefined, 'unscheduled terminating pod', now);
  }

  private async nodeGone(name: string): Promise<boolean> {
    try {
      await this.client.get(NODES, undefined, name);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  }

  /** upstream markFailedAndDeletePod(WithCondition): phase Failed first, then delete with gracePeriodSeconds 0. */
  private async forceDelete(pod: Obj, condition: Obj | undefined, why: string, now: number): Promise<void> {
    const key = objectKey(pod);
    try {
      const status = failedStatus(pod, condition, now);
      if (status) {
        try {
          await this.client.updateStatus(PODS, { ...pod, status });
        } catch (e) {
          if (isNotFound(e)) return;
          log.debug('could not mark pod failed; deleting anyway', { pod: key, error: e as Error });
        }
      }
      await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      log.info('PodGC is force deleting Pod', { pod: key, reason: why });
    } catch (e) {
      if (!isNotFound(e)) log.warn('could not delete pod', { pod: key, error: e as Error });
    }
  }
}

export async function startPodGcController(client: ApiClient, opts: PodGcControllerOptions = {}): Promise<{ stop(): void }> {
  const c = new PodGcController(client, opts);
  await c.start();
  return { stop: () => c.stop() };
}
