// `k8ts server`: the all-in-one control plane (and, in later issues, a node agent).
// At this stage it opens the datastore, keeps it compacted, and waits.
import { Command, Option } from 'commander';
import {
  type Store,
  UnavailableError,
  describeDatastore,
  openStore,
  parseDatastoreEndpoint,
  startAutoCompaction,
} from '../storage/index.js';
import { logger } from '../util/log.js';
import { parseCount, parseDuration } from './flags.js';

const log = logger('server');

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
  return new Command('server')
    .description('Run a k8ts control plane on this machine (single node by default, SQLite datastore)')
    .option('--data-dir <dir>', 'directory for the datastore, certificates and state', '/var/lib/k8ts')
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
    )
    .action(async (opts: { dataDir: string; datastoreEndpoint?: string; compactionInterval: number; compactionRetain: number }) => {
      const spec = parseDatastoreEndpoint(opts.datastoreEndpoint, opts.dataDir);
      log.info('opening datastore', { datastore: describeDatastore(spec) });
      const store = openStore(spec);
      let stopCompaction = () => {};
      const shutdown = async (signal: string) => {
        log.info('shutting down', { signal });
        stopCompaction();
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
      // Keep running until a signal arrives.
      setInterval(() => {}, 1 << 30);
    });
}
