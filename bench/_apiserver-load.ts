// Load generator of the apiserver bench (bench/apiserver.ts). It runs as its
// own process inside the bench's network namespace:
//
//   ip netns exec NS node dist/bench/_apiserver-load.js <mode> '<json args>'
//
// and prints its result as one JSON object on stdout (progress goes to stderr).
// Modes:
//   readyz  polls https://<addr>/readyz (anonymous) every few ms; prints
//           {"polling":true} first, so the caller can start the server after it,
//           then {"readyAt": <epoch ms>, "polls": n} once /readyz answers 200.
//   load    create / get / update / list at several concurrencies, watch fan-out
//           and paced writes, as admin (client certificate from the kubeconfig).
//   fill    creates `count` ConfigMaps in one namespace.
//
// The file name starts with "_" so that the bench runner does not take it for
// a bench. It also exports configMapBody(), which the bench uses to build the
// same values for its in-process store baseline.
import fs from 'node:fs';
import https from 'node:https';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { percentile, sleep, hex } from './lib.js';

const VALUE_BYTES = 1024;


/** A ConfigMap of about 1 KiB as JSON (what a client sends to create it); `generation` varies the data. */
export function configMapBody(namespace: string, name: string, i: number, generation = 1, resourceVersion?: string): string {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      labels: { app: 'bench', shard: String(i % 16) },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data: {
      'app.properties': `mode=production\nreplicas=${(i % 5) + 1}\ngeneration=${generation}\nendpoint=https://svc-${i % 97}.bench.svc:8443\n`,
      pad: '',
    },
  };
  const bare = JSON.stringify(cm).length;
  cm.data.pad = hex(i * 31 + generation, Math.max(0, VALUE_BYTES - bare));
  return JSON.stringify(cm);
}

// ---------------------------------------------------------------- HTTP

interface Conn {
  host: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
}

const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function readKubeconfig(file: string): Conn {
  const kc = parseYaml(fs.readFileSync(file, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const u = new URL(kc.clusters[0].cluster.server);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 443),
    ca: unb64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: unb64(kc.users[0].user['client-certificate-data']),
    key: unb64(kc.users[0].user['client-key-data']),
  };
}

function agentFor(c: Conn, maxSockets: number): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets, ca: c.ca, cert: c.cert, key: c.key });
}

interface Reply {
  status: number;
  text: string;
  bytes: number;
}

/** One request; `discard` counts the response bytes without keeping them (large lists). */
function call(c: Conn, agent: https.Agent, method: string, path: string, body?: string, discard = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = https.request({ host: c.host, port: c.port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (b: Buffer) => {
        bytes += b.length;
        if (!discard) chunks.push(b);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: discard ? '' : Buffer.concat(chunks).toString('utf8'), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expect(p: Promise<Reply>, status: number, what: string): Promise<Reply> {
  const r = await p;
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} (want ${status}): ${r.text.slice(0, 300)}`);
  return r;
}

const log = (msg: string) => process.stderr.write(`[bench apiserver-load] ${msg}\n`);
const cmPath = (ns: string, name?: string) => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;

async function ensureNamespace(c: Conn, agent: https.Agent, name: string): Promise<void> {
  const r = await call(c, agent, 'POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
}

// ---------------------------------------------------------------- measuring

export interface Summary {
  n: number;
  ms: number;
  rate: number;
  p50: number;
  p99: number;
  /** CPU time of this (client) process over the phase, as a fraction of one core. */
  clientCpu: number;
}

/**
 * `clients` closed-loop workers share ops [0, n); each op's latency is from
 * its start to its response's last byte. Stops early past `maxMs` (the ops
 * run are then a prefix of [0, n)).
 */
async function phase(clients: number, n: number, maxMs: number, op: (i: number) => Promise<unknown>): Promise<Summary> {
  const lat: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n || performance.now() > deadline) return;
      const s = performance.now();
      await op(i);
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    n: lat.length,
    ms,
    rate: (lat.length / ms) * 1000,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    clientCpu: (cpu.user + cpu.system) / 1000 / ms,
  };
}

/** Untimed creates at concurrency `clients`; returns each object's resourceVersion. */
async function bulkCreate(c: Conn, agent: https.Agent, ns: string, prefix: string, count: number, clients: number): Promise<string[]> {
  const rv: string[] = [];
  await phase(clients, count, Infinity, async (i) => {
    const r = await expect(call(c, agent, 'POST', cmPath(ns), configMapBody(ns, `${prefix}${i}`, i)), 201, `create ${ns}/${prefix}${i}`);
    rv[i] = (JSON.parse(r.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  });
  return rv;
}

export interface LoadArgs {
  kubeconfig: string;
  levels: Array<{ clients: number; ops: number; lists: number }>;
  phaseMaxMs: number;
  listObjects: number;
  watchers: number;
  watchWrites: number;
  watchWarmup: number;
  watchRate: number;
  pacedWrites: number;
  pacedWarmup: number;
  pacedRate: number;
}

export interface LevelResult {
  clients: number;
  create: Summary;
  get: Summary;
  update: Summary;
  list: Summary & { items: number; bytes: number };
}

export interface LoadResult {
  levels: LevelResult[];
  watch: { watchers: number; n: number; p50: number; p99: number; writesPerSec: number };
  paced: { n: number; p50: number; p99: number; rate: number; achievedRate: number; errors: number };
  /** ConfigMaps the run left in the cluster. */
  configmaps: number;
}

async function levelRun(c: Conn, a: LoadArgs, lv: LoadArgs['levels'][number]): Promise<LevelResult> {
  const ns = `bench-c${lv.clients}`;
  const agent = agentFor(c, lv.clients);
  try {
    await ensureNamespace(c, agent, ns);
    // Open one connection per client before timing anything.
    await Promise.all(Array.from({ length: lv.clients }, () => expect(call(c, agent, 'GET', '/api/v1/namespaces/default'), 200, 'warm-up')));
    const rv: string[] = [];
    log(`${lv.clients} clients: create (up to ${lv.ops})`);
    const create = await phase(lv.clients, lv.ops, a.phaseMaxMs, async (i) => {
      const r = await expect(call(c, agent, 'POST', cmPath(ns), configMapBody(ns, `cm-${i}`, i)), 201, `create ${ns}/cm-${i}`);
      rv[i] = (JSON.parse(r.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    });
    const made = create.n;
    log(`${lv.clients} clients: get`);
    const get = await phase(lv.clients, lv.ops, a.phaseMaxMs, (i) => {
      const k = (i * 7919) % made;
      return expect(call(c, agent, 'GET', cmPath(ns, `cm-${k}`)), 200, `get ${ns}/cm-${k}`);
    });
    log(`${lv.clients} clients: update`);
    // Each object at most once, so that concurrent updates never conflict.
    const update = await phase(lv.clients, made, a.phaseMaxMs, async (i) => {
      const r = await expect(call(c, agent, 'PUT', cmPath(ns, `cm-${i}`), configMapBody(ns, `cm-${i}`, i, 2, rv[i])), 200, `update ${ns}/cm-${i}`);
      rv[i] = (JSON.parse(r.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    });
    log(`${lv.clients} clients: list of ${a.listObjects} (${lv.lists} lists)`);
    let bytes = 0;
    const list = await phase(lv.clients, lv.lists, a.phaseMaxMs, async () => {
      const r = await expect(call(c, agent, 'GET', cmPath('bench-list'), undefined, true), 200, 'list bench-list');
      bytes = r.bytes;
    });
    return { clients: lv.clients, create, get, update, list: { ...list, items: a.listObjects, bytes } };
  } finally {
    agent.destroy();
  }
}

/**
 * `watchers` watches of one namespace, each on its own connection, and a writer
 * creating objects there at `watchRate`/s; a write's latency is from the start
 * of its create call to its event's arrival at the last of the watchers.
 */
async function watchFanout(c: Conn, a: LoadArgs): Promise<LoadResult['watch']> {
  const ns = 'bench-watch';
  const agent = agentFor(c, 4);
  const watchAgent = new https.Agent({ keepAlive: false, maxSockets: Infinity, ca: c.ca, cert: c.cert, key: c.key });
  const reqs: ReturnType<typeof https.request>[] = [];
  const total = a.watchWrites;
  const started = new Float64Array(total);
  const allAt = new Float64Array(total);
  const pending = new Int32Array(total).fill(a.watchers);
  let complete = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  try {
    await ensureNamespace(c, agent, ns);
    const listed = await expect(call(c, agent, 'GET', cmPath(ns)), 200, 'list bench-watch');
    const rv = (JSON.parse(listed.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    let open = 0;
    await new Promise<void>((resolve, reject) => {
      for (let w = 0; w < a.watchers; w++) {
        const req = https.request(
          { host: c.host, port: c.port, method: 'GET', path: `${cmPath(ns)}?watch=1&resourceVersion=${rv}`, agent: watchAgent, headers: { accept: 'application/json' } },
          (res) => {
            if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (s: string) => {
              const now = performance.now();
              buf += s;
              let nl: number;
              while ((nl = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                const m = /"name":"w-(\d+)"/.exec(line);
                if (!m || !line.startsWith('{"type":"ADDED"')) {
                  if (line.trim()) failure ??= new Error(`unexpected watch event: ${line.slice(0, 200)}`);
                  continue;
                }
                const i = Number(m[1]);
                if (--pending[i] === 0) {
                  allAt[i] = now;
                  if (++complete === total) wake?.();
                }
              }
            });
            res.on('end', () => {
              failure ??= new Error('a watch ended early');
              wake?.();
            });
            if (++open === a.watchers) resolve();
          },
        );
        req.on('error', (err) => {
          if (!failure && complete < total) failure = err;
          reject(err);
          wake?.();
        });
        req.end();
        reqs.push(req);
      }
    });
    log(`watch: ${a.watchers} watchers open; ${total} writes at ${a.watchRate}/s`);
    const interval = 1000 / a.watchRate;
    const writes: Promise<unknown>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < total && !failure; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      started[i] = performance.now();
      writes.push(expect(call(c, agent, 'POST', cmPath(ns), configMapBody(ns, `w-${i}`, i)), 201, `create ${ns}/w-${i}`));
    }
    const writeSecs = (performance.now() - t0) / 1000;
    await Promise.all(writes);
    const deadline = Date.now() + 15_000;
    while (complete < total && !failure && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    if (failure) throw failure;
    if (complete < total) throw new Error(`watch: only ${complete} of ${total} writes reached all ${a.watchers} watchers within 15 s`);
    const lat: number[] = [];
    for (let i = a.watchWarmup; i < total; i++) lat.push(allAt[i] - started[i]);
    return { watchers: a.watchers, n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), writesPerSec: total / writeSecs };
  } finally {
    for (const r of reqs) r.destroy();
    agent.destroy();
    watchAgent.destroy();
  }
}

/**
 * Open-loop writes at `pacedRate`/s (each started on its tick whether or not
 * earlier ones have finished), cycling create / update / delete of ConfigMaps.
 */
async function pacedWrites(c: Conn, a: LoadArgs): Promise<{ paced: LoadResult['paced']; net: number }> {
  const ns = 'bench-paced';
  const agent = agentFor(c, 64);
  try {
    await ensureNamespace(c, agent, ns);
    const third = Math.ceil(a.pacedWrites / 3);
    // The objects the updates and deletes act on, created beforehand.
    const rvU = await bulkCreate(c, agent, ns, 'u-', third, 20);
    await bulkCreate(c, agent, ns, 'd-', third, 20);
    await Promise.all(Array.from({ length: 20 }, () => call(c, agent, 'GET', '/api/v1/namespaces/default')));
    log(`paced: ${a.pacedWrites} writes at ${a.pacedRate}/s`);
    const lat = new Float64Array(a.pacedWrites);
    let errors = 0;
    let created = 0;
    let deleted = 0;
    const op = (k: number): Promise<Reply> => {
      const j = Math.floor(k / 3);
      switch (k % 3) {
        case 0:
          created++;
          return expect(call(c, agent, 'POST', cmPath(ns), configMapBody(ns, `p-${j}`, j)), 201, 'paced create');
        case 1:
          return expect(call(c, agent, 'PUT', cmPath(ns, `u-${j}`), configMapBody(ns, `u-${j}`, j, 2, rvU[j])), 200, 'paced update');
        default:
          deleted++;
          return expect(call(c, agent, 'DELETE', cmPath(ns, `d-${j}`)), 200, 'paced delete');
      }
    };
    const interval = 1000 / a.pacedRate;
    const all: Promise<void>[] = [];
    const t0 = performance.now();
    for (let k = 0; k < a.pacedWrites; k++) {
      const wait = t0 + k * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const s = performance.now();
      all.push(
        op(k).then(
          () => void (lat[k] = performance.now() - s),
          (err: Error) => {
            errors++;
            lat[k] = NaN;
            if (errors <= 3) log(`paced write failed: ${err.message}`);
          },
        ),
      );
    }
    const secs = (performance.now() - t0) / 1000;
    await Promise.all(all);
    const counted = Array.from(lat.subarray(a.pacedWarmup)).filter((x) => !Number.isNaN(x));
    return {
      paced: { n: counted.length, p50: percentile(counted, 50), p99: percentile(counted, 99), rate: a.pacedRate, achievedRate: a.pacedWrites / secs, errors },
      // ConfigMaps left: the two pools, plus the creates, minus the deletes.
      net: 2 * third + created - deleted,
    };
  } finally {
    agent.destroy();
  }
}

async function load(a: LoadArgs): Promise<LoadResult> {
  const c = readKubeconfig(a.kubeconfig);
  const agent = agentFor(c, 50);
  try {
    await ensureNamespace(c, agent, 'bench-list');
    log(`creating ${a.listObjects} objects to list`);
    await bulkCreate(c, agent, 'bench-list', 'l-', a.listObjects, 50);
    const listed = await expect(call(c, agent, 'GET', cmPath('bench-list')), 200, 'list bench-list');
    const items = (JSON.parse(listed.text) as { items: unknown[] }).items.length;
    if (items !== a.listObjects) throw new Error(`list bench-list returned ${items} items, want ${a.listObjects}`);
  } finally {
    agent.destroy();
  }
  const levels: LevelResult[] = [];
  for (const lv of a.levels) levels.push(await levelRun(c, a, lv));
  const watch = await watchFanout(c, a);
  const { paced, net } = await pacedWrites(c, a);
  const configmaps = a.listObjects + levels.reduce((n, l) => n + l.create.n, 0) + a.watchWrites + net;
  return { levels, watch, paced, configmaps };
}

// ---------------------------------------------------------------- readyz, fill

export interface ReadyzArgs {
  host: string;
  port: number;
  intervalMs: number;
  timeoutMs: number;
}

async function readyz(a: ReadyzArgs): Promise<{ readyAt: number; polls: number }> {
  // Anonymous and without verifying the server: the CA does not exist until the server has made it.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const conn: Conn = { host: a.host, port: a.port, ca: '', cert: '', key: '' };
  process.stdout.write(JSON.stringify({ polling: true }) + '\n');
  const deadline = performance.now() + a.timeoutMs;
  let polls = 0;
  try {
    while (performance.now() < deadline) {
      polls++;
      try {
        const r = await call(conn, agent, 'GET', '/readyz');
        if (r.status === 200) return { readyAt: performance.timeOrigin + performance.now(), polls };
      } catch {
        /* not listening yet */
      }
      await sleep(a.intervalMs);
    }
    throw new Error(`/readyz not OK within ${a.timeoutMs} ms (${polls} polls)`);
  } finally {
    agent.destroy();
  }
}

export interface FillArgs {
  kubeconfig: string;
  namespace: string;
  count: number;
  clients: number;
}

async function fill(a: FillArgs): Promise<{ created: number; ms: number }> {
  const c = readKubeconfig(a.kubeconfig);
  const agent = agentFor(c, a.clients);
  try {
    await ensureNamespace(c, agent, a.namespace);
    const t0 = performance.now();
    await bulkCreate(c, agent, a.namespace, 'f-', a.count, a.clients);
    return { created: a.count, ms: performance.now() - t0 };
  } finally {
    agent.destroy();
  }
}

async function main(argv: string[]): Promise<void> {
  const [mode, json] = argv;
  const args = JSON.parse(json ?? '{}');
  let out: unknown;
  if (mode === 'readyz') out = await readyz(args as ReadyzArgs);
  else if (mode === 'load') out = await load(args as LoadArgs);
  else if (mode === 'fill') out = await fill(args as FillArgs);
  else throw new Error(`usage: _apiserver-load.js readyz|load|fill '<json>' (got ${mode})`);
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`[bench apiserver-load] ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
