// Run inside the test's network namespace by test/e2e/apiserver-fuzz.test.ts:
// sends random and mutated requests to every resource endpoint and prints a
// JSON summary of the status codes (and samples of any 5xx).
import https from 'node:https';
import fs from 'node:fs';
import YAML from 'yaml';
import { RESOURCES } from '../../src/api/registry.js';

const kc = YAML.parse(fs.readFileSync(process.argv[2], 'utf8'));
const count = Number(process.argv[3] ?? 1000);
const server = new URL(kc.clusters[0].cluster.server);
const b64 = (s: string) => Buffer.from(s, 'base64');
const agent = new https.Agent({
  ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
  cert: b64(kc.users[0].user['client-certificate-data']),
  key: b64(kc.users[0].user['client-key-data']),
  keepAlive: true,
  maxSockets: 8,
});

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)];

function request(method: string, path: string, body: Buffer | string | undefined, type: string): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    const req = https.request(
      { host: server.hostname, port: server.port, path, method, agent, headers: { 'Content-Type': type, ...(body ? { 'Content-Length': Buffer.byteLength(body) } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, text: text.slice(0, 300) }));
      },
    );
    req.on('error', (e) => resolve({ code: -1, text: e.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    if (body) req.write(body);
    req.end();
  });
}

const samples: Record<string, unknown>[] = [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }], selector: { app: 'x' } } },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { k: 'v' } },
];
const junk = [null, 0, -1, 1e308, '', 'x'.repeat(300), [], {}, true, [1, 'a'], { $patch: 'delete' }, '\u0000'];

function mutate(v: unknown, depth = 0): unknown {
  if (depth > 6 || rand() < 0.15) return pick(junk);
  if (Array.isArray(v)) return v.map((x) => (rand() < 0.3 ? mutate(x, depth + 1) : x));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (rand() < 0.1) continue;
      o[rand() < 0.05 ? k + 'X' : k] = rand() < 0.4 ? mutate(x, depth + 1) : x;
    }
    return o;
  }
  return v;
}

function body(): { data: Buffer | string; type: string } {
  const r = rand();
  if (r < 0.1) return { data: Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256))), type: 'application/json' };
  if (r < 0.2) return { data: JSON.stringify(pick(samples)).slice(0, Math.floor(rand() * 80)), type: 'application/json' };
  if (r < 0.25) return { data: 'a: [b\n  - c: {', type: 'application/yaml' };
  if (r < 0.3) return { data: JSON.stringify(pick(samples)), type: pick(['text/plain', 'application/xml', 'application/vnd.kubernetes.protobuf']) };
  if (r < 0.32) return { data: Buffer.alloc(3 * 1024 * 1024 + 10, 'a'), type: 'application/json' };
  return { data: JSON.stringify(mutate(pick(samples))), type: 'application/json' };
}

const codes: Record<string, number> = {};
const bad: unknown[] = [];
for (let i = 0; i < count; i++) {
  const r = pick(RESOURCES);
  const base = `/${r.group ? `apis/${r.group}` : 'api'}/${r.version}${r.namespaced ? '/namespaces/default' : ''}/${r.plural}`;
  const method = pick(['POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'GET']);
  const path = method === 'POST' || (method === 'GET' && rand() < 0.5) ? base : `${base}/${pick(['p', 's', 'd', 'cm', 'x'])}${rand() < 0.2 ? '/status' : ''}`;
  const b = body();
  const type =
    method === 'PATCH'
      ? pick(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'text/plain'])
      : b.type;
  const q = pick(['', '?dryRun=All', '?fieldValidation=Strict', '?fieldManager=fuzz', '?labelSelector=a%20in%20(', '?fieldSelector=x=y', '?limit=-1', '?watch=1&timeoutSeconds=0']);
  const res = await request(method, path + q, method === 'GET' ? undefined : b.data, type);
  codes[res.code] = (codes[res.code] ?? 0) + 1;
  if (res.code >= 500 || res.code < 0) bad.push({ method, path: path + q, type, res });
}
process.stdout.write(JSON.stringify({ codes, bad: bad.slice(0, 10), badCount: bad.length }) + '\n');
agent.destroy();
