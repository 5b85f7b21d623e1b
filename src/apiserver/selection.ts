// labelSelector and fieldSelector query parameters -> one object filter.
import { fieldSelectorMatcher, parseLabelSelector } from '../api/selectors.js';
import type { K8sObject } from './watch-cache.js';

export function buildFilter(gr: string, labelSelector: string | null, fieldSelector: string | null): ((o: K8sObject) => boolean) | undefined {
  const tests: Array<(o: K8sObject) => boolean> = [];
  if (labelSelector && labelSelector.trim()) {
    const m = parseLabelSelector(labelSelector);
    tests.push((o) => m.matches(o.metadata?.labels ?? {}));
  }
  if (fieldSelector && fieldSelector.trim()) {
    const m = fieldSelectorMatcher(gr, fieldSelector);
    tests.push((o) => m.matches(o));
  }
  if (tests.length === 0) return undefined;
  return (o) => tests.every((t) => t(o));
}
