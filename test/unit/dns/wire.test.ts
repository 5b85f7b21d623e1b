import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, makeQuery, DnsWireError, decodeHeader } from '../../../src/dns/wire.js';
import { CLASS, RCODE, TYPE, reply, type DnsMessage, type ResourceRecord } from '../../../src/dns/types.js';

const rr = (name: string, data: ResourceRecord['data'], ttl = 30): ResourceRecord => ({ name, type: data.type, class: CLASS.IN, ttl, data });

function sample(): DnsMessage {
  const q = makeQuery('www.Example.org', TYPE.A, { id: 4242, edns: { udpSize: 1232, version: 0, dnssecOk: true, options: [{ code: 10, data: Buffer.from('0102030405060708', 'hex') }] } });
  const r = reply(q);
  r.aa = true;
  r.ra = true;
  r.edns = q.edns;
  r.answers = [
    rr('www.example.org.', { type: 5, target: 'web.example.org.' }),
    rr('web.example.org.', { type: 1, address: '10.0.0.1' }),
    rr('web.example.org.', { type: 28, address: '2001:db8::1' }),
    rr('web.example.org.', { type: 28, address: '::' }),
    rr('web.example.org.', { type: 28, address: 'fe80::1:0:0:ffff:1' }),
    rr('_http._tcp.example.org.', { type: 33, priority: 1, weight: 2, port: 80, target: 'web.example.org.' }),
    rr('example.org.', { type: 16, texts: ['hello world', '', 'x'.repeat(200)] }),
    rr('4.3.2.1.in-addr.arpa.', { type: 12, target: 'host.example.org.' }),
    rr('example.org.', { type: 99, raw: Buffer.from([1, 2, 3]) }),
  ];
  r.authority = [
    rr('example.org.', { type: 2, target: 'ns1.example.org.' }),
    rr('example.org.', { type: 6, mname: 'ns1.example.org.', rname: 'hostmaster.example.org.', serial: 2024010101, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 }),
  ];
  r.additional = [rr('ns1.example.org.', { type: 1, address: '192.0.2.53' })];
  return r;
}

test('round-trips every supported record type with EDNS', () => {
  const m = sample();
  const wire = encodeMessage(m);
  const back = decodeMessage(wire);
  assert.deepEqual(back, m);
  assert.equal(back.questions[0]!.name, 'www.example.org.');
});

test('compresses names on encode', () => {
  const m = sample();
  const wire = encodeMessage(m);
  // "example.org" appears in many names; with compression it is spelled out once or twice at most.
  const occurrences = wire.toString('latin1').split('example').length - 1;
  assert.ok(occurrences <= 2, `expected compression, found ${occurrences} copies`);
  assert.ok(wire.length < 600, `size ${wire.length}`);
});

test('extended rcode goes through the OPT record', () => {
  const m = reply(makeQuery('a.', TYPE.A, { edns: { udpSize: 512, version: 0, dnssecOk: false, options: [] } }), 16);
  const back = decodeMessage(encodeMessage(m));
  assert.equal(back.rcode, 16);
});

test('truncation keeps what fits, sets TC and the OPT record', () => {
  const q = makeQuery('big.example.', TYPE.A, { edns: { udpSize: 512, version: 0, dnssecOk: false, options: [] } });
  const r = reply(q);
  for (let i = 0; i < 100; i++) r.answers.push(rr('big.example.', { type: 1, address: `10.0.${i >> 8}.${i & 255}` }));
  const full = encodeMessage(r);
  assert.ok(full.length > 512);
  const cut = encodeMessage(r, { maxSize: 512 });
  assert.ok(cut.length <= 512);
  const back = decodeMessage(cut);
  assert.equal(back.tc, true);
  assert.ok(back.answers.length > 10 && back.answers.length < 100);
  assert.ok(back.edns);
  // Records dropped only from additional: no TC.
  const r2 = reply(q);
  r2.answers = [rr('big.example.', { type: 1, address: '10.0.0.1' })];
  for (let i = 0; i < 100; i++) r2.additional.push(rr('big.example.', { type: 1, address: `10.1.0.${i}` }));
  const b2 = decodeMessage(encodeMessage(r2, { maxSize: 512 }));
  assert.equal(b2.tc, false);
  assert.equal(b2.answers.length, 1);
});

test('malformed input raises typed errors with the header when readable', () => {
  assert.throws(() => decodeMessage(Buffer.from([1, 2, 3])), (e: unknown) => e instanceof DnsWireError && e.kind === 'truncated' && !e.header);
  const wire = encodeMessage(sample());
  for (let n = 12; n < wire.length; n += 7) {
    assert.throws(() => decodeMessage(wire.subarray(0, n)), (e: unknown) => e instanceof DnsWireError && e.header?.id === 4242);
  }
  // A compression pointer to itself.
  const loop = Buffer.concat([Buffer.from('0001010000010000000000000', 'hex').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  loop.writeUInt16BE(1, 4);
  assert.throws(() => decodeMessage(loop), (e: unknown) => e instanceof DnsWireError && e.kind === 'pointer-loop');
  // Pointer forward (to itself via a later offset) is rejected too.
  const fwd = Buffer.alloc(20);
  fwd.writeUInt16BE(1, 4);
  fwd[12] = 0xc0;
  fwd[13] = 16;
  fwd[16] = 0xc0;
  fwd[17] = 12;
  assert.throws(() => decodeMessage(fwd), DnsWireError);
  // Bad A rdlength
  const m = reply(makeQuery('a.', TYPE.A));
  m.answers = [rr('a.', { type: 1, address: '1.2.3.4' })];
  const w = encodeMessage(m);
  const bad = Buffer.concat([w.subarray(0, w.length - 6), Buffer.from([0, 3, 1, 2, 3])]);
  assert.throws(() => decodeMessage(bad), DnsWireError);
  assert.deepEqual(decodeHeader(Buffer.alloc(11)), undefined);
});

test('escaped labels survive a round trip', () => {
  const m = reply(makeQuery('a.', TYPE.TXT));
  m.answers = [rr('we\\.ird\\032name.example.', { type: 16, texts: ['x'] })];
  const back = decodeMessage(encodeMessage(m));
  assert.equal(back.answers[0]!.name, 'we\\.ird\\032name.example.');
});

test('random bytes never throw anything but DnsWireError', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const base = encodeMessage(sample());
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(base);
    const flips = 1 + Math.floor(rnd() * 8);
    for (let j = 0; j < flips; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    try {
      const m = decodeMessage(b.subarray(0, Math.floor(rnd() * b.length) + 1));
      encodeMessage(m);
    } catch (e) {
      assert.ok(e instanceof DnsWireError, String(e));
    }
  }
  void RCODE;
});
