// The iptables backend: renders the snapshot with renderRestore and applies it
// with one `iptables-restore --noflush` per sync, as upstream kube-proxy's
// iptables mode. Full syncs (the first, every one after a failure, and when
// the caller does not know what changed) rewrite every chain, make sure the
// jump rules from the built-in chains exist and delete stale chains found by
// iptables-save; partial syncs rewrite only the chains of service ports that
// changed. UDP conntrack entries that would keep sending packets to a gone
// endpoint (or to a REJECT) are flushed after the rules are in place.
import { categorizeEndpoints } from '../topology.js';
import type { EndpointInfo, ProxyBackend, ProxySnapshot, ServicePortInfo, SyncResult } from '../types.js';
import { type ExecOptions, type ExecResult, exec as sysExec } from '../../util/exec.js';
import { logger } from '../../util/log.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  isServiceChainName,
} from './names.js';
import { type RenderOptions, chainsFromSave, renderRestore } from './rules.js';

export interface JumpRule {
  table: 'filter' | 'nat';
  srcChain: string;
  dstChain: string;
  comment: string;
  extraArgs: string[];
}

/** upstream's iptablesJumpChains: how packets get from the built-in chains to ours. */
export const JUMP_RULES: JumpRule[] = [
  { table: 'filter', dstChain: KUBE_EXTERNAL_SERVICES, srcChain: 'INPUT', comment: 'kubernetes externally-visible service portals', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dstChain: KUBE_EXTERNAL_SERVICES, srcChain: 'FORWARD', comment: 'kubernetes externally-visible service portals', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dstChain: KUBE_NODEPORTS, srcChain: 'INPUT', comment: 'kubernetes health check service ports', extraArgs: [] },
  { table: 'filter', dstChain: KUBE_SERVICES, srcChain: 'FORWARD', comment: 'kubernetes service portals', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dstChain: KUBE_SERVICES, srcChain: 'OUTPUT', comment: 'kubernetes service portals', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dstChain: KUBE_FORWARD, srcChain: 'FORWARD', comment: 'kubernetes forwarding rules', extraArgs: [] },
  { table: 'filter', dstChain: KUBE_PROXY_FIREWALL, srcChain: 'INPUT', comment: 'kubernetes load balancer firewall', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dstChain: KUBE_PROXY_FIREWALL, srcChain: 'OUTPUT', comment: 'kubernetes load balancer firewall', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', dstChain: KUBE_PROXY_FIREWALL, srcChain: 'FORWARD', comment: 'kubernetes load balancer firewall', extraArgs: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'nat', dstChain: KUBE_SERVICES, srcChain: 'OUTPUT', comment: 'kubernetes service portals', extraArgs: [] },
  { table: 'nat', dstChain: KUBE_SERVICES, srcChain: 'PREROUTING', comment: 'kubernetes service portals', extraArgs: [] },
  { table: 'nat', dstChain: KUBE_POSTROUTING, srcChain: 'POSTROUTING', comment: 'kubernetes postrouting rules', extraArgs: [] },
];

/** The rule's arguments after the chain (for -C / -D), and as a restore line (comment quoted). */
export function jumpRuleArgs(j: JumpRule): string[] {
  return [...j.extraArgs, '-m', 'comment', '--comment', j.comment, '-j', j.dstChain];
}
export function jumpRuleLine(j: JumpRule, op: '-I' | '-A' = '-I'): string {
  return [op, j.srcChain, ...j.extraArgs, '-m', 'comment', '--comment', `"${j.comment}"`, '-j', j.dstChain].join(' ');
}

export interface IptablesBackendOptions extends Pick<RenderOptions, 'masqueradeMark' | 'masqueradeAll' | 'localhostNodePorts' | 'conntrackTCPLiberal'> {
  /** Run every command inside this network namespace (`ip netns exec NS ...`); default: the current one. */
  netns?: string;
  /** --random-fully on MASQUERADE (default true: iptables >= 1.6.2). */
  randomFully?: boolean;
  /** Runs the commands (default: src/util/exec, inside `netns` if given); e.g. with a longer timeout for huge rulesets. */
  exec?: Exec;
}

export type Exec = (cmd: string, args: string[], opts?: ExecOptions) => Promise<ExecResult>;

const RESTORE_ARGS = ['-w', '5', '--noflush', '--counters'];

/** Per service port: what its rules were made of, to tell what changed. */
function digest(svc: ServicePortInfo, eps: EndpointInfo[]): string {
  return JSON.stringify([svc, eps]);
}

export class IptablesBackend implements ProxyBackend {
  readonly name = 'iptables' as const;
  private readonly log = logger('proxy/iptables');
  private readonly run: Exec;
  private needFullSync = true;
  private digests = new Map<string, string>();
  private activeChains = new Set<string>();
  /** Last applied snapshot (for conntrack cleanup). */
  private last?: ProxySnapshot;
  /** The last restore input (for debugging and tests). */
  lastRestore = '';

  constructor(private readonly opts: IptablesBackendOptions = {}) {
    const ns = opts.netns;
    const base = opts.exec ?? sysExec;
    this.run = ns ? (cmd, args, o) => base('ip', ['netns', 'exec', ns, cmd, ...args], o) : base;
  }

  /** Asks for a full resync next time (e.g. when someone flushed the tables). */
  forceFullSync(): void {
    this.needFullSync = true;
  }

  async sync(snapshot: ProxySnapshot, changed?: Set<string>): Promise<SyncResult> {
    const start = performance.now();
    const full = this.needFullSync || changed === undefined;
    const digests = new Map<string, string>();
    for (const [key, svc] of snapshot.services) digests.set(key, digest(svc, snapshot.endpoints.get(key) ?? []));
    let write: Set<string> | undefined;
    if (!full) {
      write = new Set<string>();
      for (const [key, d] of digests) if (this.digests.get(key) !== d || changed!.has(key)) write.add(key);
    }

    let existing: Iterable<string> = this.activeChains;
    const extraFilterLines: string[] = [];
    const extraNatLines: string[] = [];
    if (full) {
      existing = chainsFromSave((await this.run('iptables-save', ['-t', 'nat'])).stdout);
      for (const j of JUMP_RULES) {
        const present = await this.run('iptables', ['-w', '5', '-t', j.table, '-C', j.srcChain, ...jumpRuleArgs(j)], { allowFailure: true });
        if (present.code !== 0) (j.table === 'filter' ? extraFilterLines : extraNatLines).push(jumpRuleLine(j, '-I'));
      }
    }

    const out = renderRestore(snapshot, {
      masqueradeMark: this.opts.masqueradeMark,
      masqueradeAll: this.opts.masqueradeAll,
      localhostNodePorts: this.opts.localhostNodePorts,
      conntrackTCPLiberal: this.opts.conntrackTCPLiberal,
      randomFully: this.opts.randomFully ?? true,
      writeServices: write,
      existingNatChains: existing,
      extraFilterLines,
      extraNatLines,
    });
    this.lastRestore = out.text;
    try {
      await this.run('iptables-restore', RESTORE_ARGS, { input: out.text });
    } catch (err) {
      // The change sets are lost with this sync: the next one rewrites everything.
      this.needFullSync = true;
      throw err;
    }
    this.needFullSync = false;
    this.digests = digests;
    this.activeChains = out.activeNatChains;
    const prev = this.last;
    this.last = snapshot;
    if (prev) await this.cleanupConntrack(prev, snapshot);
    return { full, changed: out.written, durationMs: performance.now() - start };
  }

  /**
   * UDP has no connection close: conntrack entries keep steering packets to
   * where they went first. As upstream: when a UDP service port gets its first
   * endpoints, entries for its IPs (which were REJECTed) go; when an endpoint
   * goes away, entries NATed to it go.
   */
  private async cleanupConntrack(prev: ProxySnapshot, cur: ProxySnapshot): Promise<void> {
    const cmds: string[][] = [];
    for (const [key, svc] of cur.services) {
      if (svc.protocol !== 'UDP') continue;
      const now = categorizeEndpoints(svc, cur.endpoints.get(key) ?? []);
      const old = prev.services.get(key);
      const before = old ? categorizeEndpoints(old, prev.endpoints.get(key) ?? []) : undefined;
      const ips = [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs];
      if (now.allReachable.length > 0 && (!before || before.allReachable.length === 0)) {
        for (const ip of ips) cmds.push(['-D', '-p', 'udp', '--orig-dst', ip, '--dport', String(svc.port)]);
        if (svc.nodePort) cmds.push(['-D', '-p', 'udp', '--dport', String(svc.nodePort)]);
      }
    }
    for (const [key, old] of prev.services) {
      if (old.protocol !== 'UDP') continue;
      const svc = cur.services.get(key);
      const before = categorizeEndpoints(old, prev.endpoints.get(key) ?? []).allReachable;
      const now = new Set(svc ? categorizeEndpoints(svc, cur.endpoints.get(key) ?? []).allReachable.map((e) => `${e.ip}:${e.port}`) : []);
      for (const ep of before) {
        if (now.has(`${ep.ip}:${ep.port}`)) continue;
        for (const ip of [...old.clusterIPs, ...old.externalIPs, ...old.loadBalancerIPs]) {
          cmds.push(['-D', '-p', 'udp', '--orig-dst', ip, '--dport', String(old.port), '--dst-nat', ep.ip]);
        }
        if (old.nodePort) cmds.push(['-D', '-p', 'udp', '--dport', String(old.nodePort), '--dst-nat', ep.ip]);
      }
    }
    for (const args of cmds) {
      // Exit 1 means "0 flow entries have been deleted".
      const r = await this.run('conntrack', args, { allowFailure: true }).catch((e: Error) => ({ code: -1, stderr: e.message }) as ExecResult);
      if (r.code !== 0 && r.code !== 1) this.log.warn('conntrack cleanup failed', { args: args.join(' '), error: r.stderr.trim() });
    }
  }

  async rules(): Promise<string> {
    const out: string[] = [];
    for (const table of ['filter', 'nat']) {
      const save = (await this.run('iptables-save', ['-t', table])).stdout;
      out.push(`*${table}`);
      for (const line of save.split('\n')) {
        if (line.startsWith(':KUBE-') || (line.startsWith('-A ') && line.includes('KUBE-'))) out.push(line);
      }
      out.push('COMMIT');
    }
    return out.join('\n') + '\n';
  }

  async cleanup(): Promise<void> {
    for (const j of JUMP_RULES) {
      // Delete every copy of the jump rule.
      for (let i = 0; i < 10; i++) {
        const r = await this.run('iptables', ['-w', '5', '-t', j.table, '-D', j.srcChain, ...jumpRuleArgs(j)], { allowFailure: true });
        if (r.code !== 0) break;
      }
    }
    const natOwn = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ];
    const filterOwn = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL];
    for (const [table, own] of [['nat', natOwn], ['filter', filterOwn]] as const) {
      const existing = chainsFromSave((await this.run('iptables-save', ['-t', table])).stdout);
      const remove = [...existing].filter((c) => (own as readonly string[]).includes(c) || (table === 'nat' && isServiceChainName(c)));
      if (remove.length === 0) continue;
      const text = [`*${table}`, ...remove.map((c) => `:${c} - [0:0]`), ...remove.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
      await this.run('iptables-restore', RESTORE_ARGS, { input: text });
    }
    this.needFullSync = true;
    this.digests.clear();
    this.activeChains.clear();
    this.last = undefined;
  }
}
