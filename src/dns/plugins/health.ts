// health [ADDRESS] { lameduck DURATION }: HTTP GET /health -> 200 "OK" on
// ADDRESS (default :8080). On final shutdown, lameduck keeps the whole server
// serving for DURATION first (so load balancers drain it).

import { directiveError, parseDuration } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { SHARED, dnsLog, serveHttp, type HttpHandle } from '../server.js';
import type { Plugin } from '../types.js';

export interface HealthPlugin extends Plugin {
  address(): { port: number };
}

registerPlugin('health', async (d, ctx): Promise<HealthPlugin> => {
  if (d.args.length > 1) throw directiveError(d, 'health: too many arguments');
  const addr = d.args[0] ?? ':8080';
  let lameduck = 0;
  for (const row of d.block) {
    if (row[0] === 'lameduck' && row.length === 2) {
      const ms = parseDuration(row[1]!);
      if (ms === undefined) throw directiveError(d, `health: unable to parse lameduck duration value: '${row[1]}'`);
      lameduck = ms;
    } else throw directiveError(d, `health: unknown property '${row[0]}'`);
  }
  const handle: HttpHandle = await serveHttp(ctx.shared, addr, 8080, '/health', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
  ctx.onShutdown(async () => {
    if (ctx.shared.get(SHARED.finalShutdown) && lameduck > 0) {
      dnsLog(ctx.shared, 'INFO', `plugin/health: Going into lameduck mode for ${lameduck / 1000}s`);
      await new Promise((r) => setTimeout(r, lameduck));
    }
    await handle.release();
  });
  return { name: 'health', address: () => ({ port: handle.port }), handler: (next) => next };
});
