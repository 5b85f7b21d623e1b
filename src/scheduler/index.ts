// The scheduler (upstream's default-scheduler): pure core + API-facing loop.
export * from './core.js';
export * from './scheduler.js';
export * from './cache.js';
