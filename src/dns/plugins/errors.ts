// errors: logs errors raised further down the chain and answers SERVFAIL,
// like CoreDNS ("[ERROR] plugin/errors: 2 example.org. A: <error>").

import { directiveError } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { dnsLog } from '../server.js';
import { typeName } from '../wire.js';
import { RCODE, reply, type Plugin } from '../types.js';

registerPlugin('errors', (d, ctx): Plugin => {
  if (d.args.length > 1) throw directiveError(d, 'errors: too many arguments');
  if (d.args[0] && d.args[0] !== 'stdout') throw directiveError(d, `errors: unknown argument '${d.args[0]}'`);
  const consolidate: Array<{ ms: number; re: RegExp; count: number; timer?: NodeJS.Timeout }> = [];
  for (const row of d.block) {
    if (row[0] !== 'consolidate' || row.length < 3) throw directiveError(d, `errors: unknown property '${row.join(' ')}'`);
    const ms = /^(\d+)(ms|s|m)$/.exec(row[1]!);
    if (!ms) throw directiveError(d, `errors: invalid duration '${row[1]}'`);
    consolidate.push({ ms: Number(ms[1]) * (ms[2] === 'ms' ? 1 : ms[2] === 's' ? 1000 : 60000), re: new RegExp(row[2]!), count: 0 });
  }
  ctx.onShutdown(() => consolidate.forEach((c) => c.timer && clearTimeout(c.timer)));
  const report = (line: string) => {
    for (const c of consolidate) {
      if (!c.re.test(line)) continue;
      if (c.count++ === 0) {
        c.timer = setTimeout(() => {
          dnsLog(ctx.shared, 'ERROR', `${c.count} errors like '${c.re.source}' occurred in last ${c.ms / 1000}s`);
          c.count = 0;
        }, c.ms);
        c.timer.unref();
      }
      return;
    }
    dnsLog(ctx.shared, 'ERROR', line);
  };
  return {
    name: 'errors',
    handler: (next) => async (req) => {
      try {
        return await next(req);
      } catch (e) {
        report(`plugin/errors: ${RCODE.SERVFAIL} ${req.question.name} ${typeName(req.question.type)}: ${(e as Error).message ?? e}`);
        return reply(req, RCODE.SERVFAIL);
      }
    },
  };
});
