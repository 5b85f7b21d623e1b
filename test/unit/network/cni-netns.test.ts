// The CNI runtime for real, with the Debian containernetworking-plugins:
// the scenario's network namespace plays the node (the plugins run inside it
// through the runtime's execPrefix), two pod namespaces are the pods. Nothing
// here has a route beyond these namespaces.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CniRuntime } from '../../../src/network/cni.js';
import { ensureDefaultConflist, hostLocalDataDir } from '../../../src/network/conflist.js';
import { cidrContains, parseCidr } from '../../../src/util/cidr.js';
import { exec } from '../../../src/util/exec.js';
import { setLogSink } from '../../../src/util/log.js';
import { type Scenario, withNetns } from '../../helpers/netns.js';
import { poll } from '../../helpers/poll.js';

const BIN = '/usr/lib/cni';
const skip = !existsSync(path.join(BIN, 'bridge')) || process.getuid?.() !== 0 ? 'needs root and containernetworking-plugins' : false;

async function links(ns: string): Promise<Array<{ ifname: string; link_type?: string; linkinfo?: { info_kind?: string }; operstate?: string; flags?: string[] }>> {
  return JSON.parse((await exec('ip', ['-n', ns, '-j', '-d', 'link', 'show'])).stdout);
}

async function addrs(ns: string, dev: string): Promise<string[]> {
  const j = JSON.parse((await exec('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', dev])).stdout) as Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
  return j.flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
}

async function ping(ns: string, ip: string): Promise<void> {
  await exec('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '2', ip]);
}

async function nat(s: Scenario): Promise<string> {
  return (await s.exec('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
}

test('CNI in a namespace: two pods on the default conflist get addresses, reach each other and the node; DEL leaves nothing', { skip, timeout: 120_000 }, async () => {
  const restoreSink = setLogSink(() => {});
  const tmp = await mkdtemp(path.join(tmpdir(), 'k8ts-cni-netns-'));
  try {
    await withNetns(async (s) => {
      const confDir = path.join(tmp, 'net.d');
      const dataDir = path.join(tmp, 'data');
      const cidr = parseCidr('10.244.1.0/24');
      assert.equal((await ensureDefaultConflist({ confDir, podCidr: cidr.text, dataDir })).action, 'created');
      const rt = new CniRuntime({ confDir, binDirs: [BIN], cacheDir: path.join(dataDir, 'cni-cache'), execPrefix: ['ip', 'netns', 'exec', s.netns] });
      assert.equal((await rt.status()).ready, true);

      const pods = ['pa', 'pb', 'pc'].map((n) => ({
        ns: s.name(n),
        ref: { containerId: `cid-${n}-${process.pid}`, netnsPath: `/var/run/netns/${s.name(n)}`, podNamespace: 'demo', podName: n, podUid: `uid-${n}` },
      }));
      for (const p of pods) await exec('ip', ['netns', 'add', p.ns]);
      const [a, b, c] = pods as [(typeof pods)[0], (typeof pods)[0], (typeof pods)[0]];

      // ADD both pods (a with a hostPort for portmap).
      const ra = await rt.setUp({ ...a.ref, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }] });
      const rb = await rt.setUp(b.ref);
      for (const [p, r] of [
        [a, ra],
        [b, rb],
      ] as const) {
        assert.equal(r.ips.length, 1);
        assert.ok(cidrContains(cidr, r.ips[0]!), `${r.ips[0]} in ${cidr.text}`);
        assert.equal(r.gateway, '10.244.1.1');
        assert.deepEqual(await addrs(p.ns, 'eth0'), [`${r.ips[0]}/24`]);
        const route = (await exec('ip', ['-n', p.ns, 'route', 'show', 'default'])).stdout;
        assert.match(route, /^default via 10\.244\.1\.1 dev eth0/);
        const lo = (await links(p.ns)).find((l) => l.ifname === 'lo');
        assert.ok(lo?.flags?.includes('UP'), 'lo is up (loopback plugin)');
      }
      assert.notEqual(ra.ips[0], rb.ips[0]);
      assert.deepEqual(await addrs(s.netns, 'cni0'), ['10.244.1.1/24']);
      const vethsUp = (await links(s.netns)).filter((l) => l.linkinfo?.info_kind === 'veth');
      assert.equal(vethsUp.length, 2);

      // Reachability: pod to pod, pod to node, node to pod.
      await ping(a.ns, rb.ips[0]!);
      await ping(b.ns, ra.ips[0]!);
      await ping(a.ns, '10.244.1.1');
      await ping(s.netns, rb.ips[0]!);

      // host-local reserved one file per pod IP; CHECK agrees with the set-up.
      const ipamDir = path.join(hostLocalDataDir(dataDir), 'k8ts');
      assert.ok((await readdir(ipamDir)).includes(ra.ips[0]!));
      assert.ok((await readdir(ipamDir)).includes(rb.ips[0]!));
      // (Pod b: portmap 1.1.1's CHECK of a pod with hostPorts wrongly looks for
      // IPv6 rules, containernetworking/plugins#819.)
      await rt.check(b.ref);

      // ipMasq and portmap rules in the node's nat table: the masquerade chain
      // skips the pod's own subnet and masquerades the rest (not multicast).
      const rules = await nat(s);
      assert.match(rules, new RegExp(`-A POSTROUTING -s ${ra.ips[0]!.replace(/\./g, '\\.')}(/32)? .*-j CNI-`));
      assert.match(rules, /-A CNI-[0-9a-f]+ -d 10\.244\.1\.0\/24 .*-j ACCEPT/);
      assert.match(rules, /-A CNI-[0-9a-f]+ ! -d 224\.0\.0\.0\/4 .*-j MASQUERADE/);
      assert.match(rules, /--dport 8080 .*-j DNAT --to-destination 10\.244\.1\.\d+:80/);

      // DEL both, then DEL again: nothing left.
      await rt.tearDown(a.ref);
      await rt.tearDown(b.ref);
      await rt.tearDown(a.ref);
      await rt.tearDown(b.ref);
      assert.deepEqual((await links(s.netns)).filter((l) => l.linkinfo?.info_kind === 'veth'), []);
      assert.equal((await links(a.ns)).some((l) => l.ifname === 'eth0'), false);
      const left = (await readdir(ipamDir)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      assert.deepEqual(left, []);
      assert.deepEqual(await readdir(path.join(dataDir, 'cni-cache', 'results')), []);
      const after = await nat(s);
      assert.doesNotMatch(after, /-j CNI-[0-9a-f]+/);
      assert.doesNotMatch(after, /--dport 8080/);
      for (const p of [a, b]) await exec('ip', ['netns', 'del', p.ns]);

      // DEL after the pod's netns is gone: succeeds, frees the address.
      const rc = await rt.setUp(c.ref);
      assert.ok(cidrContains(cidr, rc.ips[0]!));
      await exec('ip', ['netns', 'del', c.ns]);
      await rt.tearDown(c.ref);
      assert.deepEqual((await readdir(ipamDir)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)), []);
      await poll(async () => (await links(s.netns)).every((l) => l.linkinfo?.info_kind !== 'veth'), { what: 'the pod veth to go with its netns' });
      // The bridge plugin cannot find the pod's addresses without its netns and
      // leaves its ipMasq chain; the runtime removes it.
      assert.doesNotMatch(await nat(s), /CNI-[0-9a-f]+/);

      // A failing plugin: a clear error naming it, and nothing cached.
      const badConf = path.join(tmp, 'bad.d');
      await ensureDefaultConflist({ confDir: badConf, podCidr: cidr.text, dataDir });
      const bad = path.join(badConf, '00-bad.conflist');
      await writeFile(bad, JSON.stringify({ cniVersion: '1.0.0', name: 'bad', plugins: [{ type: 'bridge', bridge: 'cni1', ipam: { type: 'host-local', ranges: [[{ subnet: 'nonsense' }]] } }] }));
      const rtBad = new CniRuntime({ confDir: badConf, binDirs: [BIN], cacheDir: path.join(dataDir, 'cni-cache'), execPrefix: ['ip', 'netns', 'exec', s.netns], loopback: false });
      const d = s.name('pd');
      await exec('ip', ['netns', 'add', d]);
      await assert.rejects(
        rtBad.setUp({ ...a.ref, containerId: 'bad1', netnsPath: `/var/run/netns/${d}` }),
        /CNI plugin "bridge" of network "bad" failed ADD: .*nonsense/,
      );
      assert.deepEqual(await readdir(path.join(dataDir, 'cni-cache', 'results')), []);
    });
  } finally {
    setLogSink(restoreSink);
    await rm(tmp, { recursive: true, force: true });
  }
});
