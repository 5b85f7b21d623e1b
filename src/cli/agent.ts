// `k8ts agent`: the node agent alone, against a cluster given by a kubeconfig;
// and the wiring `k8ts server` uses to run one for its own machine. Flags
// follow kubelet's names where kubelet has them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { type Agent, startAgent } from '../agent/agent.js';
import { ProcessRuntime } from '../agent/runtime/process/index.js';
import { createCA, issueServingCert } from '../apiserver/pki.js';
import { ApiClient, type ApiClientOptions, loadKubeconfig } from '../client/index.js';
import { containerArgv, catalogImages, imageError, prepareImage, resolveImage } from '../images/index.js';
import { CniRuntime } from '../network/cni.js';
import { ensureDefaultConflist } from '../network/conflist.js';
import { logger } from '../util/log.js';
import { collectList, parseCount } from './flags.js';
import { type NodeProxy, type ProxyFlags, addProxyOptions, startNodeProxy } from './proxy.js';

const log = logger('agent');

export interface AgentFlags extends ProxyFlags {
  nodeName?: string;
  nodeIp?: string;
  clusterDns: string[];
  resolvConf: string;
  maxPods: number;
  cniConfDir: string;
  cniBinDir: string[];
  kubeletPort: number;
  nodeLabels: string[];
  podNetnsPrefix: string;
  cgroupRoot: string;
}

/** The first non-loopback IPv4 address of this machine. */
export function firstIPv4(): string | undefined {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** kubelet's flags for the node agent, shared by `server` and `agent`. */
export function addAgentOptions(cmd: Command, clusterDnsDefault: string | undefined): Command {
  return addProxyOptions(cmd)
    .option('--node-name <name>', "this node's name (default: the hostname)")
    .option('--node-ip <ip>', "this node's address (default: the first non-loopback IPv4)")
    .addOption(
      new Option('--cluster-dns <ip>', 'DNS server IP given to pods with dnsPolicy ClusterFirst (repeatable, comma-separated)')
        .default(clusterDnsDefault ? [clusterDnsDefault] : [], clusterDnsDefault ?? 'the tenth address of --service-cidr, 10.96.0.10')
        .argParser(collectList),
    )
    .option('--resolv-conf <file>', "the node's resolver configuration: pods with dnsPolicy Default use it, ClusterFirst pods get its search domains", '/etc/resolv.conf')
    .addOption(new Option('--max-pods <n>', 'pods this node accepts').default(110).argParser(parseCount))
    .option('--cni-conf-dir <dir>', 'CNI network configurations (k8ts writes its default bridge conflist here when there is none)', '/etc/cni/net.d')
    .addOption(new Option('--cni-bin-dir <dirs>', 'directories of CNI plugins (comma-separated)').default(['/usr/lib/cni', '/opt/cni/bin'], '/usr/lib/cni,/opt/cni/bin').argParser(collectList))
    .addOption(new Option('--kubelet-port <port>', "port of the agent's API (logs, exec, port-forward)").default(10250).argParser(parseCount))
    .addOption(new Option('--node-labels <k=v>', 'labels to add to the node (repeatable, comma-separated)').default([]).argParser(collectList))
    .option('--pod-netns-prefix <prefix>', "prefix of the pods' network namespace names", 'k8ts-')
    .option('--cgroup-root <name>', "parent cgroup of the pods' containers", 'k8ts');
}

function parseLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    if (i <= 0) throw new Error(`--node-labels: ${JSON.stringify(it)} is not key=value`);
    out[it.slice(0, i)] = it.slice(i + 1);
  }
  return out;
}

/** Starts the node agent with the process runtime, the CNI network and the built-in images. */
export async function startNodeAgent(
  conn: ApiClientOptions,
  f: AgentFlags,
  o: { dataDir: string; clusterDomain: string; tls: (nodeName: string, nodeIP: string) => { cert: string; key: string; ca: string } },
): Promise<Agent & { close(): Promise<void> }> {
  const nodeName = (f.nodeName ?? os.hostname()).toLowerCase();
  const nodeIP = f.nodeIp ?? firstIPv4() ?? '127.0.0.1';
  const dataDir = o.dataDir;
  fs.mkdirSync(dataDir, { recursive: true });
  const client = new ApiClient({ userAgent: `k8ts-agent/${nodeName}`, ...conn });
  const runtime = new ProcessRuntime({ root: path.join(dataDir, 'runtime'), netnsPrefix: f.podNetnsPrefix, cgroupParent: f.cgroupRoot });
  const cni = new CniRuntime({ confDir: f.cniConfDir, binDirs: f.cniBinDir, cacheDir: path.join(dataDir, 'cni', 'cache') });
  let resolvConf = '';
  try {
    resolvConf = fs.readFileSync(f.resolvConf, 'utf8');
  } catch (err) {
    log.warn('cannot read --resolv-conf; pods with dnsPolicy Default get an empty resolver configuration', { file: f.resolvConf, error: err as Error });
  }
  const imagesDir = path.join(dataDir, 'images');
  const agent = await startAgent(client, {
    nodeName,
    nodeIP,
    dataDir,
    clusterDns: f.clusterDns,
    clusterDomain: o.clusterDomain,
    resolvConf,
    maxPods: f.maxPods,
    kubeletPort: f.kubeletPort,
    nodeLabels: parseLabels(f.nodeLabels),
    runtime,
    network: cni,
    images: {
      resolve: (ref) => resolveImage(ref, { imagesDir }),
      argv: (img, command, args) => containerArgv(img, command, args),
      pullError: (ref) => imageError(ref),
      prepare: (img) => prepareImage(img as Parameters<typeof prepareImage>[0], imagesDir),
      list: () => catalogImages(),
    },
    tls: o.tls(nodeName, nodeIP),
    onPodCidr: async (cidr) => {
      const r = await ensureDefaultConflist({ confDir: f.cniConfDir, podCidr: cidr, dataDir });
      log.info('CNI configuration', { action: r.action, path: r.path, reason: r.reason });
    },
  });
  let proxy: NodeProxy | undefined;
  if (!f.disableProxy) {
    try {
      proxy = await startNodeProxy(conn, f, { name: nodeName, ip: nodeIP });
    } catch (err) {
      await agent.stop();
      throw err;
    }
  }
  return {
    ...agent,
    close: async () => {
      await proxy?.stop();
      await agent.stop();
      client.close();
    },
  };
}

interface StandaloneFlags {
  kubeconfig: string;
  dataDir: string;
  clusterDomain: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
}

/** The standalone agent's TLS: the given files, or a self-signed certificate (with a warning). */
function standaloneTls(f: StandaloneFlags, conn: ApiClientOptions, name: string, ip: string): { cert: string; key: string; ca: string } {
  const ca = f.clientCaFile ? fs.readFileSync(f.clientCaFile, 'utf8') : String(conn.ca ?? '');
  if (f.tlsCertFile && f.tlsPrivateKeyFile) return { cert: fs.readFileSync(f.tlsCertFile, 'utf8'), key: fs.readFileSync(f.tlsPrivateKeyFile, 'utf8'), ca };
  log.warn('no --tls-cert-file: the agent serves a self-signed certificate, which the API server does not trust (kubectl logs/exec/port-forward to this node fail)');
  const own = createCA({ cn: `${name}-ca@${Math.floor(Date.now() / 1000)}` });
  return { ...issueServingCert(own, { cn: name, dnsNames: [name], ips: [ip] }), ca };
}

export function agentCommand(): Command {
  const cmd = new Command('agent')
    .description('Run the node agent alone: register this machine as a node and run the pods bound to it (as kubelet)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster')
    .option('--data-dir <dir>', 'directory for pod state, logs and the CNI cache', '/var/lib/k8ts/agent')
    .option('--cluster-domain <domain>', 'cluster DNS domain', 'cluster.local')
    .option('--service-cidr <cidr>', 'range of Service cluster IPs (as the server\'s)', '10.96.0.0/12')
    .option('--cluster-cidr <cidr>', 'range of pod IPs (as the server\'s)', '10.244.0.0/16')
    .option('--tls-cert-file <file>', "serving certificate of the agent's API, signed by the cluster CA (default: self-signed, and the API server cannot reach logs/exec)")
    .option('--tls-private-key-file <file>', 'key of --tls-cert-file')
    .option('--client-ca-file <file>', "CA of the API server's client certificate (default: the kubeconfig's CA)");
  return addAgentOptions(cmd, '10.96.0.10').action(async (f: AgentFlags & StandaloneFlags) => {
    const conn = loadKubeconfig(f.kubeconfig);
    const agent = await startNodeAgent(conn, f, { dataDir: f.dataDir, clusterDomain: f.clusterDomain, tls: (name, ip) => standaloneTls(f, conn, name, ip) });
    console.log(`k8ts: node agent running as node ${agent.node.node().metadata?.name}`);
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log.info('shutting down (pods keep running)', { signal });
    await agent.close();
    process.exit(0);
  });
}
