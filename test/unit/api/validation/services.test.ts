// Services: ports, types, cluster IPs, traffic policies, updates, status.

import { test } from 'node:test';
import {
  RFC1123_LABEL,
  RFC1123_SUBDOMAIN,
  type Obj,
  defaulted,
  edited,
  expectCreate,
  expectDefaultedCreate,
  expectStatusUpdate,
  expectUpdate,
  headlessService,
  nginxService,
  stored,
} from './fixtures.js';

const svc = (spec: Obj): Obj => ({ metadata: { name: 'web', namespace: 'default' }, spec });
const gr = '/services';

test('ports: required (unless headless or ExternalName), named when several, valid numbers and protocols', () => {
  expectDefaultedCreate(gr, svc({ selector: { app: 'web' } }), ['spec.ports: Required value']);
  expectDefaultedCreate(gr, svc({ clusterIP: 'None', selector: { app: 'web' } }), []);
  expectDefaultedCreate(gr, svc({ type: 'ExternalName', externalName: 'db.example.com' }), []);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 80 }, { port: 443 }] }), ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value']);
  expectDefaultedCreate(gr, svc({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 443 }] }), ['spec.ports[1].name: Duplicate value: "http"']);
  expectDefaultedCreate(gr, svc({ ports: [{ name: 'Web', port: 80 }] }), [`spec.ports[0].name: Invalid value: "Web": ${RFC1123_LABEL}`]);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 0, targetPort: 80 }] }), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 80, protocol: 'HTTP' }] }), [
    'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
  ]);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 80, targetPort: 'web' }] }), []);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 80, targetPort: 'Web_Port' }] }), [
    'spec.ports[0].targetPort: Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
  ]);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 80, targetPort: 70000 }] }), [
    'spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
  ]);
  expectDefaultedCreate(gr, svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), [
    'spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80}',
  ]);
  expectDefaultedCreate(gr, svc({ ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }), []);
});

test('types, node ports and external names', () => {
  expectDefaultedCreate(gr, svc({ type: 'Internal', ports: [{ port: 80 }] }), [
    'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  ]);
  expectDefaultedCreate(gr, svc({ ports: [{ port: 80, nodePort: 30080 }] }), ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
  expectDefaultedCreate(gr, svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }), []);
  expectDefaultedCreate(gr, svc({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30080 }] }), [
    'spec.ports[1].nodePort: Duplicate value: 30080',
  ]);
  expectDefaultedCreate(gr, svc({ type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] }), [
    "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
  ]);
  expectDefaultedCreate(gr, svc({ type: 'LoadBalancer', ports: [{ port: 80 }] }), []);
  expectDefaultedCreate(gr, svc({ type: 'ExternalName' }), ['spec.externalName: Required value']);
  expectDefaultedCreate(gr, svc({ type: 'ExternalName', externalName: 'db.example.com.' }), []);
  expectDefaultedCreate(gr, svc({ type: 'ExternalName', externalName: 'DB_host' }), [`spec.externalName: Invalid value: "DB_host": ${RFC1123_SUBDOMAIN}`]);
  expectDefaultedCreate(gr, svc({ type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.20' }), [
    'spec.clusterIPs: Forbidden: may not be set for ExternalName services',
  ]);
});

test('cluster IPs and families', () => {
  expectDefaultedCreate(gr, svc({ clusterIP: '10.96.0.10', ports: [{ port: 53 }] }), []);
  expectDefaultedCreate(gr, svc({ clusterIP: '10.96.0', ports: [{ port: 53 }] }), [
    'spec.clusterIPs[0]: Invalid value: "10.96.0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  expectDefaultedCreate(gr, svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.11'], ports: [{ port: 53 }] }), [
    'spec.clusterIPs: Invalid value: ["10.96.0.11"]: first value must match `clusterIP`',
  ]);
  expectDefaultedCreate(gr, svc({ clusterIPs: ['10.96.0.11'], ports: [{ port: 53 }] }), [
    'spec.clusterIPs: Invalid value: ["10.96.0.11"]: must be empty when `clusterIP` is not specified',
  ]);
  expectDefaultedCreate(gr, svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', '10.96.0.11'], ports: [{ port: 53 }] }), [
    'spec.clusterIPs: Invalid value: ["10.96.0.10","10.96.0.11"]: may specify no more than one IP for each IP family',
  ]);
  expectDefaultedCreate(gr, svc({ clusterIP: '10.96.0.10', ipFamilies: ['IPv6'], ports: [{ port: 53 }] }), [
    'spec.clusterIPs[0]: Invalid value: "10.96.0.10": expected an IPv6 value as indicated by `ipFamilies[0]`',
  ]);
  expectDefaultedCreate(gr, svc({ ipFamilies: ['IPv5'], ipFamilyPolicy: 'Dual', ports: [{ port: 53 }] }), [
    'spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"',
    'spec.ipFamilyPolicy: Unsupported value: "Dual": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"',
  ]);
});

test('session affinity, external IPs and traffic policies', () => {
  expectDefaultedCreate(gr, svc({ sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }), []);
  expectDefaultedCreate(gr, svc({ sessionAffinity: 'Sticky', ports: [{ port: 80 }] }), [
    'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
  ]);
  expectDefaultedCreate(gr, svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } }, ports: [{ port: 80 }] }), [
    'spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400',
  ]);
  const none = defaulted(gr, svc({ ports: [{ port: 80 }] }));
  none.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10 } };
  expectCreate(gr, none, ['spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None']);
  expectDefaultedCreate(gr, svc({ externalIPs: ['203.0.113.7'], ports: [{ port: 80 }] }), []);
  expectDefaultedCreate(gr, svc({ externalIPs: ['127.0.0.1', 'nope'], ports: [{ port: 80 }] }), [
    'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
    'spec.externalIPs[1]: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  expectDefaultedCreate(gr, svc({ externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }), [
    'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
  ]);
  expectDefaultedCreate(gr, svc({ type: 'NodePort', externalTrafficPolicy: 'Nearest', ports: [{ port: 80 }] }), [
    'spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"',
  ]);
  expectDefaultedCreate(gr, svc({ internalTrafficPolicy: 'Node', ports: [{ port: 80 }] }), [
    'spec.internalTrafficPolicy: Unsupported value: "Node": supported values: "Cluster", "Local"',
  ]);
  expectDefaultedCreate(gr, svc({ healthCheckNodePort: 30001, ports: [{ port: 80 }] }), [
    "spec.healthCheckNodePort: Invalid value: 30001: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
  ]);
  expectDefaultedCreate(gr, svc({ loadBalancerSourceRanges: ['10.0.0.0/8'], ports: [{ port: 80 }] }), [
    "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
  ]);
  expectDefaultedCreate(gr, svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'], ports: [{ port: 80 }] }), [
    'spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ]);
  expectDefaultedCreate(gr, svc({ selector: { 'app name': 'web' }, ports: [{ port: 80 }] }), [
    `spec.selector: Invalid value: "app name": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
  ]);
});

test('updates: the cluster IP is immutable, allocated values carry over', () => {
  const old = stored(gr, nginxService());
  old.spec.clusterIP = '10.96.0.15';
  old.spec.clusterIPs = ['10.96.0.15'];
  old.spec.ipFamilies = ['IPv4'];
  expectUpdate(gr, edited(old, (s) => (s.spec.ports[0].targetPort = 8080)), old, []);
  expectUpdate(gr, edited(old, (s) => (s.spec.clusterIP = '10.96.0.16')), old, [
    'spec.clusterIPs[0]: Invalid value: ["10.96.0.16"]: may not change once set',
  ]);
  expectUpdate(
    gr,
    edited(old, (s) => {
      s.spec.clusterIP = '10.96.0.16';
      s.spec.clusterIPs = ['10.96.0.16'];
    }),
    old,
    ['spec.clusterIPs[0]: Invalid value: ["10.96.0.16"]: may not change once set'],
  );
  // A client that leaves out the allocated address (kubectl replace of the original manifest) keeps it.
  expectUpdate(
    gr,
    edited(old, (s) => {
      delete s.spec.clusterIP;
      delete s.spec.clusterIPs;
    }),
    old,
    [],
  );
  expectUpdate(gr, edited(old, (s) => (s.spec.ipFamilies = ['IPv6'])), old, [
    'spec.ipFamilies[0]: Invalid value: ["IPv6"]: may not change once set',
    'spec.clusterIPs[0]: Invalid value: "10.96.0.15": expected an IPv6 value as indicated by `ipFamilies[0]`',
  ]);
  // Changing to ExternalName drops the cluster IP fields it cannot have.
  expectUpdate(
    gr,
    edited(old, (s) => {
      s.spec.type = 'ExternalName';
      s.spec.externalName = 'db.example.com';
      delete s.spec.internalTrafficPolicy;
    }),
    old,
    [],
  );
  const headless = stored(gr, headlessService());
  expectUpdate(gr, edited(headless, (s) => (s.spec.selector = { app: 'other' })), headless, []);
  expectUpdate(gr, edited(headless, (s) => (s.spec.clusterIP = '10.96.0.30')), headless, [
    'spec.clusterIPs[0]: Invalid value: ["10.96.0.30"]: may not change once set',
  ]);
});

test('status updates: load balancer ingress', () => {
  const lb = stored(gr, svc({ type: 'LoadBalancer', ports: [{ port: 80 }] }));
  expectStatusUpdate(gr, edited(lb, (s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } })), lb, []);
  expectStatusUpdate(gr, edited(lb, (s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113', hostname: '10.0.0.1' }] } })), lb, [
    'status.loadBalancer.ingress[0].ip: Invalid value: "203.0.113": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    'status.loadBalancer.ingress[0].hostname: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
  ]);
  const cip = stored(gr, nginxService());
  expectStatusUpdate(gr, edited(cip, (s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } })), cip, [
    "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'",
  ]);
});
