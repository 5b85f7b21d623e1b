// The client machinery every k8ts component uses to talk to the API server.
export * from './rest.js';
export * from './informer.js';
export * from './workqueue.js';
export * from './events.js';
export * from './leaderelection.js';
