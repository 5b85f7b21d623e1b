// Helper of bench/dns.ts, run inside the bench's network namespace:
//   node _dns-server.js fed '{"port":5301,"services":10000,"corefile":"..."}'
//     the k8ts DNS server (src/dns/server.ts) with the given Corefile, whose
//     `kubernetes` plugin is fed from an in-process index (no API server):
//     `services` ClusterIP Services svc-<i> in namespaces ns-<i % 10>, each
//     with one EndpointSlice of one ready endpoint (a "pod"), see fakeObjects().
//   node _dns-server.js api '{"port":5301,"corefile":"..."}'
//     the same server, its `kubernetes` plugin on a real API server (the
//     Corefile names the kubeconfig).
// Prints one JSON line {"ready":true,"pid":N,"port":N} once serving, then
// serves until SIGTERM.
import { fileURLToPath } from 'node:url';
import { startDnsServer } from '../src/dns/server.js';
import { KubernetesPlugin, parseKubernetesDirective, upsertEndpointSlice, upsertNamespace, upsertService } from '../src/dns/plugins/kubernetes/index.js';
import type { Directive, PluginContext } from '../src/dns/types.js';

export const NAMESPACES = 10;
/** The i-th fake Service's name, namespace and ClusterIP (10.96.0.0/12 from 10.97.0.0 up). */
export const svcName = (i: number) => `svc-${i}`;
export const svcNamespace = (i: number) => `ns-${i % NAMESPACES}`;
export const svcIP = (i: number) => `10.97.${(i >> 8) & 255}.${i & 255}`;
export const podIP = (i: number) => `10.244.${(i >> 8) & 255}.${i & 255}`;
export const svcFqdn = (i: number) => `${svcName(i)}.${svcNamespace(i)}.svc.cluster.local`;

/** The objects the fed index holds (as the informers would deliver them). */
export function fakeObjects(n: number): { namespaces: object[]; services: object[]; slices: object[] } {
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => ({ metadata: { name: `ns-${i}` } }));
  namespaces.push({ metadata: { name: 'default' } }, { metadata: { name: 'kube-system' } });
  const services: object[] = [];
  const slices: object[] = [];
  for (let i = 0; i < n; i++) {
    const ns = svcNamespace(i);
    services.push({
      metadata: { name: svcName(i), namespace: ns },
      spec: { type: 'ClusterIP', clusterIP: svcIP(i), clusterIPs: [svcIP(i)], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    slices.push({
      metadata: { name: `${svcName(i)}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': svcName(i) } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [podIP(i)], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `${svcName(i)}-pod`, namespace: ns } }],
    });
  }
  return { namespaces, services, slices };
}

/** A kubernetes plugin whose index is filled once, in process, instead of by informers. */
class FedKubernetesPlugin extends KubernetesPlugin {
  private filled = false;
  constructor(
    d: Directive,
    ctx: PluginContext,
    private readonly n: number,
  ) {
    super(parseKubernetesDirective(d, ctx.zones), ctx);
  }
  override async start(): Promise<void> {
    if (this.filled) return;
    const objs = fakeObjects(this.n);
    for (const o of objs.namespaces) upsertNamespace(this.index, o);
    for (const o of objs.services) upsertService(this.index, o);
    for (const o of objs.slices) upsertEndpointSlice(this.index, o);
    this.filled = true;
  }
  override async waitForSync(): Promise<void> {}
  override ready(): boolean {
    return this.filled;
  }
  override async stop(): Promise<void> {}
}

async function main(): Promise<void> {
  const [mode, raw] = process.argv.slice(2);
  const args = JSON.parse(raw ?? '{}') as { port: number; services?: number; corefile: string };
  if (mode !== 'fed' && mode !== 'api') throw new Error(`unknown mode ${mode}`);
  const plugins =
    mode === 'fed' ? { kubernetes: (d: Directive, ctx: PluginContext) => new FedKubernetesPlugin(d, ctx, args.services ?? 0) } : undefined;
  const server = await startDnsServer({ corefile: args.corefile, host: '127.0.0.1', portOverride: args.port, plugins, log: () => {} });
  const k = server.plugin<KubernetesPlugin>('kubernetes');
  if (mode === 'api' && k) await k.waitForSync(60_000);
  if (mode === 'fed' && k) await k.start();
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid, port: server.port, services: k?.index.services.size ?? 0 }) + '\n');
  const stop = () => void server.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`_dns-server: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
