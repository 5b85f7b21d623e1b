// The k8ts/coredns image's program: a CoreDNS-compatible DNS server for the
// cluster, with CoreDNS's command line (`-conf FILE`, `-dns.port N`). The
// addon Deployment runs it with the Corefile from the `coredns` ConfigMap; the
// `kubernetes` plugin reaches the API through $KUBECONFIG.
import { startDnsServer } from './server.js';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`${msg}\n`);
  process.stderr.write('usage: coredns [-conf Corefile] [-dns.port 53]\n');
  process.exit(2);
}

const args = process.argv.slice(2);
let conf = 'Corefile';
let port: number | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i].replace(/^--/, '-');
  const value = () => args[++i] ?? usage(`${a} needs a value`);
  if (a === '-conf') conf = value();
  else if (a === '-dns.port') port = Number(value());
  else if (a.startsWith('-conf=')) conf = a.slice(6);
  else if (a.startsWith('-dns.port=')) port = Number(a.slice(10));
  else if (a === '-version') {
    console.log('CoreDNS-1.11.3 (k8ts)');
    process.exit(0);
  } else usage(`unknown flag ${args[i]}`);
}
if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) usage('-dns.port must be a port number');

try {
  const server = await startDnsServer({ corefile: { path: conf }, portOverride: port });
  console.log(`.:${server.port}\nCoreDNS-1.11.3 (k8ts)\nlinux/${process.arch}, ${process.version}`);
  const stop = async (signal: string) => {
    console.log(`[INFO] SIG${signal} received, shutting down`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('TERM'));
  process.once('SIGINT', () => void stop('INT'));
  const err = await server.done;
  if (err) {
    console.error(`[FATAL] ${err.message}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`[FATAL] ${(err as Error).message}`);
  process.exit(1);
}
