// reload [INTERVAL] [JITTER]: when the server was started from a Corefile path,
// checks it every INTERVAL (+ random jitter) and applies a changed file with
// server.reload, logging as CoreDNS does:
//   [INFO] Reloading
//   [INFO] plugin/reload: Running configuration SHA512 = <hex>
//   [ERROR] Restart failed: <error>

import { readFile } from 'node:fs/promises';
import { directiveError, parseDuration } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { SHARED, corefileSha512, dnsLog, type ServerControl } from '../server.js';
import type { Plugin } from '../types.js';

/** One watcher per server, whichever block declares reload. */
const WATCHER = 'reload.watcher';

registerPlugin('reload', (d, ctx): Plugin => {
  if (d.args.length > 2) throw directiveError(d, 'reload: too many arguments');
  if (d.block.length) throw directiveError(d, `reload: unknown property '${d.block[0]![0]}'`);
  const interval = d.args[0] !== undefined ? parseDuration(d.args[0]) : 30_000;
  if (interval === undefined) throw directiveError(d, `reload: invalid interval '${d.args[0]}'`);
  if (interval < 2000) throw directiveError(d, 'reload: interval value must be greater or equal to 2 seconds');
  const jitter = d.args[1] !== undefined ? parseDuration(d.args[1]) : Math.min(15_000, interval / 2);
  if (jitter === undefined) throw directiveError(d, `reload: invalid jitter '${d.args[1]}'`);
  if (jitter < 1000) throw directiveError(d, 'reload: jitter value must be greater or equal to 1 second');
  if (jitter > interval / 2) throw directiveError(d, 'reload: jitter value must be smaller than half the interval');
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  ctx.onShutdown(() => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (ctx.shared.get(WATCHER) === token) ctx.shared.delete(WATCHER);
  });
  const token = {};
  return {
    name: 'reload',
    async start() {
      if (ctx.shared.has(WATCHER)) return;
      ctx.shared.set(WATCHER, token);
      const control = ctx.shared.get(SHARED.server) as ServerControl | undefined;
      if (!control) return;
      const running = corefileSha512(control.currentText());
      dnsLog(ctx.shared, 'INFO', `plugin/reload: Running configuration SHA512 = ${running}`);
      const path = control.corefilePath;
      if (!path) return;
      let lastSeen = running;
      const schedule = () => {
        if (stopped) return;
        timer = setTimeout(tick, interval + (Math.random() * 2 - 1) * jitter);
        timer.unref();
      };
      const tick = async () => {
        if (stopped) return;
        let text: string;
        try {
          text = await readFile(path, 'utf8');
        } catch (e) {
          dnsLog(ctx.shared, 'ERROR', `plugin/reload: ${(e as Error).message}`);
          return schedule();
        }
        if (stopped) return;
        const sha = corefileSha512(text);
        if (sha === lastSeen) return schedule();
        lastSeen = sha;
        dnsLog(ctx.shared, 'INFO', 'Reloading');
        try {
          // On success this plugin is shut down and the new configuration's reload takes over.
          await control.reload(text);
          dnsLog(ctx.shared, 'INFO', 'Reloading complete');
        } catch (e) {
          dnsLog(ctx.shared, 'ERROR', `Restart failed: ${(e as Error).message}`);
          schedule();
        }
      };
      schedule();
    },
    handler: (next) => next,
  };
});
