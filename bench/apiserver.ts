// API server benchmark, over HTTPS with the admin client certificate, against
// `k8ts server` (SQLite datastore) running as a child process.
//
//   {create,get,update,list}_c{1,10,50}_{rate,p50_ms,p99_ms}
//                       closed-loop clients (1, 10, 50), one keep-alive
//                       connection each; ~1 KiB ConfigMaps; lists are of one
//                       namespace holding 1,000 of them. create rates carry the
//                       baseline (below); the 50-client one has the 1000/s target.
//   watch_fanout_p50_ms, watch_fanout_p99_ms
//                       100 watchers of one namespace; from the start of a
//                       create call to its event's arrival at the last watcher.
//   paced_write_p50_ms, paced_write_p99_ms
//                       open-loop mutating calls (create / update / delete in
//                       turn) at 100/s; target p99 <= 25 ms.
//   rss_idle_mib        server VmRSS once started and settled (target <= 100).
//   rss_loaded_mib      server VmRSS holding ~10,000 ConfigMaps.
//   readyz_ms           spawn of the server process (fresh data dir, so it also
//                       makes its certificates) to /readyz answering 200 (target <= 2000).
//   readyz_restart_ms   the same for a restart with the ~10,000 objects stored.
//
// Baseline ("store-sqlite"): the same SQLite backend opened in this process
// (openStore(parseDatastoreEndpoint(undefined, dir))) doing sequential creates
// of the same ConfigMap bodies, measured in the same run before the server starts.
//
// Safety: the server and the load generator (bench/_apiserver-load.ts, a
// separate process, printing JSON on stdout) run inside a network namespace
// this bench creates (k8ts-bench-api-<pid>) and removes; they talk over its
// loopback only. Cleanup (in finally, and on SIGINT/SIGTERM) ends only the
// processes this bench started, by PID, deletes the namespace and the temp dir.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, parseDatastoreEndpoint } from '../src/storage/index.js';
import { exec } from '../src/util/exec.js';
import { configMapBody, type LoadArgs, type LoadResult } from './_apiserver-load.js';
import { removeNetns, serverRssMiB } from '../test/helpers/host.js';
import { type BenchOptions, deferCleanup, emit, log, sleep, smallFromEnv } from './lib.js';
import { exitError, inNetns, jsonChild, stopAll, stopProcess, sweepOrphanNetns, tail } from './procs.js';

const BENCH = 'apiserver';
const NETNS_PREFIX = 'k8ts-bench-api-';
/** Any port is free in a namespace of our own. */
const PORT = 6443;

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const K8TS = path.join(root, 'bin', 'k8ts');
const LOADGEN = path.join(here, '_apiserver-load.js');

interface Sizes {
  load: Omit<LoadArgs, 'kubeconfig'>;
  /** ConfigMaps the cluster holds when rss_loaded_mib is read (topped up by a fill). */
  loadedObjects: number;
  baselineWrites: number;
  baselineWarmup: number;
  /** Wait before reading RSS, so that start-up work (and its garbage) settles. */
  settleMs: number;
  loadTimeoutMs: number;
}

const FULL: Sizes = {
  load: {
    levels: [
      { clients: 1, ops: 1000, lists: 40 },
      { clients: 10, ops: 2500, lists: 120 },
      { clients: 50, ops: 4000, lists: 200 },
    ],
    phaseMaxMs: 10_000,
    listObjects: 1000,
    watchers: 100,
    watchWrites: 240,
    watchWarmup: 20,
    watchRate: 40,
    pacedWrites: 1000,
    pacedWarmup: 100,
    pacedRate: 100,
  },
  loadedObjects: 10_000,
  baselineWrites: 5000,
  baselineWarmup: 500,
  settleMs: 3000,
  loadTimeoutMs: 240_000,
};

const SMALL: Sizes = {
  load: {
    levels: [
      { clients: 1, ops: 10, lists: 2 },
      { clients: 10, ops: 20, lists: 10 },
      { clients: 50, ops: 50, lists: 10 },
    ],
    phaseMaxMs: 2000,
    listObjects: 50,
    watchers: 10,
    watchWrites: 12,
    watchWarmup: 2,
    watchRate: 100,
    pacedWrites: 30,
    pacedWarmup: 6,
    pacedRate: 100,
  },
  loadedObjects: 300,
  baselineWrites: 200,
  baselineWarmup: 20,
  settleMs: 200,
  loadTimeoutMs: 60_000,
};

// ---------------------------------------------------------------- processes

const loadgen = <T>(ns: string, mode: string, args: unknown, timeoutMs: number, onLine?: (line: unknown) => void) =>
  jsonChild<T>(ns, LOADGEN, mode, args, timeoutMs, { onLine, cwd: root });

// ---------------------------------------------------------------- server

interface Server {
  proc: ChildProcess;
  pid: number;
  readyMs: number;
}


/**
 * Starts a readyz poller in the namespace, then the server; returns once
 * /readyz answers 200, with the time from the server's spawn to that answer.
 */
async function startServer(ns: string, dataDir: string, logFile: string): Promise<Server> {
  let polling!: () => void;
  const isPolling = new Promise<void>((r) => (polling = r));
  const poller = loadgen<{ readyAt: number; polls: number }>(
    ns,
    'readyz',
    { host: '127.0.0.1', port: PORT, intervalMs: 3, timeoutMs: 30_000 },
    40_000,
    (l) => {
      if ((l as { polling?: boolean }).polling) polling();
    },
  );
  poller.result.catch(() => {});
  await Promise.race([isPolling, poller.result.then(() => Promise.reject(new Error('readyz poller ended before polling')))]);

  const fd = fs.openSync(logFile, 'a');
  const args = [process.execPath, K8TS, 'server', '--disable-agent', '--data-dir', dataDir, '--bind-address', '127.0.0.1', '--secure-port', String(PORT)];
  const t0 = performance.timeOrigin + performance.now();
  const proc = inNetns(ns, args, ['ignore', fd, fd], { cwd: root });
  fs.closeSync(fd);
  const died = exitError(proc, 'k8ts server', () => `\nits log ends:\n${tail(logFile)}`);
  died.catch(() => {});
  try {
    const { readyAt, polls } = await Promise.race([poller.result, died]);
    if (proc.pid === undefined) throw new Error('k8ts server has no PID');
    log(BENCH, `server ready after ${(readyAt - t0).toFixed(0)} ms (${polls} polls)`);
    return { proc, pid: proc.pid, readyMs: readyAt - t0 };
  } catch (err) {
    await stopProcess(poller.proc);
    throw err;
  }
}


// ---------------------------------------------------------------- baseline

/** Sequential creates of the same ConfigMap bodies straight into the SQLite store, per second. */
async function storeBaseline(dir: string, sizes: Sizes): Promise<number> {
  const store = openStore(parseDatastoreEndpoint(undefined, dir));
  try {
    const ns = 'bench-c50';
    const values = Array.from({ length: sizes.baselineWrites }, (_, i) => configMapBody(ns, `cm-${i}`, i));
    for (let i = 0; i < sizes.baselineWarmup; i++) await store.create(`/registry/configmaps/warm/cm-${i}`, values[i % values.length]);
    const t0 = performance.now();
    for (let i = 0; i < values.length; i++) await store.create(`/registry/configmaps/${ns}/cm-${i}`, values[i]);
    const ms = performance.now() - t0;
    return (values.length / ms) * 1000;
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- namespace




// ---------------------------------------------------------------- reporting

function emitLevels(levels: LoadResult['levels'], baseline: number): void {
  for (const lv of levels) {
    for (const verb of ['create', 'get', 'update', 'list'] as const) {
      const s = lv[verb];
      const extra: Record<string, number | string> = { clients: lv.clients, n: s.n, client_cpu: Number(s.clientCpu.toFixed(2)) };
      if (verb === 'list') {
        extra.items = lv.list.items;
        extra.bytes = lv.list.bytes;
      }
      const isCreate = verb === 'create';
      const target = isCreate && lv.clients === 50 ? 1000 : undefined;
      emit({
        bench: BENCH,
        metric: `${verb}_c${lv.clients}_rate`,
        backend: 'sqlite',
        unit: '1/s',
        value: s.rate,
        ...(isCreate ? { baseline: 'store-sqlite', baseline_value: baseline } : {}),
        target,
        better: 'higher',
        // The 1000/s target is on the rate itself, not on the ratio to the in-process store.
        extra: target !== undefined ? { ...extra, target_applies_to: 'value' } : extra,
      });
      for (const p of [50, 99] as const) {
        emit({
          bench: BENCH,
          metric: `${verb}_c${lv.clients}_p${p}_ms`,
          backend: 'sqlite',
          unit: 'ms',
          value: p === 50 ? s.p50 : s.p99,
          better: 'lower',
          extra,
        });
      }
    }
  }
}

function emitRest(r: LoadResult): void {
  for (const p of [50, 99] as const) {
    emit({
      bench: BENCH,
      metric: `watch_fanout_p${p}_ms`,
      backend: 'sqlite',
      unit: 'ms',
      value: p === 50 ? r.watch.p50 : r.watch.p99,
      better: 'lower',
      extra: { watchers: r.watch.watchers, n: r.watch.n, writes_per_s: Math.round(r.watch.writesPerSec) },
    });
  }
  for (const p of [50, 99] as const) {
    emit({
      bench: BENCH,
      metric: `paced_write_p${p}_ms`,
      backend: 'sqlite',
      unit: 'ms',
      value: p === 50 ? r.paced.p50 : r.paced.p99,
      target: p === 99 ? 25 : undefined,
      better: 'lower',
      extra: { n: r.paced.n, writes_per_s: r.paced.rate, achieved_per_s: Math.round(r.paced.achievedRate), errors: r.paced.errors, mix: 'create/update/delete' },
    });
  }
}

// ---------------------------------------------------------------- run

export async function run(opts: BenchOptions = { small: smallFromEnv() }): Promise<void> {
  const sizes = opts.small ? SMALL : FULL;
  await sweepOrphanNetns(BENCH, NETNS_PREFIX, removeNetns);
  const ns = `${NETNS_PREFIX}${process.pid}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-bench-apiserver-'));
  const dataDir = path.join(tmp, 'data');
  const logFile = path.join(tmp, 'server.log');
  let nsAdded = false;
  // One cleanup, shared by the signal handler and the finally below: when a
  // signal has started it, the finally must wait for it to end (the runner
  // exits as soon as run() settles), not skip it.
  const cleanup = deferCleanup(async () => {
    await stopAll();
    if (nsAdded) await exec('ip', ['netns', 'del', ns], { allowFailure: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  try {
    log(BENCH, `baseline: ${sizes.baselineWrites} sequential creates into the SQLite store in-process`);
    const baseline = await storeBaseline(path.join(tmp, 'baseline'), sizes);
    log(BENCH, `baseline: ${Math.round(baseline)} creates/s`);

    await exec('ip', ['netns', 'add', ns]);
    nsAdded = true;
    await exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);

    log(BENCH, `starting k8ts server in namespace ${ns} (fresh data dir)`);
    let server = await startServer(ns, dataDir, logFile);
    const readyMs = server.readyMs;
    await sleep(sizes.settleMs);
    const rssIdle = serverRssMiB(server.pid);
    log(BENCH, `idle RSS ${rssIdle.toFixed(1)} MiB`);

    const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
    const serverDied = exitError(server.proc, 'k8ts server', () => `\nits log ends:\n${tail(logFile)}`);
    serverDied.catch(() => {});
    const load = loadgen<LoadResult>(ns, 'load', { kubeconfig, ...sizes.load }, sizes.loadTimeoutMs);
    const r = await Promise.race([load.result, serverDied]);
    emitLevels(r.levels, baseline);
    emitRest(r);

    const missing = Math.max(0, sizes.loadedObjects - r.configmaps);
    log(BENCH, `${r.configmaps} ConfigMaps stored; creating ${missing} more`);
    if (missing > 0) {
      const fill = loadgen(ns, 'fill', { kubeconfig, namespace: 'bench-fill', count: missing, clients: 50 }, sizes.loadTimeoutMs);
      await Promise.race([fill.result, serverDied]);
    }
    const objects = r.configmaps + missing;
    await sleep(sizes.settleMs);
    const rssLoaded = serverRssMiB(server.pid);
    log(BENCH, `RSS with ${objects} ConfigMaps: ${rssLoaded.toFixed(1)} MiB`);

    emit({ bench: BENCH, metric: 'rss_idle_mib', backend: 'sqlite', unit: 'MiB', value: rssIdle, target: 100, better: 'lower' });
    emit({ bench: BENCH, metric: 'rss_loaded_mib', backend: 'sqlite', unit: 'MiB', value: rssLoaded, better: 'lower', extra: { objects } });
    emit({ bench: BENCH, metric: 'readyz_ms', backend: 'sqlite', unit: 'ms', value: readyMs, target: 2000, better: 'lower', extra: { data_dir: 'fresh' } });

    log(BENCH, 'restarting the server');
    await stopProcess(server.proc);
    try {
      server = await startServer(ns, dataDir, logFile);
    } catch (err) {
      // Reported, not fatal: every figure above is already out.
      log(BENCH, `WARNING: no readyz_restart_ms: the server did not come back up on its data dir: ${(err as Error).message.split('\n')[0]}; its log ends:\n${tail(logFile, 600)}`);
      return;
    }
    emit({
      bench: BENCH,
      metric: 'readyz_restart_ms',
      backend: 'sqlite',
      unit: 'ms',
      value: server.readyMs,
      target: 2000,
      better: 'lower',
      extra: { objects },
    });
  } catch (err) {
    const t = tail(logFile, 2000);
    if (t) log(BENCH, `server log ends:\n${t}`);
    throw err;
  } finally {
    await cleanup();
  }
}
