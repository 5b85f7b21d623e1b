// `k8ts server`: the all-in-one control plane (and, in later issues, a node agent).
// It opens the datastore, keeps it compacted, and serves the Kubernetes API.
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  type Store,
  UnavailableError,
  describeDatastore,
  openStore,
  parseDatastoreEndpoint,
  startAutoCompaction,
} from '../storage/index.js';
import { startApiServer } from '../apiserver/server.js';
import { startControllerManager } from '../controllers/manager.js';
import { logger } from '../util/log.js';
import { type AgentFlags, addAgentOptions, startNodeAgent } from './agent.js';
import { startElectedScheduler } from './components.js';
import os from 'node:os';
import path from 'node:path';
import { defaultClusterDns } from '../agent/dns.js';
import { buildKubeconfig } from '../apiserver/kubeconfig.js';
import { ApiClient } from '../client/index.js';
import { ensureCorednsAddon } from '../dns/addon.js';
import {
  type ControllerFlags,
  type LeaderElectFlags,
  addControllerOptions,
  addLeaderElectionOptions,
  collectList,
  controllerOptions,
  parseCount,
  parseDuration,
} from './flags.js';

const log = logger('server');

interface ServerFlags extends ControllerFlags, LeaderElectFlags, AgentFlags {
  dataDir: string;
  datastoreEndpoint?: string;
  compactionInterval: number;
  compactionRetain: number;
  bindAddress: string;
  securePort: number;
  advertiseAddress?: string;
  serviceCidr: string;
  clusterDomain: string;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  tokenAuthFile?: string;
  writeKubeconfig?: string;
  disableScheduler?: boolean;
  disableControllerManager?: boolean;
  disableAgent?: boolean;
  disable: string[];
}

const ADDONS = ['coredns'];

function parseAddons(v: string, prev: string[] = []): string[] {
  const items = collectList(v, prev);
  const unknown = items.filter((i) => !ADDONS.includes(i));
  if (unknown.length) throw new InvalidArgumentError(`unknown addon ${unknown.join(', ')} (known: ${ADDONS.join(', ')})`);
  return items;
}

/** Waits until the datastore answers; an unreachable etcd is retried forever, with a log line each time. */
async function waitForStore(store: Store): Promise<number> {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      return await store.currentRevision();
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      log.warn('datastore unavailable; retrying', { error: err, retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export function serverCommand(): Command {
  const cmd = new Command('server')
    .description('Run a k8ts control plane on this machine (single node by default, SQLite datastore)')
    .option('--data-dir <dir>', 'directory for the datastore, certificates and state', '/var/lib/k8ts')
    .option('--bind-address <ip>', 'address the API server listens on', '0.0.0.0')
    .addOption(new Option('--secure-port <port>', 'HTTPS port of the API server').default(6443).argParser(parseCount))
    .option('--advertise-address <ip>', 'address other components reach this server at (default: the first non-loopback IPv4)')
    .option('--service-cidr <cidr>', 'range of Service cluster IPs', '10.96.0.0/12')
    .option('--cluster-domain <domain>', 'cluster DNS domain', 'cluster.local')
    .addOption(
      new Option('--default-not-ready-toleration-seconds <seconds>', 'tolerationSeconds of the not-ready:NoExecute toleration added to every pod')
        .default(300)
        .argParser(parseCount),
    )
    .addOption(
      new Option('--default-unreachable-toleration-seconds <seconds>', 'tolerationSeconds of the unreachable:NoExecute toleration added to every pod')
        .default(300)
        .argParser(parseCount),
    )
    .option('--token-auth-file <file>', 'static bearer tokens, one per line: token,user,uid,"group1,group2"')
    .option('--write-kubeconfig <path>', 'also write the admin kubeconfig here')
    .option('--disable-scheduler', 'do not run the scheduler in this server')
    .option('--disable-controller-manager', 'do not run the controllers in this server')
    .option('--disable-agent', 'do not run a node agent (pods) on this machine')
    .addOption(new Option('--disable <addons>', 'addons not to deploy: coredns (repeatable, comma-separated)').default([]).argParser(parseAddons))
    .option(
      '--datastore-endpoint <endpoint>',
      'datastore: sqlite:///path/state.db, or etcd as http://host:2379 (comma-separated for several members); default: SQLite in <data-dir>/db/state.db',
    )
    .addOption(
      new Option('--compaction-interval <duration>', 'how often old revisions are compacted away (e.g. 5m, 30s)')
        .default(300_000, '5m')
        .argParser(parseDuration),
    )
    .addOption(
      new Option('--compaction-retain <revisions>', 'revisions of history kept for watchers that fall behind')
        .default(1000)
        .argParser(parseCount),
    );
  return addAgentOptions(addLeaderElectionOptions(addControllerOptions(cmd)), undefined).action(async (opts: ServerFlags) => {
      const spec = parseDatastoreEndpoint(opts.datastoreEndpoint, opts.dataDir);
      log.info('opening datastore', { datastore: describeDatastore(spec) });
      const store = openStore(spec);
      let stopCompaction = () => {};
      let stopApi = async () => {};
      const shutdown = async (signal: string) => {
        log.info('shutting down', { signal });
        stopCompaction();
        await stopApi().catch(() => {});
        await store.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      const revision = await waitForStore(store);
      log.info('datastore ready', { datastore: describeDatastore(spec), revision });
      stopCompaction = startAutoCompaction(store, {
        intervalMs: opts.compactionInterval,
        retain: opts.compactionRetain,
      });
      const api = await startApiServer({
        store,
        dataDir: opts.dataDir,
        bindAddress: opts.bindAddress,
        securePort: opts.securePort,
        advertiseAddress: opts.advertiseAddress,
        serviceCidr: opts.serviceCidr,
        clusterCidr: opts.clusterCidr,
        clusterDomain: opts.clusterDomain,
        tokenAuthFile: opts.tokenAuthFile,
        defaultNotReadyTolerationSeconds: opts.defaultNotReadyTolerationSeconds,
        defaultUnreachableTolerationSeconds: opts.defaultUnreachableTolerationSeconds,
        writeKubeconfig: opts.writeKubeconfig,
      });
      console.log(`k8ts: API server at ${api.url}; admin kubeconfig: ${api.kubeconfigPath}`);
      console.log(`k8ts: try   KUBECONFIG=${api.kubeconfigPath} kubectl get namespaces`);
      const cm = opts.disableControllerManager
        ? undefined
        : await startControllerManager(
            { server: api.localUrl, ca: api.caCert, ...api.issueClientCert('system:kube-controller-manager') },
            controllerOptions(opts),
          );
      const scheduler = opts.disableScheduler
        ? undefined
        : await startElectedScheduler({ server: api.localUrl, ca: api.caCert, ...api.issueClientCert('system:kube-scheduler') }, opts);
      const clusterDns = opts.clusterDns.length ? opts.clusterDns : [defaultClusterDns(opts.serviceCidr)];
      if (!opts.disable.includes('coredns')) {
        // Cluster DNS as an addon (kube-system/coredns and the kube-dns Service), as kubeadm deploys it.
        const dnsCert = api.issueClientCert('system:coredns');
        const addonClient = new ApiClient({ server: api.localUrl, ca: api.caCert, ...api.issueClientCert('system:k8ts-addons'), userAgent: 'k8ts-addons' });
        try {
          await ensureCorednsAddon(addonClient, {
            clusterDns: clusterDns[0],
            clusterDomain: opts.clusterDomain,
            replicas: 2,
            kubeconfig: buildKubeconfig({ server: api.url, caCert: api.caCert, clientCert: dnsCert.cert, clientKey: dnsCert.key }),
          });
        } catch (err) {
          log.error('could not deploy the coredns addon', { error: err as Error });
        } finally {
          addonClient.close();
        }
      }
      const agent = opts.disableAgent
        ? undefined
        : await startNodeAgent(
            { server: api.localUrl, ca: api.caCert, ...api.issueClientCert(`system:node:${(opts.nodeName ?? os.hostname()).toLowerCase()}`, ['system:nodes']) },
            { ...opts, clusterDns },
            {
              dataDir: path.join(opts.dataDir, 'agent'),
              clusterDomain: opts.clusterDomain,
              tls: (name, ip) => ({ ...api.issueServingCert(name, [name], [ip, '127.0.0.1']), ca: api.caCert }),
            },
          );
      stopApi = async () => {
        await agent?.close();
        await scheduler?.stop();
        await cm?.stop();
        await api.close();
      };

      // Keep running until a signal arrives.
      setInterval(() => {}, 1 << 30);
  });
}
