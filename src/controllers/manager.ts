// The controller manager: runs the controllers against the API server, as a
// client of it like any other (its own client certificate, nothing shared).
import { ApiClient } from '../client/index.js';
import { logger } from '../util/log.js';
import { startEndpointsController } from './endpoints/controller.js';
import { startEndpointSliceController } from './endpointslice/controller.js';
import { GarbageCollector } from './gc/controller.js';
import { startDeploymentController } from './deployment/index.js';
import { startNodeIpamController } from './nodeipam/controller.js';
import { startNamespaceController } from './namespace/controller.js';
import { startReplicaSetController } from './replicaset/index.js';
import { startServiceAccountController } from './serviceaccount/controller.js';

const log = logger('controller-manager');

export interface ControllerManager {
  stop(): void;
}

export interface ControllerManagerOptions {
  clusterCidr: string;
  nodeCidrMaskSize: number;
}

export async function startControllerManager(
  conn: { server: string; ca: string; cert: string; key: string },
  opts: ControllerManagerOptions,
): Promise<ControllerManager> {
  const client = new ApiClient({ ...conn, userAgent: 'k8ts-controller-manager' });
  const gc = new GarbageCollector(client);
  const running: Array<{ stop(): unknown }> = [gc];
  await gc.start();
  running.push(await startEndpointsController(client));
  running.push(await startEndpointSliceController(client));
  running.push(await startNodeIpamController(client, { clusterCidr: opts.clusterCidr, nodeCidrMaskSize: opts.nodeCidrMaskSize }));
  running.push(await startReplicaSetController(client));
  running.push(await startDeploymentController(client));
  running.push(await startNamespaceController(client));
  running.push(await startServiceAccountController(client));
  log.info('controllers running', {
    controllers: 'garbage-collector,endpoints,endpointslice,nodeipam,replicaset,deployment,namespace,serviceaccount',
  });
  return {
    stop: () => {
      for (const c of running) c.stop();
      client.close();
    },
  };
}
