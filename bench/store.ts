// Storage benchmark: the SQLite and etcd backends, each beside its raw engine
// measured in the same run on the same machine.
//
//   create_rate, update_rate     sequential writes per second (ratio vs raw)
//   create_p50_ms ... p99_ms     per-write latency of those same writes
//   list_ms                      one full list of a prefix holding 10,000 keys
//   watch_p50_ms, watch_p99_ms   write-call-start to event-arrival at 1,000 writes/s
//
// Baselines: raw better-sqlite3 with the backend's durability settings (WAL,
// synchronous=NORMAL, exclusive locking; one INSERT/UPDATE per write in its own
// implicit transaction), and raw puts/gets through the same etcd3 client
// library. Raw and backend runs are interleaved in rounds (alternating which
// goes first) so that drift on a busy machine affects both alike.
// Values are ~1 KiB Pod-like JSON documents.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Etcd3 } from 'etcd3';
import { EtcdStore } from '../src/storage/etcd/etcd-store.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { type KeyValue, type Store, prefixEnd } from '../src/storage/types.js';
import { haveEtcd, startEtcd } from '../test/helpers/etcd.js';
import { type BenchOptions, deferCleanup, emit, log, median, percentile, sleep, smallFromEnv, hex } from './lib.js';

const BENCH = 'store';
const VALUE_BYTES = 1024;

interface Sizes {
  /** Writes per subject (raw and backend each) in the create phase, and again in the update phase. */
  writes: number;
  /** A phase stops after the round in which it passes this much time (both subjects then have equal counts). */
  phaseMaxMs: number;
  rounds: number;
  /** Untimed writes per subject before each phase. */
  warmup: number;
  listKeys: number;
  listReps: number;
  /** Writes in the watch test (at 1,000/s), and how many of the first (the warm-up) are not counted. */
  watchWrites: number;
  watchWarmup: number;
}

const SQLITE: Sizes = {
  writes: 20_000,
  phaseMaxMs: 30_000,
  rounds: 4,
  warmup: 500,
  listKeys: 10_000,
  listReps: 7,
  watchWrites: 4_000,
  watchWarmup: 1_000,
};
const ETCD: Sizes = {
  writes: 5_000,
  phaseMaxMs: 25_000,
  rounds: 4,
  warmup: 100,
  listKeys: 10_000,
  listReps: 7,
  watchWrites: 4_000,
  watchWarmup: 1_000,
};
const SMALL: Sizes = {
  writes: 60,
  phaseMaxMs: 5_000,
  rounds: 2,
  warmup: 5,
  listKeys: 200,
  listReps: 2,
  watchWrites: 120,
  watchWarmup: 20,
};

// ---------------------------------------------------------------- values


/** A Pod-like JSON document of about VALUE_BYTES bytes. */
function podJson(i: number, generation: number): string {
  const name = `web-${hex(i, 10)}-${hex(i + 7, 5)}`;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `${hex(i, 8)}-${hex(i + 1, 4)}-4${hex(i + 2, 3)}-a${hex(i + 3, 3)}-${hex(i + 4, 12)}`,
      generation,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', tier: 'frontend', 'pod-template-hash': hex(i, 10) },
      annotations: { 'bench.k8ts.io/pad': '' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `web-${hex(i, 10)}`, uid: hex(i + 5, 32), controller: true }],
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/web:1.27.3',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          env: [{ name: 'MODE', value: 'production' }],
        },
      ],
      restartPolicy: 'Always',
      nodeName: `node-${i % 16}`,
    },
    status: { phase: generation > 1 ? 'Running' : 'Pending', podIP: `10.42.${(i >> 8) & 255}.${i & 255}` },
  };
  const bare = JSON.stringify(pod).length;
  pod.metadata.annotations['bench.k8ts.io/pad'] = hex(i * 31 + generation, Math.max(0, VALUE_BYTES - bare));
  return JSON.stringify(pod);
}

/** A pool of distinct values, so that building JSON is never inside a timed loop. */
function valuePool(n: number, generation: number): string[] {
  return Array.from({ length: n }, (_, i) => podJson(i, generation));
}

const keyOf = (prefix: string, i: number): string => `${prefix}${String(i).padStart(7, '0')}`;

// ---------------------------------------------------------------- measuring

/** One operation; synchronous engines return nothing, so no await is added to their cost. */
type Op = (i: number) => PromiseLike<unknown> | void;

interface Tally {
  ops: number;
  ms: number;
  lat: number[];
}

/** Runs ops [from, from+n) one after another, appending each one's latency; returns elapsed ms. */
async function timeOps(op: Op, from: number, n: number, lat: number[]): Promise<number> {
  const t0 = performance.now();
  let prev = t0;
  for (let i = from; i < from + n; i++) {
    const r = op(i);
    if (r !== undefined) await r;
    const now = performance.now();
    lat.push(now - prev);
    prev = now;
  }
  return prev - t0;
}

/**
 * Runs the raw and the backend op alternately in rounds of equal size (which
 * goes first alternates too), until `writes` each or past the time limit.
 */
async function interleaved(raw: Op, backend: Op, sizes: Sizes, what: string): Promise<{ raw: Tally; backend: Tally }> {
  const t = { raw: { ops: 0, ms: 0, lat: [] as number[] }, backend: { ops: 0, ms: 0, lat: [] as number[] } };
  const chunk = Math.ceil(sizes.writes / sizes.rounds);
  const started = performance.now();
  for (let r = 0; r < sizes.rounds; r++) {
    const order: Array<[Op, Tally]> = [
      [raw, t.raw],
      [backend, t.backend],
    ];
    if (r % 2) order.reverse();
    for (const [op, tally] of order) {
      tally.ms += await timeOps(op, tally.ops, chunk, tally.lat);
      tally.ops += chunk;
    }
    if (performance.now() - started > sizes.phaseMaxMs && r + 1 < sizes.rounds) {
      log(BENCH, `${what}: time limit reached after ${r + 1} of ${sizes.rounds} rounds`);
      break;
    }
  }
  return t;
}

/** Untimed ops, to warm up code paths and connections. */
async function warm(op: Op, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = op(i);
    if (r !== undefined) await r;
  }
}

/** Times one call, `reps` times, alternating raw and backend; returns the medians. */
async function listTimes(raw: () => unknown, backend: () => unknown, reps: number): Promise<{ raw: number; backend: number }> {
  await raw();
  await backend();
  const r: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < reps; i++) {
    const pair: Array<[() => unknown, number[]]> = [
      [raw, r],
      [backend, b],
    ];
    if (i % 2) pair.reverse();
    for (const [fn, out] of pair) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
  }
  return { raw: median(r), backend: median(b) };
}

/**
 * A watcher on a prefix and a writer creating keys under it at `ratePerSec`,
 * paced by timestamp (sleeping between writes, never spinning). Latency is
 * from the start of the write call to the event's arrival at the watcher.
 */
async function watchLatency(store: Store, prefix: string, values: string[], sizes: Sizes, ratePerSec = 1000): Promise<number[]> {
  const total = sizes.watchWrites;
  const keys = Array.from({ length: total }, (_, i) => keyOf(prefix, i));
  const index = new Map(keys.map((k, i) => [k, i]));
  const started = new Float64Array(total);
  const arrived = new Float64Array(total);
  let received = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;

  const watch = await store.watch(prefix, 0, {
    onEvents(events) {
      const now = performance.now();
      for (const ev of events) {
        const i = index.get(ev.key);
        if (ev.type !== 'put' || i === undefined || arrived[i] !== 0) {
          failure ??= new Error(`unexpected watch event ${ev.type} ${ev.key}`);
          continue;
        }
        arrived[i] = now;
        received++;
      }
      if (received === total || failure) wake?.();
    },
    onError(err) {
      failure ??= err;
      wake?.();
    },
  });

  try {
    const interval = 1000 / ratePerSec;
    const writes: Promise<unknown>[] = [];
    const t0 = performance.now();
    let next = 0;
    while (next < total && !failure) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
      while (next < due) {
        const i = next++;
        started[i] = performance.now();
        writes.push(
          store.create(keys[i], values[i % values.length]).catch((err: Error) => {
            failure ??= err;
          }),
        );
      }
      const wait = t0 + next * interval - performance.now();
      if (next < total && wait > 0) await sleep(wait);
    }
    const writeSecs = (performance.now() - t0) / 1000;
    await Promise.all(writes);
    // Wait (bounded) for the last events.
    const deadline = Date.now() + 15_000;
    while (received < total && !failure && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    if (failure) throw failure;
    if (received < total) throw new Error(`watch delivered ${received} of ${total} events within 15 s of the last write`);
    log(BENCH, `${store.kind} watch: ${total} writes in ${writeSecs.toFixed(2)} s (${Math.round(total / writeSecs)}/s)`);
  } finally {
    watch.close();
  }
  const lat: number[] = [];
  for (let i = sizes.watchWarmup; i < total; i++) lat.push(arrived[i] - started[i]);
  return lat;
}

/** A whole prefix through the Store API in pages of `limit`, following `continue`. */
async function storeListPaged(s: Store, prefix: string, limit: number): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  let cont: string | undefined;
  do {
    const page = await s.list(prefix, { limit, continue: cont });
    out.push(...page.items);
    cont = page.continue;
  } while (cont);
  return out;
}

/** The raw counterpart: etcd ranges of `limit` keys at one revision, decoded to strings. */
async function rawRangePaged(r: Etcd3, prefix: string, limit: number): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const end = Buffer.from(prefixEnd(prefix));
  let start = Buffer.from(prefix);
  let revision = 0;
  for (;;) {
    const res = await r.kv.range({ key: start, range_end: end, limit, revision });
    revision ||= Number(res.header.revision);
    for (const kv of res.kvs) out.push([kv.key.toString(), kv.value.toString()]);
    if (!res.more || res.kvs.length === 0) return out;
    start = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
  }
}

// ---------------------------------------------------------------- reporting

function emitWrites(backend: string, baseline: string, metric: 'create' | 'update', t: { raw: Tally; backend: Tally }, target?: number): void {
  const rate = (x: Tally) => (x.ops / x.ms) * 1000;
  emit({
    bench: BENCH,
    metric: `${metric}_rate`,
    backend,
    unit: '1/s',
    value: rate(t.backend),
    baseline,
    baseline_value: rate(t.raw),
    target,
    better: 'higher',
    extra: { n: t.backend.ops },
  });
  for (const p of [50, 99]) {
    emit({
      bench: BENCH,
      metric: `${metric}_p${p}_ms`,
      backend,
      unit: 'ms',
      value: percentile(t.backend.lat, p),
      baseline,
      baseline_value: percentile(t.raw.lat, p),
      better: 'lower',
      extra: { n: t.backend.lat.length },
    });
  }
}

function emitList(backend: string, baseline: string, times: { raw: number; backend: number }, items: number, pageSize = 0): void {
  const extra: Record<string, number> = { items };
  if (pageSize) extra.page_size = pageSize;
  emit({ bench: BENCH, metric: 'list_ms', backend, unit: 'ms', value: times.backend, baseline, baseline_value: times.raw, better: 'lower', extra });
}

function emitWatch(backend: string, lat: number[]): void {
  for (const p of [50, 99]) {
    emit({
      bench: BENCH,
      metric: `watch_p${p}_ms`,
      backend,
      unit: 'ms',
      value: percentile(lat, p),
      target: p === 99 ? 5 : undefined,
      better: 'lower',
      extra: { n: lat.length, writes_per_s: 1000 },
    });
  }
}

function check(ok: boolean, msg: string): void {
  if (!ok) throw new Error(`sanity check failed: ${msg}`);
}

// ---------------------------------------------------------------- SQLite

async function benchSqlite(sizes: Sizes, creates: string[], updates: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-bench-store-'));
  const removeDir = deferCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  let raw: Database.Database | undefined;
  let store: Store | undefined;
  try {
    raw = new Database(path.join(dir, 'raw.db'));
    raw.pragma('locking_mode = EXCLUSIVE');
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const insert = raw.prepare<[string, string]>('INSERT INTO kv (key, value) VALUES (?, ?)');
    const update = raw.prepare<[string, string]>('UPDATE kv SET value = ? WHERE key = ?');
    const select = raw.prepare<[string, string], { key: string; value: string }>('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key');
    const s = (store = openSqliteStore(path.join(dir, 'store', 'state.db')));
    const mod: number[] = [];

    // Warm-up, on keys of their own.
    await warm((i) => void insert.run(keyOf('/warm/', i), creates[i % creates.length]), sizes.warmup);
    await warm((i) => s.create(keyOf('/warm/', i), creates[i % creates.length]), sizes.warmup);

    log(BENCH, `sqlite: create (${sizes.writes} writes each)`);
    const rawPrefix = '/registry/pods/raw/';
    const pods = '/registry/pods/default/';
    const c = await interleaved(
      (i) => void insert.run(keyOf(rawPrefix, i), creates[i % creates.length]),
      (i) => s.create(keyOf(pods, i), creates[i % creates.length]).then((kv) => (mod[i] = kv.modRevision)),
      sizes,
      'sqlite create',
    );
    emitWrites('sqlite', 'raw-better-sqlite3', 'create', c, 0.5);

    log(BENCH, `sqlite: update (${sizes.writes} writes each)`);
    const nRaw = c.raw.ops;
    const nPods = c.backend.ops;
    const u = await interleaved(
      (i) => void update.run(updates[i % updates.length], keyOf(rawPrefix, i % nRaw)),
      (i) => s.update(keyOf(pods, i % nPods), updates[i % updates.length], mod[i % nPods]).then((kv) => (mod[i % nPods] = kv.modRevision)),
      sizes,
      'sqlite update',
    );
    emitWrites('sqlite', 'raw-better-sqlite3', 'update', u);

    log(BENCH, `sqlite: list of ${sizes.listKeys} keys`);
    const listPrefix = '/registry/configmaps/bench/';
    raw.transaction(() => {
      for (let i = 0; i < sizes.listKeys; i++) insert.run(keyOf(listPrefix, i), creates[i % creates.length]);
    })();
    for (let i = 0; i < sizes.listKeys; i++) await s.create(keyOf(listPrefix, i), creates[i % creates.length]);
    check(select.all(listPrefix, prefixEnd(listPrefix)).length === sizes.listKeys, 'raw select count');
    check((await s.list(listPrefix)).items.length === sizes.listKeys, 'store list count');
    const l = await listTimes(
      () => select.all(listPrefix, prefixEnd(listPrefix)),
      () => s.list(listPrefix),
      sizes.listReps,
    );
    emitList('sqlite', 'raw-better-sqlite3', l, sizes.listKeys);

    log(BENCH, `sqlite: watch latency (${sizes.watchWrites} writes at 1000/s)`);
    emitWatch('sqlite', await watchLatency(s, '/registry/events/bench/', creates, sizes));
  } finally {
    try {
      raw?.close();
      await store?.close();
    } finally {
      await removeDir();
    }
  }
}

// ---------------------------------------------------------------- etcd

async function benchEtcd(sizes: Sizes, creates: string[], updates: string[]): Promise<void> {
  if (!haveEtcd()) throw new Error('etcd is not installed (no etcd on PATH); scripts/install.sh installs it');
  log(BENCH, 'etcd: starting a local etcd');
  const etcd = await startEtcd();
  const destroy = deferCleanup(() => etcd.destroy());
  let raw: Etcd3 | undefined;
  let rawList: Etcd3 | undefined;
  let store: EtcdStore | undefined;
  try {
    const r = (raw = new Etcd3({ hosts: [etcd.endpoint] }));
    const s = (store = new EtcdStore([etcd.endpoint]));
    const mod: number[] = [];

    await warm((i) => r.put(keyOf('/warm/raw/', i)).value(creates[i % creates.length]).exec(), sizes.warmup);
    await warm((i) => s.create(keyOf('/warm/store/', i), creates[i % creates.length]), sizes.warmup);

    log(BENCH, `etcd: create (up to ${sizes.writes} writes each)`);
    const rawPrefix = '/registry/pods/raw/';
    const pods = '/registry/pods/default/';
    const c = await interleaved(
      (i) => r.put(keyOf(rawPrefix, i)).value(creates[i % creates.length]).exec(),
      (i) => s.create(keyOf(pods, i), creates[i % creates.length]).then((kv) => (mod[i] = kv.modRevision)),
      sizes,
      'etcd create',
    );
    emitWrites('etcd', 'raw-etcd3', 'create', c);

    log(BENCH, `etcd: update (up to ${sizes.writes} writes each)`);
    const nRaw = c.raw.ops;
    const nPods = c.backend.ops;
    const u = await interleaved(
      (i) => r.put(keyOf(rawPrefix, i % nRaw)).value(updates[i % updates.length]).exec(),
      (i) => s.update(keyOf(pods, i % nPods), updates[i % updates.length], mod[i % nPods]).then((kv) => (mod[i % nPods] = kv.modRevision)),
      sizes,
      'etcd update',
    );
    emitWrites('etcd', 'raw-etcd3', 'update', u);

    log(BENCH, `etcd: list of ${sizes.listKeys} keys`);
    // One prefix, read by both: the keys are written in batches (etcd allows 128 ops per transaction).
    const listPrefix = '/registry/configmaps/bench/';
    for (let from = 0; from < sizes.listKeys; from += 100) {
      const ops = [];
      for (let i = from; i < Math.min(sizes.listKeys, from + 100); i++) {
        ops.push({ request_put: { key: Buffer.from(keyOf(listPrefix, i)), value: Buffer.from(creates[i % creates.length]) } });
      }
      await r.kv.txn({ compare: [], success: ops, failure: [] });
    }
    // One request for the whole prefix can exceed gRPC's default 4 MiB receive
    // limit (10,000 x 1 KiB is ~10 MiB). The raw list client lifts that limit;
    // if the store's own client has not, measure both in pages instead.
    const rl = (rawList = new Etcd3({ hosts: [etcd.endpoint], grpcOptions: { 'grpc.max_receive_message_length': -1 } }));
    let pageSize = 0;
    try {
      check((await s.list(listPrefix)).items.length === sizes.listKeys, 'store list count');
    } catch (err) {
      if (!/RESOURCE_EXHAUSTED|larger than max/.test((err as Error).message)) throw err;
      pageSize = 500;
      log(BENCH, `etcd: WARNING: EtcdStore cannot list ${sizes.listKeys} keys in one request (${(err as Error).message}); its etcd3 client keeps gRPC's 4 MiB receive limit (grpc.max_receive_message_length). Measuring paged lists (${pageSize} per page) for both instead.`);
    }
    const rawFull = () => rl.getAll().prefix(listPrefix).strings();
    const rawPaged = () => rawRangePaged(r, listPrefix, pageSize);
    const storeFull = () => s.list(listPrefix);
    const storePaged = () => storeListPaged(s, listPrefix, pageSize);
    check(Object.keys(await rawFull()).length === sizes.listKeys, 'raw getAll count');
    if (pageSize) {
      check((await rawPaged()).length === sizes.listKeys, 'raw paged count');
      check((await storePaged()).length === sizes.listKeys, 'store paged count');
    }
    const l = pageSize ? await listTimes(rawPaged, storePaged, sizes.listReps) : await listTimes(rawFull, storeFull, sizes.listReps);
    emitList('etcd', 'raw-etcd3', l, sizes.listKeys, pageSize);

    log(BENCH, `etcd: watch latency (${sizes.watchWrites} writes at 1000/s)`);
    emitWatch('etcd', await watchLatency(s, '/registry/events/bench/', creates, sizes));
  } finally {
    try {
      await store?.close();
      raw?.close();
      rawList?.close();
    } finally {
      await destroy();
    }
  }
}

export async function run(opts: BenchOptions = { small: smallFromEnv() }): Promise<void> {
  const small = opts.small;
  const pool = small ? 64 : 1024;
  const creates = valuePool(pool, 1);
  const updates = valuePool(pool, 2);
  const avg = creates.reduce((n, v) => n + Buffer.byteLength(v), 0) / creates.length;
  log(BENCH, `values: ${pool} distinct Pod-like JSON documents, ${Math.round(avg)} bytes on average`);
  await benchSqlite(small ? SMALL : SQLITE, creates, updates);
  await benchEtcd(small ? SMALL : ETCD, creates, updates);
}

