// Tables of the core group (pods are in pods.ts): upstream's printService,
// printEndpoints, printNode, printNamespace, printConfigMap, printSecret,
// printServiceAccount and printEvent.

import { byteOrder, formatLabels, joinHostPort, loadBalancerIngress, parseTime, since } from './format.js';
import { ageColumn, column, nameColumn, type PrintContext, type Printer, WIDE } from './types.js';

// ---- services

/** The EXTERNAL-IP cell. The server prints wide cells, so load balancer addresses are never clipped. */
function serviceExternalIP(svc: any): string {
  const spec = svc.spec ?? {};
  const externalIPs: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(svc.status?.loadBalancer?.ingress);
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** The PORT(S) cell: "80/TCP", "80:30080/TCP" with a node port, joined by ","; "<none>" without ports. */
function servicePorts(ports: any[] | undefined): string {
  const text = (ports ?? [])
    .map((p) => {
      const protocol = p.protocol ?? 'TCP';
      return p.nodePort > 0 ? `${p.port}:${p.nodePort}/${protocol}` : `${p.port}/${protocol}`;
    })
    .join(',');
  return text || '<none>';
}

export const services: Printer = {
  columns: [
    nameColumn(),
    column('Type', 'string', 'ServiceSpec.type'),
    column('Cluster-IP', 'string', 'ServiceSpec.clusterIP'),
    column('External-IP', 'string', 'ServiceSpec.externalIPs'),
    column('Port(s)', 'string', 'ServiceSpec.ports'),
    ageColumn(),
    column('Selector', 'string', 'ServiceSpec.selector', WIDE),
  ],
  row(svc: any, { now }: PrintContext) {
    const spec = svc.spec ?? {};
    // A lone spec.clusterIP counts as clusterIPs[0], as upstream's conversion makes it ("None" when headless).
    const clusterIP = spec.clusterIPs?.[0] || spec.clusterIP || '<none>';
    return {
      cells: [
        svc.metadata?.name ?? '',
        spec.type ?? 'ClusterIP',
        clusterIP,
        serviceExternalIP(svc),
        servicePorts(spec.ports),
        since(svc.metadata?.creationTimestamp, now),
        formatLabels(spec.selector),
      ],
    };
  },
};

// ---- endpoints

/**
 * upstream's formatEndpoints: "ip:port" for every port of every subset (bare
 * IPs for a subset without ports), the first three shown and the rest counted
 * as " + N more..."; "<none>" without subsets.
 */
export function formatEndpoints(ep: any): string {
  const subsets: any[] = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses: any[] = ss.addresses ?? [];
    const ports: any[] = ss.ports ?? [];
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) if (list.length < max) list.push(a.ip ?? '');
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) if (list.length < max) list.push(joinHostPort(a.ip ?? '', port.port ?? 0));
    }
  }
  const text = list.join(',');
  return count > max ? `${text} + ${count - max} more...` : text;
}

export const endpoints: Printer = {
  columns: [nameColumn(), column('Endpoints', 'string', 'Endpoints.subsets'), ageColumn()],
  row: (ep: any, { now }) => ({ cells: [ep.metadata?.name ?? '', formatEndpoints(ep), since(ep.metadata?.creationTimestamp, now)] }),
};

// ---- nodes

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const NODE_ROLE_LABEL = 'kubernetes.io/role';

/** Roles from node-role.kubernetes.io/<role> labels and the kubernetes.io/role=<role> label, sorted, unique. */
export function nodeRoles(node: any): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries<string>(node.metadata?.labels ?? {})) {
    if (k.startsWith(NODE_ROLE_PREFIX)) {
      const role = k.slice(NODE_ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === NODE_ROLE_LABEL && v) {
      roles.add(v);
    }
  }
  return [...roles].sort(byteOrder);
}

/** The STATUS cell: Ready / NotReady (from the Ready condition), Unknown without one, then ",SchedulingDisabled" when cordoned. */
export function nodeStatus(node: any): string {
  // The last condition of a type wins, as upstream builds a map of them.
  let readyCond: any;
  for (const c of node.status?.conditions ?? []) if (c?.type === 'Ready') readyCond = c;
  const status: string[] = [];
  if (readyCond) status.push(readyCond.status === 'True' ? 'Ready' : 'NotReady');
  else status.push('Unknown');
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  return status.join(',');
}

const nodeAddress = (node: any, type: string): string => (node.status?.addresses ?? []).find((a: any) => a?.type === type)?.address ?? '<none>';

export const nodes: Printer = {
  columns: [
    nameColumn(),
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    ageColumn(),
    column('Version', 'string', 'NodeSystemInfo.kubeletVersion'),
    column('Internal-IP', 'string', 'NodeStatus.addresses', WIDE),
    column('External-IP', 'string', 'NodeStatus.addresses', WIDE),
    column('OS-Image', 'string', 'NodeSystemInfo.osImage', WIDE),
    column('Kernel-Version', 'string', 'NodeSystemInfo.kernelVersion', WIDE),
    column('Container-Runtime', 'string', 'NodeSystemInfo.containerRuntimeVersion', WIDE),
  ],
  row(node: any, { now }) {
    const info = node.status?.nodeInfo ?? {};
    return {
      cells: [
        node.metadata?.name ?? '',
        nodeStatus(node),
        nodeRoles(node).join(',') || '<none>',
        since(node.metadata?.creationTimestamp, now),
        info.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ],
    };
  },
};

// ---- namespaces, configmaps, secrets, serviceaccounts

const count = (x: unknown): number => (Array.isArray(x) ? x.length : x && typeof x === 'object' ? Object.keys(x).length : 0);

export const namespaces: Printer = {
  columns: [nameColumn(), column('Status', 'string', 'The status of the namespace'), ageColumn()],
  row: (ns: any, { now }) => ({ cells: [ns.metadata?.name ?? '', ns.status?.phase ?? '', since(ns.metadata?.creationTimestamp, now)] }),
};

export const configmaps: Printer = {
  columns: [nameColumn(), column('Data', 'string', 'ConfigMap.data'), ageColumn()],
  row: (cm: any, { now }) => ({
    cells: [cm.metadata?.name ?? '', count(cm.data) + count(cm.binaryData), since(cm.metadata?.creationTimestamp, now)],
  }),
};

export const secrets: Printer = {
  columns: [nameColumn(), column('Type', 'string', 'Secret.type'), column('Data', 'string', 'Secret.data'), ageColumn()],
  row: (s: any, { now }) => ({
    cells: [s.metadata?.name ?? '', s.type ?? 'Opaque', count(s.data), since(s.metadata?.creationTimestamp, now)],
  }),
};

export const serviceaccounts: Printer = {
  columns: [nameColumn(), column('Secrets', 'string', 'ServiceAccount.secrets'), ageColumn()],
  row: (sa: any, { now }) => ({ cells: [sa.metadata?.name ?? '', count(sa.secrets), since(sa.metadata?.creationTimestamp, now)] }),
};

// ---- events (core/v1 and events.k8s.io/v1 share one table, as they share one storage upstream)

/** The core/v1 view of an event given in either the core/v1 or the events.k8s.io/v1 shape. */
function coreEvent(ev: any): any {
  if (ev.involvedObject || !(ev.regarding || ev.note !== undefined || String(ev.apiVersion ?? '').startsWith('events.k8s.io/'))) return ev;
  return {
    ...ev,
    involvedObject: ev.regarding ?? {},
    message: ev.note,
    source: ev.deprecatedSource,
    firstTimestamp: ev.deprecatedFirstTimestamp,
    lastTimestamp: ev.deprecatedLastTimestamp,
    count: ev.deprecatedCount,
  };
}

/** formatEventSource: component (or reportingController), then ", host" (or reportingInstance) when there is one. */
function eventSource(ev: any): string {
  const component = ev.source?.component || ev.reportingController || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

export const events: Printer = {
  columns: [
    column('Last Seen', 'string', 'Event.lastTimestamp'),
    column('Type', 'string', 'Event.type'),
    column('Reason', 'string', 'Event.reason'),
    column('Object', 'string', 'Event.involvedObject'),
    column('Subobject', 'string', 'ObjectReference.fieldPath', WIDE),
    column('Source', 'string', 'Event.source', WIDE),
    column('Message', 'string', 'Event.message'),
    column('First Seen', 'string', 'Event.firstTimestamp', WIDE),
    column('Count', 'string', 'Event.count', WIDE),
    column('Name', 'string', 'ObjectMeta.name', { priority: 1, format: 'name' }),
  ],
  row(raw: any, { now }) {
    const ev = coreEvent(raw);
    const first = since(parseTime(ev.firstTimestamp) !== undefined ? ev.firstTimestamp : ev.eventTime, now);
    let last = parseTime(ev.lastTimestamp) !== undefined ? since(ev.lastTimestamp, now) : first;
    let n: number = ev.count ?? 0;
    if (ev.series) {
      last = since(ev.series.lastObservedTime, now);
      n = ev.series.count ?? 0;
    } else if (n === 0) {
      n = 1; // singleton events of the new API carry no count
    }
    const io = ev.involvedObject ?? {};
    const kind = String(io.kind ?? '').toLowerCase();
    const target = io.name ? `${kind}/${io.name}` : kind;
    return {
      cells: [
        last,
        ev.type ?? '',
        ev.reason ?? '',
        target,
        io.fieldPath ?? '',
        eventSource(ev),
        String(ev.message ?? '').trim(),
        first,
        n,
        ev.metadata?.name ?? '',
      ],
    };
  },
};
