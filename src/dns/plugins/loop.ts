// loop: at start, sends "<random>.<random>.<zone>" HINFO to this server; if the
// query comes back through the chain more than twice, a forwarding loop exists
// (e.g. forward to a resolv.conf naming ourselves) and the server stops with:
//   Loop (127.0.0.1:x -> :53) detected for zone ".", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO n.n."

import { directiveError } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { SHARED, dnsLog, type ServerControl } from '../server.js';
import { exchange } from './forward.js';
import { makeQuery } from '../wire.js';
import { RCODE, reply, type Plugin } from '../types.js';

export class LoopDetectedError extends Error {}

const HINFO = 13;

function randInt(): string {
  return String(Math.floor(Math.random() * 2 ** 53));
}

export interface LoopPlugin extends Plugin {
  /** The probe name this instance sends. */
  qname: string;
  seen(): number;
}

registerPlugin('loop', (d, ctx): LoopPlugin => {
  if (d.args.length) throw directiveError(d, 'loop: too many arguments');
  const zone = ctx.zones[0] ?? '.';
  const qname = `${randInt()}.${randInt()}.${zone === '.' ? '' : zone}`;
  let count = 0;
  let disabled = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  ctx.onShutdown(() => {
    stopped = true;
    if (timer) clearTimeout(timer);
  });
  return {
    name: 'loop',
    qname,
    seen: () => count,
    async start() {
      const control = ctx.shared.get(SHARED.server) as ServerControl | undefined;
      const host = !control || control.host === '0.0.0.0' ? '127.0.0.1' : control.host === '::' ? '::1' : control.host;
      let tries = 0;
      const attempt = async () => {
        if (stopped || disabled) return;
        try {
          await exchange({ host, port: ctx.port }, makeQuery(qname, HINFO), 'udp', 2000);
          disabled = true; // an answer came back: no loop
        } catch {
          // No answer in time (e.g. an unreachable upstream): not a loop. Start counting afresh, as CoreDNS does.
          count = 0;
          if (++tries < 30 && !stopped) {
            timer = setTimeout(attempt, 1000);
            timer.unref();
          } else disabled = true;
        }
      };
      void attempt();
    },
    handler: (next) => async (req) => {
      if (req.question.type !== HINFO) return next(req);
      if (disabled || req.question.name !== qname) return next(req);
      count++;
      if (count > 2) {
        const msg = `plugin/loop: Loop (${req.client.address}:${req.client.port} -> :${ctx.port}) detected for zone "${zone}", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${qname}"`;
        disabled = true;
        const fatal = ctx.shared.get(SHARED.fatal) as ((e: Error) => void) | undefined;
        if (fatal) fatal(new LoopDetectedError(msg));
        else dnsLog(ctx.shared, 'FATAL', msg);
        return reply(req, RCODE.SERVFAIL);
      }
      return next(req);
    },
  };
});
