// The node IPAM controller (upstream's nodeipam with the range allocator):
// gives every Node a pod subnet (spec.podCIDR / spec.podCIDRs) from the
// cluster CIDR. Existing assignments are occupied before anything is handed
// out, so a restart keeps them; a deleted node's subnet is released; when the
// range is exhausted the node gets a Warning event CIDRNotAvailable. The
// decisions are in allocator.ts; this file is the API side.
import { type ApiClient, EventRecorder, Informer, type KObject, WorkQueue, isNotFound } from '../../client/index.js';
import { logger } from '../../util/log.js';
import { RangeAllocator, podCidrsOf } from './allocator.js';

const log = logger('controller/node-ipam');

export interface NodeIpamOptions {
  /** The cluster's pod range (upstream --cluster-cidr); default 10.244.0.0/16. */
  clusterCidr?: string;
  /** Mask size of each node's subnet (upstream --node-cidr-mask-size); default 24. */
  nodeCidrMaskSize?: number;
}

export interface NodeIpamController {
  stop(): void;
}

export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;

export async function startNodeIpamController(client: ApiClient, opts: NodeIpamOptions = {}): Promise<NodeIpamController> {
  const alloc = new RangeAllocator(opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR, opts.nodeCidrMaskSize ?? DEFAULT_NODE_CIDR_MASK_SIZE);
  const recorder = new EventRecorder(client, { component: 'cidrAllocator' });
  const informer = new Informer<KObject>(client, '/nodes');
  const queue = new WorkQueue<string>();
  let synced = false;
  informer.addEventHandler({
    onAdd: (n) => synced && queue.add(n.metadata!.name),
    onUpdate: (_o, n) => synced && queue.add(n.metadata!.name),
    onDelete: (n) => {
      const name = n.metadata!.name as string;
      // Only the subnet this node holds in our books (never one another node holds).
      const cidr = alloc.release(name);
      if (cidr) log.info('released node CIDR', { node: name, cidr });
    },
  });
  informer.start();
  await informer.waitForSync(30_000);
  // Occupy every existing assignment before handing out anything new.
  const nodes = informer.lister.list();
  for (const n of nodes) {
    const cidrs = podCidrsOf(n);
    if (cidrs.length && !alloc.occupy({ name: n.metadata!.name, podCIDRs: cidrs })) {
      log.warn('node CIDR outside the cluster CIDR or already held; left alone', { node: n.metadata!.name, cidr: cidrs[0] });
    }
  }
  synced = true;
  for (const n of nodes) queue.add(n.metadata!.name);

  const sync = async (name: string): Promise<void> => {
    const node = informer.lister.get(undefined, name);
    if (!node || node.metadata?.deletionTimestamp) return;
    const d = alloc.decide({ name, podCIDRs: podCidrsOf(node) });
    if (d.type === 'none') return;
    if (d.type === 'exhausted') {
      log.warn('no CIDR available for node', { node: name });
      await recorder.eventf(node, 'Warning', 'CIDRNotAvailable', 'Node %s status is now: %s', name, 'CIDRNotAvailable');
      throw new Error(`no CIDR available for node ${name}`); // retried with backoff

    }
    try {
      // spec.podCIDR is immutable once set: set it only when empty, with the read's
      // resourceVersion as a precondition (a conflict is retried).
      const live = await client.get<KObject>('/nodes', undefined, name);
      if (podCidrsOf(live).length) {
        alloc.release(name);
        alloc.occupy({ name, podCIDRs: podCidrsOf(live) });
        return;
      }
      await client.patch('/nodes', undefined, name, { metadata: { resourceVersion: live.metadata!.resourceVersion }, spec: { podCIDR: d.cidr, podCIDRs: [d.cidr] } }, { type: 'merge' });
      log.info('assigned node CIDR', { node: name, cidr: d.cidr });
    } catch (e) {
      if (isNotFound(e)) {
        alloc.release(name);
        return;
      }
      throw e; // keeps the reservation; the retry hands the same subnet to the same node
    }
  };
  // One worker: allocation decisions are serial, so no subnet goes to two nodes.
  void queue.run(1, sync);
  log.info('started', { clusterCidr: alloc.set.cluster.text, nodeCidrMaskSize: alloc.set.maskSize });
  return {
    stop: () => {
      queue.shutDown();
      void informer.stop();
    },
  };
}
