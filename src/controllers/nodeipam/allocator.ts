// The node IPAM controller's pure core, as upstream's cidrset + range
// allocator: the cluster CIDR cut into subnets of one mask size; each node
// gets one. Subnets already assigned (found at start, or seen later) are
// occupied so they are never handed out twice; a node's deletion releases its
// subnet. Allocation takes the next free subnet after the last one handed out
// (wrapping around), as upstream's CidrSet does, so a released subnet is
// reused only once the range has been walked through.
import { type Cidr4, intToIp, parseCidr } from '../../util/cidr.js';

export class CidrSetError extends Error {}

export class CidrSet {
  readonly cluster: Cidr4;
  readonly maskSize: number;
  /** Number of subnets in the cluster CIDR. */
  readonly maxSubnets: number;
  private readonly used = new Set<number>();
  private nextCandidate = 0;

  constructor(clusterCidr: string, maskSize: number) {
    this.cluster = parseCidr(clusterCidr);
    if (!Number.isInteger(maskSize) || maskSize < this.cluster.prefix || maskSize > 32) {
      throw new CidrSetError(`node CIDR mask size ${maskSize} must be between the cluster CIDR's prefix (${this.cluster.prefix}) and 32`);
    }
    // Upstream refuses more than 2^16 subnets (clusterSubnetMaxDiff).
    if (maskSize - this.cluster.prefix > 16) {
      throw new CidrSetError(`mask size ${maskSize} is too large for cluster CIDR ${this.cluster.text}: at most 16 bits of difference`);
    }
    this.maskSize = maskSize;
    this.maxSubnets = 2 ** (maskSize - this.cluster.prefix);
  }

  private get subnetSize(): number {
    return 2 ** (32 - this.maskSize);
  }

  private text(index: number): string {
    return `${intToIp(this.cluster.base + index * this.subnetSize)}/${this.maskSize}`;
  }

  /** The subnet index of a CIDR inside the cluster CIDR with this mask size, or undefined. */
  indexOf(cidr: string): number | undefined {
    let c: Cidr4;
    try {
      c = parseCidr(cidr);
    } catch {
      return undefined;
    }
    if (c.prefix !== this.maskSize || c.base < this.cluster.base || c.base >= this.cluster.base + this.cluster.size) return undefined;
    return (c.base - this.cluster.base) / this.subnetSize;
  }

  /** The next free subnet, marked used; undefined when the range is exhausted. */
  allocateNext(): string | undefined {
    for (let i = 0; i < this.maxSubnets; i++) {
      const idx = (this.nextCandidate + i) % this.maxSubnets;
      if (!this.used.has(idx)) {
        this.used.add(idx);
        this.nextCandidate = (idx + 1) % this.maxSubnets;
        return this.text(idx);
      }
    }
    return undefined;
  }

  /** Marks a subnet used (an existing assignment). False if it is not one of this set's subnets. */
  occupy(cidr: string): boolean {
    const idx = this.indexOf(cidr);
    if (idx === undefined) return false;
    this.used.add(idx);
    return true;
  }

  release(cidr: string): void {
    const idx = this.indexOf(cidr);
    if (idx !== undefined) this.used.delete(idx);
  }

  isUsed(cidr: string): boolean {
    const idx = this.indexOf(cidr);
    return idx !== undefined && this.used.has(idx);
  }

  get usedCount(): number {
    return this.used.size;
  }
}

/** A node as the allocator sees it. */
export interface NodeCidrs {
  name: string;
  podCIDRs: string[];
}

export type Decision =
  | { type: 'none' }
  | { type: 'assign'; cidr: string }
  | { type: 'exhausted' };

/**
 * The range allocator: tracks which node holds which subnet, so a subnet is
 * released only by the node that holds it, and no two nodes share one.
 */
export class RangeAllocator {
  readonly set: CidrSet;
  private readonly byNode = new Map<string, string>();
  private readonly byCidr = new Map<string, string>();

  constructor(clusterCidr: string, maskSize: number) {
    this.set = new CidrSet(clusterCidr, maskSize);
  }

  /** Records a node's existing assignment (at start, or when seen later). False: outside the range or held by another node. */
  occupy(node: NodeCidrs): boolean {
    const cidr = node.podCIDRs[0];
    if (!cidr) return false;
    const holder = this.byCidr.get(cidr);
    if (holder !== undefined && holder !== node.name) return false;
    if (!this.set.occupy(cidr)) return false;
    this.byNode.set(node.name, cidr);
    this.byCidr.set(cidr, node.name);
    return true;
  }

  /** What a node needs: nothing (it has a CIDR), a new subnet (reserved now), or nothing left. */
  decide(node: NodeCidrs): Decision {
    if (node.podCIDRs.length > 0) {
      this.occupy(node);
      return { type: 'none' };
    }
    // A subnet reserved earlier whose write did not land is handed out again to the same node.
    const held = this.byNode.get(node.name);
    if (held) return { type: 'assign', cidr: held };
    const cidr = this.set.allocateNext();
    if (!cidr) return { type: 'exhausted' };
    this.byNode.set(node.name, cidr);
    this.byCidr.set(cidr, node.name);
    return { type: 'assign', cidr };
  }

  /** Releases whatever a node holds (the node was deleted, or its write failed for good). */
  release(nodeName: string): string | undefined {
    const cidr = this.byNode.get(nodeName);
    if (!cidr) return undefined;
    this.byNode.delete(nodeName);
    this.byCidr.delete(cidr);
    this.set.release(cidr);
    return cidr;
  }

  cidrOf(nodeName: string): string | undefined {
    return this.byNode.get(nodeName);
  }
}

/** spec.podCIDRs, or the single spec.podCIDR of an older writer. */
export function podCidrsOf(node: { spec?: { podCIDR?: string; podCIDRs?: string[] } } | Record<string, any>): string[] {
  const list = node.spec?.podCIDRs ?? [];
  if (list.length) return [...list];
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}
