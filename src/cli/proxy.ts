// The service proxy (k8ts's kube-proxy) as the node agent runs it, its flags
// (kube-proxy's names), and `k8ts proxy rules`, which prints the live ruleset.
import fs from 'node:fs';
import http from 'node:http';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ApiClientOptions } from '../client/index.js';
import { ApiClient } from '../client/index.js';
import { IptablesBackend } from '../proxy/iptables/index.js';
import { NftablesProxier } from '../proxy/nftables/index.js';
import { type Proxier, startProxier } from '../proxy/proxier.js';
import type { ProxyBackend } from '../proxy/types.js';
import { UserspaceBackend } from '../proxy/userspace/index.js';
import { ipvsAvailable } from '../proxy/userspace/ipvs.js';
import { exec } from '../util/exec.js';
import { logger } from '../util/log.js';
import { parseCount, parseDuration } from './flags.js';

const log = logger('proxy');
export const PROXY_MODES = ['nftables', 'iptables', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export interface ProxyFlags {
  proxyMode: ProxyMode;
  proxyScheduler: 'rr' | 'lc' | 'sh';
  minSyncPeriod: number;
  proxySyncPeriod: number;
  proxyMetricsPort: number;
  serviceCidr: string;
  clusterCidr: string;
  disableProxy?: boolean;
}

function parseMode(v: string): ProxyMode {
  if ((PROXY_MODES as readonly string[]).includes(v)) return v as ProxyMode;
  if (v === 'ipvs') throw new InvalidArgumentError('ipvs is not a k8ts proxy mode (use userspace with --proxy-scheduler rr|lc|sh; `k8ts proxy ipvs-check` tells whether this kernel has IPVS)');
  throw new InvalidArgumentError(`must be one of ${PROXY_MODES.join(', ')}`);
}

function parseScheduler(v: string): 'rr' | 'lc' | 'sh' {
  if (v === 'rr' || v === 'lc' || v === 'sh') return v;
  throw new InvalidArgumentError('must be rr, lc or sh');
}

/** kube-proxy's flags, for `server` and `agent` (--service-cidr/--cluster-cidr come from the command). */
export function addProxyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--proxy-mode <mode>', 'how Services are programmed: nftables, iptables or userspace').default('nftables').argParser(parseMode))
    .addOption(new Option('--proxy-scheduler <rr|lc|sh>', 'userspace mode: how endpoints are picked (as IPVS schedulers)').default('rr').argParser(parseScheduler))
    .addOption(new Option('--min-sync-period <duration>', 'shortest time between two proxy rule syncs').default(1000, '1s').argParser(parseDuration))
    .addOption(new Option('--proxy-sync-period <duration>', 'full resync of the proxy rules').default(30_000, '30s').argParser(parseDuration))
    .addOption(new Option('--proxy-metrics-port <port>', 'port of the proxy\'s /metrics and /rules on 127.0.0.1 (0: off)').default(10249).argParser(parseCount))
    .option('--disable-proxy', 'do not run the service proxy on this node');
}

export function makeBackend(mode: ProxyMode, scheduler: 'rr' | 'lc' | 'sh', serviceCidr?: string): ProxyBackend {
  switch (mode) {
    case 'iptables':
      return new IptablesBackend();
    case 'userspace':
      return new UserspaceBackend({ scheduler });
    default:
      return new NftablesProxier({ serviceCIDRs: serviceCidr ? [serviceCidr] : undefined });
  }
}

/** Kernel settings the proxy needs (in this network namespace): forwarding, and bridged pod traffic through netfilter. */
async function kernelSettings(): Promise<void> {
  const set = (file: string, value: string) => {
    try {
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() !== value) fs.writeFileSync(file, value);
    } catch (err) {
      log.warn('cannot set kernel parameter', { file, value, error: err as Error });
    }
  };
  set('/proc/sys/net/ipv4/ip_forward', '1');
  // Replies between pods on one bridge must pass netfilter to be un-NATed (kube-proxy's br_netfilter requirement).
  set('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
}

/** Makes the service range routable from the node itself when there is no default route (cluster IPs are DNATed after routing). */
async function routeServiceCidr(serviceCidr: string, nodeIP: string): Promise<void> {
  const probe = serviceCidr.split('/')[0].replace(/\.0$/, '.1');
  const r = await exec('ip', ['-4', 'route', 'get', probe], { allowFailure: true });
  if (r.code === 0) return;
  const dev = (await exec('ip', ['-4', '-o', 'addr', 'show'], { allowFailure: true })).stdout
    .split('\n')
    .find((l) => l.includes(` ${nodeIP}/`))
    ?.split(/\s+/)[1];
  if (!dev) return;
  await exec('ip', ['-4', 'route', 'replace', serviceCidr, 'dev', dev, 'src', nodeIP], { allowFailure: true });
  log.info('routed the service range through the node interface (no default route)', { serviceCidr, dev });
}

export interface NodeProxy {
  proxier: Proxier;
  backend: ProxyBackend;
  stop(): Promise<void>;
}

/** Starts the proxy for this node, its metrics/rules endpoint on 127.0.0.1, and the kernel settings it needs. */
export async function startNodeProxy(conn: ApiClientOptions, f: ProxyFlags, node: { name: string; ip: string }): Promise<NodeProxy> {
  const client = new ApiClient({ userAgent: `k8ts-proxy/${node.name}`, ...conn });
  const backend = makeBackend(f.proxyMode, f.proxyScheduler, f.serviceCidr);
  await kernelSettings();
  if (f.proxyMode !== 'userspace') await routeServiceCidr(f.serviceCidr, node.ip);
  const proxier = await startProxier({
    client,
    nodeName: node.name,
    nodeIPs: [node.ip],
    clusterCidr: f.clusterCidr,
    backend,
    minSyncPeriodMs: f.minSyncPeriod,
    syncPeriodMs: f.proxySyncPeriod,
  });
  let server: http.Server | undefined;
  if (f.proxyMetricsPort > 0) {
    server = http.createServer((req, res) => {
      const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
        res.writeHead(code, { 'Content-Type': type });
        res.end(body);
      };
      if (req.url === '/metrics') send(200, proxier.metricsText(), 'text/plain; version=0.0.4');
      else if (req.url === '/healthz') send(200, 'ok');
      else if (req.url === '/rules') backend.rules().then((t) => send(200, t), (e) => send(500, String(e)));
      else send(404, 'not found\n');
    });
    await new Promise<void>((resolve) => {
      server!.once('error', (err) => {
        log.warn('proxy metrics port unavailable', { port: f.proxyMetricsPort, error: err });
        server = undefined;
        resolve();
      });
      server!.listen(f.proxyMetricsPort, '127.0.0.1', () => resolve());
    });
  }
  log.info('service proxy running', { mode: f.proxyMode, node: node.name });
  return {
    proxier,
    backend,
    stop: async () => {
      server?.close();
      await proxier.stop();
      // Rules stay in the kernel across restarts, as kube-proxy's do; userspace listeners die with the process.
      if (f.proxyMode === 'userspace') await backend.cleanup();
      client.close();
    },
  };
}

export function proxyCommand(): Command {
  const proxy = new Command('proxy').description("The service proxy's tools");
  proxy
    .command('rules')
    .description('Print the live service ruleset of this node (from the running agent, else from the kernel)')
    .addOption(new Option('--proxy-mode <mode>', 'mode whose kernel rules to print when no agent answers').default('nftables').argParser(parseMode))
    .addOption(new Option('--proxy-metrics-port <port>', "the agent's proxy port on 127.0.0.1").default(10249).argParser(parseCount))
    .action(async (o: { proxyMode: ProxyMode; proxyMetricsPort: number }) => {
      const live = await new Promise<string | undefined>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: o.proxyMetricsPort, path: '/rules', timeout: 3000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
        });
        req.on('error', () => resolve(undefined));
        req.on('timeout', () => req.destroy());
      });
      if (live !== undefined) process.stdout.write(live);
      else if (o.proxyMode === 'userspace') throw new Error(`no agent answers on 127.0.0.1:${o.proxyMetricsPort}; userspace rules live in the agent`);
      else process.stdout.write(await makeBackend(o.proxyMode, 'rr').rules());
    });
  proxy
    .command('ipvs-check')
    .description('Tell whether this kernel has IPVS (k8ts has no ipvs mode; userspace mode offers its schedulers)')
    .action(async () => {
      const r = await ipvsAvailable();
      console.log(r.reason);
    });
  return proxy;
}
