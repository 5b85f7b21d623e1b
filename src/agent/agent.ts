// The node agent (kubelet): registers this machine as a Node, keeps its Lease
// and status fresh, and runs the pods bound to it through the pod workers,
// with a container runtime, the CNI pod network and the image catalog. It is
// an ordinary API client: `k8ts server` runs one for its own machine, `k8ts
// agent --kubeconfig F` runs one alone.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type ApiClient, EventRecorder, Informer, type KObject, startInformers } from '../client/index.js';
import { logger } from '../util/log.js';
import type { ClusterDnsSettings } from './dns.js';
import { type NodeAgent, registerNode } from './node.js';
import { startAgentServer } from './server/index.js';
import { type ImageCatalog, type PodNetwork, PodWorkers } from './pods.js';
import type { ContainerRuntime } from './runtime/types.js';

const log = logger('agent');

export interface AgentOptions {
  nodeName: string;
  nodeIP: string;
  dataDir: string;
  clusterDns: string[];
  clusterDomain: string;
  /** The node's resolv.conf (kubelet --resolv-conf). */
  resolvConf: string;
  maxPods: number;
  kubeletPort: number;
  nodeLabels?: Record<string, string>;
  runtime: ContainerRuntime;
  network: PodNetwork;
  images: ImageCatalog & { list(): Array<{ names: string[]; sizeBytes: number }> };
  /** The agent server's TLS: a serving certificate the API server trusts, and the CA of its clients. */
  tls: { cert: string; key: string; ca: string };
  /** Address of the agent server (default: all). */
  bindAddress?: string;
  /** Called once the node has its podCIDR (e.g. to write the default CNI conflist). */
  onPodCidr?(cidr: string): Promise<void> | void;
  leaseRenewMs?: number;
}

export interface Agent {
  workers: PodWorkers;
  node: NodeAgent;
  stop(): Promise<void>;
}

/** Waits until node IPAM gave the node a podCIDR (bounded by the caller's patience: logs every 10 s). */
async function waitForPodCidr(nodes: Informer<KObject>, name: string): Promise<string> {
  const started = Date.now();
  let lastLog = 0;
  for (;;) {
    const cidr = nodes.lister.get(undefined, name)?.spec?.podCIDR;
    if (cidr) return cidr;
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      log.info('waiting for the node to be given a podCIDR (node IPAM in the controller manager)', { node: name, waitedMs: Date.now() - started });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startAgent(client: ApiClient, o: AgentOptions): Promise<Agent> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const node = await registerNode(
    client,
    { name: o.nodeName, internalIP: o.nodeIP, maxPods: o.maxPods, images: o.images.list(), labels: o.nodeLabels, kubeletPort: o.kubeletPort },
    o.dataDir,
    { leaseRenewMs: o.leaseRenewMs },
  );
  const nodes = new Informer<KObject>(client, '/nodes', { fieldSelector: `metadata.name=${o.nodeName}` });
  const pods = new Informer<KObject>(client, '/pods', { fieldSelector: `spec.nodeName=${o.nodeName}` });
  const configMaps = new Informer<KObject>(client, '/configmaps');
  const secrets = new Informer<KObject>(client, '/secrets');
  const services = new Informer<KObject>(client, '/services');
  await startInformers([nodes, pods, configMaps, secrets, services]);
  const podCidr = await waitForPodCidr(nodes, o.nodeName);
  log.info('node has its pod subnet', { node: o.nodeName, podCIDR: podCidr });
  await o.onPodCidr?.(podCidr);

  const dns: ClusterDnsSettings = { clusterDns: o.clusterDns, clusterDomain: o.clusterDomain, hostResolvConf: o.resolvConf };
  const recorder = new EventRecorder(client, { component: 'kubelet', host: o.nodeName });
  const workers = new PodWorkers({
    client,
    nodeName: o.nodeName,
    runtime: o.runtime,
    network: o.network,
    images: o.images,
    podsDir: path.join(o.dataDir, 'pods'),
    dns,
    clusterDomain: o.clusterDomain,
    hostIPs: () => [o.nodeIP],
    nodeAllocatable: () => node.node().status?.allocatable ?? {},
    pods,
    configMaps,
    secrets,
    services,
    recorder,
    hostEtcHosts: readOr('/etc/hosts'),
  });
  await workers.start();
  const server = await startAgentServer({
    port: o.kubeletPort,
    bindAddress: o.bindAddress ?? '0.0.0.0',
    tls: o.tls,
    pods: { containerOf: (ns, name, c) => workers.containerOf(ns, name, c), list: () => workers.list() },
    runtime: o.runtime,
    portForward: (p, port) => {
      const ip = p.pod.spec?.hostNetwork ? '127.0.0.1' : (workers.podIPs(p.uid)[0] ?? p.pod.status?.podIP);
      return net.connect({ host: ip, port });
    },
  });
  log.info('agent server listening', { port: server.port });
  log.info('agent running', { node: o.nodeName, ip: o.nodeIP, runtime: o.runtime.name });
  return {
    workers,
    node,
    stop: async () => {
      node.stop();
      await server.close();
      await workers.stop();
      await Promise.all([nodes, pods, configMaps, secrets, services].map((i) => i.stop()));
    },
  };
}

function readOr(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
