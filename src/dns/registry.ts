// Plugin registry: directive name -> setup, and the fixed execution order of
// CoreDNS's plugin.cfg (the order in the Corefile does not matter).

import { directiveError } from './corefile.js';
import type { Directive, PluginSetup } from './types.js';

/** CoreDNS's plugin.cfg order (plugins earlier in the list see requests first). */
export const PLUGIN_ORDER: readonly string[] = [
  'metadata', 'cancel', 'tls', 'reload', 'nsid', 'bufsize', 'root', 'bind', 'debug', 'trace', 'ready', 'health', 'pprof',
  'prometheus', 'errors', 'log', 'dnstap', 'acl', 'any', 'chaos', 'loadbalance', 'cache', 'rewrite', 'dnssec', 'autopath',
  'template', 'transfer', 'hosts', 'route53', 'azure', 'clouddns', 'federation', 'k8s_external', 'kubernetes', 'file', 'auto',
  'secondary', 'etcd', 'loop', 'forward', 'grpc', 'erratic', 'whoami', 'on', 'sign',
];

const setups = new Map<string, PluginSetup>();
/** Position of plugins registered outside PLUGIN_ORDER: just before this one. */
const extraBefore = new Map<string, string>();

/**
 * Registers a plugin under its directive name. A name not in CoreDNS's order
 * runs just before `before` (default: before "forward").
 */
export function registerPlugin(name: string, setup: PluginSetup, opts: { before?: string } = {}): void {
  setups.set(name, setup);
  if (!PLUGIN_ORDER.includes(name)) extraBefore.set(name, opts.before ?? 'forward');
}

export function lookupPlugin(name: string): PluginSetup | undefined {
  return setups.get(name);
}

export function registeredPlugins(): string[] {
  return [...setups.keys()];
}

/** Sort key for a directive name (lower runs first). */
export function pluginRank(name: string): number {
  const i = PLUGIN_ORDER.indexOf(name);
  if (i >= 0) return i;
  const before = extraBefore.get(name);
  const j = before ? PLUGIN_ORDER.indexOf(before) : -1;
  return j >= 0 ? j - 0.5 : PLUGIN_ORDER.length;
}

/**
 * Resolves the directives of a server block to setups in execution order;
 * throws "Corefile:N - Error during parsing: Unknown directive 'x'" for an
 * unregistered name. `extra` (server options) take precedence over the registry.
 */
export function orderDirectives(directives: Directive[], extra: Record<string, PluginSetup> = {}): Array<{ directive: Directive; setup: PluginSetup }> {
  const out: Array<{ directive: Directive; setup: PluginSetup; rank: number; idx: number }> = [];
  directives.forEach((d, idx) => {
    const setup = extra[d.name] ?? setups.get(d.name);
    if (!setup) throw directiveError(d, `Unknown directive '${d.name}'`);
    out.push({ directive: d, setup, rank: pluginRank(d.name), idx });
  });
  out.sort((a, b) => a.rank - b.rank || a.idx - b.idx);
  return out.map(({ directive, setup }) => ({ directive, setup }));
}
