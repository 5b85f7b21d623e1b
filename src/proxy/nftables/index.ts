// nftables service proxy backend (the default proxy mode).
export { NftablesProxier, type NftablesProxierOptions, kernelAtLeast, nftVersion } from './proxier.js';
export {
  computeSync,
  renderService,
  masqueradeMarkFor,
  defaultRulesetOptions,
  type Element,
  type NftState,
  type RenderedService,
  type RulesetOptions,
  type SyncPlan,
} from './ruleset.js';
export * as names from './names.js';
