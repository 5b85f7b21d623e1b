// Run inside a test's network namespace by test/e2e/scheduler.test.ts:
//   node scheduler-program.js <kubeconfig> [schedulerName]
// runs the scheduler against a real k8ts server until SIGTERM.
import { ApiClient } from '../../src/client/rest.js';
import { startScheduler } from '../../src/scheduler/index.js';

const [kubeconfig, schedulerName] = process.argv.slice(2);
const client = ApiClient.fromKubeconfig(kubeconfig!);
const s = await startScheduler(client, { schedulerName: schedulerName || undefined });
process.stdout.write('scheduler ready\n');
const stop = async () => {
  await s.stop();
  client.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
