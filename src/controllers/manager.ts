// The controller manager: runs the controllers against the API server, as a
// client of it like any other (its own client certificate or kubeconfig,
// nothing shared). With leader election on (the default, as upstream), the
// controllers run only while this instance holds the kube-system/
// kube-controller-manager Lease, so that two servers on one datastore never
// both act.
import { ApiClient, type ApiClientOptions } from '../client/index.js';
import { type LeaderElectionConfig, runLeaderElected } from '../client/leaderelection.js';
import { logger } from '../util/log.js';
import { startEndpointsController } from './endpoints/controller.js';
import { startEndpointSliceController } from './endpointslice/controller.js';
import { GarbageCollector } from './gc/controller.js';
import { startDeploymentController } from './deployment/index.js';
import { startNodeIpamController } from './nodeipam/controller.js';
import { startNamespaceController } from './namespace/controller.js';
import { startNodeLifecycleController, startTaintEvictionController } from './nodelifecycle/index.js';
import { startPodGcController } from './podgc/index.js';
import { startReplicaSetController } from './replicaset/index.js';
import { startStatefulSetController } from './statefulset/index.js';
import { startDaemonSetController } from './daemonset/index.js';
import { startServiceAccountController } from './serviceaccount/controller.js';
import { startJobController } from './job/index.js';
import { startLoadBalancerController } from './loadbalancer/index.js';

const log = logger('controller-manager');

export interface Stoppable {
  stop(): unknown;
}

export interface ControllerManager {
  stop(): Promise<void>;
}

export interface ControllerManagerOptions {
  clusterCidr: string;
  nodeCidrMaskSize: number;
  /** LoadBalancer IP pools (CIDRs or a-b ranges); none: the LoadBalancer controller idles. */
  lbPools?: string[];
  /** A node whose heartbeats are older than this is Unknown (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** How often node health is checked (default 5 s). */
  nodeMonitorPeriodMs?: number;
  /** `--controllers`: names, `*` for all, `-name` to leave one out (default `*`). */
  controllers?: string[];
  /** Leader election; undefined runs the controllers at once (no election). */
  leaderElection?: LeaderElectionConfig;
}

interface ControllerSpec {
  name: string;
  start(client: ApiClient, opts: ControllerManagerOptions): Promise<Stoppable>;
}

/** Every controller, in start order; names as upstream's `--controllers`. */
export const CONTROLLERS: ControllerSpec[] = [
  {
    name: 'garbage-collector',
    start: async (client) => {
      const gc = new GarbageCollector(client);
      await gc.start();
      return gc;
    },
  },
  { name: 'endpoints', start: (client) => startEndpointsController(client) },
  { name: 'endpointslice', start: (client) => startEndpointSliceController(client) },
  {
    name: 'nodeipam',
    start: (client, o) => startNodeIpamController(client, { clusterCidr: o.clusterCidr, nodeCidrMaskSize: o.nodeCidrMaskSize }),
  },
  { name: 'replicaset', start: (client) => startReplicaSetController(client) },
  { name: 'deployment', start: (client) => startDeploymentController(client) },
  { name: 'statefulset', start: (client) => startStatefulSetController(client) },
  { name: 'daemonset', start: (client) => startDaemonSetController(client) },
  { name: 'namespace', start: (client) => startNamespaceController(client) },
  { name: 'serviceaccount', start: (client) => startServiceAccountController(client) },
  { name: 'job', start: (client) => startJobController(client) },
  { name: 'service-lb-controller', start: (client, o) => startLoadBalancerController(client, { pools: o.lbPools ?? [] }) },
  {
    name: 'nodelifecycle',
    start: (client, o) =>
      startNodeLifecycleController(client, { nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs ?? 40_000, nodeMonitorPeriodMs: o.nodeMonitorPeriodMs ?? 5_000 }),
  },
  { name: 'taint-eviction-controller', start: (client) => startTaintEvictionController(client) },
  { name: 'podgc', start: (client) => startPodGcController(client) },
];

/** The controllers `--controllers` selects (upstream syntax: `*`, `name`, `-name`). */
export function selectControllers(spec: string[] | undefined): string[] {
  const all = CONTROLLERS.map((c) => c.name);
  const items = spec?.length ? spec : ['*'];
  const unknown = items.map((i) => i.replace(/^-/, '')).filter((n) => n !== '*' && !all.includes(n));
  if (unknown.length) throw new Error(`unknown controller(s) ${unknown.join(', ')}; known: ${all.join(', ')}`);
  const star = items.includes('*');
  return all.filter((n) => !items.includes(`-${n}`) && (star || items.includes(n)));
}

/** Starts the selected controllers; stops those already started if one fails. */
async function startControllers(client: ApiClient, opts: ControllerManagerOptions, names: string[]): Promise<Stoppable[]> {
  const running: Stoppable[] = [];
  try {
    for (const c of CONTROLLERS) if (names.includes(c.name)) running.push(await c.start(client, opts));
  } catch (err) {
    for (const c of running) await c.stop();
    throw err;
  }
  log.info('controllers running', { controllers: names.join(',') });
  return running;
}

export async function startControllerManager(conn: ApiClientOptions, opts: ControllerManagerOptions): Promise<ControllerManager> {
  const names = selectControllers(opts.controllers);
  const client = new ApiClient({ userAgent: 'k8ts-controller-manager', ...conn });
  const election = await runLeaderElected(client, {
    component: 'controller-manager',
    leaseName: 'kube-controller-manager',
    config: opts.leaderElection,
    start: async () => {
      const running = await startControllers(client, opts, names);
      return {
        stop: async () => {
          for (const c of running) await c.stop();
          log.info('controllers stopped');
        },
      };
    },
  });
  return {
    stop: async () => {
      await election.stop();
      client.close();
    },
  };
}
