// The nftables backend (the default proxy mode): applies the pure core's
// transaction with one `nft -f -`, keeps the state it leads to for the next
// incremental sync, and flushes stale UDP conntrack entries afterwards.
import os from 'node:os';
import { type Runner, exec as defaultExec } from '../../util/exec.js';
import { type Logger, logger } from '../../util/log.js';
import type { ProxyBackend, ProxySnapshot, SyncResult } from '../types.js';
import { DEFAULT_TABLE } from './names.js';
import { type NftState, type RulesetOptions, type SyncPlan, computeSync, masqueradeMarkFor } from './ruleset.js';

export interface NftablesProxierOptions {
  /** Table name (family ip). Default 'kube-proxy', as upstream; tests and benchmarks use their own. */
  table?: string;
  /** The fwmark bit that asks for masquerade (default 14: 0x4000). */
  masqueradeBit?: number;
  /** Masquerade all traffic to cluster IPs (upstream --masquerade-all). */
  masqueradeAll?: boolean;
  /** Where NodePorts answer: the snapshot's nodeIPs (default) or every local address. */
  nodePortAddresses?: 'nodeIPs' | 'all';
  /** Service IP ranges; traffic to unallocated cluster IPs in them is dropped. */
  serviceCIDRs?: string[];
  /**
   * Delay before deleting chains whose map elements went away. Kernels before
   * 6.2 notice late that such a chain is unreferenced, so upstream waits a
   * second; default: 0 (same transaction) on 6.2 and later, else 1000 ms.
   */
  staleChainDelayMs?: number;
  /**
   * Trust sync()'s `changed` (the service ports changed since the last
   * successful sync) and skip comparing the others' inputs (default true).
   * Without it, or when false, every service port's inputs are compared.
   */
  trustChangedHint?: boolean;
  /** Run `conntrack -D` for stale UDP flows (default true). */
  conntrack?: boolean;
  /** The nft binary (default 'nft'). */
  nftPath?: string;
  /**
   * Runs nft and conntrack (default: util/exec's exec). Tests pass their
   * scenario's exec so that the rules land in their own network namespace.
   */
  exec?: Runner;
  log?: Logger;
}

/** True when the running kernel is at least major.minor. */
export function kernelAtLeast(major: number, minor: number, release = os.release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

export class NftablesProxier implements ProxyBackend {
  readonly name = 'nftables' as const;
  readonly table: string;
  private readonly opts: RulesetOptions;
  private readonly useConntrack: boolean;
  private readonly trustHint: boolean;
  private readonly nft: string;
  private readonly log: Logger;
  private readonly exec: Runner;
  /** What the table holds after the last successful sync (undefined: unknown, sync fully). */
  private state: NftState | undefined;
  private needFull = true;
  private queue: Promise<unknown> = Promise.resolve();
  private lastSnapshot: ProxySnapshot | undefined;
  private housekeeping: NodeJS.Timeout | undefined;

  constructor(options: NftablesProxierOptions = {}) {
    this.table = options.table ?? DEFAULT_TABLE;
    this.opts = {
      table: this.table,
      masqueradeMark: masqueradeMarkFor(options.masqueradeBit ?? 14),
      masqueradeAll: options.masqueradeAll ?? false,
      nodePortAddresses: options.nodePortAddresses ?? 'nodeIPs',
      serviceCIDRs: options.serviceCIDRs ?? [],
      staleChainDelayMs: options.staleChainDelayMs ?? (kernelAtLeast(6, 2) ? 0 : 1000),
    };
    this.useConntrack = options.conntrack ?? true;
    this.trustHint = options.trustChangedHint ?? true;
    this.nft = options.nftPath ?? 'nft';
    this.log = options.log ?? logger('proxy/nftables');
    this.exec = options.exec ?? defaultExec;
  }

  /** The transaction the next sync would run (for `k8ts proxy rules --dry-run` and tests). */
  plan(snapshot: ProxySnapshot, changed?: Set<string>, now = Date.now()): SyncPlan {
    return computeSync(snapshot, this.state, this.opts, now, this.needFull, this.trustHint ? changed : undefined);
  }

  /**
   * `changed` is optional: without it each service port's inputs are compared
   * with the last sync's; with it only the named ports are (faster with many services).
   */
  sync(snapshot: ProxySnapshot, changed?: Set<string>): Promise<SyncResult> {
    const run = this.queue.then(() => this.syncNow(snapshot, changed));
    this.queue = run.catch(() => {});
    return run;
  }

  private async syncNow(snapshot: ProxySnapshot, changed?: Set<string>): Promise<SyncResult> {
    const start = performance.now();
    this.lastSnapshot = snapshot;
    const plan = this.plan(snapshot, changed);
    if (plan.script) {
      try {
        await this.exec(this.nft, ['-f', '-'], { input: plan.script });
      } catch (err) {
        // The transaction is atomic: the table is as before, but resync it all next time.
        this.needFull = true;
        this.log.error('nftables sync failed', { table: this.table, full: plan.full, err });
        throw err;
      }
    }
    this.state = plan.state;
    this.needFull = false;
    if (this.useConntrack) {
      for (const args of plan.conntrack) {
        // Exit 1 when nothing matched; a missing binary only costs stale UDP flows.
        await this.exec('conntrack', args, { allowFailure: true }).catch((err) => this.log.warn('conntrack cleanup failed', { err }));
      }
    }
    this.scheduleHousekeeping();
    const durationMs = performance.now() - start;
    this.log.debug('synced', { table: this.table, full: plan.full, changed: plan.changed, durationMs: Math.round(durationMs) });
    return { full: plan.full, changed: plan.changed, durationMs };
  }

  /** Stale chains wait for a later sync; make sure one comes even if nothing else changes. */
  private scheduleHousekeeping(): void {
    if (this.housekeeping || !this.state || this.state.staleChains.size === 0) return;
    this.housekeeping = setTimeout(() => {
      this.housekeeping = undefined;
      if (this.lastSnapshot) this.sync(this.lastSnapshot).catch(() => {});
    }, this.opts.staleChainDelayMs + 50);
    this.housekeeping.unref();
  }

  async rules(): Promise<string> {
    const r = await this.exec(this.nft, ['list', 'table', 'ip', this.table], { allowFailure: true });
    return r.code === 0 ? r.stdout : '';
  }

  async cleanup(): Promise<void> {
    if (this.housekeeping) clearTimeout(this.housekeeping);
    this.housekeeping = undefined;
    await this.queue;
    this.lastSnapshot = undefined;
    this.state = undefined;
    this.needFull = true;
    const r = await this.exec(this.nft, ['delete', 'table', 'ip', this.table], { allowFailure: true });
    if (r.code !== 0 && !/No such file or directory|does not exist/i.test(r.stderr)) {
      throw new Error(`nft delete table ip ${this.table}: ${r.stderr.trim()}`);
    }
  }
}

/** `nft --version` (e.g. "1.0.6"), or undefined when nft is missing. */
export async function nftVersion(nftPath = 'nft', run: Runner = defaultExec): Promise<string | undefined> {
  const r = await run(nftPath, ['--version'], { allowFailure: true }).catch(() => undefined);
  return r && r.code === 0 ? /v?(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout)?.[1] : undefined;
}
