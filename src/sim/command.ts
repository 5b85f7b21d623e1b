// `k8ts sim-nodes`: registers simulated nodes against a cluster and keeps
// them alive until interrupted. Wired into src/cli/main.ts.
import { Command } from 'commander';
import { parseCount as count, parseDuration as duration } from '../cli/flags.js';
import { ApiClient } from '../client/index.js';
import { startSimNodes } from './nodes.js';

export function simNodesCommand(): Command {
  return new Command('sim-nodes')
    .description('Register simulated nodes (kwok-style: leases, heartbeats, pods marked Running) against a cluster')
    .option('--count <n>', 'number of nodes', count, 3)
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster')
    .option('--name-prefix <prefix>', 'node name prefix', 'sim-node-')
    .option('--heartbeat <duration>', 'lease renewal period', duration, 10_000)
    .action(async (o: { count: number; kubeconfig: string; namePrefix: string; heartbeat: number }) => {
      const client = ApiClient.fromKubeconfig(o.kubeconfig, { userAgent: 'k8ts-sim-nodes' });
      const sim = await startSimNodes(client, {
        count: o.count,
        namePrefix: o.namePrefix,
        heartbeatMs: o.heartbeat,
        onProgress: (m) => console.log(m),
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sim.stop();
      client.close();
    });
}
