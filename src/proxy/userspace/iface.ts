// The addresses the userspace proxy listens on (cluster IPs, external IPs,
// load-balancer IPs) are made local to the node by putting them, as /32s, on
// an interface of their own, as kube-proxy's IPVS mode does with its dummy
// interface `kube-ipvs0`. A local address answers on every interface
// (Linux's weak host model: the local routing table), so pods, whose default
// route leads to the node's bridge, reach them, and nothing is ever routed
// out through the interface itself.
//
// Where the kernel has no dummy driver (`ip link add x type dummy` fails with
// "Unknown device type", as on this project's build machine), `auto` falls
// back to a bridge with no ports, kept down: it can carry no packet, and its
// addresses still get `local` routes exactly like those on a dummy (the same
// holds for kube-ipvs0, which kube-proxy never sets up either). The third way,
// `lo`, puts the addresses on the loopback interface with scope host and a
// label (`lo:k8ts`) that marks them as ours.
import { ExecError, exec } from '../../util/exec.js';
import type { Logger } from '../../util/log.js';

export type InterfaceMode = 'auto' | 'dummy' | 'bridge' | 'lo';

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number; label?: string }>;
}
interface IpLinkJson {
  ifname: string;
  linkinfo?: { info_kind?: string };
}

export class ServiceInterface {
  /** The mode in use after ensure() ('dummy' | 'bridge' | 'lo'). */
  mode: Exclude<InterfaceMode, 'auto'> | undefined;
  private addresses: Set<string> | undefined;

  constructor(
    readonly name: string,
    private readonly requested: InterfaceMode,
    private readonly log: Logger,
    /** The label of our addresses in `lo` mode. */
    readonly loLabel = 'lo:k8ts',
  ) {
    if (requested !== 'lo' && !/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`invalid interface name "${name}"`);
  }

  private get dev(): string {
    return this.mode === 'lo' ? 'lo' : this.name;
  }

  private async link(): Promise<IpLinkJson | undefined> {
    const r = await exec('ip', ['-j', '-d', 'link', 'show', 'dev', this.name], { allowFailure: true });
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout || '[]') as IpLinkJson[])[0];
  }

  private async ports(): Promise<number> {
    const r = await exec('ip', ['-j', 'link', 'show', 'master', this.name], { allowFailure: true });
    return (JSON.parse(r.stdout || '[]') as unknown[]).length;
  }

  /** Creates the interface if needed (idempotent) and reads the addresses on it. */
  async ensure(): Promise<void> {
    if (this.mode && this.addresses) return;
    if (this.requested === 'lo') {
      this.mode = 'lo';
    } else {
      const existing = await this.link();
      const kind = existing?.linkinfo?.info_kind;
      if (existing) {
        if (kind !== 'dummy' && kind !== 'bridge') throw new Error(`interface ${this.name} exists and is a ${kind ?? 'device'} (want a dummy or a bridge)`);
        if (kind === 'bridge' && (await this.ports()) > 0) throw new Error(`interface ${this.name} is a bridge with ports (a pod network's?): choose another service interface name`);
        this.mode = kind;
      } else {
        const tryAdd = async (type: 'dummy' | 'bridge') => {
          const r = await exec('ip', ['link', 'add', this.name, 'type', type], { allowFailure: true });
          if (r.code !== 0) return r.stderr.trim() || `exit ${r.code}`;
          return undefined;
        };
        if (this.requested === 'dummy' || this.requested === 'auto') {
          const err = await tryAdd('dummy');
          if (!err) this.mode = 'dummy';
          else if (this.requested === 'dummy') throw new Error(`cannot create dummy interface ${this.name}: ${err}`);
          else this.log.info('no dummy interfaces in this kernel; using a portless bridge for service addresses', { interface: this.name, reason: err });
        }
        if (!this.mode) {
          const err = await tryAdd('bridge');
          if (err) throw new Error(`cannot create bridge interface ${this.name}: ${err}`);
          this.mode = 'bridge';
        }
        // No ARP, and kept down: the addresses are local, the interface carries nothing.
        await exec('ip', ['link', 'set', this.name, 'arp', 'off']);
      }
    }
    this.addresses = new Set(await this.read());
  }

  /** Our addresses as the kernel has them. */
  async read(): Promise<string[]> {
    const r = await exec('ip', ['-j', '-4', 'addr', 'show', 'dev', this.dev], { allowFailure: true });
    if (r.code !== 0) return [];
    const links = JSON.parse(r.stdout || '[]') as IpAddrJson[];
    return links.flatMap((l) =>
      (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.prefixlen === 32 && (this.mode !== 'lo' || a.label === this.loLabel)).map((a) => a.local),
    );
  }

  current(): ReadonlySet<string> {
    return this.addresses ?? new Set();
  }

  /** Adds and removes addresses in one `ip -batch` (each line tried even if one fails). */
  async apply(add: string[], remove: string[]): Promise<void> {
    if (!this.addresses) await this.ensure();
    if (add.length === 0 && remove.length === 0) return;
    const extra = this.mode === 'lo' ? ` scope host label ${this.loLabel}` : '';
    const lines = [...remove.map((a) => `address del ${a}/32 dev ${this.dev}`), ...add.map((a) => `address add ${a}/32 dev ${this.dev}${extra}`)];
    try {
      await exec('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
      for (const a of remove) this.addresses!.delete(a);
      for (const a of add) this.addresses!.add(a);
    } catch (err) {
      // Some line failed (e.g. an address already there): believe the kernel.
      this.addresses = new Set(await this.read());
      const missing = add.filter((a) => !this.addresses!.has(a));
      const left = remove.filter((a) => this.addresses!.has(a));
      if (missing.length || left.length) throw new Error(`service addresses on ${this.dev}: ${(err as Error).message}`);
    }
  }

  /** Removes every address of ours and, unless in `lo` mode, the interface. */
  async remove(): Promise<void> {
    if (this.requested === 'lo' || this.mode === 'lo') {
      this.mode = 'lo';
      const ours = await this.read();
      if (ours.length) await exec('ip', ['-force', '-batch', '-'], { input: ours.map((a) => `address del ${a}/32 dev lo`).join('\n') + '\n', allowFailure: true });
    } else {
      const link = await this.link();
      const kind = link?.linkinfo?.info_kind;
      if (link && (kind === 'dummy' || kind === 'bridge')) {
        // Never a bridge that has ports: that would be somebody else's (a pod network's) bridge.
        if (kind === 'bridge' && (await this.ports()) > 0) throw new Error(`interface ${this.name} is a bridge with ports: not ours, not removed`);
        await exec('ip', ['link', 'del', this.name]).catch((e: ExecError) => this.log.warn('cannot remove service interface', { interface: this.name, err: e }));
      }
    }
    this.addresses = undefined;
    if (this.requested !== 'lo') this.mode = undefined;
  }
}
