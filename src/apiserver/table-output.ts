// Table responses (kubectl get): content negotiation and conversion.
import { buildTable } from '../api/tables.js';
import { acceptedVersion } from './http.js';
import type { ResourceStorage } from './rest.js';
import type { K8sObject } from './watch-cache.js';

/** The Table version the client asks for (`application/json;as=Table;v=v1;g=meta.k8s.io`), if any. */
export function tableVersion(accept: string | undefined): string | undefined {
  return acceptedVersion(accept, 'meta.k8s.io', 'Table', ['v1', 'v1beta1']);
}

export const wantsTable = (accept: string | undefined): boolean => tableVersion(accept) !== undefined;

export function tableFor(
  storage: ResourceStorage,
  items: K8sObject[],
  accept: string | undefined,
  query: URLSearchParams,
  listMeta: { resourceVersion?: string; continue?: string },
  omitColumns = false,
): object {
  const inc = query.get('includeObject') ?? 'Metadata';
  const includeObject = (['None', 'Metadata', 'Object'].includes(inc) ? inc : 'Metadata') as 'None' | 'Metadata' | 'Object';
  return buildTable(storage.gr, items, {
    includeObject,
    listMeta,
    noHeaders: omitColumns,
    groupVersion: `meta.k8s.io/${tableVersion(accept) ?? 'v1'}` as 'meta.k8s.io/v1',
  });
}
