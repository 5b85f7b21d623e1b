// Cluster DNS as an addon, the way kubeadm deploys CoreDNS: in kube-system,
// the ConfigMap `coredns` (the Corefile), a Deployment `coredns` running the
// image k8ts/coredns through the node agent, and the Service `kube-dns` at the
// cluster DNS IP. k8ts has no service-account tokens yet, so the DNS pods reach
// the API with a client-certificate kubeconfig kept in the Secret
// `coredns-kubeconfig` (mounted, and named by the KUBECONFIG variable).
// Objects are created when missing and never overwritten, so
// `kubectl edit cm coredns -n kube-system` sticks.
import { type ApiClient, isAlreadyExists } from '../client/index.js';
import { logger } from '../util/log.js';

const log = logger('addon/coredns');
export type Obj = Record<string, any>;

const LABELS = { 'k8s-app': 'kube-dns' };
export const COREDNS_KUBECONFIG_DIR = '/etc/coredns-kubeconfig';

/** kubeadm's default Corefile (as seed 002 shows it). */
export function defaultCorefile(clusterDomain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
}

export interface CorednsOptions {
  clusterDns: string;
  clusterDomain: string;
  replicas: number;
  /** A kubeconfig for the DNS pods (client certificate of system:coredns). */
  kubeconfig: string;
}

export function corednsManifests(o: CorednsOptions): Obj[] {
  const meta = (name: string, extra: Obj = {}) => ({ name, namespace: 'kube-system', ...extra });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('coredns') },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('coredns'), data: { Corefile: defaultCorefile(o.clusterDomain) } },
    { apiVersion: 'v1', kind: 'Secret', metadata: meta('coredns-kubeconfig'), type: 'Opaque', stringData: { kubeconfig: o.kubeconfig } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('coredns', { labels: { ...LABELS } }),
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: { ...LABELS } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: { ...LABELS } },
          spec: {
            serviceAccountName: 'coredns',
            dnsPolicy: 'Default',
            tolerations: [
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
              { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
            ],
            containers: [
              {
                name: 'coredns',
                image: 'k8ts/coredns',
                args: ['-conf', '/etc/coredns/Corefile'],
                env: [{ name: 'KUBECONFIG', value: `${COREDNS_KUBECONFIG_DIR}/kubeconfig` }],
                resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                ],
                volumeMounts: [
                  { name: 'config-volume', mountPath: '/etc/coredns', readOnly: true },
                  { name: 'kubeconfig', mountPath: COREDNS_KUBECONFIG_DIR, readOnly: true },
                ],
                livenessProbe: { httpGet: { path: '/health', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
                readinessProbe: { httpGet: { path: '/ready', port: 8181, scheme: 'HTTP' }, periodSeconds: 1 },
              },
            ],
            volumes: [
              { name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } },
              { name: 'kubeconfig', secret: { secretName: 'coredns-kubeconfig' } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('kube-dns', {
        labels: { ...LABELS, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      }),
      spec: {
        selector: { ...LABELS },
        clusterIP: o.clusterDns,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    },
  ];
}

const RESOURCE: Record<string, string> = {
  ServiceAccount: '/serviceaccounts',
  ConfigMap: '/configmaps',
  Secret: '/secrets',
  Deployment: 'apps/deployments',
  Service: '/services',
};

/** Creates what is missing (existing objects, e.g. an edited ConfigMap, are left alone). */
export async function ensureCorednsAddon(client: ApiClient, o: CorednsOptions): Promise<void> {
  for (const obj of corednsManifests(o)) {
    try {
      await client.create(RESOURCE[obj.kind], obj, { namespace: 'kube-system' });
      log.info('created', { kind: obj.kind, name: `kube-system/${obj.metadata.name}` });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}
