// End-to-end: a `k8ts server` running inside a fresh network namespace, and
// the real kubectl (any installed version) run inside the same namespace.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import type { ExecResult } from '../../src/util/exec.js';
import { killRecordedPods } from './host.js';
import { type Scenario, withNetns } from './netns.js';
import { poll } from './poll.js';

export const K8TS_BIN = fileURLToPath(new URL('../../../bin/k8ts', import.meta.url));
const KUBECTL_DIR = path.dirname(execFileSync('readlink', ['-f', execFileSync('sh', ['-c', 'command -v kubectl']).toString().trim()]).toString().trim());

/** Path of an installed kubectl: 'default', or a version like '1.27'. */
export function kubectlPath(version = 'default'): string {
  return version === 'default' ? path.join(KUBECTL_DIR, 'kubectl') : path.join(KUBECTL_DIR, `kubectl.${version}`);
}

/** The oldest and newest kubectl the project supports (the acceptance range). */
export const KUBECTL_RANGE = ['1.27', '1.33'].filter((v) => fs.existsSync(kubectlPath(v)));

/** The node address a test cluster's server advertises. */
export const NODE_IP = '192.0.2.10';

export interface Cluster {
  scenario: Scenario;
  dataDir: string;
  kubeconfig: string;
  output(): string;
  kubectl(args: string[], opts?: { input?: string; version?: string; allowFailure?: boolean; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** kubectl that must succeed; returns stdout. */
  k(args: string[], opts?: { input?: string; version?: string }): Promise<string>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  args?: string[];
  /**
   * Run the server's node agent (real pods: network namespaces, processes).
   * Off by default, so tests of the control plane see only the nodes they make.
   */
  agent?: boolean;
  /** Deploy the coredns addon (off by default: tests see only the objects they make). */
  dns?: boolean;
  /** Contents of a --token-auth-file for the server. */
  tokenFile?: string;
}

/** Runs `fn` against a fresh cluster; options may come first or second. */
export async function withCluster<T>(fn: (c: Cluster) => Promise<T>, opts?: ClusterOptions): Promise<T>;
export async function withCluster<T>(opts: ClusterOptions, fn: (c: Cluster) => Promise<T>): Promise<T>;
export async function withCluster<T>(
  a: ((c: Cluster) => Promise<T>) | ClusterOptions,
  b?: ((c: Cluster) => Promise<T>) | ClusterOptions,
): Promise<T> {
  const fn = (typeof a === 'function' ? a : b) as (c: Cluster) => Promise<T>;
  const opts = ((typeof a === 'function' ? b : a) ?? {}) as ClusterOptions;
  return withNetns(async (s) => {
    // The node's own address (TEST-NET-1) on a veth pair that stays inside the
    // namespace (this kernel has no dummy interfaces).
    await s.exec('ip', ['link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0-peer']);
    await s.exec('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', 'node0']);
    await s.exec('ip', ['link', 'set', 'node0-peer', 'up']);
    await s.exec('ip', ['link', 'set', 'node0', 'up']);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-e2e-'));
    s.onCleanup(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    // The agent's pods outlive the server (as real pods outlive kubelet): end them, by their recorded PIDs.
    s.onCleanup(() => killRecordedPods(dataDir));
    const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
    const extra = [...(opts.args ?? [])];
    if (opts.agent) {
      // Everything the agent makes is named after the scenario, so cleanup finds it even after a failure.
      const resolv = path.join(dataDir, 'resolv.conf');
      fs.writeFileSync(resolv, `nameserver ${NODE_IP}\nsearch example.test\n`);
      extra.push('--pod-netns-prefix', s.name('p'), '--cgroup-root', s.netns, '--cni-conf-dir', path.join(dataDir, 'cni', 'net.d'), '--resolv-conf', resolv, '--node-name', 'node-0');
    } else extra.push('--disable-agent');
    if (!opts.dns) extra.push('--disable', 'coredns');
    if (opts.tokenFile !== undefined) {
      const f = path.join(dataDir, 'tokens.csv');
      fs.writeFileSync(f, opts.tokenFile, { mode: 0o600 });
      extra.push('--token-auth-file', f);
    }
    // With an agent, pods must reach the API server (through the kubernetes Service): listen on the namespace's addresses.
    const server = serverProcess(s, dataDir, ['--bind-address', opts.agent ? '0.0.0.0' : '127.0.0.1', ...extra], { keepCgroups: !!opts.agent });
    const { start, stop } = server;
    const kubectl: Cluster['kubectl'] = (args, o = {}) =>
      s.exec(kubectlPath(o.version), ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args], {
        input: o.input,
        allowFailure: o.allowFailure,
        env: { ...process.env, KUBECONFIG: kubeconfig, ...(o.env ?? {}) },
        timeoutMs: 60_000,
      });
    await start();
    s.onCleanup(stop);
    return fn({
      scenario: s,
      dataDir,
      kubeconfig,
      output: () => server.output(),
      kubectl,
      k: async (args, o) => (await kubectl(args, o)).stdout,
      restart: async () => {
        await stop();
        await start();
      },
      stop,
    });
  });
}

export interface ServerProcess {
  readonly kubeconfig: string;
  process(): ChildProcess | undefined;
  output(): string;
  /** Starts the server and waits for /readyz. */
  start(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), waiting for the exit. */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would. */
  kill(): Promise<void>;
}

/** A `k8ts server --data-dir dataDir ...args` inside the scenario's namespace (not started yet). */
export function serverProcess(s: Scenario, dataDir: string, args: string[], o: { keepCgroups?: boolean } = {}): ServerProcess {
  const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
  let proc: ChildProcess | undefined;
  let out = '';
  const halt = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return {
    kubeconfig,
    process: () => proc,
    output: () => out,
    start: async () => {
      out = '';
      proc = s.spawn(process.execPath, [K8TS_BIN, 'server', '--data-dir', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], keepCgroups: o.keepCgroups });
      const p = proc;
      p.stdout!.on('data', (b) => (out += b));
      p.stderr!.on('data', (b) => (out += b));
      await poll(
        async () => {
          if (p.exitCode !== null) throw new Error(`k8ts server exited ${p.exitCode}:\n${out}`);
          if (!fs.existsSync(kubeconfig)) return false;
          const r = await s.exec(kubectlPath(), ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz', '--request-timeout=2s'], { allowFailure: true });
          return r.code === 0 && r.stdout.trim() === 'ok';
        },
        { timeoutMs: 30_000, what: 'k8ts server to be ready' },
      );
    },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
  };
}
