// log [NAMES...] [FORMAT]: one line per query in CoreDNS's common log format:
//   [INFO] 127.0.0.1:5353 - 1234 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 71 0.000123s

import { registerPlugin } from '../registry.js';
import { dnsLog, requestInfo } from '../server.js';
import { className, encodeMessage, isSubdomain, rcodeName, typeName } from '../wire.js';
import { directiveError, normalizeZone } from '../corefile.js';
import type { DnsMessage, DnsRequest, Plugin } from '../types.js';

export const COMMON_FORMAT = '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}';
export const COMBINED_FORMAT = COMMON_FORMAT + ' "{>opcode}"';

function flags(m: DnsMessage): string {
  const f: string[] = [];
  if (m.qr) f.push('qr');
  if (m.aa) f.push('aa');
  if (m.tc) f.push('tc');
  if (m.rd) f.push('rd');
  if (m.ra) f.push('ra');
  if (m.ad) f.push('ad');
  if (m.cd) f.push('cd');
  return f.join(',');
}

export function formatLogLine(format: string, req: DnsRequest, resp: DnsMessage, seconds: number): string {
  const info = requestInfo(req);
  let rsize = 0;
  try {
    rsize = encodeMessage(resp, { maxSize: req.client.protocol === 'udp' ? Math.max(512, req.msg.edns?.udpSize ?? 512) : 65535 }).length;
  } catch {
    rsize = 0;
  }
  const v: Record<string, string> = {
    remote: req.client.address.includes(':') ? `[${req.client.address}]` : req.client.address,
    port: String(req.client.port),
    '>id': String(req.msg.id),
    type: typeName(req.question.type),
    class: className(req.question.class),
    name: req.question.name,
    proto: req.client.protocol,
    size: String(info?.size ?? 0),
    '>do': String(req.msg.edns?.dnssecOk ?? false),
    '>bufsize': String(req.client.protocol === 'udp' ? Math.max(512, req.msg.edns?.udpSize ?? 512) : 65535),
    rcode: rcodeName(resp.rcode),
    '>rflags': flags(resp),
    rsize: String(rsize),
    duration: `${seconds.toFixed(9).replace(/0+$/, '').replace(/\.$/, '')}s`,
    '>opcode': resp.opcode === 0 ? 'QUERY' : String(resp.opcode),
  };
  return format.replace(/\{(>?[a-z]+)\}/g, (m, k: string) => v[k] ?? m);
}

registerPlugin('log', (d, ctx): Plugin => {
  const names: string[] = [];
  let format = COMMON_FORMAT;
  for (const a of d.args) {
    if (a === '{common}') format = COMMON_FORMAT;
    else if (a === '{combined}') format = COMBINED_FORMAT;
    else if (a.includes('{')) format = a;
    else names.push(normalizeZone(a) ?? a);
  }
  if (!names.length) names.push('.');
  let classes = new Set(['all']);
  for (const row of d.block) {
    if (row[0] !== 'class' || row.length < 2) throw directiveError(d, `log: unknown property '${row.join(' ')}'`);
    classes = new Set(row.slice(1));
  }
  const want = (rcode: number) =>
    classes.has('all') || (classes.has('success') && (rcode === 0 || rcode === 3)) || (classes.has('denial') && rcode === 3) || (classes.has('error') && rcode !== 0 && rcode !== 3);
  return {
    name: 'log',
    handler: (next) => async (req) => {
      if (!names.some((n) => isSubdomain(req.question.name, n))) return next(req);
      const t0 = process.hrtime.bigint();
      const resp = await next(req);
      if (want(resp.rcode)) dnsLog(ctx.shared, 'INFO', formatLogLine(format, req, resp, Number(process.hrtime.bigint() - t0) / 1e9));
      return resp;
    },
  };
});
