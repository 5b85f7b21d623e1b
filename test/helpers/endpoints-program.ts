// Run inside a test's network namespace by test/e2e/endpoints.test.ts:
//   node endpoints-program.js <kubeconfig>
// runs the Endpoints and EndpointSlice controllers against a real k8ts server.
import { ApiClient } from '../../src/client/rest.js';
import { startEndpointsController } from '../../src/controllers/endpoints/controller.js';
import { startEndpointSliceController } from '../../src/controllers/endpointslice/controller.js';

const client = ApiClient.fromKubeconfig(process.argv[2]!);
const eps = await startEndpointsController(client);
const slices = await startEndpointSliceController(client);
process.stdout.write(JSON.stringify({ started: true }) + '\n');
process.on('SIGTERM', () => {
  eps.stop();
  slices.stop();
  client.close();
  process.exit(0);
});
