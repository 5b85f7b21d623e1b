// Starts a real etcd (Debian etcd-server) on loopback ports with a temporary
// data dir, for the etcd backend's tests and benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scenario } from './netns.js';
import { poll } from './poll.js';
import { freePort } from './ports.js';

export interface EtcdProcess {
  endpoint: string;
  dataDir: string;
  /** Stops etcd (SIGTERM, then SIGKILL); keeps the data dir. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data dir. */
  start(): Promise<void>;
  /** Kills etcd now (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Stops etcd and removes its data dir. */
  destroy(): Promise<void>;
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

/**
 * Starts etcd on loopback: the host's, or with `scenario`, the loopback of
 * that test's network namespace (so servers started there can reach it).
 */
export async function startEtcd(opts: { scenario?: Scenario } = {}): Promise<EtcdProcess> {
  const sc = opts.scenario;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  let proc: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    output = '';
    proc = (sc ? sc.spawn.bind(sc) : spawn)(
      'etcd',
      [
        '--name', 'k8ts-test',
        '--data-dir', dataDir,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `k8ts-test=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
        '--logger', 'zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const p = proc;
    p.stdout!.on('data', (b) => (output = (output + b).slice(-4000)));
    p.stderr!.on('data', (b) => (output = (output + b).slice(-4000)));
    await poll(
      async () => {
        if (p.exitCode !== null) throw new Error(`etcd exited with ${p.exitCode}: ${output}`);
        if (sc) return (await sc.exec('etcdctl', ['--endpoints', endpoint, 'endpoint', 'health'], { allowFailure: true })).code === 0 || undefined;
        const res = await fetch(`${endpoint}/health`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      { timeoutMs: 20_000, what: `etcd at ${endpoint} to be healthy` },
    );
  };

  const halt = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited(p);
    clearTimeout(t);
  };

  await start();
  return {
    endpoint,
    dataDir,
    start,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    destroy: async () => {
      await halt('SIGTERM');
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** True if the etcd binary is installed (scripts/install.sh installs it). */
export function haveEtcd(): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, 'etcd')));
}
