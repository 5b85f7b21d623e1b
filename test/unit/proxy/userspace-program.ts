// Runs a UserspaceBackend in the network namespace it is started in (the
// proxy's sockets and addresses live in the current process's namespace),
// for test/unit/proxy/userspace-netns.test.ts.
//
//   node [--import tsx] userspace-program.(ts|js) '<UserspaceOptions as JSON>'
//
// stdin: one JSON request per line:
//   {"op":"sync","snapshot":{"services":[ServicePortInfo...],"endpoints":{"<key>":[EndpointInfo...]},
//                            "nodeName":"n","nodeIPs":[...],"clusterCidr":"..."},"changed":["<key>"]?}
//   {"op":"rules"} | {"op":"table"} | {"op":"cleanup"} | {"op":"exit"}
// stdout: one JSON answer per request, in order: {"ok":true,"result":...} or {"ok":false,"error":"..."}.
import readline from 'node:readline';
import type { EndpointInfo, ProxySnapshot, ServicePortInfo } from '../../../src/proxy/types.js';
import { UserspaceBackend, type UserspaceOptions } from '../../../src/proxy/userspace/backend.js';
import { setLogSink } from '../../../src/util/log.js';

setLogSink((line) => process.stderr.write(line + '\n'));
const opts = JSON.parse(process.argv[2] ?? '{}') as UserspaceOptions;
const backend = new UserspaceBackend(opts);

interface Request {
  op: 'sync' | 'rules' | 'table' | 'cleanup' | 'exit';
  snapshot?: { services: ServicePortInfo[]; endpoints: Record<string, EndpointInfo[]>; nodeName: string; nodeIPs: string[]; clusterCidr: string };
  changed?: string[];
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'sync': {
      const s = req.snapshot!;
      const snap: ProxySnapshot = {
        services: new Map(s.services.map((x) => [x.key, x])),
        endpoints: new Map(Object.entries(s.endpoints ?? {})),
        nodeName: s.nodeName,
        nodeIPs: s.nodeIPs,
        clusterCidr: s.clusterCidr,
      };
      return { ...(await backend.sync(snap, req.changed ? new Set(req.changed) : undefined)), interfaceMode: backend.interfaceMode };
    }
    case 'rules':
      return backend.rules();
    case 'table':
      return backend.table();
    case 'cleanup':
      return backend.cleanup();
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown op ${String(req.op)}`);
  }
}

// Requests are answered in order, one at a time.
let chain: Promise<unknown> = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    try {
      const result = await handle(JSON.parse(line) as Request);
      process.stdout.write(JSON.stringify({ ok: true, result: result ?? null }) + '\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ ok: false, error: (err as Error).message }) + '\n');
    }
  });
});
rl.on('close', () => void chain.then(() => backend.cleanup()).finally(() => process.exit(0)));
