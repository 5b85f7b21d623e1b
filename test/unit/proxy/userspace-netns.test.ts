// The userspace proxy for real, inside a fresh network namespace that plays
// the node: three pod namespaces on a bridge (10.244.1.0/24) run busybox httpd
// (TCP; clients use curl: busybox wget -T crashes here) and a small UDP echo; an "external" namespace reaches the node's IP
// (192.168.50.1) for NodePorts. The proxy runs in the node namespace as a
// helper process (userspace-program.ts) fed snapshots on stdin. Nothing here
// has a route beyond these namespaces.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EndpointInfo, ServicePortInfo } from '../../../src/proxy/types.js';
import { sourceHashBucket } from '../../../src/proxy/userspace/scheduler.js';
import { exec } from '../../../src/util/exec.js';
import { type Scenario, withNetns } from '../../helpers/netns.js';
import { poll } from '../../helpers/poll.js';
import { endpoint, servicePort } from './fixtures.js';

const skip = process.getuid?.() !== 0 || !existsSync('/usr/bin/busybox') || !existsSync('/usr/bin/curl') ? 'needs root, busybox and curl' : false;

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '../../..');
const programArgs = here.endsWith('.ts')
  ? ['--import', 'tsx', path.join(path.dirname(here), 'userspace-program.ts')]
  : [path.join(path.dirname(here), 'userspace-program.js')];

class ProxyProcess {
  private readonly waiting: Array<(v: { ok: boolean; result?: unknown; error?: string }) => void> = [];
  readonly stderr: string[] = [];
  readonly proc: ChildProcess;

  constructor(s: Scenario, opts: Record<string, unknown>) {
    this.proc = s.spawn(process.execPath, [...programArgs, JSON.stringify(opts)], { cwd: root });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (l) => this.waiting.shift()?.(JSON.parse(l)));
    this.proc.stderr!.on('data', (b: Buffer) => this.stderr.push(b.toString()));
  }

  async request<T = unknown>(req: Record<string, unknown>, timeoutMs = 20_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<{ ok: boolean; result?: unknown; error?: string }>((resolve, reject) => {
      this.waiting.push(resolve);
      timer = setTimeout(() => reject(new Error(`no answer to ${req.op} in ${timeoutMs} ms; stderr: ${this.stderr.join('')}`)), timeoutMs);
    });
    this.proc.stdin!.write(JSON.stringify(req) + '\n');
    try {
      const a = await answer;
      if (!a.ok) throw new Error(`${req.op}: ${a.error}`);
      return a.result as T;
    } finally {
      clearTimeout(timer);
    }
  }
}

const POD_IPS = { p1: '10.244.1.11', p2: '10.244.1.12', p3: '10.244.1.13' } as const;
type Pod = keyof typeof POD_IPS;
const NODE_IP = '192.168.50.1';
const EXT_IP = '192.168.50.2';

const ep = (pod: Pod, port: number, more: Partial<EndpointInfo> = {}): EndpointInfo =>
  endpoint(POD_IPS[pod], port, { isLocal: pod === 'p1', nodeName: pod === 'p1' ? 'node-a' : 'node-b', ...more });

const svc = (name: string, more: Partial<ServicePortInfo>) => servicePort('default', name, '', more);

const snapshot = (services: ServicePortInfo[], endpoints: Record<string, EndpointInfo[]>) => ({
  services,
  endpoints,
  nodeName: 'node-a',
  nodeIPs: [NODE_IP],
  clusterCidr: '10.244.0.0/16',
});

// A UDP echo answering "<id>:<message>", and a UDP client: one socket for all messages ("same") or one per message ("each").
const UDP_ECHO = `const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(process.argv[1]+':'+m,r.port,r.address));d.bind(5353);`;
const UDP_CLIENT = `const dgram=require('dgram');const [ip,port,mode,n]=process.argv.slice(1);const out=[];let socks=[];
const mk=()=>{const s=dgram.createSocket('udp4');s.on('message',(m,r)=>{out.push(r.address+':'+r.port+' '+m);if(out.length==n){console.log(out.join('\\n'));process.exit(0)}});socks.push(s);return s};
let s=mk();(async()=>{for(let i=0;i<n;i++){if(mode==='each'&&i>0)s=mk();s.send('m'+i,+port,ip);await new Promise(r=>setTimeout(r,50))}})();
setTimeout(()=>{console.log(out.join('\\n'));process.exit(1)},3000);`;

async function setUpNetwork(s: Scenario, www: string): Promise<Record<Pod | 'ext', string>> {
  const ns = { p1: s.name('p1'), p2: s.name('p2'), p3: s.name('p3'), ext: s.name('ext') };
  await s.exec('ip', ['-batch', '-'], { input: ['link add br0 type bridge', 'address add 10.244.1.1/24 dev br0', 'link set br0 up'].join('\n') + '\n' });
  for (const pod of ['p1', 'p2', 'p3'] as Pod[]) {
    await exec('ip', ['netns', 'add', ns[pod]]);
    await s.exec('ip', ['link', 'add', `v${pod}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[pod]]);
    await s.exec('ip', ['link', 'set', `v${pod}`, 'master', 'br0', 'up']);
    await exec('ip', ['-n', ns[pod], '-batch', '-'], {
      input: [`address add ${POD_IPS[pod]}/24 dev eth0`, 'link set eth0 up', 'link set lo up', 'route add default via 10.244.1.1'].join('\n') + '\n',
    });
    const dir = path.join(www, pod);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'index.html'), `${pod}\n`);
    s.spawn('ip', ['netns', 'exec', ns[pod], 'busybox', 'httpd', '-f', '-p', '80', '-h', dir]);
    if (pod !== 'p3') s.spawn('ip', ['netns', 'exec', ns[pod], process.execPath, '-e', UDP_ECHO, pod]);
  }
  await exec('ip', ['netns', 'add', ns.ext]);
  await s.exec('ip', ['link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.ext]);
  await s.exec('ip', ['-batch', '-'], { input: [`address add ${NODE_IP}/24 dev ext0`, 'link set ext0 up'].join('\n') + '\n' });
  await exec('ip', ['-n', ns.ext, '-batch', '-'], { input: [`address add ${EXT_IP}/24 dev eth0`, 'link set eth0 up', 'link set lo up'].join('\n') + '\n' });
  for (const pod of ['p1', 'p2', 'p3'] as Pod[]) {
    await poll(async () => (await s.exec('curl', ['-s', '-m', '2', `http://${POD_IPS[pod]}/`], { timeoutMs: 5000 })).stdout.trim() === pod, {
      timeoutMs: 15_000,
      what: `httpd in ${pod}`,
    });
  }
  return ns;
}

test('userspace proxy in a namespace: TCP/UDP, rr/lc/sh, affinity, no-endpoint reset, NodePort eTP Local, incremental sync, cleanup', { skip, timeout: 240_000 }, async (t) => {
  const www = await mkdtemp(path.join(tmpdir(), 'k8ts-userspace-'));
  try {
    await withNetns(async (s) => {
      const ns = await setUpNetwork(s, www);
      /** `n` HTTP GETs from a namespace (or the node: undefined); one line per request (FAIL when it failed). */
      const gets = async (from: string | undefined, url: string, n = 1): Promise<string[]> => {
        const script = `for i in $(seq ${n}); do curl -s -m 3 ${url} || echo FAIL; done`;
        const r = from ? await s.exec('ip', ['netns', 'exec', from, 'sh', '-c', script], { timeoutMs: 10_000 + n * 4000 }) : await s.exec('sh', ['-c', script], { timeoutMs: 10_000 + n * 4000 });
        return r.stdout.split('\n').filter(Boolean);
      };
      const udp = async (from: string, ip: string, port: number, mode: 'same' | 'each', n: number) =>
        (await s.exec('ip', ['netns', 'exec', from, process.execPath, '-e', UDP_CLIENT, ip, String(port), mode, String(n)], { timeoutMs: 10_000, allowFailure: true })).stdout
          .split('\n')
          .filter(Boolean);
      const addrsOn = async (dev: string) => {
        const r = await s.exec('ip', ['-j', '-4', 'addr', 'show', 'dev', dev], { allowFailure: true });
        if (r.code !== 0) return undefined;
        return (JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string; label?: string }> }>).flatMap((l) => l.addr_info.map((a) => `${a.local}${a.label && a.label !== dev ? `@${a.label}` : ''}`)).sort();
      };

      // Three proxies, one per scheduler, each with its own service interface (sh: on lo).
      const rr = new ProxyProcess(s, { scheduler: 'rr', interfaceName: 'k8ts-svc0', udpIdleTimeoutMs: 600 });
      const lc = new ProxyProcess(s, { scheduler: 'lc', interfaceName: 'k8ts-svc1' });
      const sh = new ProxyProcess(s, { scheduler: 'sh', interfaceMode: 'lo' });

      const all80 = [ep('p1', 80), ep('p2', 80), ep('p3', 80)];
      const web = svc('web', { clusterIPs: ['10.96.0.12'], nodePort: 30080, externalPolicyLocal: true });
      const dns = svc('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.10'] });
      const sticky = svc('sticky', { clusterIPs: ['10.96.0.13'], stickySeconds: 60 });
      const empty = svc('empty', { clusterIPs: ['10.96.0.14'] });
      const base = { [web.key]: all80, [dns.key]: [ep('p1', 5353), ep('p2', 5353)], [sticky.key]: all80 };
      const first = await rr.request<{ full: boolean; changed: number; interfaceMode: string }>({ op: 'sync', snapshot: snapshot([web, dns, sticky, empty], base) });
      assert.equal(first.full, true);
      assert.equal(first.changed, 4);
      assert.ok(['dummy', 'bridge'].includes(first.interfaceMode), first.interfaceMode);
      assert.deepEqual(await addrsOn('k8ts-svc0'), ['10.96.0.10', '10.96.0.12', '10.96.0.13', '10.96.0.14']);

      await t.test('rr: TCP from a pod and from the node, endpoints in turn', async () => {
        const got = await gets(ns.p1, 'http://10.96.0.12/', 6);
        assert.deepEqual(got, ['p1', 'p2', 'p3', 'p1', 'p2', 'p3']);
        assert.deepEqual(await gets(undefined, 'http://10.96.0.12/', 3), ['p1', 'p2', 'p3']);
      });

      await t.test('sessionAffinity ClientIP: one client, one endpoint', async () => {
        const a = await gets(ns.p2, 'http://10.96.0.13/', 5);
        assert.equal(new Set(a).size, 1, a.join(','));
        assert.notEqual(a[0], 'FAIL');
        const b = await gets(ns.p3, 'http://10.96.0.13/', 3);
        assert.equal(new Set(b).size, 1, b.join(','));
      });

      await t.test('no endpoints: the connection is reset at once', async () => {
        const t0 = Date.now();
        const r = await s.exec('ip', ['netns', 'exec', ns.p1, 'curl', '-sS', '-m', '5', 'http://10.96.0.14/'], { allowFailure: true, timeoutMs: 10_000 });
        assert.notEqual(r.code, 0);
        assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms: ${r.stderr}`);
        // The proxy accepts and resets at once; curl sees the reset as a failed connect.
        assert.match(r.stderr, /reset|refused|closed|empty reply|couldn't connect/i);
        // It was the proxy's listener that reset it (not a missing socket).
        assert.match((await s.exec('ss', ['-Htln'])).stdout, /10\.96\.0\.14:80\b/);
      });

      await t.test('NodePort with externalTrafficPolicy Local: external clients get local endpoints, pods all of them', async () => {
        const ext = await gets(ns.ext, `http://${NODE_IP}:30080/`, 4);
        assert.deepEqual(ext, ['p1', 'p1', 'p1', 'p1']);
        const fromPod = await gets(ns.p2, `http://${NODE_IP}:30080/`, 6);
        assert.equal(new Set(fromPod).size, 3, `pod traffic short-circuits to every endpoint: ${fromPod}`);
      });

      await t.test('UDP: one session per client socket, sessions spread, replies from the service address, idle timeout', async () => {
        const same = await udp(ns.p3, '10.96.0.10', 53, 'same', 4);
        assert.equal(same.length, 4, same.join('|'));
        for (const l of same) assert.match(l, /^10\.96\.0\.10:53 /);
        const ids = same.map((l) => l.split(' ')[1]!.split(':')[0]);
        assert.equal(new Set(ids).size, 1, `one session, one endpoint: ${ids}`);
        assert.deepEqual(same.map((l) => l.split(':').pop()), ['m0', 'm1', 'm2', 'm3']);
        const each = await udp(ns.p3, '10.96.0.10', 53, 'each', 4);
        assert.equal(new Set(each.map((l) => l.split(' ')[1]!.split(':')[0])).size, 2, `new sessions alternate: ${each}`);
        // Sessions show as InActConn, and end after the idle timeout.
        const inact = (rules: string) => [...rules.matchAll(/-> 10\.244\.1\.1[12]:5353\s+Proxy\s+1\s+\d+\s+(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
        await poll(async () => inact(await rr.request<string>({ op: 'rules' })) === 0, { timeoutMs: 5000, what: 'UDP sessions to expire' });
      });

      await t.test('incremental sync: endpoint changes apply at once, open connections survive, removed services go', async () => {
        // A connection held open through the proxy while we sync.
        const nc = s.spawn('ip', ['netns', 'exec', ns.p3, 'busybox', 'nc', '10.96.0.12', '80']);
        let ncOut = '';
        nc.stdout!.on('data', (b: Buffer) => (ncOut += b));
        const webActive = async () => {
          const tbl = await rr.request<Array<{ address: string; endpoints: Array<{ active: number }> }>>({ op: 'table' });
          return tbl.find((v) => v.address === '10.96.0.12:80')!.endpoints.reduce((n, e) => n + e.active, 0);
        };
        await poll(async () => (await webActive()) === 1, {
          timeoutMs: 5000,
          what: 'held connection to show',
        });
        const onlyP2 = { ...base, [web.key]: [ep('p2', 80)] };
        const other = svc('other', { clusterIPs: ['10.96.0.15'] });
        const r2 = await rr.request<{ full: boolean; changed: number }>({ op: 'sync', snapshot: snapshot([web, dns, sticky, empty, other], { ...onlyP2, [other.key]: [ep('p3', 80)] }), changed: [web.key, other.key] });
        assert.deepEqual([r2.full, r2.changed], [false, 2]);
        assert.deepEqual(await gets(ns.p1, 'http://10.96.0.12/', 3), ['p2', 'p2', 'p2']);
        assert.deepEqual(await gets(ns.p1, 'http://10.96.0.15/'), ['p3']);
        // The same snapshot again: nothing changes.
        const r3 = await rr.request<{ changed: number }>({ op: 'sync', snapshot: snapshot([web, dns, sticky, empty, other], { ...onlyP2, [other.key]: [ep('p3', 80)] }), changed: [] });
        assert.equal(r3.changed, 0);
        // The held connection still works (its listener was never reopened).
        nc.stdin!.write('GET / HTTP/1.0\r\n\r\n');
        await poll(() => /\r\n\r\np\d\n/.test(ncOut), { timeoutMs: 5000, what: `reply on the held connection (${JSON.stringify(ncOut)})` });
        // Remove "sticky" and "other": addresses and listeners go.
        await rr.request({ op: 'sync', snapshot: snapshot([web, dns, empty], onlyP2) });
        assert.deepEqual(await addrsOn('k8ts-svc0'), ['10.96.0.10', '10.96.0.12', '10.96.0.14']);
        assert.deepEqual(await gets(ns.p1, 'http://10.96.0.13/'), ['FAIL']);
      });

      await t.test('lc: new connections go to the endpoint with the fewest open ones', async () => {
        const svcLc = svc('lc', { clusterIPs: ['10.96.1.12'] });
        await lc.request({ op: 'sync', snapshot: snapshot([svcLc], { [svcLc.key]: all80 }) });
        const held: ChildProcess[] = [];
        const active = async () => {
          const tbl = await lc.request<Array<{ endpoints: Array<{ address: string; active: number }> }>>({ op: 'table' });
          return Object.fromEntries(tbl[0]!.endpoints.map((e) => [e.address.split(':')[0], e.active]));
        };
        for (let i = 0; i < 2; i++) {
          held.push(s.spawn('ip', ['netns', 'exec', ns.p1, 'busybox', 'nc', '10.96.1.12', '80']));
          await poll(async () => Object.values(await active()).reduce((a, b) => a + b, 0) === i + 1, { timeoutMs: 5000, what: `held connection ${i + 1}` });
        }
        assert.deepEqual(await active(), { '10.244.1.11': 1, '10.244.1.12': 1, '10.244.1.13': 0 });
        assert.deepEqual(await gets(ns.p2, 'http://10.96.1.12/', 3), ['p3', 'p3', 'p3']);
        for (const p of held) p.kill('SIGTERM');
        await poll(async () => Object.values(await active()).every((n) => n === 0), { timeoutMs: 5000, what: 'held connections to close' });
        const rules = await lc.request<string>({ op: 'rules' });
        assert.match(rules, /^TCP {2}10\.96\.1\.12:80 lc/m);
      });

      await t.test('sh: each client always gets the endpoint its address hashes to (addresses on lo)', async () => {
        const svcSh = svc('sh', { clusterIPs: ['10.96.2.12'] });
        const res = await sh.request<{ interfaceMode: string }>({ op: 'sync', snapshot: snapshot([svcSh], { [svcSh.key]: all80 }) });
        assert.equal(res.interfaceMode, 'lo');
        assert.deepEqual(await addrsOn('lo'), ['10.96.2.12@lo:k8ts', '127.0.0.1']);
        const sorted = (['p1', 'p2', 'p3'] as Pod[]).sort((a, b) => (POD_IPS[a] < POD_IPS[b] ? -1 : 1));
        for (const pod of ['p1', 'p2', 'p3'] as Pod[]) {
          const want = sorted[sourceHashBucket(POD_IPS[pod]) % 3]!;
          assert.deepEqual(await gets(ns[pod], 'http://10.96.2.12/', 3), [want, want, want], `client ${pod}`);
        }
        await sh.request({ op: 'cleanup' });
        assert.deepEqual(await addrsOn('lo'), ['127.0.0.1']);
      });

      await t.test('rules and cleanup', async () => {
        const rules = await rr.request<string>({ op: 'rules' });
        assert.match(rules, /^TCP {2}10\.96\.0\.12:80 rr\s+# default\/web: clusterIP$/m);
        assert.match(rules, /^TCP {2}192\.168\.50\.1:30080 rr\s+# default\/web: nodePort \(Local\) \(no endpoints: reject\)$/m);
        assert.match(rules, /^ {2}-> 10\.244\.1\.12:80\s+Proxy\s+1\s+\d+\s+\d+$/m);
        assert.match(rules, /^UDP {2}10\.96\.0\.10:53 rr/m);
        assert.match(rules, /^TCP {2}10\.96\.0\.14:80 rr\s+.*no endpoints/m);
        await rr.request({ op: 'cleanup' });
        await lc.request({ op: 'cleanup' });
        assert.equal(await addrsOn('k8ts-svc0'), undefined, 'interface removed');
        assert.equal(await addrsOn('k8ts-svc1'), undefined, 'interface removed');
        assert.deepEqual(await gets(ns.p1, 'http://10.96.0.12/'), ['FAIL']);
        assert.deepEqual(await gets(ns.ext, `http://${NODE_IP}:30080/`), ['FAIL']);
        // The bridge (pods' network) is untouched.
        assert.deepEqual(await gets(undefined, `http://${POD_IPS.p2}/`), ['p2']);
        for (const p of [rr, lc, sh]) await p.request({ op: 'exit' });
      });
    });
  } finally {
    await rm(www, { recursive: true, force: true });
  }
});
