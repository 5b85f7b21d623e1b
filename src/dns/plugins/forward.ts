// forward FROM TO... { except NAMES...; force_tcp; prefer_udp; max_fails N;
//   expire DURATION; health_check DURATION [no_rec] [domain NAME]; policy random|round_robin|sequential;
//   max_concurrent MAX; timeout DURATION }
// Proxies queries under FROM to upstreams (UDP, TCP retry on TC). TO may be an
// address ("1.2.3.4", "1.2.3.4:5353", "[::1]:53", "dns://1.2.3.4") or a
// resolv.conf-style file whose nameserver lines are used.

import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { directiveError, normalizeZone, parseDuration } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { decodeMessage, encodeMessage, isSubdomain, makeQuery, rcodeName } from '../wire.js';
import { metricsOf } from './prometheus.js';
import { RCODE, TYPE, reply, type DnsMessage, type Plugin } from '../types.js';

export interface Upstream {
  host: string;
  port: number;
  fails: number;
  probing?: NodeJS.Timeout;
}

/** Parses "1.2.3.4", "1.2.3.4:53", "[::1]:53", "dns://1.2.3.4:53"; undefined if not an address. */
export function parseUpstream(s: string): { host: string; port: number } | undefined {
  let x = s.replace(/^dns:\/\//, '');
  let port = 53;
  const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(x);
  if (b) {
    if (!net.isIPv6(b[1]!)) return undefined;
    return { host: b[1]!, port: b[2] ? Number(b[2]) : 53 };
  }
  if (net.isIPv6(x)) return { host: x, port };
  const m = /^(.*):(\d+)$/.exec(x);
  if (m) {
    x = m[1]!;
    port = Number(m[2]);
  }
  if (!net.isIPv4(x) || port < 1 || port > 65535) return undefined;
  return { host: x, port };
}

/** nameserver lines of a resolv.conf-style file. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1]!.replace(/%.*$/, ''));
  }
  return out;
}

/** One exchange with an upstream over UDP or TCP; rejects on timeout or error. */
export function exchange(up: { host: string; port: number }, msg: DnsMessage, proto: 'udp' | 'tcp', timeoutMs: number): Promise<DnsMessage> {
  const q = { ...msg, id: Math.floor(Math.random() * 0x10000) };
  const wire = encodeMessage(q);
  const check = (r: DnsMessage) => {
    if (r.id !== q.id || !r.qr) return false;
    const a = r.questions[0];
    const b = q.questions[0];
    if (b && a && (a.name !== b.name || a.type !== b.type)) return false;
    return true;
  };
  return new Promise<DnsMessage>((resolve, reject) => {
    let done = false;
    let cleanup = () => {};
    const finish = (err: Error | undefined, r?: DnsMessage) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cleanup();
      if (err) reject(err);
      else resolve({ ...r!, id: msg.id });
    };
    const timer = setTimeout(() => finish(new Error(`read ${proto} ${up.host}:${up.port}: i/o timeout`)), timeoutMs);
    if (proto === 'udp') {
      const sock = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
      cleanup = () => {
        try {
          sock.close();
        } catch {
          /* closed */
        }
      };
      sock.on('error', (e) => finish(e));
      sock.on('message', (data, rinfo) => {
        if (rinfo.port !== up.port) return;
        try {
          const r = decodeMessage(data);
          if (check(r)) finish(undefined, r);
        } catch {
          /* ignore garbage */
        }
      });
      sock.send(wire, up.port, up.host, (e) => e && finish(e));
    } else {
      const sock = net.connect({ host: up.host, port: up.port });
      cleanup = () => sock.destroy();
      let buf = Buffer.alloc(0);
      sock.on('error', (e) => finish(e));
      sock.on('close', () => finish(new Error(`tcp ${up.host}:${up.port}: connection closed`)));
      sock.on('connect', () => {
        const hdr = Buffer.alloc(2);
        hdr.writeUInt16BE(wire.length);
        sock.write(Buffer.concat([hdr, wire]));
      });
      sock.on('data', (c) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const frame = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + frame.length);
          try {
            const r = decodeMessage(frame);
            if (check(r)) return finish(undefined, r);
          } catch (e) {
            return finish(e as Error);
          }
        }
      });
    }
  });
}

export interface ForwardPlugin extends Plugin {
  upstreams: Upstream[];
  /** Upstreams currently considered healthy. */
  healthy(): Upstream[];
}

registerPlugin('forward', (d, ctx): ForwardPlugin => {
  if (d.args.length < 2) throw directiveError(d, 'forward: Wrong argument count or unexpected line ending after \'' + (d.args[0] ?? 'forward') + "'");
  const from = normalizeZone(d.args[0]!);
  if (!from) throw directiveError(d, `forward: invalid zone '${d.args[0]}'`);
  const upstreams: Upstream[] = [];
  for (const to of d.args.slice(1)) {
    const u = parseUpstream(to);
    if (u) {
      upstreams.push({ ...u, fails: 0 });
      continue;
    }
    if (to.startsWith('/') || to.startsWith('.')) {
      let text: string;
      try {
        text = readFileSync(to, 'utf8');
      } catch (e) {
        throw directiveError(d, `forward: ${(e as Error).message}`);
      }
      for (const ns of parseResolvConf(text)) {
        const v = parseUpstream(ns);
        if (v) upstreams.push({ ...v, fails: 0 });
      }
      continue;
    }
    throw directiveError(d, `forward: not an IP address or file: "${to}"`);
  }
  if (upstreams.length === 0) throw directiveError(d, 'forward: no nameservers found');
  if (upstreams.length > 15) throw directiveError(d, 'forward: more than 15 TOs configured: ' + upstreams.length);
  let except: string[] = [];
  let forceTcp = false;
  let preferUdp = false;
  let maxFails = 2;
  let healthMs = 500;
  let healthRd = true;
  let healthDomain = '.';
  let policy: 'random' | 'round_robin' | 'sequential' = 'random';
  let maxConcurrent = 0;
  let timeoutMs = 2000;
  for (const row of d.block) {
    const [k, ...a] = row;
    const dur = (s: string | undefined) => {
      const ms = s === undefined ? undefined : parseDuration(s);
      if (ms === undefined) throw directiveError(d, `forward: invalid duration '${s}' for ${k}`);
      return ms;
    };
    switch (k) {
      case 'except':
        if (!a.length) throw directiveError(d, 'forward: except needs names');
        except = except.concat(a.map((z) => normalizeZone(z) ?? z));
        break;
      case 'force_tcp':
        forceTcp = true;
        break;
      case 'prefer_udp':
        preferUdp = true;
        break;
      case 'max_fails': {
        const n = Number(a[0]);
        if (!Number.isInteger(n) || n < 0) throw directiveError(d, `forward: max_fails can't be negative: ${a[0]}`);
        maxFails = n;
        break;
      }
      case 'health_check':
        healthMs = dur(a[0]);
        for (let i = 1; i < a.length; i++) {
          if (a[i] === 'no_rec') healthRd = false;
          else if (a[i] === 'domain' && a[i + 1]) healthDomain = normalizeZone(a[++i]!) ?? '.';
          else throw directiveError(d, `forward: health_check: unknown option ${a[i]}`);
        }
        break;
      case 'expire':
        dur(a[0]);
        break;
      case 'timeout':
        timeoutMs = dur(a[0]);
        break;
      case 'policy':
        if (a[0] !== 'random' && a[0] !== 'round_robin' && a[0] !== 'sequential') throw directiveError(d, `forward: unknown policy '${a[0]}'`);
        policy = a[0];
        break;
      case 'max_concurrent': {
        const n = Number(a[0]);
        if (!Number.isInteger(n) || n < 0) throw directiveError(d, `forward: max_concurrent can't be negative: ${a[0]}`);
        maxConcurrent = n;
        break;
      }
      case 'tls':
      case 'tls_servername':
        throw directiveError(d, `forward: ${k} is not supported by k8ts`);
      default:
        throw directiveError(d, `forward: unknown property '${k}'`);
    }
  }
  if (forceTcp && preferUdp) throw directiveError(d, 'forward: both force_tcp and prefer_udp specified');

  const reg = metricsOf(ctx.shared);
  const mRequests = reg.counter('coredns_forward_requests_total', 'Counter of requests made per upstream.');
  const mResponses = reg.counter('coredns_forward_responses_total', 'Counter of responses received per upstream.');
  const mHealthFails = reg.counter('coredns_forward_healthcheck_failures_total', 'Counter of the number of failed healthchecks.');
  const mBroken = reg.counter('coredns_forward_healthcheck_broken_total', 'Counter of the number of complete failures of the healthchecks.');
  const mMaxConc = reg.counter('coredns_forward_max_concurrent_rejects_total', 'Counter of the number of queries rejected because the concurrent queries were at maximum.');

  let rr = 0;
  let inflight = 0;
  let stopped = false;
  const down = (u: Upstream) => maxFails > 0 && u.fails >= maxFails;

  const probe = (u: Upstream) => {
    if (u.probing || stopped || healthMs <= 0) return;
    const tick = async () => {
      if (stopped) return;
      try {
        await exchange(u, makeQuery(healthDomain, TYPE.NS, { rd: healthRd }), forceTcp ? 'tcp' : 'udp', Math.min(timeoutMs, 1000));
        u.fails = 0;
        u.probing = undefined;
        return;
      } catch {
        mHealthFails.inc({ to: `${u.host}:${u.port}` });
        u.fails++;
      }
      if (!stopped) {
        u.probing = setTimeout(tick, healthMs);
        u.probing.unref();
      }
    };
    u.probing = setTimeout(tick, 0);
    u.probing.unref();
  };

  const ordered = (): Upstream[] => {
    const list = [...upstreams];
    if (policy === 'random') {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
    } else if (policy === 'round_robin') {
      const k = rr++ % list.length;
      return [...list.slice(k), ...list.slice(0, k)];
    }
    return list;
  };

  ctx.onShutdown(() => {
    stopped = true;
    for (const u of upstreams) if (u.probing) clearTimeout(u.probing);
  });

  return {
    name: 'forward',
    upstreams,
    healthy: () => upstreams.filter((u) => !down(u)),
    handler: (next) => async (req) => {
      const q = req.question;
      if (!isSubdomain(q.name, from) || except.some((z) => isSubdomain(q.name, z))) return next(req);
      if (maxConcurrent > 0 && inflight >= maxConcurrent) {
        mMaxConc.inc();
        return reply(req, RCODE.REFUSED);
      }
      inflight++;
      try {
        const candidates = ordered().filter((u) => !down(u));
        if (candidates.length === 0) {
          mBroken.inc();
          throw new Error('no healthy upstream (all upstreams are down)');
        }
        const deadline = Date.now() + Math.max(timeoutMs, 5000);
        let lastErr: Error | undefined;
        for (const u of candidates) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          const to = `${u.host}:${u.port}`;
          try {
            mRequests.inc({ to });
            const proto = forceTcp || (req.client.protocol === 'tcp' && !preferUdp) ? 'tcp' : 'udp';
            let resp = await exchange(u, req.msg, proto, Math.min(timeoutMs, left));
            if (resp.tc && proto === 'udp' && !preferUdp) resp = await exchange(u, req.msg, 'tcp', Math.max(1, Math.min(timeoutMs, deadline - Date.now())));
            u.fails = 0;
            mResponses.inc({ to, rcode: rcodeName(resp.rcode), proxy_name: 'forward' });
            return resp;
          } catch (e) {
            lastErr = e as Error;
            u.fails++;
            if (down(u)) probe(u);
          }
        }
        throw lastErr ?? new Error('no upstream answered');
      } finally {
        inflight--;
      }
    },
  };
});
