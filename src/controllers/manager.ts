// The controller manager: runs the controllers against the API server, as a
// client of it like any other (its own client certificate, nothing shared).
// For now it runs the garbage collector; the control-plane issue adds the rest.
import { ApiClient } from '../client/index.js';
import { logger } from '../util/log.js';
import { GarbageCollector } from './gc/controller.js';

const log = logger('controller-manager');

export interface ControllerManager {
  stop(): void;
}

export async function startControllerManager(conn: { server: string; ca: string; cert: string; key: string }): Promise<ControllerManager> {
  const client = new ApiClient({ ...conn, userAgent: 'k8ts-controller-manager' });
  const gc = new GarbageCollector(client);
  await gc.start();
  log.info('controllers running', { controllers: 'garbage-collector' });
  return {
    stop: () => {
      gc.stop();
      client.close();
    },
  };
}
