// The Job controller's I/O layer: informers on Jobs and pods, a work queue of
// Job keys, and a sync that carries out planJob's decisions through the API
// in upstream's order: status first (uncounted uids), then the finalizers,
// then pod creations and deletions. Pods whose Job is gone lose the tracking
// finalizer through a second queue (upstream's orphan pod queue).
import { type ApiClient, type Informer, WorkQueue, isNotFound, objectKey } from '../../client/index.js';
import { controllerRefOf, selectorOf } from '../replicaset/plan.js';
import { PODS, WorkloadController } from '../workload.js';
import { type JobPlan, type Obj, JOB_TRACKING_FINALIZER, hasTrackingFinalizer, planJob, podForJob } from './plan.js';

export * from './plan.js';

const JOBS = 'batch/jobs';

const jobRef = (job: Obj): Obj => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: job.metadata });
const rvNumber = (rv: unknown): bigint => {
  try {
    return BigInt(String(rv ?? '0'));
  } catch {
    return 0n;
  }
};

export class JobController extends WorkloadController {
  private readonly orphans = new WorkQueue<string>({ name: 'job-orphan-pod' });
  /** The resourceVersion of our last status write per job: an older cached job is stale. */
  private readonly written = new Map<string, bigint>();

  constructor(client: ApiClient, opts: { workers?: number } = {}) {
    super(client, { resource: JOBS, kind: 'Job', name: 'job' }, opts.workers);
    // Pods holding our finalizer whose Job is gone lose it (upstream's orphan pod queue).
    this.podInformer.addEventHandler({ onAdd: (p) => this.checkOrphan(p), onUpdate: (_o, p) => this.checkOrphan(p) });
  }

  get jobInformer(): Informer<Obj> {
    return this.ownerInformer;
  }

  override async start(): Promise<void> {
    await super.start();
    void this.orphans.run(1, (key) => this.releaseOrphan(key));
  }

  override async stop(): Promise<void> {
    this.orphans.shutDown();
    await super.stop();
  }

  protected override ref(job: Obj): Obj {
    return jobRef(job);
  }
  protected override onOwnerDeleted(key: string): void {
    super.onOwnerDeleted(key);
    this.written.delete(key);
    const [ns] = key.split('/');
    for (const p of this.podInformer.lister.list(ns)) if (hasTrackingFinalizer(p) && !this.ownerKey(p)) this.orphans.add(objectKey(p));
  }

  private checkOrphan(pod: Obj): void {
    if (hasTrackingFinalizer(pod) && !this.ownerKey(pod)) this.orphans.add(objectKey(pod));
  }

  private async releaseOrphan(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const pod = this.podInformer.lister.get(ns, name);
    if (!pod || !hasTrackingFinalizer(pod) || this.ownerKey(pod)) return;
    // An orphan that some Job would still adopt is left to that Job.
    if (!controllerRefOf(pod) && this.jobInformer.lister.list(ns).some((j) => selectorOf(j).matches(pod.metadata?.labels ?? {}))) return;
    await this.removeFinalizer(pod);
  }

  protected async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const job = this.jobInformer.lister.get(ns, name);
    if (!job) {
      this.expectations.delete(key);
      this.written.delete(key);
      return;
    }
    // Our own last status write is not in the cache yet: its update event brings the job back.
    const want = this.written.get(key);
    if (want !== undefined && rvNumber(job.metadata?.resourceVersion) < want) return;
    const plan = planJob(job, this.podInformer.lister.list(ns), Date.now(), this.expectations.satisfied(key));
    if (plan.deleteJob) return this.deleteJob(job);
    for (const pod of plan.adopt) await this.adopt(pod, job);
    if (plan.status) {
      const saved = await this.client.updateStatus<Obj>(JOBS, { ...job, status: plan.status });
      this.written.set(key, rvNumber(saved.metadata?.resourceVersion));
    }
    for (const e of plan.events) void this.recorder.event(this.ref(job), e.type, e.reason, e.message);
    let err: unknown = await this.removeFinalizers(plan.removeFinalizers);
    err ??= await this.managePods(key, job, plan);
    if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs + 50);
    if (err) throw err;
  }

  private async managePods(key: string, job: Obj, plan: JobPlan): Promise<unknown> {
    const deletions = [...plan.deleteCounted.map((p) => ({ p, counted: true })), ...plan.deleteUncounted.map((p) => ({ p, counted: false }))];
    if (deletions.length) {
      this.expectations.expect(key, 0, deletions.length);
      const results = await Promise.all(deletions.map(({ p, counted }) => this.deleteJobPod(key, job, p, counted)));
      return results.find((r) => r !== undefined);
    }
    if (plan.create.length) return this.createPods(key, job, plan.create);
    return undefined;
  }

  /** Creates pods in batches of 1, 2, 4, ... (upstream slowStartBatch); returns the first error. */
  private async createPods(key: string, job: Obj, indexes: Array<number | undefined>): Promise<unknown> {
    this.expectations.expect(key, indexes.length, 0);
    for (let done = 0, size = 1; done < indexes.length; size *= 2) {
      const batch = indexes.slice(done, done + size);
      done += batch.length;
      const settled = await Promise.allSettled(batch.map((ix) => this.client.create<Obj>(PODS, podForJob(job, ix), { namespace: job.metadata.namespace })));
      const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      for (const r of settled) {
        if (r.status === 'fulfilled') void this.recorder.event(this.ref(job), 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata?.name}`);
        else void this.recorder.event(this.ref(job), 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error)?.message ?? r.reason}`);
      }
      if (failures.length) {
        // Neither the failed creations nor the ones never attempted will be observed.
        this.expectations.lower(key, failures.length + indexes.length - done, 0);
        return failures[0]!.reason;
      }
    }
    return undefined;
  }

  private async deleteJobPod(key: string, job: Obj, pod: Obj, counted: boolean): Promise<unknown> {
    try {
      if (!counted) await this.removeFinalizer(pod);
      if (await this.deletePod(pod)) void this.recorder.event(this.ref(job), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      else this.expectations.lower(key, 0, 1);
      return undefined;
    } catch (e) {
      this.expectations.lower(key, 0, 1);
      void this.recorder.event(this.ref(job), 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
      return e;
    }
  }

  private async removeFinalizers(pods: Obj[]): Promise<unknown> {
    const results = await Promise.allSettled(pods.map((p) => this.removeFinalizer(p)));
    return results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  }

  /** upstream removeTrackingFinalizerPatch: a strategic merge patch, guarded by the pod's uid. */
  private async removeFinalizer(pod: Obj): Promise<void> {
    if (!hasTrackingFinalizer(pod)) return;
    try {
      await this.client.patch(
        PODS,
        pod.metadata.namespace,
        pod.metadata.name,
        { metadata: { uid: pod.metadata.uid, [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } },
        { type: 'strategic' },
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Adoption with a batch/v1 reference (the base class writes apps/v1 ones). */
  private async adopt(pod: Obj, job: Obj): Promise<void> {
    try {
      const cur = await this.client.get<Obj>(PODS, pod.metadata.namespace, pod.metadata.name);
      if (cur.metadata?.uid !== pod.metadata?.uid || controllerRefOf(cur)) return;
      cur.metadata.ownerReferences = [
        ...(cur.metadata.ownerReferences ?? []),
        { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true },
      ];
      await this.client.update(PODS, cur);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** ttlSecondsAfterFinished ran out: delete the job and, in the foreground, its pods. */
  private async deleteJob(job: Obj): Promise<void> {
    try {
      await this.client.delete(JOBS, job.metadata.namespace, job.metadata.name, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid } });
      this.log.info('deleted finished job after its TTL', { job: objectKey(job) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export async function startJobController(client: ApiClient): Promise<{ stop(): void }> {
  const c = new JobController(client);
  await c.start();
  return { stop: () => c.stop() };
}
