// Server-side apply: field sets and their managedFields encoding, the apply
// merge with conflict detection, and managed-fields bookkeeping of updates.
export * from './apply.js';
export * from './fieldpath.js';
export * from './managedfields.js';
export { compare, ensureNamedFieldsAreMembers, mergeValues, prune, toFieldSet, TypedError, type Comparison } from './typed.js';
