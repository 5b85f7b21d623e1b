// The topology of the kernel backends' tests: the scenario namespace is the
// node (forwarding on); each "pod" is a namespace of its own on a veth pair
// to the node, routed through it, and runs a busybox httpd that answers its
// name. Everything is created through the scenario, so it goes at cleanup.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../../src/util/exec.js';
import type { Scenario } from '../../helpers/netns.js';
import { poll } from '../../helpers/poll.js';

export interface HttpdPod {
  /** Suffix of the pod's namespace name, and the page its httpd serves. */
  name: string;
  /** The node's end of the pod's veth pair (the pod's end is its eth0). */
  hostLink: string;
  /** The node's address on that link: the pod's default gateway. */
  gateway: string;
  podIP: string;
}

export interface HttpdPodsOptions {
  /**
   * Point-to-point links: /32 addresses and a host route each way, so all pod
   * traffic is routed through the node. Otherwise each link is a /24.
   */
  pointToPoint?: boolean;
}

/**
 * Turns forwarding on in the node, adds the pods and waits until each one's
 * httpd answers the node directly. Returns each pod's namespace by name.
 */
export async function addHttpdPods(s: Scenario, pods: HttpdPod[], opts: HttpdPodsOptions = {}): Promise<Record<string, string>> {
  const prefix = opts.pointToPoint ? 32 : 24;
  await s.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-proxy-pods-'));
  s.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const names: Record<string, string> = {};
  for (const pod of pods) {
    const ns = s.name(pod.name);
    names[pod.name] = ns;
    await exec('ip', ['netns', 'add', ns]);
    await s.exec('ip', ['link', 'add', pod.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await s.exec('ip', ['addr', 'add', `${pod.gateway}/${prefix}`, 'dev', pod.hostLink]);
    await s.exec('ip', ['link', 'set', pod.hostLink, 'up']);
    if (opts.pointToPoint) await s.exec('ip', ['route', 'add', `${pod.podIP}/32`, 'dev', pod.hostLink]);
    const inPod = (args: string[]) => exec('ip', ['netns', 'exec', ns, ...args]);
    await inPod(['ip', 'link', 'set', 'lo', 'up']);
    await inPod(['ip', 'addr', 'add', `${pod.podIP}/${prefix}`, 'dev', 'eth0']);
    await inPod(['ip', 'link', 'set', 'eth0', 'up']);
    if (opts.pointToPoint) await inPod(['ip', 'route', 'add', pod.gateway, 'dev', 'eth0']);
    await inPod(['ip', 'route', 'add', 'default', 'via', pod.gateway, 'dev', 'eth0']);
    const www = path.join(dir, pod.name);
    fs.mkdirSync(www);
    fs.writeFileSync(path.join(www, 'index.html'), `${pod.name}\n`);
    // Started through the node's namespace (ip netns exec switches again), so
    // it is ended (by process group) at cleanup.
    s.spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', '80', '-h', www]);
  }
  // Each server, reached directly (no service involved). busybox wget's -T
  // crashes some builds: the exec timeout bounds it instead.
  for (const pod of pods) {
    let last = '';
    await poll(
      async () => {
        const r = await s.exec('busybox', ['wget', '-qO-', `http://${pod.podIP}/`], { allowFailure: true, timeoutMs: 5000 });
        last = `code ${r.code} out ${JSON.stringify(r.stdout)} err ${r.stderr}`;
        return r.code === 0 && r.stdout.trim() === pod.name;
      },
      { timeoutMs: 10_000, what: () => `${pod.name}'s httpd to answer (${last})` },
    );
  }
  return names;
}
