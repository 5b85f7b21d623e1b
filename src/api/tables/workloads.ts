// Tables of the apps and batch groups: upstream's printDeployment,
// printReplicaSet, printStatefulSet, printDaemonSet, printControllerRevision
// and printJob. Replica counts fall back to the API defaults (1) for objects
// that were never defaulted, as upstream's printers only ever see defaulted ones.

import {
  containerCells,
  controllerOf,
  formatLabels,
  formatLabelSelector,
  humanDuration,
  labelSelectorString,
  parseTime,
  since,
  templateContainers,
} from './format.js';
import { ageColumn, column, containerColumns, nameColumn, type Printer, WIDE } from './types.js';

const replicas = (obj: any): number => obj.spec?.replicas ?? 1;
const age = (obj: any, now: number): string => since(obj.metadata?.creationTimestamp, now);

export const deployments: Printer = {
  columns: [
    nameColumn(),
    column('Ready', 'string', 'Number of the pod with ready state'),
    column('Up-to-date', 'string', 'DeploymentStatus.updatedReplicas'),
    column('Available', 'string', 'DeploymentStatus.availableReplicas'),
    ageColumn(),
    ...containerColumns(),
    column('Selector', 'string', 'DeploymentSpec.selector', WIDE),
  ],
  row(d: any, { now }) {
    const st = d.status ?? {};
    // Unlike the other workloads, upstream prints the deployment selector without "<none>".
    const selector = labelSelectorString(d.spec?.selector) ?? '<invalid>';
    return {
      cells: [
        d.metadata?.name ?? '',
        `${st.readyReplicas ?? 0}/${replicas(d)}`,
        st.updatedReplicas ?? 0,
        st.availableReplicas ?? 0,
        age(d, now),
        ...containerCells(templateContainers(d)),
        selector,
      ],
    };
  },
};

export const replicasets: Printer = {
  columns: [
    nameColumn(),
    column('Desired', 'integer', 'ReplicaSetSpec.replicas'),
    column('Current', 'integer', 'ReplicaSetStatus.replicas'),
    column('Ready', 'integer', 'ReplicaSetStatus.readyReplicas'),
    ageColumn(),
    ...containerColumns(),
    column('Selector', 'string', 'ReplicaSetSpec.selector', WIDE),
  ],
  row(rs: any, { now }) {
    const st = rs.status ?? {};
    return {
      cells: [
        rs.metadata?.name ?? '',
        replicas(rs),
        st.replicas ?? 0,
        st.readyReplicas ?? 0,
        age(rs, now),
        ...containerCells(templateContainers(rs)),
        formatLabelSelector(rs.spec?.selector),
      ],
    };
  },
};

export const statefulsets: Printer = {
  columns: [nameColumn(), column('Ready', 'string', 'Number of the pod with ready state'), ageColumn(), ...containerColumns()],
  row: (ss: any, { now }) => ({
    cells: [ss.metadata?.name ?? '', `${ss.status?.readyReplicas ?? 0}/${replicas(ss)}`, age(ss, now), ...containerCells(templateContainers(ss))],
  }),
};

export const daemonsets: Printer = {
  columns: [
    nameColumn(),
    column('Desired', 'integer', 'DaemonSetStatus.desiredNumberScheduled'),
    column('Current', 'integer', 'DaemonSetStatus.currentNumberScheduled'),
    column('Ready', 'integer', 'DaemonSetStatus.numberReady'),
    column('Up-to-date', 'integer', 'DaemonSetStatus.updatedNumberScheduled'),
    column('Available', 'integer', 'DaemonSetStatus.numberAvailable'),
    column('Node Selector', 'string', 'PodSpec.nodeSelector'),
    ageColumn(),
    ...containerColumns(),
    column('Selector', 'string', 'DaemonSetSpec.selector', WIDE),
  ],
  row(ds: any, { now }) {
    const st = ds.status ?? {};
    return {
      cells: [
        ds.metadata?.name ?? '',
        st.desiredNumberScheduled ?? 0,
        st.currentNumberScheduled ?? 0,
        st.numberReady ?? 0,
        st.updatedNumberScheduled ?? 0,
        st.numberAvailable ?? 0,
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        age(ds, now),
        ...containerCells(templateContainers(ds)),
        formatLabelSelector(ds.spec?.selector),
      ],
    };
  },
};

/** "<kind>.<group>/<name>" in lower case ("daemonset.apps/web"), "<kind>/<name>" for the core group; "<none>" without a controller. */
export function controllerName(obj: any): string {
  const ref = controllerOf(obj);
  if (!ref) return '<none>';
  const apiVersion = ref.apiVersion ?? '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = ref.kind ?? '';
  if (!group && !kind) return ref.name ?? '';
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${ref.name ?? ''}`;
}

export const controllerrevisions: Printer = {
  columns: [
    nameColumn(),
    column('Controller', 'string', 'Controller of the object'),
    column('Revision', 'string', 'ControllerRevision.revision'),
    ageColumn(),
  ],
  row: (cr: any, { now }) => ({ cells: [cr.metadata?.name ?? '', controllerName(cr), cr.revision ?? 0, age(cr, now)] }),
};

/** The status of the first condition of a type is what counts, as upstream's hasJobCondition. */
function jobCondition(job: any, type: string): boolean {
  return (job.status?.conditions ?? []).find((c: any) => c?.type === type)?.status === 'True';
}

/** The STATUS cell of a job: Complete, Failed, Terminating, Suspended, FailureTarget, else Running. */
export function jobStatus(job: any): string {
  if (jobCondition(job, 'Complete')) return 'Complete';
  if (jobCondition(job, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (jobCondition(job, 'Suspended')) return 'Suspended';
  if (jobCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** The COMPLETIONS cell: "succeeded/completions", or "succeeded/1 of parallelism" for a work queue job. */
function jobCompletions(job: any): string {
  const spec = job.spec ?? {};
  const succeeded = job.status?.succeeded ?? 0;
  // The API defaults completions (and parallelism) to 1 when neither is set.
  const completions = spec.completions ?? (spec.parallelism == null ? 1 : undefined);
  if (completions != null) return `${succeeded}/${completions}`;
  const parallelism = spec.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** The DURATION cell: empty before the start, the time running so far, or start to completion. */
function jobDuration(job: any, now: number): string {
  const start = parseTime(job.status?.startTime);
  if (start === undefined) return '';
  const end = parseTime(job.status?.completionTime);
  return humanDuration((end ?? now) - start);
}

export const jobs: Printer = {
  columns: [
    nameColumn(),
    column('Status', 'string', 'Status of the job.'),
    column('Completions', 'string', 'JobStatus.succeeded'),
    column('Duration', 'string', 'Time required to complete the job.'),
    ageColumn(),
    ...containerColumns(),
    column('Selector', 'string', 'JobSpec.selector', WIDE),
  ],
  row: (job: any, { now }) => ({
    cells: [
      job.metadata?.name ?? '',
      jobStatus(job),
      jobCompletions(job),
      jobDuration(job, now),
      age(job, now),
      ...containerCells(templateContainers(job)),
      formatLabelSelector(job.spec?.selector),
    ],
  }),
};
