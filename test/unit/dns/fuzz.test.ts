import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDnsServer, type DnsServer } from '../../../src/dns/index.js';
import { encodeMessage, makeQuery } from '../../../src/dns/wire.js';
import { TYPE } from '../../../src/dns/types.js';
import { dig, sendRaw, startStub, type Stub } from './helpers.js';
import dgram from 'node:dgram';
import { poll } from '../../helpers/poll.js';

let server: DnsServer;
let stub: Stub;
after(async () => {
  await server?.close();
  await stub?.close();
});

test('fuzz: thousands of random and mutated packets, the server keeps answering', async () => {
  stub = await startStub();
  server = await startDnsServer({
    corefile: `.:53 {
      errors
      log
      cache 30
      loadbalance
      hosts {
        10.0.0.1 a.example
        10.0.0.2 a.example
        fallthrough
      }
      forward . 127.0.0.1:${stub.port}
    }`,
    host: '127.0.0.1',
    portOverride: 0,
    log: () => {},
  });
  const port = server.port;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const bases = [
    encodeMessage(makeQuery('a.example', TYPE.A, { edns: { udpSize: 4096, version: 0, dnssecOk: true, options: [{ code: 10, data: Buffer.alloc(8) }] } })),
    encodeMessage(makeQuery('b.example', TYPE.AAAA)),
    encodeMessage(makeQuery('1.0.0.10.in-addr.arpa', TYPE.PTR)),
    encodeMessage(makeQuery('x.y.z', TYPE.SRV)),
  ];
  const sock = dgram.createSocket('udp4');
  let replies = 0;
  sock.on('message', () => replies++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const N = 4000;
  for (let i = 0; i < N; i++) {
    let pkt: Buffer;
    const mode = rnd();
    if (mode < 0.25) {
      pkt = Buffer.alloc(Math.floor(rnd() * 80));
      for (let j = 0; j < pkt.length; j++) pkt[j] = Math.floor(rnd() * 256);
    } else {
      const base = bases[Math.floor(rnd() * bases.length)]!;
      pkt = Buffer.from(base);
      const flips = 1 + Math.floor(rnd() * 6);
      for (let j = 0; j < flips; j++) pkt[Math.floor(rnd() * pkt.length)] = Math.floor(rnd() * 256);
      if (rnd() < 0.3) pkt = pkt.subarray(0, Math.floor(rnd() * pkt.length));
      if (rnd() < 0.1) pkt = Buffer.concat([pkt, Buffer.alloc(Math.floor(rnd() * 40), Math.floor(rnd() * 256))]);
    }
    sock.send(pkt, port, '127.0.0.1');
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
  }
  // TCP garbage too: random frames and a truncated length prefix.
  for (let i = 0; i < 50; i++) {
    await new Promise<void>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        const body = Buffer.alloc(Math.floor(rnd() * 60));
        for (let j = 0; j < body.length; j++) body[j] = Math.floor(rnd() * 256);
        const h = Buffer.alloc(2);
        h.writeUInt16BE(rnd() < 0.5 ? body.length : 0xffff);
        c.end(Buffer.concat([h, body]));
      });
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      setTimeout(() => (c.destroy(), resolve()), 200);
    });
  }
  await poll(() => replies > 100, { timeoutMs: 5000, what: () => `some replies (got ${replies})` });
  sock.close();
  const r = await dig(port, 'a.example');
  assert.equal(r.status, 'NOERROR');
  assert.deepEqual(r.answers.map((x) => x.data).sort(), ['10.0.0.1', '10.0.0.2']);
  const f = await dig(port, 'fwd.example', 'A', ['+tcp']);
  assert.equal(f.status, 'NOERROR');
  assert.ok(await sendRaw(port, encodeMessage(makeQuery('a.example', TYPE.A))));
});
