// Helper program for test/e2e/agent-server.test.ts: a node agent server on
// 127.0.0.1 with a serving certificate from the cluster CA of <dataDir>, a
// fake pod table (every pod has a running container "app" whose CRI log is
// <logPath>, previous run <logPath>.prev) and exec running local processes;
// port-forward connects to 127.0.0.1:<port>, where an echo server listens.
// Prints one JSON line: {"port": <agent port>, "echoPort": <echo port>}.
// Usage: program.js <dataDir> <logPath>
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startAgentServer } from '../../../src/agent/server/index.js';
import { issueServingCert } from '../../../src/apiserver/pki.js';
import { fakeExec } from './fixture.js';

const [dataDir, logPath] = process.argv.slice(2);
const ca = { cert: fs.readFileSync(path.join(dataDir, 'tls', 'ca.crt'), 'utf8'), key: fs.readFileSync(path.join(dataDir, 'tls', 'ca.key'), 'utf8') };
const serving = issueServingCert(ca, { cn: 'fake-node', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
const echo = net.createServer((s) => s.on('error', () => {}).pipe(s));
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
const resizes: Array<{ width: number; height: number }> = [];
const status = (id: string, p: string, state: 'running' | 'exited') => ({
  id,
  sandboxId: 's',
  name: 'app',
  attempt: 0,
  image: 'fake',
  imageId: 'fake',
  state,
  createdAt: new Date().toISOString(),
  logPath: p,
});
const server = await startAgentServer({
  port: 0,
  bindAddress: '127.0.0.1',
  tls: { cert: serving.cert, key: serving.key, ca: ca.cert },
  pods: {
    containerOf: (ns, name, container) =>
      container && container !== 'app'
        ? undefined
        : { pod: { metadata: { namespace: ns, name, uid: 'fake' } }, status: status('c1', logPath, fs.existsSync(`${logPath}.stopped`) ? 'exited' : 'running'), previous: status('c0', `${logPath}.prev`, 'exited') },
  },
  runtime: { exec: async (id, argv, opts) => fakeExec(id, argv, opts, resizes) },
  portForward: (_pod, port) => net.connect(port, '127.0.0.1'),
});
process.stdout.write(JSON.stringify({ port: server.port, echoPort: (echo.address() as net.AddressInfo).port }) + '\n');
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
