// The API server: TLS, authentication, the REST storages, and the objects a
// cluster always has (the default namespaces, the `kubernetes` Service and its
// Endpoints). Only the Store is shared with the rest of k8ts; every other
// component talks to this server over HTTPS.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { RESOURCES, grOf } from '../api/registry.js';
import type { Store } from '../storage/types.js';
import { logger } from '../util/log.js';
import { NodePortAllocator, ServiceIPAllocator } from './allocator.js';
import { type Authenticator, createAuthenticator } from './authn-wiring.js';
import { type HandlerDeps, type SubresourceHandler, createHandler } from './handler.js';
import { writeKubeconfig } from './kubeconfig.js';
import { Metrics } from './metrics.js';
import { serveOpenAPI } from './openapi-http.js';
import { ensurePki } from './pki.js';
import { type RequestContext, ResourceStorage, type Strategy } from './rest.js';
import { ApiError } from './status.js';
import { namespaceStrategy, podStrategyWith, serviceStrategy } from './strategies.js';
import { bindingHandler, evictionHandler, nodeSeam, scaleHandler } from './subresources.js';
import { KUBELET_CLIENT_CN, createNodeProxy, routeUpgrades } from './nodeproxy.js';
import { recordManagedFields } from './patching.js';

const log = logger('apiserver');

export interface ApiServerOptions {
  store: Store;
  dataDir: string;
  bindAddress: string;
  securePort: number;
  serviceCidr: string;
  clusterCidr: string;
  clusterDomain: string;
  tokenAuthFile?: string;
  writeKubeconfig?: string;
  /** The address other components and the `kubernetes` Endpoints use (default: the first non-loopback IPv4, else 127.0.0.1). */
  advertiseAddress?: string;
  nodePortRange?: [number, number];
  /** DefaultTolerationSeconds admission: tolerationSeconds of the not-ready / unreachable NoExecute tolerations added to new pods (default 300). */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
}

export interface ApiServer {
  url: string;
  /** https://127.0.0.1:<port>, for components on this machine. */
  localUrl: string;
  port: number;
  caCert: string;
  /** A client certificate signed by the cluster CA, for a component's own identity. */
  issueClientCert(cn: string, groups?: string[]): { cert: string; key: string };
  /** A serving certificate signed by the cluster CA (e.g. for a node agent's server). */
  issueServingCert(cn: string, dnsNames: string[], ips: string[]): { cert: string; key: string };
  kubeconfigPath: string;
  storage: Map<string, ResourceStorage>;
  ipAllocator: ServiceIPAllocator;
  close(): Promise<void>;
}

export function hostIPv4s(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

const SYSTEM_CTX = (): RequestContext => ({ dryRun: false, fieldManager: 'k8ts-apiserver', warnings: [] });

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const t0 = performance.now();
  const nodeIPs = hostIPv4s();
  const advertise = opts.advertiseAddress ?? nodeIPs[0] ?? '127.0.0.1';
  const ipAllocator = new ServiceIPAllocator(opts.store, opts.serviceCidr);
  const portAllocator = new NodePortAllocator(opts.store, ...(opts.nodePortRange ?? [30000, 32767]));
  const pki = await ensurePki({
    dataDir: opts.dataDir,
    hostname: os.hostname(),
    nodeIPs: [...new Set([advertise, ...nodeIPs])],
    serviceIP: ipAllocator.nth(1),
    clusterDomain: opts.clusterDomain,
  });

  const strategies: Record<string, Strategy> = {
    '/services': serviceStrategy(ipAllocator, portAllocator),
    '/pods': podStrategyWith({ notReadySeconds: opts.defaultNotReadyTolerationSeconds, unreachableSeconds: opts.defaultUnreachableTolerationSeconds }),
    '/namespaces': namespaceStrategy,
  };
  const storage = new Map<string, ResourceStorage>();
  const ctx = {
    store: opts.store,
    cacheIsConsistent: opts.store.kind !== 'etcd',
    namespacePhase: async (name: string) => {
      try {
        const ns = await storage.get('/namespaces')!.get(undefined, name);
        return ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating' ? ('Terminating' as const) : ('Active' as const);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return undefined;
        throw e;
      }
    },
    recordUpdate: recordManagedFields,
  };
  for (const info of RESOURCES) {
    const gr = grOf(info);
    // events.k8s.io/v1 events share the core events' storage, as upstream.
    storage.set(gr, new ResourceStorage(info, ctx, strategies[gr]));
  }

  const authn: Authenticator = createAuthenticator({ tokenAuthFile: opts.tokenAuthFile });
  const metrics = new Metrics();
  let ready = false;
  // pods/log, exec, attach, portforward: proxied to the pod's node agent with the kubelet client certificate.
  const nodeProxy = createNodeProxy({
    getNode: async (name) => {
      try {
        return await storage.get('/nodes')!.get(undefined, name);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return undefined;
        throw e;
      }
    },
    clientCert: pki.issueClientCert({ cn: KUBELET_CLIENT_CN }),
    ca: pki.caCert,
  });
  const podSeam = nodeSeam(nodeProxy);
  const subresourceHandlers = new Map<string, SubresourceHandler>([
    ['apps/deployments/scale', scaleHandler],
    ['apps/replicasets/scale', scaleHandler],
    ['apps/statefulsets/scale', scaleHandler],
    ['/pods/binding', bindingHandler],
    ['/pods/eviction', evictionHandler],
    ['/pods/log', podSeam],
    ['/pods/exec', podSeam],
    ['/pods/attach', podSeam],
    ['/pods/portforward', podSeam],
  ]);
  const deps: HandlerDeps = {
    storage,
    authenticate: (req) => authn(req),
    isReady: () => ready,
    serverAddress: `${advertise}:${opts.securePort}`,
    metrics,
    openapi: (p: string, req: IncomingMessage, res: ServerResponse) => serveOpenAPI(p, req, res),
    subresourceHandlers,
  };
  metrics.addCollector(() => {
    const lines = ['# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.', '# TYPE apiserver_storage_objects gauge'];
    for (const [gr, s] of storage) lines.push(`apiserver_storage_objects{resource="${gr.replace(/^\//, '').split('/').reverse().join('.').replace(/\.$/, '')}"} ${s.cache.size}`);
    return lines.join('\n');
  });

  const handler = createHandler(deps);
  const server = https.createServer(
    { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false },
    handler,
  );
  routeUpgrades(server, handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.securePort, opts.bindAddress, () => resolve());
  });
  const port = (server.address() as import('node:net').AddressInfo).port;
  const url = `https://${advertise.includes(':') ? `[${advertise}]` : advertise}:${port}`;

  const kubeconfigPath = path.join(opts.dataDir, 'admin.kubeconfig');
  const localUrl = `https://127.0.0.1:${port}`;
  const kc = { server: localUrl, caCert: pki.caCert, clientCert: pki.adminCert, clientKey: pki.adminKey };
  await writeKubeconfig(kubeconfigPath, kc);
  if (opts.writeKubeconfig) await writeKubeconfig(opts.writeKubeconfig, kc);

  // Warm every cache, then create what a cluster always has.
  await Promise.all([...storage.values()].map((s) => s.cache.start()));
  await bootstrap(storage, ipAllocator, advertise, port);
  ready = true;
  log.info('API server ready', { url, kubeconfig: kubeconfigPath, ms: Math.round(performance.now() - t0) });

  return {
    url,
    localUrl,
    port,
    caCert: pki.caCert,
    issueClientCert: (cn, groups) => pki.issueClientCert({ cn, groups }),
    issueServingCert: (cn, dnsNames, ips) => pki.issueServingCert({ cn, dnsNames, ips }),
    kubeconfigPath,
    storage,
    ipAllocator,
    close: async () => {
      ready = false;
      for (const s of storage.values()) s.cache.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Creates `obj` unless an object of that name exists (it is left as it is). */
async function ensure(s: ResourceStorage, ns: string | undefined, obj: Record<string, any>): Promise<void> {
  try {
    await s.get(ns, obj.metadata.name);
    return;
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 404)) throw e;
  }
  try {
    await s.create(ns, obj, SYSTEM_CTX());
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
  }
}

/** Default namespaces, and the `kubernetes` Service whose Endpoints point at this server. */
async function bootstrap(storage: Map<string, ResourceStorage>, ips: ServiceIPAllocator, advertise: string, port: number): Promise<void> {
  const namespaces = storage.get('/namespaces')!;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensure(namespaces, undefined, { metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
  }
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  await ensure(storage.get('/services')!, 'default', {
    metadata: { name: 'kubernetes', labels },
    spec: { type: 'ClusterIP', clusterIP: ips.nth(1), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }], sessionAffinity: 'None' },
  });
  const subsets = [{ addresses: [{ ip: advertise }], ports: [{ name: 'https', port, protocol: 'TCP' }] }];
  const endpoints = storage.get('/endpoints')!;
  try {
    await endpoints.guaranteedUpdate('default', 'kubernetes', SYSTEM_CTX(), (cur) => ({ ...cur, subsets }), {
      allowCreate: () => ({ metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets }),
    });
  } catch (e) {
    log.warn('could not write the kubernetes endpoints', { error: e as Error });
  }
  const slice = {
    metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'k8ts-apiserver' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [advertise], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
  try {
    await storage.get('discovery.k8s.io/endpointslices')!.guaranteedUpdate('default', 'kubernetes', SYSTEM_CTX(), (cur) => ({ ...cur, endpoints: slice.endpoints, ports: slice.ports }), {
      allowCreate: () => slice,
    });
  } catch (e) {
    log.warn('could not write the kubernetes endpointslice', { error: e as Error });
  }
}
