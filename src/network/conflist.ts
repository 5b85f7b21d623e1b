// k8ts's default pod network: the conflist the agent writes when the node's
// CNI conf dir holds no network config (as k3s does with flannel).
//
//   bridge    pods' veths on the `cni0` bridge, which holds the podCIDR's .1
//             (isGateway) and is the pods' default route; hairpinMode lets a
//             pod reach itself through a Service IP.
//   host-local  IPAM over the node's podCIDR; its reservations live under the
//             k8ts data dir (<dataDir>/cni/networks/<network>/<ip>), not
//             /var/lib/cni, so a test's data dir holds all of its state.
//   portmap   hostPorts (capability portMappings, filled from the pod's
//             containers' hostPorts by the runtime).
//
// This is the shape of the flannel conflist (flannel delegates to bridge +
// host-local over the node's subnet, then chains portmap).
//
// ipMasq: the bridge plugin (containernetworking-plugins 1.1.1, the Debian
// package) implements it with iptables, per pod: a chain CNI-<hash of network
// name and container id> that `-d <pod's subnet> -j ACCEPT`, then
// `! -d 224.0.0.0/4 -j MASQUERADE`, jumped to from nat POSTROUTING with
// `-s <pod ip>`. So it masquerades everything the pod sends outside its own
// node's podCIDR: not just traffic leaving the *cluster* CIDR. On one node
// that is the same thing; with several nodes, pod-to-pod traffic to another
// node would be SNATed to the node's address. A multi-node overlay must set
// `ipMasq: false` here and install its own rule
// (`-s <clusterCIDR> ! -d <clusterCIDR> -j MASQUERADE`), as flanneld does;
// `ensureDefaultConflist({ ipMasq: false })` is for that. The plugin's DEL
// cannot remove that chain once the pod's netns is gone (it learns the pod's
// addresses from the netns); CniRuntime.tearDown removes it then.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { nthIp, parseCidr } from '../util/cidr.js';
import { logger } from '../util/log.js';
import { type NetworkConfigList, listConfFiles, parseNetworkConfig } from './cni.js';

const log = logger('cni');

export const DEFAULT_NETWORK_NAME = 'k8ts';
export const DEFAULT_CONFLIST_FILE = '10-k8ts.conflist';
export const DEFAULT_BRIDGE = 'cni0';

export interface DefaultNetworkOptions {
  /** The node's podCIDR (IPv4), e.g. 10.244.1.0/24. */
  podCidr: string;
  /** The k8ts data dir; host-local keeps its reservations in <dataDir>/cni/networks. */
  dataDir: string;
  bridge?: string;
  /** Masquerade what pods send outside the podCIDR (default true; see the file comment). */
  ipMasq?: boolean;
  mtu?: number;
  cniVersion?: string;
}

/** host-local's data dir for a k8ts data dir. */
export function hostLocalDataDir(dataDir: string): string {
  return path.join(dataDir, 'cni', 'networks');
}

/** The default network config list for a node's podCIDR. */
export function defaultConflist(o: DefaultNetworkOptions): NetworkConfigList {
  const cidr = parseCidr(o.podCidr);
  if (cidr.prefix > 30) throw new Error(`podCIDR ${o.podCidr} is too small for a pod network`);
  if (!path.isAbsolute(o.dataDir)) throw new Error(`data dir must be an absolute path: ${o.dataDir}`);
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: DEFAULT_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge ?? DEFAULT_BRIDGE,
        isGateway: true,
        ipMasq: o.ipMasq ?? true,
        hairpinMode: true,
        ...(o.mtu ? { mtu: o.mtu } : {}),
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: cidr.text, gateway: nthIp(cidr, 1) }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: hostLocalDataDir(o.dataDir),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

/** The file's text (stable, so an unchanged config is byte-identical). */
export function renderConflist(list: NetworkConfigList): string {
  return JSON.stringify(list, null, 2) + '\n';
}

/** Whether a conflist's text is one k8ts wrote (its default network's name and first plugin). */
export function isK8tsConflist(text: string): boolean {
  try {
    const l = parseNetworkConfig(text);
    return l.name === DEFAULT_NETWORK_NAME && l.plugins[0]?.type === 'bridge';
  } catch {
    return false;
  }
}

export interface EnsureResult {
  action: 'created' | 'updated' | 'unchanged' | 'skipped';
  path: string;
  /** Why it was skipped. */
  reason?: string;
}

/**
 * Writes (or rewrites, when the podCIDR or options changed) the default
 * conflist in confDir. Idempotent: an up-to-date file is not touched. It never
 * overwrites a config someone else wrote: when the conf dir holds any other
 * network config, or a file of our name that is not ours, it does nothing.
 * The write is atomic (a temporary file renamed over), so a runtime reading
 * the dir never sees half a file.
 */
export async function ensureDefaultConflist(o: DefaultNetworkOptions & { confDir: string }): Promise<EnsureResult> {
  const file = path.join(o.confDir, DEFAULT_CONFLIST_FILE);
  const text = renderConflist(defaultConflist(o));
  const others = (await listConfFiles(o.confDir)).filter((f) => f !== file);
  if (others.length) {
    return { action: 'skipped', path: file, reason: `network config ${others[0]} exists; k8ts leaves the pod network to it` };
  }
  let current: string | undefined;
  try {
    current = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (current === text) return { action: 'unchanged', path: file };
  if (current !== undefined && !isK8tsConflist(current)) {
    return { action: 'skipped', path: file, reason: `${file} was not written by k8ts; leaving it alone` };
  }
  await fs.mkdir(o.confDir, { recursive: true, mode: 0o755 });
  const tmp = path.join(o.confDir, `.${DEFAULT_CONFLIST_FILE}.tmp-${process.pid}`);
  await fs.writeFile(tmp, text, { mode: 0o644 });
  await fs.rename(tmp, file);
  const action = current === undefined ? 'created' : 'updated';
  log.info(`default CNI config ${action}`, { path: file, podCIDR: o.podCidr });
  return { action, path: file };
}
