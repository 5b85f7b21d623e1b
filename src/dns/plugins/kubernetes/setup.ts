// The kubernetes plugin's Corefile directive and its thin wrapper around the
// pure core: informers (services, endpointslices, namespaces, and pods when
// `pods verified`) feed the index; each request in the plugin's zones is
// answered from it; NXDOMAIN in a fallthrough zone goes to the next plugin.
//
//   kubernetes [ZONES...] {
//       endpoint URL
//       kubeconfig FILE [CONTEXT]
//       namespaces NAMESPACE...
//       pods disabled|insecure|verified
//       ttl SECONDS                   (default 5, 0..3600)
//       fallthrough [ZONES...]
//       endpoint_pod_names
//       noendpoints
//       ignore empty_service
//   }
//
// The API client: ctx.shared.get('kubernetes.client') when the wiring put an
// ApiClient there, else `kubeconfig FILE`, else `endpoint URL`, else $KUBECONFIG.
import os from 'node:os';
import { ApiClient, loadKubeconfig, type KObject } from '../../../client/rest.js';
import { Informer } from '../../../client/informer.js';
import { logger } from '../../../util/log.js';
import { directiveError, normalizeZone } from '../../corefile.js';
import { RCODE, reply, type Directive, type DnsRequest, type Handler, type Plugin, type PluginContext, type PluginSetup } from '../../types.js';
import { answer, type AnswerOptions, type PodsMode } from './answer.js';
import {
  type DnsIndex,
  newIndex,
  removeEndpointSlice,
  removeNamespace,
  removePod,
  removeService,
  upsertEndpointSlice,
  upsertNamespace,
  upsertPod,
  upsertService,
} from './dnsindex.js';
import { canonicalIP } from './ip.js';

const log = logger('dns/kubernetes');

/** ctx.shared key: an ApiClient the plugin uses instead of building its own. */
export const SHARED_CLIENT = 'kubernetes.client';
/** ctx.shared key (optional): the DNS server's own addresses (string[]) for ns.dns.<zone>. */
export const SHARED_NS_ADDRESSES = 'kubernetes.nsAddresses';

export interface KubernetesConfig {
  /** The plugin's zones (lower-case, fully qualified). */
  zones: string[];
  endpoint?: string;
  kubeconfig?: string;
  kubeconfigContext?: string;
  namespaces: string[];
  pods: PodsMode;
  ttl: number;
  /** undefined: no fallthrough; []: every zone; else these zones. */
  fallthrough?: string[];
  endpointPodNames: boolean;
  noEndpoints: boolean;
  ignoreEmptyService: boolean;
}

/** Parses the `kubernetes` directive (throws CorefileError with CoreDNS's wording). */
export function parseKubernetesDirective(d: Directive, serverZones: string[]): KubernetesConfig {
  const err = (msg: string) => directiveError(d, msg);
  const argErr = (after: string) => err(`Wrong argument count or unexpected line ending after '${after}'`);
  const zoneOf = (z: string) => {
    const n = normalizeZone(z);
    if (!n) throw err(`invalid zone '${z}'`);
    return n;
  };
  const zones = d.args.length ? d.args.map(zoneOf) : serverZones.map((z) => normalizeZone(z) ?? z);
  const cfg: KubernetesConfig = {
    zones: [...new Set(zones)],
    namespaces: [],
    pods: 'disabled',
    ttl: 5,
    endpointPodNames: false,
    noEndpoints: false,
    ignoreEmptyService: false,
  };
  const seen = new Set<string>();
  for (const line of d.block) {
    const [name, ...args] = line;
    if (!name) continue;
    switch (name) {
      case 'endpoint':
        if (args.length !== 1) throw argErr(name);
        if (!/^https?:\/\/[^\s]+$/.test(args[0]!)) throw err(`invalid endpoint '${args[0]}': must be an http:// or https:// URL`);
        cfg.endpoint = args[0];
        break;
      case 'kubeconfig':
        if (args.length < 1 || args.length > 2) throw argErr(name);
        cfg.kubeconfig = args[0];
        cfg.kubeconfigContext = args[1];
        break;
      case 'namespaces':
        if (args.length === 0) throw argErr(name);
        for (const ns of args) cfg.namespaces.push(ns.toLowerCase());
        break;
      case 'pods':
        if (args.length !== 1) throw argErr(name);
        if (args[0] !== 'disabled' && args[0] !== 'insecure' && args[0] !== 'verified') {
          throw err(`wrong value for pods: ${args[0]},  must be one of: disabled, verified, insecure`);
        }
        cfg.pods = args[0];
        break;
      case 'ttl': {
        if (args.length !== 1) throw argErr(name);
        if (!/^\d+$/.test(args[0]!)) throw err(`ttl must be an integer: ${args[0]}`);
        const t = Number(args[0]);
        if (t < 0 || t > 3600) throw err(`ttl must be in range [0, 3600]: ${t}`);
        cfg.ttl = t;
        break;
      }
      case 'fallthrough':
        cfg.fallthrough = args.map(zoneOf);
        break;
      case 'endpoint_pod_names':
        if (args.length) throw argErr(name);
        cfg.endpointPodNames = true;
        break;
      case 'noendpoints':
        if (args.length) throw argErr(name);
        cfg.noEndpoints = true;
        break;
      case 'ignore':
        if (args.length !== 1) throw argErr(name);
        if (args[0] !== 'empty_service') throw err(`unable to parse ignore value: '${args[0]}'`);
        cfg.ignoreEmptyService = true;
        break;
      default:
        throw err(`unknown property '${name}'`);
    }
    if (name !== 'namespaces' && seen.has(name)) {
      // CoreDNS takes the last value; say so rather than fail.
      log.warn('option given twice; the last one wins', { option: name, location: d.location });
    }
    seen.add(name);
  }
  return cfg;
}

/** Whether an NXDOMAIN for name passes to the next plugin. */
export function fallsThrough(cfg: Pick<KubernetesConfig, 'fallthrough'>, name: string): boolean {
  if (!cfg.fallthrough) return false;
  if (cfg.fallthrough.length === 0) return true;
  const n = name.toLowerCase();
  return cfg.fallthrough.some((z) => z === '.' || n === z || n.endsWith(`.${z}`));
}

/** The addresses of this host (non-loopback), canonical. */
function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) out.push(canonicalIP(a.address));
  }
  return out;
}

/**
 * The DNS server's own addresses, as CoreDNS finds them: the cluster IPs of the
 * services whose endpoints hold one of this host's addresses; else the
 * kube-system/kube-dns cluster IPs; else this host's addresses.
 */
export function nsAddresses(ix: DnsIndex, local: string[]): string[] {
  const out = new Set<string>();
  for (const ip of local) {
    for (const sk of ix.slicesByIP.get(ip) ?? []) {
      const slice = ix.slices.get(sk);
      const svc = slice && ix.services.get(`${slice.namespace}/${slice.service}`);
      if (!svc) continue;
      if (svc.headless) out.add(ip);
      for (const cip of svc.clusterIPs) out.add(cip);
    }
  }
  if (!out.size) for (const cip of ix.services.get('kube-system/kube-dns')?.clusterIPs ?? []) out.add(cip);
  if (!out.size) for (const ip of local) out.add(ip);
  return [...out];
}

/** The plugin's live state (exposed for tests and the wiring). */
export class KubernetesPlugin implements Plugin {
  readonly name = 'kubernetes';
  readonly index: DnsIndex = newIndex(true);
  private informers: Informer<KObject>[] = [];
  private ownClient?: ApiClient;
  private nsCache?: { generation: number; addrs: string[] };

  constructor(
    readonly config: KubernetesConfig,
    private readonly ctx: PluginContext,
  ) {
    ctx.onShutdown(() => this.stop());
  }

  answerOptions(): AnswerOptions {
    const c = this.config;
    return {
      zones: c.zones,
      ttl: c.ttl,
      pods: c.pods,
      namespaces: c.namespaces,
      endpointPodNames: c.endpointPodNames,
      ignoreEmptyService: c.ignoreEmptyService,
      noEndpoints: c.noEndpoints,
      nsAddresses: this.ownAddresses(),
      synced: this.ready(),
    };
  }

  private ownAddresses(): string[] {
    const given = this.ctx.shared.get(SHARED_NS_ADDRESSES);
    if (Array.isArray(given)) return given.map(String);
    if (this.nsCache?.generation !== this.index.generation) this.nsCache = { generation: this.index.generation, addrs: nsAddresses(this.index, localAddresses()) };
    return this.nsCache.addrs;
  }

  handler(next: Handler): Handler {
    return async (req: DnsRequest) => {
      const q = req.question;
      const a = answer(this.index, q, this.answerOptions());
      if (!a) return next(req);
      if (a.rcode === RCODE.NXDOMAIN && fallsThrough(this.config, q.name)) return next(req);
      const m = reply(req, a.rcode);
      m.aa = a.rcode === RCODE.NOERROR || a.rcode === RCODE.NXDOMAIN;
      m.answers = a.answers;
      m.authority = a.authority;
      m.additional = a.additional;
      return m;
    };
  }

  private client(): ApiClient {
    const shared = this.ctx.shared.get(SHARED_CLIENT);
    if (shared) return shared as ApiClient;
    const c = this.config;
    const file = c.kubeconfig ?? (c.endpoint ? undefined : process.env.KUBECONFIG);
    if (file) this.ownClient = new ApiClient({ ...loadKubeconfig(file, c.kubeconfigContext), ...(c.endpoint ? { server: c.endpoint } : {}), userAgent: 'k8ts-dns' });
    else if (c.endpoint) this.ownClient = new ApiClient({ server: c.endpoint, userAgent: 'k8ts-dns' });
    else throw new Error('kubernetes: no API client (no kubeconfig, endpoint or KUBECONFIG, and none shared as "kubernetes.client")');
    return this.ownClient;
  }

  /** Starts the informers (resolves once they are started, not synced: ready() says when). */
  async start(): Promise<void> {
    if (this.informers.length) return;
    const client = this.client();
    const ix = this.index;
    const watch = (resource: string, up: (ix: DnsIndex, o: KObject) => void, down: (ix: DnsIndex, o: KObject) => void) => {
      const inf = new Informer<KObject>(client, resource);
      inf.addEventHandler({ onAdd: (o) => up(ix, o), onUpdate: (_old, o) => up(ix, o), onDelete: (o) => down(ix, o) });
      this.informers.push(inf);
    };
    watch('services', upsertService, removeService);
    watch('namespaces', upsertNamespace, removeNamespace);
    if (!this.config.noEndpoints) watch('discovery.k8s.io/endpointslices', upsertEndpointSlice, removeEndpointSlice);
    if (this.config.pods === 'verified') watch('pods', upsertPod, removePod);
    for (const inf of this.informers) inf.start();
    log.info('started', { zones: this.config.zones, informers: this.informers.map((i) => String(i.resource)) });
  }

  /** Resolves once every informer has synced (or rejects after timeoutMs). */
  async waitForSync(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.informers.map((i) => i.waitForSync(timeoutMs)));
  }

  ready(): boolean {
    return this.informers.length > 0 && this.informers.every((i) => i.hasSynced());
  }

  async stop(): Promise<void> {
    const infs = this.informers.splice(0);
    await Promise.all(infs.map((i) => i.stop()));
    this.ownClient?.close();
    this.ownClient = undefined;
  }
}

/** `kubernetes` directive setup (register as registerPlugin('kubernetes', setupKubernetes)). */
export const setupKubernetes: PluginSetup = (d: Directive, ctx: PluginContext) => new KubernetesPlugin(parseKubernetesDirective(d, ctx.zones), ctx);
