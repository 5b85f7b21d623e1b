// A stub upstream DNS server for tests: the "internet" resolver of a test
// cluster. The node's resolv.conf in a test cluster says `nameserver
// 192.0.2.10` (NODE_IP), so the coredns pods' `forward . /etc/resolv.conf`
// lands here; nothing is ever sent to the host's resolver.
//
// Run as a program inside the scenario's namespace (startDnsStub does that):
//   node dns-stub.js [--host 192.0.2.10] [--port 53]
// It binds UDP and TCP, answers the names in STUB_RECORDS (A, and AAAA/TXT
// where given) authoritatively, NXDOMAIN for anything else, prints
// `ready <port>` once listening and `query <name> <type>` for every question
// (so a test can tell whether a query was forwarded).
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { decodeMessage, encodeMessage } from '../../src/dns/wire.js';
import { RCODE, TYPE, type DnsMessage, type ResourceRecord } from '../../src/dns/types.js';
import type { Scenario } from './netns.js';
import { poll } from './poll.js';

/** The fixed answers (lower-case FQDN with trailing dot -> IPv4). */
export const STUB_RECORDS: Record<string, string> = {
  'www.example.test.': '192.0.2.99',
  'api.example.test.': '192.0.2.98',
  'blocked.example.test.': '192.0.2.97',
  'www.baidu.com.': '192.0.2.96',
  'node-0.example.test.': '192.0.2.10',
};

export const STUB_PROGRAM = fileURLToPath(import.meta.url);

function answer(q: DnsMessage): DnsMessage {
  const out: DnsMessage = {
    id: q.id, qr: true, opcode: q.opcode, aa: true, tc: false, rd: q.rd, ra: true, ad: false, cd: false,
    rcode: RCODE.NOERROR, questions: q.questions, answers: [], authority: [], additional: [],
  };
  const question = q.questions[0];
  if (!question) {
    out.rcode = RCODE.FORMERR;
    return out;
  }
  const name = question.name.toLowerCase();
  const ip = STUB_RECORDS[name];
  if (ip === undefined) {
    out.rcode = RCODE.NXDOMAIN;
    out.authority = [soa()];
    return out;
  }
  if (question.type === TYPE.A || question.type === TYPE.ANY) out.answers.push({ name: question.name, type: TYPE.A, class: 1, ttl: 60, data: { type: TYPE.A, address: ip } });
  else if (question.type === TYPE.TXT) out.answers.push({ name: question.name, type: TYPE.TXT, class: 1, ttl: 60, data: { type: TYPE.TXT, texts: ['k8ts-dns-stub'] } });
  else out.authority = [soa()];
  return out;
}

function soa(): ResourceRecord {
  return {
    name: '.', type: TYPE.SOA, class: 1, ttl: 60,
    data: { type: TYPE.SOA, mname: 'stub.example.test.', rname: 'hostmaster.example.test.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
  };
}

function handle(buf: Buffer): Buffer | undefined {
  let q: DnsMessage;
  try {
    q = decodeMessage(buf);
  } catch {
    return undefined;
  }
  if (q.qr) return undefined;
  for (const x of q.questions) process.stdout.write(`query ${x.name} ${x.type}\n`);
  return encodeMessage(answer(q));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (n: string, d: string) => {
    const i = args.indexOf(n);
    return i >= 0 && args[i + 1] ? args[i + 1]! : d;
  };
  const host = opt('--host', '192.0.2.10');
  const port = Number(opt('--port', '53'));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => {
    const out = handle(m);
    if (out) udp.send(out, r.port, r.address);
  });
  await new Promise<void>((res, rej) => {
    udp.once('error', rej);
    udp.bind(port, host, () => res());
  });
  const actual = udp.address().port;
  const tcp = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const out = handle(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        if (out) {
          const h = Buffer.alloc(2);
          h.writeUInt16BE(out.length);
          sock.write(Buffer.concat([h, out]));
        }
      }
    });
  });
  await new Promise<void>((res, rej) => {
    tcp.once('error', rej);
    tcp.listen(actual, host, () => res());
  });
  process.stdout.write(`ready ${actual}\n`);
  const stop = () => {
    udp.close();
    tcp.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export interface DnsStub {
  process: ChildProcess;
  /** The questions seen so far, as `<name> <type>`. */
  queries(): string[];
}

/** Starts the stub inside the scenario's namespace (ended at the scenario's cleanup). */
export async function startDnsStub(s: Scenario, host = '192.0.2.10', port = 53): Promise<DnsStub> {
  const p = s.spawn(process.execPath, [STUB_PROGRAM, '--host', host, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (b) => (out += b));
  p.stderr!.on('data', (b) => (out += b));
  await poll(
    () => {
      if (p.exitCode !== null) throw new Error(`dns stub exited ${p.exitCode}: ${out}`);
      return /^ready \d+$/m.test(out);
    },
    { timeoutMs: 10_000, what: () => `dns stub on ${host}:${port} (${out})` },
  );
  return {
    process: p,
    queries: () => out.split('\n').filter((l) => l.startsWith('query ')).map((l) => l.slice(6)),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`dns stub: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
