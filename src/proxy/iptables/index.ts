export * from './names.js';
export * from './rules.js';
export * from './backend.js';
