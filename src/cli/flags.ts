// Flag value parsing shared by the subcommands.
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LeaderElectionConfig } from '../client/leaderelection.js';
import type { ControllerManagerOptions } from '../controllers/manager.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration ("300ms", "30s", "5m", "1h30m") into milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new InvalidArgumentError('not a duration (examples: 500ms, 30s, 5m, 1h30m)');
  }
  return total;
}

/** Parses a whole number >= 0. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('not a whole number');
  return Number(text);
}

/** Parses true/false (Go's strconv.ParseBool spellings); a bare flag is true. */
export function parseBool(text: string | boolean): boolean {
  if (typeof text === 'boolean') return text;
  if (/^(1|t|true|TRUE|True)$/.test(text)) return true;
  if (/^(0|f|false|FALSE|False)$/.test(text)) return false;
  throw new InvalidArgumentError('not a boolean (true or false)');
}

/** Collects a repeatable, comma-separated list flag (`--lb-pool a --lb-pool b,c`). */
export function collectList(text: string, prev: string[] = []): string[] {
  return [...prev, ...text.split(',').map((s) => s.trim()).filter(Boolean)];
}

export interface LeaderElectFlags {
  leaderElect: boolean;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
}

/** upstream's --leader-elect* flags, shared by server, controller-manager and scheduler. */
export function addLeaderElectionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--leader-elect [bool]', 'run only while holding the leader Lease in kube-system, so one of several instances acts')
        .default(true)
        .argParser(parseBool),
    )
    .addOption(new Option('--leader-elect-lease-duration <duration>', 'how long a leader Lease lasts unrenewed').default(15_000, '15s').argParser(parseDuration))
    .addOption(new Option('--leader-elect-renew-deadline <duration>', 'how long the leader retries renewing before it stops leading').default(10_000, '10s').argParser(parseDuration))
    .addOption(new Option('--leader-elect-retry-period <duration>', 'how often candidates try to acquire or renew').default(2_000, '2s').argParser(parseDuration));
}

/** The election settings from the flags, or undefined with --leader-elect=false. */
export function leaderElectionConfig(f: LeaderElectFlags): LeaderElectionConfig | undefined {
  if (!f.leaderElect) return undefined;
  const cfg = { leaseDurationMs: f.leaderElectLeaseDuration, renewDeadlineMs: f.leaderElectRenewDeadline, retryPeriodMs: f.leaderElectRetryPeriod };
  if (!(cfg.leaseDurationMs > cfg.renewDeadlineMs && cfg.renewDeadlineMs > cfg.retryPeriodMs)) {
    throw new InvalidArgumentError('--leader-elect-lease-duration must exceed --leader-elect-renew-deadline, which must exceed --leader-elect-retry-period');
  }
  return cfg;
}

export interface ControllerFlags {
  clusterCidr: string;
  nodeCidrMaskSize: number;
  lbPool: string[];
  nodeMonitorGracePeriod: number;
  nodeMonitorPeriod: number;
  controllers?: string[];
}

/** The controller-manager flags, shared by `server` and `controller-manager`. */
export function addControllerOptions(cmd: Command): Command {
  return cmd
    .option('--cluster-cidr <cidr>', 'range of pod IPs', '10.244.0.0/16')
    .addOption(new Option('--node-cidr-mask-size <bits>', "size of each node's pod subnet").default(24).argParser(parseCount))
    .addOption(
      new Option('--lb-pool <cidr-or-range>', 'addresses for LoadBalancer Services (CIDR or a.b.c.d-a.b.c.e; repeatable, comma-separated)')
        .default([], 'none: LoadBalancer Services stay <pending>')
        .argParser(collectList),
    )
    .addOption(new Option('--node-monitor-grace-period <duration>', 'a node whose heartbeats are older than this becomes Unknown and unreachable').default(40_000, '40s').argParser(parseDuration))
    .addOption(new Option('--node-monitor-period <duration>', 'how often node health is checked').default(5_000, '5s').argParser(parseDuration))
    .addOption(new Option('--controllers <names>', "controllers to run: '*' for all, 'name', '-name' to leave one out (comma-separated)").argParser(collectList));
}

/** The controller-manager options from the flags. */
export function controllerOptions(f: ControllerFlags & LeaderElectFlags): ControllerManagerOptions {
  return {
    clusterCidr: f.clusterCidr,
    nodeCidrMaskSize: f.nodeCidrMaskSize,
    lbPools: f.lbPool,
    nodeMonitorGracePeriodMs: f.nodeMonitorGracePeriod,
    nodeMonitorPeriodMs: f.nodeMonitorPeriod,
    controllers: f.controllers,
    leaderElection: leaderElectionConfig(f),
  };
}
