// ready [ADDRESS]: HTTP GET /ready on ADDRESS (default :8181) -> 200 "OK" once
// every plugin that can report readiness (Plugin.ready) has been ready, else
// 503 with the names of those that are not (like CoreDNS, a plugin that was
// ready once stays ready).

import { directiveError } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { SHARED, serveHttp, type HttpHandle } from '../server.js';
import type { Plugin } from '../types.js';

export interface ReadyPlugin extends Plugin {
  address(): { port: number };
}

registerPlugin('ready', async (d, ctx): Promise<ReadyPlugin> => {
  if (d.args.length > 1) throw directiveError(d, 'ready: too many arguments');
  if (d.block.length) throw directiveError(d, `ready: unknown property '${d.block[0]![0]}'`);
  const addr = d.args[0] ?? ':8181';
  const wasReady = new WeakSet<Plugin>();
  const handle: HttpHandle = await serveHttp(ctx.shared, addr, 8181, '/ready', (_req, res) => {
    const plugins = (ctx.shared.get(SHARED.plugins) as (() => Plugin[]) | undefined)?.() ?? [];
    const notReady = new Set<string>();
    for (const p of plugins) {
      if (!p.ready || wasReady.has(p)) continue;
      let ok = false;
      try {
        ok = p.ready();
      } catch {
        ok = false;
      }
      if (ok) wasReady.add(p);
      else notReady.add(p.name);
    }
    if (notReady.size === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    else res.writeHead(503, { 'content-type': 'text/plain' }).end([...notReady].sort().join(','));
  });
  ctx.onShutdown(() => handle.release());
  return { name: 'ready', address: () => ({ port: handle.port }), handler: (next) => next };
});
