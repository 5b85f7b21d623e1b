// The cluster DNS server (CoreDNS-compatible). Importing this module registers
// the built-in plugins; start a server with startDnsServer.

import './plugins/errors.js';
import './plugins/log.js';
import './plugins/health.js';
import './plugins/ready.js';
import './plugins/prometheus.js';
import './plugins/cache.js';
import './plugins/loadbalance.js';
import './plugins/hosts.js';
import './plugins/forward.js';
import './plugins/loop.js';
import './plugins/reload.js';
import './plugins/whoami.js';
import './plugins/kubernetes/index.js';

export * from './types.js';
export { decodeMessage, encodeMessage, decodeHeader, makeQuery, fqdn, isSubdomain, typeName, rcodeName, className, DnsWireError, type WireHeader, type EncodeOptions } from './wire.js';
export { parseCorefile, tokenize, normalizeZone, parseDuration, directiveError, CorefileError, type ServerBlock } from './corefile.js';
export { registerPlugin, lookupPlugin, registeredPlugins, orderDirectives, PLUGIN_ORDER } from './registry.js';
export { startDnsServer, dnsLog, requestInfo, respondedBy, sameResponder, serveHttp, corefileSha512, SHARED, NoNextPluginError, type DnsServer, type DnsServerOptions, type ServerControl, type BlockInstance } from './server.js';
export { metricsOf, MetricsRegistry } from './plugins/prometheus.js';
export { exchange } from './plugins/forward.js';
