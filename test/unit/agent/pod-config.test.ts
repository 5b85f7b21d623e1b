import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultClusterDns, formatResolvConf, parseResolvConf, podDnsConfig } from '../../../src/agent/dns.js';
import { EnvError, containerEnv, expand, expandCommand, serviceEnv, servicesForPod } from '../../../src/agent/env.js';
import { hostsFile, podFqdn } from '../../../src/agent/hosts.js';

const HOST = 'nameserver 192.0.2.53\nsearch corp.example. lab.example\noptions rotate\n# comment\n';
const cluster = { clusterDns: ['10.96.0.10'], clusterDomain: 'cluster.local', hostResolvConf: HOST };
const pod = (spec: Record<string, any> = {}, ns = 'demo') => ({ metadata: { name: 'web-0', namespace: ns, uid: 'u1', labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }], ...spec } });

test('resolv.conf: parse and format', () => {
  assert.deepEqual(parseResolvConf(HOST), { nameservers: ['192.0.2.53'], searches: ['corp.example', 'lab.example'], options: ['rotate'] });
  assert.equal(formatResolvConf({ nameservers: ['a'], searches: ['x', 'y'], options: ['ndots:5'] }), 'search x y\nnameserver a\noptions ndots:5\n');
  assert.equal(defaultClusterDns('10.96.0.0/12'), '10.96.0.10');
});

test('dnsPolicy ClusterFirst: cluster server, namespace search path then the host search, ndots:5', () => {
  const r = podDnsConfig(pod(), cluster);
  assert.deepEqual(r.config, {
    nameservers: ['10.96.0.10'],
    searches: ['demo.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example'],
    options: ['ndots:5'],
  });
  assert.deepEqual(r.warnings, []);
});

test('dnsPolicy: hostNetwork falls back to Default unless ClusterFirstWithHostNet; Default; None; missing cluster DNS', () => {
  assert.deepEqual(podDnsConfig(pod({ hostNetwork: true }), cluster).config.nameservers, ['192.0.2.53']);
  assert.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster).config.nameservers, ['10.96.0.10']);
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster).config, parseResolvConf(HOST));
  const none = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }] } }), cluster);
  assert.deepEqual(none.config, { nameservers: ['1.2.3.4'], searches: ['a.b'], options: ['ndots:2'] });
  const missing = podDnsConfig(pod(), { ...cluster, clusterDns: [] });
  assert.deepEqual(missing.config.nameservers, ['192.0.2.53']);
  assert.equal(missing.warnings[0][0], 'MissingClusterDNS');
  assert.match(missing.warnings[0][1], /Falling back to "Default" policy/);
});

test('dnsConfig merges: servers and searches appended without duplicates, options override by name', () => {
  const r = podDnsConfig(
    pod({ dnsConfig: { nameservers: ['10.96.0.10', '192.0.2.54'], searches: ['cluster.local', 'extra.example'], options: [{ name: 'ndots', value: '1' }, { name: 'edns0' }] } }),
    cluster,
  );
  assert.deepEqual(r.config.nameservers, ['10.96.0.10', '192.0.2.54']);
  assert.deepEqual(r.config.searches.slice(-2), ['lab.example', 'extra.example']);
  assert.equal(r.config.searches.filter((s) => s === 'cluster.local').length, 1);
  assert.deepEqual(r.config.options, ['ndots:1', 'edns0']);
});

test('upstream limits: 3 nameservers, 32 search domains, 2048 characters, with DNSConfigForming warnings', () => {
  const servers = podDnsConfig(pod({ dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'] } }), cluster);
  assert.deepEqual(servers.config.nameservers, ['10.96.0.10', '1.1.1.1', '2.2.2.2']);
  assert.match(servers.warnings[0][1], /^Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10\.96\.0\.10 1\.1\.1\.1 2\.2\.2\.2$/);
  const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
  const r = podDnsConfig(pod({ dnsConfig: { searches: many } }), cluster);
  assert.equal(r.config.searches.length, 32);
  assert.match(r.warnings[0][1], /^Search Line limits were exceeded/);
  const long = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(120)}.example`);
  const r2 = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: long } }), cluster);
  assert.ok(r2.config.searches.join(' ').length <= 2048);
  assert.equal(r2.config.searches.length, 15);
  assert.deepEqual(r2.config.searches, long.slice(0, 15));
});

test('/etc/hosts: boilerplate, the pod IP with hostname, FQDN with a subdomain, hostAliases', () => {
  const plain = hostsFile(pod(), ['10.244.1.5'], 'cluster.local');
  assert.match(plain, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  assert.match(plain, /\n10\.244\.1\.5\tweb-0\n$/);
  const sts = pod({ hostname: 'web-0', subdomain: 'myapp', hostAliases: [{ ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] }] }, 'default');
  assert.equal(podFqdn(sts, 'cluster.local'), 'web-0.myapp.default.svc.cluster.local');
  const h = hostsFile(sts, ['10.244.1.6'], 'cluster.local');
  assert.match(h, /\n10\.244\.1\.6\tweb-0\.myapp\.default\.svc\.cluster\.local\tweb-0\n\n# Entries added by HostAliases\.\n127\.0\.0\.1\tfoo\.local\tbar\.local\n$/);
});

const svc = (ns: string, name: string, ip: string, ports: any[]) => ({ metadata: { namespace: ns, name }, spec: { clusterIP: ip, ports } });
const KUBERNETES = svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]);
const REDIS = svc('demo', 'redis-master', '10.96.0.11', [{ port: 6379, protocol: 'TCP' }]);
const WEB = svc('demo', 'web', '10.96.0.12', [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }]);

test('service environment variables, exactly as kubelet names them', () => {
  const env = Object.fromEntries(serviceEnv(REDIS).map((e) => [e.name, e.value]));
  assert.deepEqual(env, {
    REDIS_MASTER_SERVICE_HOST: '10.96.0.11',
    REDIS_MASTER_SERVICE_PORT: '6379',
    REDIS_MASTER_PORT: 'tcp://10.96.0.11:6379',
    REDIS_MASTER_PORT_6379_TCP: 'tcp://10.96.0.11:6379',
    REDIS_MASTER_PORT_6379_TCP_PROTO: 'tcp',
    REDIS_MASTER_PORT_6379_TCP_PORT: '6379',
    REDIS_MASTER_PORT_6379_TCP_ADDR: '10.96.0.11',
  });
  const web = Object.fromEntries(serviceEnv(WEB).map((e) => [e.name, e.value]));
  assert.equal(web.WEB_SERVICE_PORT_HTTP, '80');
  assert.equal(web.WEB_SERVICE_PORT_DNS, '53');
  assert.equal(web.WEB_PORT_53_UDP, 'udp://10.96.0.12:53');
  assert.deepEqual(serviceEnv(svc('demo', 'headless', 'None', [{ port: 80 }])), []);
});

test('which services: the pod namespace with enableServiceLinks, kubernetes from default always', () => {
  const other = svc('default', 'other', '10.96.0.13', [{ port: 1 }]);
  const names = (l: any[]) => l.map((s) => s.metadata.name).sort();
  assert.deepEqual(names(servicesForPod([KUBERNETES, REDIS, WEB, other], 'demo', true)), ['kubernetes', 'redis-master', 'web']);
  assert.deepEqual(names(servicesForPod([KUBERNETES, REDIS, WEB, other], 'demo', false)), ['kubernetes']);
  assert.deepEqual(names(servicesForPod([KUBERNETES, other], 'default', true)), ['kubernetes', 'other']);
});

const sources = (extra: Partial<Parameters<typeof containerEnv>[2]> = {}) => ({
  services: [KUBERNETES, REDIS],
  configMap: (_ns: string, name: string) => (name === 'cfg' ? { data: { MODE: 'prod', 'bad=key': 'x', level: 'debug' } } : undefined),
  secret: (_ns: string, name: string) => (name === 'pw' ? { data: { password: Buffer.from('s3cret').toString('base64') } } : undefined),
  nodeAllocatable: { cpu: '4', memory: '8Gi' },
  podIPs: ['10.244.1.5'],
  hostIPs: ['192.0.2.10'],
  ...extra,
});

test('container env: envFrom, env with valueFrom and $(VAR) expansion, then service variables', () => {
  const p = pod({ nodeName: 'n1', serviceAccountName: 'default' });
  const c = {
    name: 'c',
    resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } },
    envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
    env: [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'CPU_REQ_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 'pw', key: 'password' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k', optional: true } } },
      { name: 'URL', value: 'http://$(POD):$(REDIS_MASTER_SERVICE_PORT)/$(NOPE)/$$(POD)' },
    ],
    command: ['echo', '$(POD)'],
    args: ['$(CFG_MODE)', '$(UNKNOWN)'],
  };
  const r = containerEnv(p, c, sources());
  const env = Object.fromEntries(r.env.map((e) => [e.name, e.value]));
  assert.equal(env.CFG_MODE, 'prod');
  assert.equal(env.CFG_level, 'debug');
  assert.equal(env.POD, 'web-0');
  assert.equal(env.APP, 'web');
  assert.equal(env.IP, '10.244.1.5');
  assert.equal(env.NODE, 'n1');
  assert.equal(env.MEM, '64');
  assert.equal(env.CPU_LIMIT, '4');
  assert.equal(env.CPU_REQ_M, '250');
  assert.equal(env.PW, 's3cret');
  assert.equal('OPT' in env, false);
  assert.equal(env.URL, 'http://web-0:6379/$(NOPE)/$(POD)');
  assert.equal(env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
  assert.equal(env.REDIS_MASTER_SERVICE_HOST, '10.96.0.11');
  assert.deepEqual(r.warnings, [['InvalidEnvironmentVariableNames', 'Keys [bad=key] from the EnvFrom configMap demo/cfg were skipped since they are considered invalid environment variable names.']]);
  assert.deepEqual(expandCommand(c, r.env), { command: ['echo', 'web-0'], args: ['prod', '$(UNKNOWN)'] });
  // A container's own variable wins over a service variable of the same name.
  const own = containerEnv(p, { name: 'c', env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] }, sources());
  assert.deepEqual(own.env.filter((e) => e.name === 'KUBERNETES_SERVICE_HOST'), [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }]);
});

test('container env: a missing non-optional reference is a CreateContainerConfigError', () => {
  assert.throws(
    () => containerEnv(pod(), { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, sources()),
    (e: unknown) => e instanceof EnvError && e.reason === 'CreateContainerConfigError' && /configmap "nope" not found/.test(e.message),
  );
  assert.throws(() => containerEnv(pod(), { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nokey' } } }] }, sources()), /couldn't find key nokey in ConfigMap demo\/cfg/);
});

test('$(VAR) expansion corner cases', () => {
  const l = (n: string) => ({ A: 'a' })[n];
  assert.equal(expand('$(A)$(A)', l), 'aa');
  assert.equal(expand('$$(A) $ $x $(A', l), '$(A) $ $x $(A');
  assert.equal(expand('tail$', l), 'tail$');
});
