// The `kubernetes` plugin: cluster DNS after the Kubernetes DNS-Based Service
// Discovery specification 1.1.0 (see answer.ts for the records served).
export { answer, matchZone, primaryZone, soaRecord, endpointLabel, DNS_SCHEMA_VERSION, type Answer, type AnswerOptions, type PodsMode } from './answer.js';
export * from './dnsindex.js';
export { setupKubernetes, parseKubernetesDirective, fallsThrough, nsAddresses, KubernetesPlugin, SHARED_CLIENT, SHARED_NS_ADDRESSES, type KubernetesConfig } from './setup.js';
export { parseIP, canonicalIP, reverseName, addressFromReverse, dashedIP, ipFromDashed } from './ip.js';

import { registerPlugin } from '../../registry.js';
import { setupKubernetes as setup } from './setup.js';
registerPlugin('kubernetes', setup);
