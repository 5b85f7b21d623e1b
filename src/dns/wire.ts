// DNS wire format (RFC 1035, RFC 3596, RFC 2782, RFC 6891): decode a packet into
// the shared DnsMessage model and encode it back, with name compression on
// encode, pointer-loop and bounds checks on decode, and truncation (TC) to a
// size limit the way CoreDNS / miekg/dns does it.

import { isIP } from 'node:net';
import { CLASS, RCODE, TYPE, type DnsMessage, type Edns, type RData, type ResourceRecord } from './types.js';

export { reply } from './types.js';

export type WireErrorKind = 'truncated' | 'pointer-loop' | 'bad-label' | 'bad-rdata' | 'bad-name' | 'bad-opt' | 'too-large';

/** The header fields readable from a malformed packet (enough to answer FORMERR). */
export interface WireHeader {
  id: number;
  qr: boolean;
  opcode: number;
  rd: boolean;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export class DnsWireError extends Error {
  constructor(
    readonly kind: WireErrorKind,
    message: string,
    /** Set when the 12-byte header could be read. */
    readonly header?: WireHeader,
  ) {
    super(message);
    this.name = 'DnsWireError';
  }
}

/** Reads the fixed header, or undefined when the packet is shorter than 12 bytes. */
export function decodeHeader(buf: Buffer): WireHeader | undefined {
  if (buf.length < 12) return undefined;
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

// ---------------------------------------------------------------- names

/** Presentation form of one label: '.' and '\' escaped, non-printable bytes as \DDD. */
function labelToString(buf: Buffer, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  return s;
}

/** Splits a presentation-form name into raw labels (handles \. and \DDD escapes). */
export function nameToLabels(name: string): Buffer[] {
  if (name === '.' || name === '') return [];
  if (!name.includes('\\')) {
    // Fast path (no escapes): split on dots.
    const parts = name.split('.');
    if (parts[parts.length - 1] === '') parts.pop();
    const out: Buffer[] = new Array(parts.length);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p === '') throw new DnsWireError('bad-name', `empty label in name "${name}"`);
      const b = Buffer.from(p, 'utf8');
      if (b.length > 63) throw new DnsWireError('bad-label', `label longer than 63 bytes in "${name}"`);
      out[i] = b;
    }
    return out;
  }
  const labels: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (ch === '\\' && i + 1 < name.length) {
      const d = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        cur.push(Number(d) & 0xff);
        i += 3;
      } else {
        cur.push(name.charCodeAt(i + 1) & 0xff);
        i += 1;
      }
    } else if (ch === '.') {
      if (cur.length === 0) throw new DnsWireError('bad-name', `empty label in name "${name}"`);
      labels.push(Buffer.from(cur));
      cur = [];
    } else {
      const b = Buffer.from(ch, 'utf8');
      for (const x of b) cur.push(x);
    }
  }
  if (cur.length) labels.push(Buffer.from(cur));
  for (const l of labels) if (l.length > 63) throw new DnsWireError('bad-label', `label longer than 63 bytes in "${name}"`);
  return labels;
}

/** Lower-cases and makes a name fully qualified ("Example.ORG" -> "example.org."). */
export function fqdn(name: string): string {
  const n = name.toLowerCase();
  if (n === '' || n === '.') return '.';
  return n.endsWith('.') && !n.endsWith('\\.') ? n : n + '.';
}

/** True when `name` equals `zone` or sits below it (both fully qualified, lower-case). */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.') return true;
  return name === zone || name.endsWith('.' + zone);
}

class Reader {
  off = 0;
  constructor(
    readonly buf: Buffer,
    readonly header: WireHeader | undefined,
  ) {}
  fail(kind: WireErrorKind, msg: string): never {
    throw new DnsWireError(kind, msg, this.header);
  }
  need(n: number): void {
    if (this.off + n > this.buf.length) this.fail('truncated', `packet truncated at offset ${this.off} (need ${n} more bytes)`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  /** Reads a (possibly compressed) name at the cursor; pointers must point backwards and never loop. */
  name(): string {
    const parts: string[] = [];
    let pos = this.off;
    let jumped = false;
    let wireLen = 1;
    let hops = 0;
    for (;;) {
      if (pos >= this.buf.length) this.fail('truncated', `name runs past end of packet at offset ${pos}`);
      const len = this.buf[pos]!;
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) this.fail('truncated', 'truncated compression pointer');
        const ptr = ((len & 0x3f) << 8) | this.buf[pos + 1]!;
        if (!jumped) this.off = pos + 2;
        if (ptr >= pos || ++hops > 126) this.fail('pointer-loop', `compression pointer loop at offset ${pos}`);
        jumped = true;
        pos = ptr;
        continue;
      }
      if ((len & 0xc0) !== 0) this.fail('bad-label', `unsupported label type 0x${len.toString(16)} at offset ${pos}`);
      if (len === 0) {
        if (!jumped) this.off = pos + 1;
        break;
      }
      if (pos + 1 + len > this.buf.length) this.fail('truncated', `label runs past end of packet at offset ${pos}`);
      wireLen += len + 1;
      if (wireLen > 255) this.fail('bad-name', 'name longer than 255 bytes');
      parts.push(labelToString(this.buf, pos + 1, len));
      pos += 1 + len;
    }
    return parts.length ? parts.join('.') + '.' : '.';
  }
}

// ---------------------------------------------------------------- decode

function ipv6ToString(b: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i));
  // Longest run of zeros (length >= 2) becomes "::" (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

function ipv6ToBuffer(addr: string): Buffer {
  let a = addr;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    const w1 = (tail[0]! << 8) | tail[1]!;
    const w2 = (tail[2]! << 8) | tail[3]!;
    a = a.slice(0, -v4[1]!.length) + w1.toString(16) + ':' + w2.toString(16);
  }
  const [head, rest] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined ? (rest ? rest.split(':') : []) : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const words = [...h, ...Array(Math.max(0, fill)).fill('0'), ...r];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(words[i] ?? '0', 16) & 0xffff, i * 2);
  return out;
}

function decodeRData(r: Reader, type: number, rdlen: number): RData {
  const end = r.off + rdlen;
  r.need(rdlen);
  const check = (d: RData): RData => {
    if (r.off !== end) r.fail('bad-rdata', `rdata of type ${type} has length ${rdlen} but ${r.off - (end - rdlen)} bytes were used`);
    return d;
  };
  switch (type) {
    case TYPE.A: {
      if (rdlen !== 4) r.fail('bad-rdata', `A record with rdlength ${rdlen}`);
      const b = r.bytes(4);
      return { type: 1, address: `${b[0]}.${b[1]}.${b[2]}.${b[3]}` };
    }
    case TYPE.AAAA: {
      if (rdlen !== 16) r.fail('bad-rdata', `AAAA record with rdlength ${rdlen}`);
      return { type: 28, address: ipv6ToString(r.bytes(16)) };
    }
    case TYPE.CNAME:
    case TYPE.NS:
    case TYPE.PTR:
      return check({ type, target: r.name() } as RData);
    case TYPE.SRV: {
      const priority = r.u16();
      const weight = r.u16();
      const port = r.u16();
      return check({ type: 33, priority, weight, port, target: r.name() });
    }
    case TYPE.TXT: {
      const texts: string[] = [];
      while (r.off < end) {
        const l = r.u8();
        if (r.off + l > end) r.fail('bad-rdata', 'TXT string runs past rdata');
        texts.push(r.bytes(l).toString('utf8'));
      }
      return check({ type: 16, texts });
    }
    case TYPE.SOA: {
      const mname = r.name();
      const rname = r.name();
      if (r.off + 20 > end) r.fail('bad-rdata', 'SOA rdata too short');
      return check({ type: 6, mname, rname, serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() });
    }
    default:
      return { type, raw: Buffer.from(r.bytes(rdlen)) };
  }
}

/** Decodes a DNS message; throws DnsWireError (with .header when readable) on malformed input. */
export function decodeMessage(buf: Buffer): DnsMessage {
  const header = decodeHeader(buf);
  if (!header) throw new DnsWireError('truncated', `packet of ${buf.length} bytes is shorter than a DNS header`);
  const r = new Reader(buf, header);
  r.off = 12;
  const flags = buf.readUInt16BE(2);
  const msg: DnsMessage = {
    id: header.id,
    qr: header.qr,
    opcode: header.opcode,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: header.rd,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
  for (let i = 0; i < header.qdcount; i++) {
    const name = r.name().toLowerCase();
    msg.questions.push({ name, type: r.u16(), class: r.u16() });
  }
  const rr = (): ResourceRecord | { opt: Edns; extRcode: number } => {
    const name = r.name();
    const type = r.u16();
    const klass = r.u16();
    const ttl = r.u32();
    const rdlen = r.u16();
    if (type === TYPE.OPT) {
      if (name !== '.') r.fail('bad-opt', 'OPT record with a non-root owner name');
      const end = r.off + rdlen;
      r.need(rdlen);
      const options: Edns['options'] = [];
      while (r.off < end) {
        if (r.off + 4 > end) r.fail('bad-opt', 'truncated EDNS option');
        const code = r.u16();
        const len = r.u16();
        if (r.off + len > end) r.fail('bad-opt', 'EDNS option runs past rdata');
        options.push({ code, data: Buffer.from(r.bytes(len)) });
      }
      return { opt: { udpSize: klass, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0, options }, extRcode: ttl >>> 24 };
    }
    return { name, type, class: klass, ttl, data: decodeRData(r, type, rdlen) };
  };
  for (let i = 0; i < header.ancount; i++) {
    const x = rr();
    if ('opt' in x) r.fail('bad-opt', 'OPT record outside the additional section');
    msg.answers.push(x as ResourceRecord);
  }
  for (let i = 0; i < header.nscount; i++) {
    const x = rr();
    if ('opt' in x) r.fail('bad-opt', 'OPT record outside the additional section');
    msg.authority.push(x as ResourceRecord);
  }
  for (let i = 0; i < header.arcount; i++) {
    const x = rr();
    if ('opt' in x) {
      if (msg.edns) r.fail('bad-opt', 'more than one OPT record');
      msg.edns = x.opt;
      msg.rcode |= x.extRcode << 4;
    } else msg.additional.push(x);
  }
  return msg;
}

// ---------------------------------------------------------------- encode

class Writer {
  buf = Buffer.alloc(512);
  len = 0;
  names = new Map<string, number>();
  /** Names added since the journal was reset (to undo a record that did not fit). */
  journal: string[] = [];
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.alloc(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
  name(name: string, compress = true): void {
    const labels = nameToLabels(name);
    let total = 1;
    for (const l of labels) total += l.length + 1;
    if (total > 255) throw new DnsWireError('bad-name', `name longer than 255 bytes: ${name.slice(0, 40)}...`);
    // Compression keys of every suffix (labels i.. joined by NUL, lower-cased), built from the end.
    const keys: string[] = new Array(labels.length);
    for (let i = labels.length - 1; i >= 0; i--) {
      const l = labels[i]!.toString('latin1').toLowerCase();
      keys[i] = i === labels.length - 1 ? l : `${l}\u0000${keys[i + 1]}`;
    }
    for (let i = 0; i < labels.length; i++) {
      const key = keys[i]!;
      const ptr = compress ? this.names.get(key) : undefined;
      if (ptr !== undefined) {
        this.u16(0xc000 | ptr);
        return;
      }
      if (this.len < 0x3fff) {
        this.names.set(key, this.len);
        this.journal.push(key);
      }
      this.u8(labels[i]!.length);
      this.bytes(labels[i]!);
    }
    this.u8(0);
  }
}

function encodeRData(w: Writer, rr: ResourceRecord): void {
  const lenAt = w.len;
  w.u16(0);
  const d = rr.data as RData & Record<string, unknown>;
  if ('raw' in d && Buffer.isBuffer(d.raw)) {
    w.bytes(d.raw);
  } else
    switch (d.type) {
      case TYPE.A: {
        const a = (d as { address: string }).address;
        if (isIP(a) !== 4) throw new DnsWireError('bad-rdata', `bad A address "${a}"`);
        for (const o of a.split('.')) w.u8(Number(o));
        break;
      }
      case TYPE.AAAA: {
        const a = (d as { address: string }).address;
        if (isIP(a) !== 6) throw new DnsWireError('bad-rdata', `bad AAAA address "${a}"`);
        w.bytes(ipv6ToBuffer(a));
        break;
      }
      case TYPE.CNAME:
      case TYPE.NS:
      case TYPE.PTR:
        w.name((d as { target: string }).target);
        break;
      case TYPE.SRV: {
        const s = d as { priority: number; weight: number; port: number; target: string };
        w.u16(s.priority);
        w.u16(s.weight);
        w.u16(s.port);
        w.name(s.target, false); // RFC 2782: no compression of the target
        break;
      }
      case TYPE.TXT: {
        const texts = (d as { texts: string[] }).texts;
        for (const t of texts.length ? texts : ['']) {
          let b = Buffer.from(t, 'utf8');
          // Long strings are split into 255-byte character-strings.
          do {
            const part = b.subarray(0, 255);
            w.u8(part.length);
            w.bytes(part);
            b = b.subarray(255);
          } while (b.length);
        }
        break;
      }
      case TYPE.SOA: {
        const s = d as Extract<RData, { type: 6 }>;
        w.name(s.mname);
        w.name(s.rname);
        w.u32(s.serial);
        w.u32(s.refresh);
        w.u32(s.retry);
        w.u32(s.expire);
        w.u32(s.minimum);
        break;
      }
      default:
        throw new DnsWireError('bad-rdata', `cannot encode record of type ${d.type} without raw data`);
    }
  const rdlen = w.len - lenAt - 2;
  if (rdlen > 0xffff) throw new DnsWireError('too-large', 'rdata longer than 65535 bytes');
  w.buf.writeUInt16BE(rdlen, lenAt);
}

function encodeRR(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(Math.max(0, Math.floor(rr.ttl)));
  encodeRData(w, rr);
}

function encodeOpt(w: Writer, edns: Edns, rcode: number): void {
  w.u8(0); // root name
  w.u16(TYPE.OPT);
  w.u16(edns.udpSize);
  w.u32((((rcode >> 4) & 0xff) << 24) | ((edns.version & 0xff) << 16) | (edns.dnssecOk ? 0x8000 : 0));
  let len = 0;
  for (const o of edns.options) len += 4 + o.data.length;
  w.u16(len);
  for (const o of edns.options) {
    w.u16(o.code);
    w.u16(o.data.length);
    w.bytes(o.data);
  }
}

export interface EncodeOptions {
  /** Maximum packet size; records are dropped and TC set when the message does not fit. */
  maxSize?: number;
}

function writeHeader(w: Writer, msg: DnsMessage, counts: [number, number, number, number], tc: boolean): void {
  w.u16(msg.id);
  let flags = 0;
  if (msg.qr) flags |= 0x8000;
  flags |= (msg.opcode & 0xf) << 11;
  if (msg.aa) flags |= 0x0400;
  if (tc) flags |= 0x0200;
  if (msg.rd) flags |= 0x0100;
  if (msg.ra) flags |= 0x0080;
  if (msg.ad) flags |= 0x0020;
  if (msg.cd) flags |= 0x0010;
  flags |= msg.rcode & 0xf;
  w.u16(flags);
  for (const c of counts) w.u16(c);
}

/**
 * Encodes a message. With maxSize, fills answer, then authority, then additional
 * records while they fit (the OPT record is always kept); when answer or
 * authority records had to be dropped TC is set, as miekg/dns's Msg.Truncate does.
 */
export function encodeMessage(msg: DnsMessage, opts: EncodeOptions = {}): Buffer {
  const max = opts.maxSize ?? 65535;
  const w = new Writer();
  writeHeader(w, msg, [0, 0, 0, 0], msg.tc);
  for (const q of msg.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  // Reserve room for OPT.
  let optLen = 0;
  if (msg.edns) {
    optLen = 11;
    for (const o of msg.edns.options) optLen += 4 + o.data.length;
  }
  const sections = [msg.answers, msg.authority, msg.additional];
  const counts: [number, number, number, number] = [msg.questions.length, 0, 0, 0];
  let truncated = false;
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      const mark = w.len;
      w.journal = [];
      encodeRR(w, rr);
      if (w.len + optLen > max) {
        w.len = mark;
        for (const k of w.journal) w.names.delete(k);
        if (s < 2) truncated = true;
        break outer;
      }
      counts[s + 1]!++;
    }
  }
  if (msg.edns) {
    encodeOpt(w, msg.edns, msg.rcode);
    counts[3]++;
  }
  const out = Buffer.from(w.buf.subarray(0, w.len));
  const hw = new Writer();
  writeHeader(hw, msg, counts, msg.tc || truncated);
  hw.buf.copy(out, 0, 0, 12);
  return out;
}

/** A query message, for clients (forward, loop, tests). */
export function makeQuery(name: string, type: number, opts: { id?: number; rd?: boolean; edns?: Edns; klass?: number } = {}): DnsMessage {
  return {
    id: opts.id ?? Math.floor(Math.random() * 0x10000),
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: opts.rd ?? true,
    ra: false,
    ad: false,
    cd: false,
    rcode: RCODE.NOERROR,
    questions: [{ name: fqdn(name), type, class: opts.klass ?? CLASS.IN }],
    answers: [],
    authority: [],
    additional: [],
    edns: opts.edns,
  };
}

const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR',
  41: 'OPT', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};
const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE', 16: 'BADVERS',
};
const CLASS_NAMES: Record<number, string> = { 1: 'IN', 3: 'CH', 4: 'HS', 254: 'NONE', 255: 'ANY' };

export const typeName = (t: number): string => TYPE_NAMES[t] ?? `TYPE${t}`;
export const rcodeName = (r: number): string => RCODE_NAMES[r] ?? `RCODE${r}`;
export const className = (c: number): string => CLASS_NAMES[c] ?? `CLASS${c}`;
