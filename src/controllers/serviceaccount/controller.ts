// The service account controller: every active namespace has a `default`
// ServiceAccount, recreated if it is deleted, as upstream's.
import { type ApiClient, Informer, WorkQueue, isAlreadyExists, startInformers } from '../../client/index.js';
import { logger } from '../../util/log.js';

type Obj = Record<string, any>;
const log = logger('controller/serviceaccount');

export async function startServiceAccountController(client: ApiClient): Promise<{ stop(): void }> {
  const namespaces = new Informer<Obj>(client, '/namespaces');
  const accounts = new Informer<Obj>(client, '/serviceaccounts', { fieldSelector: 'metadata.name=default' });
  const queue = new WorkQueue<string>();
  namespaces.addEventHandler({ onAdd: (n) => queue.add(n.metadata.name), onUpdate: (_o, n) => queue.add(n.metadata.name) });
  accounts.addEventHandler({ onDelete: (sa) => queue.add(sa.metadata.namespace) });

  const sync = async (ns: string) => {
    const namespace = namespaces.lister.get(undefined, ns);
    if (!namespace || namespace.metadata.deletionTimestamp || namespace.status?.phase === 'Terminating') return;
    if (accounts.lister.get(ns, 'default')) return;
    try {
      await client.create('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }, { namespace: ns });
      log.info('created default service account', { namespace: ns });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  };

  await startInformers([namespaces, accounts]);
  void queue.run(1, sync);
  for (const n of namespaces.lister.list()) queue.add(n.metadata.name);
  return {
    stop: () => {
      queue.shutDown();
      void namespaces.stop();
      void accounts.stop();
    },
  };
}
