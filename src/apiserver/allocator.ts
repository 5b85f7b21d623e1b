// Service cluster IP and node port allocation. Each claimed IP or port is one
// store key (`/registry/ipaddresses/<ip>`, `/registry/nodeports/<port>`)
// created only if absent, like upstream's IPAddress objects: concurrent
// creates cannot both win, and a restart finds every claim where it was left.
import { randomInt } from 'node:crypto';
import { KeyExistsError, NotFoundError, type Store } from '../storage/types.js';
import { type Cidr4, cidrContains, nthIp, parseCidr } from '../util/cidr.js';

export interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

class ClaimSet {
  constructor(
    private readonly store: Store,
    private readonly prefix: string,
  ) {}

  /** True if claimed now, or already held by this owner. */
  async claim(id: string, owner: Owner): Promise<boolean> {
    try {
      await this.store.create(this.prefix + id, JSON.stringify(owner));
      return true;
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
      const kv = await this.store.get(this.prefix + id);
      return !!kv && (JSON.parse(kv.value) as Owner).uid === owner.uid;
    }
  }

  async release(id: string, owner: Owner): Promise<void> {
    const kv = await this.store.get(this.prefix + id);
    if (!kv || (JSON.parse(kv.value) as Owner).uid !== owner.uid) return;
    await this.store.delete(this.prefix + id, kv.modRevision).catch((e) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
  }

  async all(): Promise<Array<{ id: string; owner: Owner }>> {
    const r = await this.store.list(this.prefix);
    return r.items.map((kv) => ({ id: kv.key.slice(this.prefix.length), owner: JSON.parse(kv.value) as Owner }));
  }
}

export class AllocationError extends Error {
  constructor(
    message: string,
    public readonly kind: 'taken' | 'range' | 'full',
  ) {
    super(message);
  }
}

export class ServiceIPAllocator {
  readonly cidr: Cidr4;
  private readonly claims: ClaimSet;
  /** Addresses below this offset are handed out only on request (upstream's static band). */
  private readonly staticBand: number;

  constructor(store: Store, cidr: string) {
    this.cidr = parseCidr(cidr);
    this.claims = new ClaimSet(store, '/registry/ipaddresses/');
    const usable = this.cidr.size - 2;
    this.staticBand = Math.min(Math.max(16, Math.floor(usable / 16)), 256);
  }

  /** The n-th service IP (1: the kubernetes service, 10: cluster DNS). */
  nth(n: number): string {
    return nthIp(this.cidr, n);
  }

  async allocateSpecific(ip: string, owner: Owner): Promise<void> {
    const n = this.offset(ip);
    if (n === undefined || n <= 0 || n >= this.cidr.size - 1) {
      throw new AllocationError(`failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`, 'range');
    }
    if (!(await this.claims.claim(ip, owner))) {
      throw new AllocationError(`failed to allocate IP ${ip}: provided IP is already allocated`, 'taken');
    }
  }

  async allocateNext(owner: Owner): Promise<string> {
    const usable = this.cidr.size - 2;
    const lo = usable > this.staticBand * 2 ? this.staticBand + 1 : 1;
    const span = usable - lo + 1;
    // Random probes first (cheap when the range is mostly free), then a full scan.
    for (let i = 0; i < 32; i++) {
      const ip = nthIp(this.cidr, lo + randomInt(span));
      if (await this.claims.claim(ip, owner)) return ip;
    }
    const taken = new Set((await this.claims.all()).map((c) => c.id));
    for (let n = 1; n <= usable; n++) {
      const ip = nthIp(this.cidr, n);
      if (!taken.has(ip) && (await this.claims.claim(ip, owner))) return ip;
    }
    throw new AllocationError(`failed to allocate a serviceIP: range is full`, 'full');
  }

  release(ip: string, owner: Owner): Promise<void> {
    return this.claims.release(ip, owner);
  }

  claimsList(): Promise<Array<{ id: string; owner: Owner }>> {
    return this.claims.all();
  }

  contains(ip: string): boolean {
    return cidrContains(this.cidr, ip);
  }

  private offset(ip: string): number | undefined {
    if (!cidrContains(this.cidr, ip)) return undefined;
    const parts = ip.split('.').map(Number);
    return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3] - this.cidr.base;
  }
}

export class NodePortAllocator {
  private readonly claims: ClaimSet;

  constructor(
    store: Store,
    readonly min = 30000,
    readonly max = 32767,
  ) {
    this.claims = new ClaimSet(store, '/registry/nodeports/');
  }

  get rangeText(): string {
    return `${this.min}-${this.max}`;
  }

  async allocateSpecific(port: number, owner: Owner): Promise<void> {
    if (port < this.min || port > this.max) {
      throw new AllocationError(`provided port is not in the valid range. The range of valid ports is ${this.rangeText}`, 'range');
    }
    if (!(await this.claims.claim(String(port), owner))) throw new AllocationError('provided port is already allocated', 'taken');
  }

  async allocateNext(owner: Owner): Promise<number> {
    const span = this.max - this.min + 1;
    for (let i = 0; i < 32; i++) {
      const p = this.min + randomInt(span);
      if (await this.claims.claim(String(p), owner)) return p;
    }
    const taken = new Set((await this.claims.all()).map((c) => c.id));
    for (let p = this.min; p <= this.max; p++) {
      if (!taken.has(String(p)) && (await this.claims.claim(String(p), owner))) return p;
    }
    throw new AllocationError('range is full', 'full');
  }

  release(port: number, owner: Owner): Promise<void> {
    return this.claims.release(String(port), owner);
  }

  claimsList(): Promise<Array<{ id: string; owner: Owner }>> {
    return this.claims.all();
  }
}
