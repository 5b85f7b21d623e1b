// Run inside a test's network namespace by test/e2e/sim-nodes.test.ts:
//   node sim-program.js <kubeconfig> <count> [heartbeatMs] [clusterCidr] [maskSize]
// runs the node IPAM controller and simulated nodes against a k8ts server;
// prints JSON lines ({"progress": ...}, {"ready": true}).
import { ApiClient } from '../../src/client/index.js';
import { startNodeIpamController } from '../../src/controllers/nodeipam/controller.js';
import { startSimNodes } from '../../src/sim/nodes.js';

const [kubeconfig, count = '3', heartbeat = '1000', clusterCidr = '10.244.0.0/16', mask = '24'] = process.argv.slice(2);
const say = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const client = ApiClient.fromKubeconfig(kubeconfig!);
const ipam = await startNodeIpamController(client, { clusterCidr, nodeCidrMaskSize: Number(mask) });
const sim = await startSimNodes(client, {
  count: Number(count),
  heartbeatMs: Number(heartbeat),
  statusEveryBeats: 2,
  onProgress: (m) => say({ progress: m }),
});
say({ ready: true, nodes: sim.nodeNames });
const stop = async () => {
  await sim.stop();
  ipam.stop();
  client.close();
  say({ stopped: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
