// Helper of bench/dns.ts, run inside the bench's network namespace:
//   node _dns-worker.js programming '{"kubeconfig":"...","dnsPort":5303,"count":50}'
// DNS programming latency: for each of `count` new Services (created one at a
// time through the API), the time from sending the create request to the
// first positive A answer for its name from the k8ts DNS server (which
// watches the API). The name is polled with DNS queries over UDP, sent back
// to back (the next as soon as the previous is answered NXDOMAIN), as a dig
// loop would but without a process start per query. Prints one JSON line:
// {"samples":[ms...],"createMs":[ms...],"failures":N}.
import dgram from 'node:dgram';
import { ApiClient, loadKubeconfig } from '../src/client/rest.js';
import { decodeMessage, encodeMessage, makeQuery } from '../src/dns/wire.js';
import { TYPE } from '../src/dns/types.js';

/** One A query to 127.0.0.1:port; resolves with the first A address, or undefined (NXDOMAIN, no answer, timeout). */
function queryA(sock: dgram.Socket, port: number, name: string, id: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onMsg = (buf: Buffer) => {
      let m;
      try {
        m = decodeMessage(buf);
      } catch {
        return;
      }
      if (m.id !== id) return;
      done(m.answers.find((a) => a.type === TYPE.A && 'address' in a.data) as any);
    };
    const t = setTimeout(() => done(undefined), timeoutMs);
    const done = (a: { data: { address: string } } | undefined) => {
      clearTimeout(t);
      sock.off('message', onMsg);
      resolve(a?.data.address);
    };
    sock.on('message', onMsg);
    sock.send(encodeMessage(makeQuery(name, TYPE.A, { id })), port, '127.0.0.1');
  });
}

async function programming(args: { kubeconfig: string; dnsPort: number; count: number }): Promise<void> {
  const client = new ApiClient({ ...loadKubeconfig(args.kubeconfig), userAgent: 'k8ts-bench-dns' });
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const samples: number[] = [];
  const createMs: number[] = [];
  let failures = 0;
  let id = 1;
  const stamp = Date.now().toString(36);
  for (let i = 0; i < args.count; i++) {
    const name = `prog-${stamp}-${i}`;
    const fqdn = `${name}.default.svc.cluster.local.`;
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } };
    const t0 = performance.now();
    const created = client.create('/services', svc, { namespace: 'default' }).then((o: any) => {
      createMs.push(performance.now() - t0);
      return o.spec.clusterIP as string;
    });
    let createdIP: string | undefined;
    void created.then((ip) => (createdIP = ip), () => {});
    const deadline = t0 + 10_000;
    let ok = false;
    while (performance.now() < deadline) {
      id = (id % 65535) + 1;
      const ip = await queryA(sock, args.dnsPort, fqdn, id, 500);
      if (ip) {
        samples.push(performance.now() - t0);
        ok = true;
        await created;
        if (createdIP && ip !== createdIP) throw new Error(`${fqdn} answered ${ip}, the Service has ${createdIP}`);
        break;
      }
    }
    if (!ok) failures++;
    await created;
  }
  sock.close();
  client.close();
  process.stdout.write(JSON.stringify({ samples, createMs, failures }) + '\n');
}

const [mode, raw] = process.argv.slice(2);
const run = mode === 'programming' ? programming(JSON.parse(raw ?? '{}')) : Promise.reject(new Error(`unknown mode ${mode}`));
run.then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`_dns-worker: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
