// Server-side printing: the meta.k8s.io Table a client gets when it asks for
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (what `kubectl get`
// does). Columns and cells follow upstream's printers
// (pkg/printers/internalversion/printers.go) so that kubectl prints exactly what
// it prints against Kubernetes; resources without a printer get upstream's
// default table (Name, Created At).
//
// As upstream, the server always computes the wide cells (priority-1 columns
// included); kubectl drops those columns unless `-o wide`. On a watch, the
// first event's Table carries the column definitions and later ones carry
// null, so a watch Table is built with `noHeaders` after the first event.
//
// Per-resource printers live in src/api/tables/ (pods.ts, core.ts,
// workloads.ts, network.ts); shared cell formatting in tables/format.ts.

import { apiVersionOf, type GroupResource, lookupResource } from './registry.js';
import { configmaps, endpoints, events, namespaces, nodes, secrets, serviceaccounts, services } from './tables/core.js';
import { endpointslices, ingresses, leases, networkpolicies } from './tables/network.js';
import { pods } from './tables/pods.js';
import { column, nameColumn, type Printer, type Table, type TableColumnDefinition, type TableRow } from './tables/types.js';
import { controllerrevisions, daemonsets, deployments, jobs, replicasets, statefulsets } from './tables/workloads.js';

export type { Table, TableCell, TableColumnDefinition, TableRow, TableRowCondition } from './tables/types.js';
export { humanDuration, labelSelectorString, formatLabelSelector, formatLabels } from './tables/format.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface BuildTableOptions {
  /** What each row carries in `object`: PartialObjectMetadata (default, as upstream), the whole object, or nothing. */
  includeObject?: IncludeObject;
  /** The time ages are computed against (default: now). */
  now?: Date;
  /** The list's metadata (resourceVersion, continue, remainingItemCount), copied to the Table's. */
  listMeta?: ListMeta;
  /** Omit the column definitions (columnDefinitions: null), as upstream does for watch events after the first. */
  noHeaders?: boolean;
  /** The Table's group version: "meta.k8s.io/v1" (default) or "meta.k8s.io/v1beta1". */
  groupVersion?: string;
}

const PRINTERS: Record<GroupResource, Printer> = {
  '/pods': pods,
  '/services': services,
  '/endpoints': endpoints,
  '/nodes': nodes,
  '/namespaces': namespaces,
  '/configmaps': configmaps,
  '/secrets': secrets,
  '/serviceaccounts': serviceaccounts,
  '/events': events,
  'events.k8s.io/events': events,
  'apps/deployments': deployments,
  'apps/replicasets': replicasets,
  'apps/statefulsets': statefulsets,
  'apps/daemonsets': daemonsets,
  'apps/controllerrevisions': controllerrevisions,
  'batch/jobs': jobs,
  'discovery.k8s.io/endpointslices': endpointslices,
  'coordination.k8s.io/leases': leases,
  'networking.k8s.io/networkpolicies': networkpolicies,
  'networking.k8s.io/ingresses': ingresses,
};

/** RFC3339 in UTC to the second, as Go's time.Format(time.RFC3339) of a UTC time; Go's zero time when unset. */
function rfc3339(ts: unknown): string {
  const t = typeof ts === 'string' ? Date.parse(ts) : NaN;
  if (Number.isNaN(t)) return '0001-01-01T00:00:00Z';
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Upstream's default table convertor (k8s.io/apiserver/pkg/registry/rest), for resources without a printer. */
const DEFAULT_PRINTER: Printer = {
  columns: [nameColumn(), column('Created At', 'date', 'ObjectMeta.creationTimestamp')],
  row: (obj: any) => ({ cells: [obj?.metadata?.name ?? '', rfc3339(obj?.metadata?.creationTimestamp)] }),
};

const printerFor = (gr: GroupResource): Printer => PRINTERS[gr] ?? DEFAULT_PRINTER;

/** Whether the resource has its own printer (otherwise it gets the default Name / Created At table). */
export function hasPrinter(gr: GroupResource): boolean {
  return gr in PRINTERS;
}

/** The resource's column definitions, wide (priority 1) ones included, as the server sends them. */
export function tableColumns(gr: GroupResource): TableColumnDefinition[] {
  return printerFor(gr).columns.map((c) => ({ ...c }));
}

/**
 * The message of the 400 upstream answers for an invalid `includeObject`
 * query parameter, or undefined when the value is valid (None, Metadata,
 * Object, or empty).
 */
export function tableOptionsError(includeObject: string | undefined | null): string | undefined {
  if (!includeObject || includeObject === 'None' || includeObject === 'Metadata' || includeObject === 'Object') return undefined;
  const value = JSON.stringify(includeObject);
  return `Unable to convert to Table as requested: includeObject: Invalid value: ${value}: must be 'Metadata', 'Object', 'None', or empty`;
}

function rowObject(gr: GroupResource, obj: any, include: IncludeObject, groupVersion: string): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') {
    if (obj?.kind && obj?.apiVersion) return obj;
    const info = lookupResource(gr.slice(0, gr.indexOf('/')), gr.slice(gr.indexOf('/') + 1));
    return info ? { kind: info.kind, apiVersion: apiVersionOf(info), ...obj } : obj;
  }
  return { kind: 'PartialObjectMetadata', apiVersion: groupVersion, metadata: { ...(obj?.metadata ?? {}) } };
}

/**
 * The Table for a list of objects of one resource (`gr` is "<group>/<plural>",
 * e.g. "/pods", "apps/deployments"). Every row has every column's cell.
 */
export function buildTable(gr: GroupResource, objects: any[], opts: BuildTableOptions = {}): Table {
  const printer = printerFor(gr);
  const include = opts.includeObject ?? 'Metadata';
  const groupVersion = opts.groupVersion ?? 'meta.k8s.io/v1';
  const ctx = { now: (opts.now ?? new Date()).getTime() };
  const rows: TableRow[] = objects.map((obj) => {
    const printed = printer.row(obj, ctx);
    const row: TableRow = { cells: printed.cells };
    if (printed.conditions?.length) row.conditions = printed.conditions;
    const object = rowObject(gr, obj, include, groupVersion);
    if (object !== undefined) row.object = object;
    return row;
  });
  const metadata: Table['metadata'] = {};
  const lm = opts.listMeta ?? {};
  if (lm.resourceVersion) metadata.resourceVersion = lm.resourceVersion;
  if (lm.continue) metadata.continue = lm.continue;
  if (typeof lm.remainingItemCount === 'number') metadata.remainingItemCount = lm.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: groupVersion,
    metadata,
    columnDefinitions: opts.noHeaders ? null : tableColumns(gr),
    rows,
  };
}

/** The Table for one object (a get): one row, and the object's resourceVersion as the Table's. */
export function buildTableForObject(gr: GroupResource, obj: any, opts: Omit<BuildTableOptions, 'listMeta'> = {}): Table {
  return buildTable(gr, [obj], { ...opts, listMeta: { resourceVersion: obj?.metadata?.resourceVersion } });
}

/**
 * The Table embedded in one watch event: a one-row Table of the event's
 * object. Upstream sends column definitions with the first event of a watch
 * only (`first: true`) and null afterwards.
 */
export function buildTableForWatchEvent(
  gr: GroupResource,
  obj: any,
  opts: Omit<BuildTableOptions, 'listMeta' | 'noHeaders'> & { first: boolean },
): Table {
  const { first, ...rest } = opts;
  return buildTableForObject(gr, obj, { ...rest, noHeaders: !first });
}
