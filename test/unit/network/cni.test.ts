// CNI runtime: the pure parts (config parsing, stdin assembly, CNI_ARGS,
// results, errors) and the plugin protocol with the exec helper's recorder.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  CniPluginError,
  CniRuntime,
  bridgeMasqChain,
  capabilityArgsFor,
  cniArgs,
  loadNetworkConfig,
  masqChainCleanup,
  parseCniArgs,
  parseNetworkConfig,
  parsePluginError,
  parseResult,
  pluginEnv,
  pluginStdin,
  portMappingsFromPod,
  versionAtLeast,
} from '../../../src/network/cni.js';
import { DEFAULT_CONFLIST_FILE, defaultConflist, ensureDefaultConflist, renderConflist } from '../../../src/network/conflist.js';
import { type RecordedCommand, recordCommands } from '../../../src/util/exec.js';
import { setLogSink } from '../../../src/util/log.js';

let tmp: string;
let restoreSink: (l: string) => void;
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'k8ts-cni-unit-'));
  restoreSink = setLogSink(() => {});
});
after(async () => {
  setLogSink(restoreSink);
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
async function dir(): Promise<string> {
  const d = path.join(tmp, `d${++n}`);
  await mkdir(d, { recursive: true });
  return d;
}

const pod = { containerId: 'abc123', netnsPath: '/var/run/netns/pod-a', podNamespace: 'demo', podName: 'web-0', podUid: 'u-1' };

test('parseNetworkConfig: lists, single-plugin .conf wrapped, versions, errors', () => {
  const l = parseNetworkConfig(JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', plugins: [{ type: 'flannel' }, { type: 'portmap', capabilities: { portMappings: true } }] }));
  assert.equal(l.name, 'cbr0');
  assert.equal(l.cniVersion, '0.3.1');
  assert.deepEqual(l.plugins.map((p) => p.type), ['flannel', 'portmap']);
  assert.equal(l.disableCheck, false);

  const c = parseNetworkConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'mynet', type: 'bridge', bridge: 'br0' }));
  assert.deepEqual(c, { cniVersion: '0.4.0', name: 'mynet', plugins: [{ cniVersion: '0.4.0', name: 'mynet', type: 'bridge', bridge: 'br0' }] });

  assert.throws(() => parseNetworkConfig('{', 'f.conflist'), /f\.conflist: invalid JSON/);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'x' }] })), /network name/);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersion: '0.2.0', name: 'n', plugins: [{ type: 'x' }] })), /0\.2\.0 is not supported/);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ name: 'n', plugins: [{ type: 'x' }] })), /cniVersion is missing/);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [] })), /non-empty/);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ bridge: 'x' }] })), /plugins\[0\]: plugin "type" is missing/);
  assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: '../sh' }] })), /invalid plugin type/);
});

test('loadNetworkConfig: the lexicographically first valid file; .conf and .conflist ranked together', async () => {
  const d = await dir();
  assert.equal(await loadNetworkConfig(d), undefined);
  assert.equal(await loadNetworkConfig(path.join(d, 'missing')), undefined);
  await writeFile(path.join(d, '20-b.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'b', plugins: [{ type: 'bridge' }] }));
  await writeFile(path.join(d, '10-a.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'a', type: 'ptp' }));
  await writeFile(path.join(d, '00-notes.txt'), 'ignored');
  await writeFile(path.join(d, '.05-hidden.conflist'), 'ignored');
  assert.equal((await loadNetworkConfig(d))?.list.name, 'a');
  await writeFile(path.join(d, '05-broken.conflist'), '{nope');
  const skipped: Array<{ file: string; error: string }> = [];
  const l = await loadNetworkConfig(d, skipped);
  assert.equal(l?.list.name, 'a');
  assert.equal(l?.file, path.join(d, '10-a.conf'));
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!.error, /05-broken\.conflist: invalid JSON/);
});

test('CNI_ARGS: the kubelet keys, IgnoreUnknown first; parse back; separators refused', () => {
  const s = cniArgs(pod);
  assert.equal(s, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1');
  assert.deepEqual(parseCniArgs(s), { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'demo', K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: 'abc123', K8S_POD_UID: 'u-1' });
  assert.throws(() => cniArgs({ ...pod, podName: 'a;b' }), /must not contain/);
  assert.throws(() => parseCniArgs('novalue'), /invalid pair/);
  assert.deepEqual(
    pluginEnv('DEL', { containerId: 'c', netnsPath: '/n', ifName: 'eth0', args: 'A=1' }, ['/usr/lib/cni', '/opt/cni/bin']),
    { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_NETNS: '/n', CNI_IFNAME: 'eth0', CNI_ARGS: 'A=1', CNI_PATH: '/usr/lib/cni:/opt/cni/bin' },
  );
});

test('pluginStdin: name/cniVersion/prevResult injected; runtimeConfig only for declared capabilities', () => {
  const list = { name: 'k8ts', cniVersion: '1.0.0' };
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.244.1.2/24' }] };
  const caps = capabilityArgsFor({
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }, { hostPort: 53, containerPort: 53, protocol: 'UDP', hostIP: '127.0.0.1' }],
    capabilityArgs: { bandwidth: { ingressRate: 1 } },
  });
  assert.deepEqual(caps.portMappings, [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
  ]);
  const pm = pluginStdin(list, { type: 'portmap', capabilities: { portMappings: true, bandwidth: false } }, prev, caps);
  assert.deepEqual(pm, {
    type: 'portmap',
    capabilities: { portMappings: true, bandwidth: false },
    name: 'k8ts',
    cniVersion: '1.0.0',
    prevResult: prev,
    runtimeConfig: { portMappings: caps.portMappings },
  });
  // A plugin's own name/version/prevResult are overridden; no capability, no runtimeConfig.
  const br = pluginStdin(list, { type: 'bridge', name: 'other', cniVersion: '0.3.1', prevResult: { x: 1 } }, undefined, caps);
  assert.deepEqual(br, { type: 'bridge', name: 'k8ts', cniVersion: '1.0.0' });
  assert.deepEqual(capabilityArgsFor({}), {});
});

test('portMappingsFromPod: hostPorts only, protocol lowercased', () => {
  const p = {
    spec: {
      containers: [
        { ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 9090 }] },
        { ports: [{ containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '10.0.0.1' }] },
        {},
      ],
    },
  };
  assert.deepEqual(portMappingsFromPod(p), [
    { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '10.0.0.1' },
  ]);
});

test('parseResult: 1.0.0 and 0.3.1 results; pod IPs are the sandbox interface ones', () => {
  const r = parseResult(
    {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'cni0', mac: 'aa' }, { name: 'veth1', mac: 'bb' }, { name: 'eth0', mac: 'cc', sandbox: '/var/run/netns/p' }],
      ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.1', interface: 2 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    },
    'k8ts',
    '1.0.0',
  );
  assert.deepEqual(r.ips, ['10.244.1.5']);
  assert.equal(r.gateway, '10.244.1.1');
  assert.deepEqual(r.ipConfigs, [{ address: '10.244.1.5/24', ip: '10.244.1.5', family: 4, gateway: '10.244.1.1', interface: 2 }]);
  assert.deepEqual(r.interfaces[2], { name: 'eth0', mac: 'cc', sandbox: '/var/run/netns/p' });
  assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0' }]);

  const old = parseResult(
    { cniVersion: '0.3.1', interfaces: [{ name: 'cni0' }], ips: [{ version: '4', address: '10.0.0.9/16', interface: 0 }, { version: '6', address: 'fd00::9/64' }] },
    'cbr0',
    '0.3.1',
  );
  assert.deepEqual(old.ips, ['fd00::9']); // 10.0.0.9 sits on the host's cni0, not in the sandbox
  assert.equal(old.ipConfigs[1]!.family, 6);
  assert.throws(() => parseResult({ ips: [{ address: '10.0.0.1' }] }, 'n', '1.0.0'), /invalid address/);
  assert.throws(() => parseResult('x', 'n', '1.0.0'), /not a JSON object/);
});

test('plugin errors and versions', () => {
  assert.deepEqual(parsePluginError('{"code":11,"msg":"failed to allocate","details":"range full"}'), { code: 11, msg: 'failed to allocate', details: 'range full' });
  assert.equal(parsePluginError('panic: oops'), undefined);
  assert.equal(parsePluginError('{"cniVersion":"1.0.0"}'), undefined);
  const e = new CniPluginError('bridge', 'ADD', 'k8ts', 11, 'failed to allocate', 'range full');
  assert.equal(e.message, 'CNI plugin "bridge" of network "k8ts" failed ADD: failed to allocate (range full) [code 11]');
  assert.ok(versionAtLeast('1.0.0', '0.4.0'));
  assert.ok(versionAtLeast('0.4.0', '0.4.0'));
  assert.ok(!versionAtLeast('0.3.1', '0.4.0'));
});

// ---------------------------------------------------------------------------
// The runtime with recorded commands: fake plugin binaries (never run) and a
// responder that plays the plugins.

async function fakeBins(types: string[]): Promise<string> {
  const d = await dir();
  for (const t of types) {
    await writeFile(path.join(d, t), '#!/bin/sh\nexit 99\n');
    await chmod(path.join(d, t), 0o755);
  }
  return d;
}

interface Call {
  plugin: string;
  stdin: Record<string, any>;
  prefix: string[];
}

/** Replaces the exec runner; `play` answers each plugin call (the environment is covered by pluginEnv's test). */
function playPlugins(play: (c: Call) => { stdout?: string; stderr?: string; code?: number } | undefined) {
  const calls: Call[] = [];
  const rec = recordCommands((c: RecordedCommand) => {
    const argv = [c.cmd, ...c.args];
    const bin = argv[argv.length - 1]!;
    // A plugin is named by its binary; other commands (iptables-save) by their argv.
    const call: Call = { plugin: bin.startsWith('/') ? path.basename(bin) : argv.join(' '), stdin: JSON.parse(c.input ?? '{}'), prefix: argv.slice(0, -1) };
    calls.push(call);
    return play(call) ?? { stdout: '' };
  });
  return { calls, restore: rec.restore };
}

test('CniRuntime: ADD chains prevResult, caches; DEL reverse with the cached config; CHECK; errors name the plugin', async (t) => {
  const bins = await fakeBins(['bridge', 'portmap', 'loopback']);
  const confDir = await dir();
  const cacheDir = await dir();
  await ensureDefaultConflist({ confDir, podCidr: '10.244.1.0/24', dataDir: '/tmp/k8ts-data' });
  const rt = new CniRuntime({ confDir, binDirs: [bins], cacheDir, execPrefix: ['ip', 'netns', 'exec', 'node'] });

  const bridgeResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cni0' }, { name: 'vethX' }, { name: 'eth0', sandbox: pod.netnsPath }],
    ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1', interface: 2 }],
    routes: [{ dst: '0.0.0.0/0' }],
  };
  const p = playPlugins((c) => {
    if (c.plugin === 'loopback') return { stdout: '{"cniVersion":"1.0.0","interfaces":[{"name":"lo"}]}' };
    if (c.plugin === 'bridge') return { stdout: JSON.stringify(bridgeResult) };
    if (c.plugin === 'portmap') return { stdout: JSON.stringify(c.stdin.prevResult) };
    return undefined;
  });
  t.after(p.restore);

  const r = await rt.setUp({ ...pod, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }] });
  assert.deepEqual(r.ips, ['10.244.1.2']);
  assert.equal(r.gateway, '10.244.1.1');
  assert.equal(r.network, 'k8ts');
  assert.deepEqual(p.calls.map((c) => c.plugin), ['loopback', 'bridge', 'portmap']);
  assert.deepEqual(p.calls[1]!.prefix, ['ip', 'netns', 'exec', 'node']);
  assert.equal(p.calls[1]!.stdin.prevResult, undefined);
  assert.equal(p.calls[1]!.stdin.name, 'k8ts');
  assert.equal(p.calls[1]!.stdin.ipam.ranges[0][0].subnet, '10.244.1.0/24');
  assert.deepEqual(p.calls[2]!.stdin.prevResult, bridgeResult);
  assert.deepEqual(p.calls[2]!.stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
  assert.equal(p.calls[1]!.stdin.runtimeConfig, undefined);

  // The cache: libcni's layout and fields.
  const files = await readdir(path.join(cacheDir, 'results'));
  assert.deepEqual(files, ['k8ts-abc123-eth0']);
  const entry = JSON.parse(await readFile(path.join(cacheDir, 'results', files[0]!), 'utf8'));
  assert.equal(entry.kind, 'cniCacheV1');
  assert.equal(JSON.parse(Buffer.from(entry.config, 'base64').toString()).name, 'k8ts');
  assert.deepEqual(entry.result, bridgeResult);
  assert.deepEqual((await rt.cachedResult('abc123'))?.ips, ['10.244.1.2']);
  assert.deepEqual(await rt.cachedContainers(), [{ containerId: 'abc123', ifName: 'eth0', network: 'k8ts' }]);

  // CHECK: in order, with the cached result.
  p.calls.length = 0;
  await rt.check(pod);
  assert.deepEqual(p.calls.map((c) => c.plugin), ['bridge', 'portmap']);
  assert.deepEqual(p.calls[0]!.stdin.prevResult, bridgeResult);

  // The podCIDR moves: DEL still uses the cached config (old subnet) and port mappings.
  await ensureDefaultConflist({ confDir, podCidr: '10.244.9.0/24', dataDir: '/tmp/k8ts-data' });
  p.calls.length = 0;
  await rt.tearDown(pod);
  // The pod's netns is gone (this fake one never existed): the runtime looks
  // for the bridge plugin's leftover ipMasq chain itself, in the node's netns.
  assert.deepEqual(p.calls.map((c) => c.plugin), [
    'portmap',
    'bridge',
    'ip netns exec node iptables-save -t nat',
    'ip netns exec node ip6tables-save -t nat',
  ]);
  assert.equal(p.calls[1]!.stdin.ipam.ranges[0][0].subnet, '10.244.1.0/24');
  assert.deepEqual(p.calls[0]!.stdin.runtimeConfig.portMappings[0].hostPort, 8080);
  assert.deepEqual(p.calls[1]!.stdin.prevResult, bridgeResult);
  assert.deepEqual(await readdir(path.join(cacheDir, 'results')), []);

  // DEL again: no cache, the current config, no prevResult; still fine.
  p.calls.length = 0;
  await rt.tearDown(pod);
  assert.deepEqual(p.calls.map((c) => c.plugin).slice(0, 2), ['portmap', 'bridge']);
  assert.equal(p.calls[1]!.stdin.ipam.ranges[0][0].subnet, '10.244.9.0/24');
  assert.equal(p.calls[1]!.stdin.prevResult, undefined);
  await assert.rejects(rt.check(pod), /no cached result/);
});

test('CniRuntime: a failing plugin gives a clear error, and ADD is rolled back with DEL', async (t) => {
  const bins = await fakeBins(['bridge', 'portmap']);
  const confDir = await dir();
  const cacheDir = await dir();
  await ensureDefaultConflist({ confDir, podCidr: '10.244.1.0/24', dataDir: '/tmp/k8ts-data' });
  const rt = new CniRuntime({ confDir, binDirs: [bins], cacheDir, loopback: false });
  const seen: string[] = [];
  const p = playPlugins((c) => {
    seen.push(c.plugin);
    if (c.plugin === 'bridge' && seen.length === 1) return { stdout: '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}' };
    if (c.plugin === 'portmap' && seen.length === 2) return { code: 1, stdout: '{"code":999,"msg":"iptables failed","details":"no nat table"}' };
    if (c.plugin === 'portmap') return { code: 2, stdout: '', stderr: 'segfault' };
    return { stdout: '' };
  });
  t.after(p.restore);
  await assert.rejects(rt.setUp(pod), (e: Error) => {
    assert.ok(e instanceof CniPluginError);
    assert.equal(e.message, 'CNI plugin "portmap" of network "k8ts" failed ADD: iptables failed (no nat table) [code 999]');
    return true;
  });
  // ADD bridge, ADD portmap (fails), then DEL portmap, DEL bridge.
  assert.deepEqual(seen, ['bridge', 'portmap', 'portmap', 'bridge']);
  assert.deepEqual(await readdir(cacheDir), []); // nothing cached

  // A plugin failing without a JSON error: its stderr, naming it.
  seen.length = 0;
  await assert.rejects(rt.tearDown(pod), /CNI plugin "portmap" of network "k8ts" failed DEL: segfault/);
  assert.deepEqual(seen, ['portmap', 'bridge']); // the other plugins still run

  // A missing binary.
  const rt2 = new CniRuntime({ confDir, binDirs: [await dir()], cacheDir, loopback: false });
  await assert.rejects(rt2.setUp(pod), /CNI plugin "bridge" of network "k8ts" failed ADD: plugin binary not found/);
  await assert.rejects(rt.setUp({ ...pod, containerId: '../x' }), /invalid container id/);
});

test('status: not ready without config or plugins, ready otherwise', async () => {
  const confDir = await dir();
  const bins = await fakeBins(['bridge', 'loopback']);
  const rt = new CniRuntime({ confDir, binDirs: ['/nonexistent', bins], cacheDir: await dir() });
  const s0 = await rt.status();
  assert.equal(s0.ready, false);
  assert.match(s0.message!, /no valid network config found/);
  await ensureDefaultConflist({ confDir, podCidr: '10.244.1.0/24', dataDir: '/tmp/k8ts-data' });
  const s1 = await rt.status();
  assert.equal(s1.ready, false);
  assert.match(s1.message!, /plugin\(s\) portmap not found in \/nonexistent:/);
  await writeFile(path.join(bins, 'portmap'), '#!/bin/sh\n', { mode: 0o755 });
  const s2 = await rt.status();
  assert.equal(s2.ready, true);
  assert.deepEqual(s2.plugins, ['bridge', 'portmap']);
  assert.equal(s2.network, 'k8ts');
  assert.equal(s2.file, path.join(confDir, DEFAULT_CONFLIST_FILE));
});

test('default conflist: shape; idempotent writer; rewrites on podCIDR change; never overwrites others', async () => {
  const l = defaultConflist({ podCidr: '10.244.1.7/24', dataDir: '/var/lib/k8ts' });
  assert.deepEqual(l, {
    cniVersion: '1.0.0',
    name: 'k8ts',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: '10.244.1.0/24', gateway: '10.244.1.1' }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: '/var/lib/k8ts/cni/networks',
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  assert.equal(parseNetworkConfig(renderConflist(l)).name, 'k8ts');
  assert.throws(() => defaultConflist({ podCidr: '10.0.0.0/31', dataDir: '/d' }), /too small/);
  assert.throws(() => defaultConflist({ podCidr: '10.0.0.0/24', dataDir: 'rel' }), /absolute/);
  assert.throws(() => defaultConflist({ podCidr: 'nope', dataDir: '/d' }), /invalid CIDR/);

  const confDir = path.join(await dir(), 'net.d'); // created by the writer
  const o = { confDir, podCidr: '10.244.1.0/24', dataDir: '/var/lib/k8ts' };
  assert.equal((await ensureDefaultConflist(o)).action, 'created');
  const file = path.join(confDir, '10-k8ts.conflist');
  const first = await readFile(file, 'utf8');
  assert.equal((await ensureDefaultConflist(o)).action, 'unchanged');
  assert.equal((await ensureDefaultConflist({ ...o, podCidr: '10.244.2.0/24' })).action, 'updated');
  assert.notEqual(await readFile(file, 'utf8'), first);
  assert.match(await readFile(file, 'utf8'), /10\.244\.2\.1/);
  assert.deepEqual(await readdir(confDir), ['10-k8ts.conflist']); // no temporary left

  // Someone else's file under our name: left alone.
  const foreign = JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', plugins: [{ type: 'flannel' }] });
  await writeFile(file, foreign);
  const r = await ensureDefaultConflist(o);
  assert.equal(r.action, 'skipped');
  assert.match(r.reason!, /not written by k8ts/);
  assert.equal(await readFile(file, 'utf8'), foreign);

  // Another network config in the dir: k8ts writes nothing.
  const d2 = await dir();
  await writeFile(path.join(d2, '10-flannel.conflist'), foreign);
  const r2 = await ensureDefaultConflist({ ...o, confDir: d2 });
  assert.equal(r2.action, 'skipped');
  assert.match(r2.reason!, /10-flannel\.conflist exists/);
  assert.deepEqual(await readdir(d2), ['10-flannel.conflist']);
});

test('bridge ipMasq chain: the plugin\'s name, and its removal from iptables-save output', () => {
  const chain = bridgeMasqChain('k8ts', 'cid-pc-1');
  assert.equal(chain, 'CNI-8effe65b0bc19f9c7ad272d3'); // utils.FormatChainName of containernetworking/plugins
  const save = [
    '# Generated by iptables-save',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    `:${chain} - [0:0]`,
    ':CNI-0000000000000000000000aa - [0:0]',
    `-A POSTROUTING -s 10.244.1.4/32 -m comment --comment "name: \\"k8ts\\" id: \\"cid-pc-1\\"" -j ${chain}`,
    '-A POSTROUTING -s 10.244.1.5/32 -j CNI-0000000000000000000000aa',
    `-A ${chain} -d 10.244.1.0/24 -j ACCEPT`,
    `-A ${chain} ! -d 224.0.0.0/4 -j MASQUERADE`,
    'COMMIT',
  ].join('\n');
  assert.equal(
    masqChainCleanup(save, chain),
    ['*nat', `-D POSTROUTING -s 10.244.1.4/32 -m comment --comment "name: \\"k8ts\\" id: \\"cid-pc-1\\"" -j ${chain}`, `-F ${chain}`, `-X ${chain}`, 'COMMIT', ''].join('\n'),
  );
  assert.equal(masqChainCleanup(save, bridgeMasqChain('k8ts', 'other')), undefined);
});

test('CniRuntime: a 0.3.1 .conf: wrapped, no CHECK, DEL without prevResult; 0.4.0 with disableCheck', async (t) => {
  const bins = await fakeBins(['ptp']);
  const confDir = await dir();
  await writeFile(path.join(confDir, '50-ptp.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'p2p', type: 'ptp', ipam: { type: 'host-local', subnet: '10.9.0.0/16' } }));
  const rt = new CniRuntime({ confDir, binDirs: [bins], cacheDir: await dir(), loopback: false });
  const res031 = { cniVersion: '0.3.1', interfaces: [{ name: 'eth0', sandbox: '/x' }], ips: [{ version: '4', address: '10.9.0.4/16', gateway: '10.9.0.1', interface: 0 }] };
  const p = playPlugins((c) => (c.stdin.prevResult ? undefined : { stdout: JSON.stringify(res031) }));
  t.after(p.restore);
  const r = await rt.setUp(pod);
  assert.deepEqual(r.ips, ['10.9.0.4']);
  assert.equal(r.cniVersion, '0.3.1');
  assert.equal(p.calls[0]!.stdin.name, 'p2p');
  p.calls.length = 0;
  await rt.check(pod);
  assert.equal(p.calls.length, 0);
  await rt.tearDown(pod);
  assert.equal(p.calls[0]!.plugin, 'ptp');
  assert.equal(p.calls[0]!.stdin.prevResult, undefined);

  await writeFile(path.join(confDir, '40-nocheck.conflist'), JSON.stringify({ cniVersion: '0.4.0', name: 'nc', disableCheck: true, plugins: [{ type: 'ptp' }] }));
  await rt.setUp(pod);
  p.calls.length = 0;
  await rt.check(pod);
  assert.equal(p.calls.length, 0);
  await rt.tearDown(pod);
  assert.deepEqual(p.calls[0]!.stdin.prevResult, res031); // 0.4.0: DEL gets the cached result
});
