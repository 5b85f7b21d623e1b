// hosts [FILE [ZONES...]] { [INLINE...] ttl SECONDS; no_reverse; reload DURATION; fallthrough [ZONES...] }
// Answers A/AAAA (and PTR unless no_reverse) from /etc/hosts-style entries,
// inline and/or from a file that is re-read when it changes.

import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { directiveError, normalizeZone, parseDuration } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { dnsLog } from '../server.js';
import { fqdn, isSubdomain } from '../wire.js';
import { CLASS, RCODE, TYPE, reply, type Plugin, type ResourceRecord } from '../types.js';

export interface HostsTable {
  /** name -> v4/v6 addresses */
  byName: Map<string, { v4: string[]; v6: string[] }>;
  /** reverse name ("4.3.2.1.in-addr.arpa.") -> names */
  byAddr: Map<string, string[]>;
}

/** The PTR owner name for an address ("1.2.3.4" -> "4.3.2.1.in-addr.arpa."). */
export function reverseName(addr: string): string | undefined {
  const v = isIP(addr);
  if (v === 4) return addr.split('.').reverse().join('.') + '.in-addr.arpa.';
  if (v === 6) {
    const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail ? tail.split(':') : [];
    const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const nibbles = words.map((w) => w.padStart(4, '0')).join('').toLowerCase();
    return nibbles.split('').reverse().join('.') + '.ip6.arpa.';
  }
  return undefined;
}

/** Parses /etc/hosts-style text: "IP name [aliases...]", '#' comments. */
export function parseHosts(text: string, into: HostsTable = { byName: new Map(), byAddr: new Map() }): HostsTable {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [addrRaw, ...names] = line.split(/\s+/);
    let addr = addrRaw!.replace(/%.*$/, '');
    const v = isIP(addr);
    if (!v || names.length === 0) continue;
    if (v === 6 && addr.toLowerCase().startsWith('::ffff:') && isIP(addr.slice(7)) === 4) addr = addr.slice(7);
    const fam = isIP(addr) === 4 ? 'v4' : 'v6';
    addr = addr.toLowerCase();
    for (const n of names) {
      const name = fqdn(n);
      let e = into.byName.get(name);
      if (!e) into.byName.set(name, (e = { v4: [], v6: [] }));
      if (!e[fam].includes(addr)) e[fam].push(addr);
    }
    const rev = reverseName(addr);
    if (rev) {
      const list = into.byAddr.get(rev) ?? [];
      for (const n of names) if (!list.includes(fqdn(n))) list.push(fqdn(n));
      into.byAddr.set(rev, list);
    }
  }
  return into;
}

export interface HostsPlugin extends Plugin {
  /** Re-reads the hosts file now (also done every `reload` interval). */
  reloadFile(): void;
}

registerPlugin('hosts', (d, ctx): HostsPlugin => {
  const file = d.args[0] ?? '/etc/hosts';
  let zones = ctx.zones;
  if (d.args.length > 1) {
    zones = d.args.slice(1).map((z) => {
      const n = normalizeZone(z);
      if (!n) throw directiveError(d, `hosts: invalid zone '${z}'`);
      return n;
    });
  }
  let ttl = 3600;
  let noReverse = false;
  let reloadMs = 5000;
  let fallthrough: string[] | undefined;
  const inline: string[] = [];
  for (const row of d.block) {
    const [k, ...a] = row;
    if (k === 'ttl') {
      const n = Number(a[0]);
      if (a.length !== 1 || !Number.isInteger(n) || n < 0 || n > 65535) throw directiveError(d, `hosts: ttl must be in range [0, 65535]: ${a[0]}`);
      ttl = n;
    } else if (k === 'no_reverse') noReverse = true;
    else if (k === 'reload') {
      const ms = a.length === 1 ? parseDuration(a[0]!) : undefined;
      if (ms === undefined) throw directiveError(d, `hosts: invalid duration for reload '${a[0]}'`);
      reloadMs = ms;
    } else if (k === 'fallthrough') fallthrough = a.length ? a.map((z) => normalizeZone(z) ?? z) : ['.'];
    else if (k && isIP(k.replace(/%.*$/, ''))) inline.push(row.join(' '));
    else throw directiveError(d, `hosts: unknown property '${k}'`);
  }
  const inlineTable = parseHosts(inline.join('\n'));
  let fileTable: HostsTable = { byName: new Map(), byAddr: new Map() };
  let lastMtime = -1;
  let lastSize = -1;
  const reloadFile = () => {
    try {
      const st = statSync(file);
      if (st.mtimeMs === lastMtime && st.size === lastSize) return;
      lastMtime = st.mtimeMs;
      lastSize = st.size;
      fileTable = parseHosts(readFileSync(file, 'utf8'));
    } catch (e) {
      if (lastMtime !== -2 && (d.args.length > 0 || inline.length === 0)) dnsLog(ctx.shared, 'WARNING', `plugin/hosts: File does not exist: ${file}`);
      lastMtime = -2;
      fileTable = { byName: new Map(), byAddr: new Map() };
      void e;
    }
  };
  // CoreDNS reads the file only if it is given or no inline entries exist.
  const useFile = d.args.length > 0 || inline.length === 0;
  if (useFile) reloadFile();
  let timer: NodeJS.Timeout | undefined;
  if (useFile && reloadMs > 0) {
    timer = setInterval(reloadFile, reloadMs);
    timer.unref();
  }
  ctx.onShutdown(() => timer && clearInterval(timer));

  const lookupName = (name: string) => {
    const a = inlineTable.byName.get(name);
    const b = fileTable.byName.get(name);
    if (!a && !b) return undefined;
    return { v4: [...(a?.v4 ?? []), ...(b?.v4 ?? []).filter((x) => !a?.v4.includes(x))], v6: [...(a?.v6 ?? []), ...(b?.v6 ?? []).filter((x) => !a?.v6.includes(x))] };
  };
  const lookupAddr = (rev: string) => {
    const a = inlineTable.byAddr.get(rev) ?? [];
    const b = fileTable.byAddr.get(rev) ?? [];
    return [...a, ...b.filter((x) => !a.includes(x))];
  };

  return {
    name: 'hosts',
    reloadFile,
    handler: (next) => async (req) => {
      const q = req.question;
      const zone = zones.find((z) => isSubdomain(q.name, z));
      if (!zone) return next(req);
      const answers: ResourceRecord[] = [];
      let exists = false;
      if (q.type === TYPE.PTR && !noReverse && (q.name.endsWith('.in-addr.arpa.') || q.name.endsWith('.ip6.arpa.'))) {
        const names = lookupAddr(q.name);
        exists = names.length > 0;
        for (const n of names) answers.push({ name: q.name, type: TYPE.PTR, class: CLASS.IN, ttl, data: { type: TYPE.PTR, target: n } });
      } else {
        const e = lookupName(q.name);
        if (e) {
          exists = true;
          if (q.type === TYPE.A) for (const a of e.v4) answers.push({ name: q.name, type: TYPE.A, class: CLASS.IN, ttl, data: { type: TYPE.A, address: a } });
          if (q.type === TYPE.AAAA) for (const a of e.v6) answers.push({ name: q.name, type: TYPE.AAAA, class: CLASS.IN, ttl, data: { type: TYPE.AAAA, address: a } });
        }
      }
      if (answers.length === 0 && !exists) {
        if (fallthrough && fallthrough.some((z) => isSubdomain(q.name, z))) return next(req);
        // As CoreDNS: without a SOA it cannot say NXDOMAIN, so SERVFAIL.
        return reply(req, RCODE.SERVFAIL);
      }
      const r = reply(req, RCODE.NOERROR);
      r.aa = true;
      r.answers = answers;
      return r;
    },
  };
});
