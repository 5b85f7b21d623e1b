export { UserspaceBackend, renderRules, type UserspaceOptions, type VirtualServer } from './backend.js';
export { desiredState, diffAddresses, diffListeners, routeEndpoints, type ListenerSpec, type TrafficKind } from './desired.js';
export { ServiceInterface, type InterfaceMode } from './iface.js';
export { ipvsAvailable, type IpvsCheck } from './ipvs.js';
export { AffinityTable, ConnTracker, LeastConnection, RoundRobin, SCHEDULERS, SourceHash, chooseEndpoint, newScheduler, sourceHashBucket, type Scheduler, type SchedulerName } from './scheduler.js';
