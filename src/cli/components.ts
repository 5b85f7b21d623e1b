// The scheduler and controller manager as separate commands
// (`k8ts scheduler`, `k8ts controller-manager`), talking to a cluster only
// through a kubeconfig, as upstream's kube-scheduler and
// kube-controller-manager do. `k8ts server` runs the same code in-process.
import { Command } from 'commander';
import { ApiClient, type ApiClientOptions, loadKubeconfig } from '../client/index.js';
import { runLeaderElected } from '../client/leaderelection.js';
import { startControllerManager } from '../controllers/manager.js';
import { startScheduler } from '../scheduler/index.js';
import { logger } from '../util/log.js';
import { type ControllerFlags, type LeaderElectFlags, addControllerOptions, addLeaderElectionOptions, controllerOptions, leaderElectionConfig } from './flags.js';

/** Runs the scheduler, under leader election on kube-system/kube-scheduler unless `config` is undefined. */
export async function startElectedScheduler(conn: ApiClientOptions, f: LeaderElectFlags): Promise<{ stop(): Promise<void> }> {
  const client = new ApiClient({ userAgent: 'k8ts-scheduler', ...conn });
  const election = await runLeaderElected(client, {
    component: 'scheduler',
    leaseName: 'kube-scheduler',
    config: leaderElectionConfig(f),
    start: () => startScheduler(client),
  });
  return {
    stop: async () => {
      await election.stop();
      client.close();
    },
  };
}

/** Keeps a component running until SIGINT/SIGTERM, then stops it. */
async function runUntilSignal(name: string, stop: () => Promise<void>): Promise<void> {
  const log = logger(name);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info('shutting down', { signal });
  await stop();
  process.exit(0);
}

export function schedulerCommand(): Command {
  const cmd = new Command('scheduler')
    .description('Run the scheduler alone against a cluster (binds pending pods to nodes), as kube-scheduler')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster (e.g. /var/lib/k8ts/admin.kubeconfig)');
  return addLeaderElectionOptions(cmd).action(async (f: LeaderElectFlags & { kubeconfig: string }) => {
    const s = await startElectedScheduler(loadKubeconfig(f.kubeconfig), f);
    console.log(`k8ts: scheduler running against ${loadKubeconfig(f.kubeconfig).server}${f.leaderElect ? ' (leader election on kube-system/kube-scheduler)' : ''}`);
    await runUntilSignal('scheduler', s.stop);
  });
}

export function controllerManagerCommand(): Command {
  const cmd = new Command('controller-manager')
    .description('Run the controllers alone against a cluster, as kube-controller-manager')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster (e.g. /var/lib/k8ts/admin.kubeconfig)');
  return addLeaderElectionOptions(addControllerOptions(cmd)).action(async (f: ControllerFlags & LeaderElectFlags & { kubeconfig: string }) => {
    const conn = loadKubeconfig(f.kubeconfig);
    const cm = await startControllerManager(conn, controllerOptions(f));
    console.log(`k8ts: controller-manager running against ${conn.server}${f.leaderElect ? ' (leader election on kube-system/kube-controller-manager)' : ''}`);
    await runUntilSignal('controller-manager', cm.stop);
  });
}
