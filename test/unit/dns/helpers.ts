// Test helpers for the DNS server: dig runner, a stub upstream DNS server on
// 127.0.0.1, raw UDP send. Only loopback traffic.

import dgram from 'node:dgram';
import net from 'node:net';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { decodeMessage, encodeMessage } from '../../../src/dns/wire.js';
import { CLASS, RCODE, TYPE, reply, type DnsMessage, type ResourceRecord } from '../../../src/dns/types.js';

export interface DigResult {
  status: string;
  flags: string[];
  answers: Array<{ name: string; ttl: number; type: string; data: string }>;
  raw: string;
}

/** Runs dig against 127.0.0.1:port (async, so the in-process server can answer). */
export function dig(port: number, name: string, type = 'A', extra: string[] = []): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), name, type, '+tries=1', '+time=3', ...extra], { timeout: 15000 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'NONE';
      const flags = (/;; flags: ([a-z ]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
      const answers: DigResult['answers'] = [];
      const sec = stdout.split(';; ANSWER SECTION:\n')[1];
      if (sec) {
        for (const line of sec.split('\n')) {
          if (!line.trim()) break;
          const [n, ttl, , t, ...rest] = line.split(/\s+/);
          answers.push({ name: n!, ttl: Number(ttl), type: t!, data: rest.join(' ') });
        }
      }
      resolve({ status, flags, answers, raw: stdout });
    });
  });
}

export interface Stub {
  port: number;
  queries: DnsMessage[];
  /** Per-query hook: return a response, or undefined to drop, or a Promise. */
  answer: (q: DnsMessage, proto: 'udp' | 'tcp') => DnsMessage | undefined | Promise<DnsMessage | undefined>;
  close(): Promise<void>;
}

export function defaultAnswer(q: DnsMessage): DnsMessage {
  const r = reply(q);
  r.ra = true;
  const qq = q.questions[0]!;
  if (qq.name.startsWith('nx.')) {
    r.rcode = RCODE.NXDOMAIN;
    r.authority = [{ name: '.', type: TYPE.SOA, class: CLASS.IN, ttl: 60, data: { type: 6, mname: 'a.root.', rname: 'h.root.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }];
  } else if (qq.type === TYPE.A) {
    r.answers = [{ name: qq.name, type: TYPE.A, class: CLASS.IN, ttl: 300, data: { type: 1, address: '192.0.2.10' } }];
  }
  return r;
}

/** A tiny upstream DNS server on 127.0.0.1 (UDP and TCP on one port). */
export async function startStub(): Promise<Stub> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  const tcp = net.createServer();
  await new Promise<void>((r, j) => {
    tcp.once('error', j);
    tcp.listen(port, '127.0.0.1', () => r());
  });
  const socks = new Set<net.Socket>();
  const stub: Stub = {
    port,
    queries: [],
    answer: defaultAnswer,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        udp.close();
        tcp.close(() => r());
      }),
  };
  udp.on('message', async (b, rinfo) => {
    let q: DnsMessage;
    try {
      q = decodeMessage(b);
    } catch {
      return;
    }
    stub.queries.push(q);
    const r = await stub.answer(q, 'udp');
    if (r) udp.send(encodeMessage(r, { maxSize: Math.max(512, q.edns?.udpSize ?? 512) }), rinfo.port, rinfo.address);
  });
  tcp.on('connection', (s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', async (c) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const frame = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + frame.length);
        const q = decodeMessage(frame);
        stub.queries.push(q);
        const r = await stub.answer(q, 'tcp');
        if (r) {
          const out = encodeMessage(r);
          const h = Buffer.alloc(2);
          h.writeUInt16BE(out.length);
          s.write(Buffer.concat([h, out]));
        }
      }
    });
  });
  return stub;
}

/** Sends raw bytes over UDP to 127.0.0.1:port; resolves with the reply or undefined after timeoutMs. */
export function sendRaw(port: number, data: Buffer, timeoutMs = 500): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(data, port, '127.0.0.1');
  });
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function a(name: string, address: string, ttl = 60): ResourceRecord {
  return { name, type: TYPE.A, class: CLASS.IN, ttl, data: { type: 1, address } };
}
