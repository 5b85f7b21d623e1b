// Per-resource behaviour that the generic storage cannot know: service IP and
// node-port allocation, pod status and graceful deletion, namespace
// termination. Each is a Strategy for ResourceStorage.
import type { FieldError } from '../api/field-errors.js';
import { AllocationError, type NodePortAllocator, type Owner, type ServiceIPAllocator } from './allocator.js';
import type { Obj } from './objects.js';
import type { Strategy } from './rest.js';
import { invalid } from './status.js';

const ownerOf = (o: Obj): Owner => ({ namespace: o.metadata.namespace ?? '', name: o.metadata.name, uid: o.metadata.uid });
const usesNodePorts = (s: Obj) =>
  s.spec?.type === 'NodePort' || (s.spec?.type === 'LoadBalancer' && s.spec?.allocateLoadBalancerNodePorts !== false);
const hasClusterIP = (s: Obj) => s.spec?.type !== 'ExternalName' && s.spec?.clusterIP && s.spec.clusterIP !== 'None';
const needsHealthCheckPort = (s: Obj) => s.spec?.type === 'LoadBalancer' && s.spec?.externalTrafficPolicy === 'Local';

function nodePortsOf(s: Obj): number[] {
  const out: number[] = [];
  for (const p of s.spec?.ports ?? []) if (p.nodePort) out.push(p.nodePort);
  if (s.spec?.healthCheckNodePort) out.push(s.spec.healthCheckNodePort);
  return out;
}

export function serviceStrategy(ips: ServiceIPAllocator, ports: NodePortAllocator): Strategy {
  const fail = (svc: Obj, errs: FieldError[]) => invalid('', 'Service', svc.metadata.name, errs);
  return {
    initialStatus: () => ({ loadBalancer: {} }),
    async allocate(svc, old) {
      const owner = ownerOf(svc);
      const spec = svc.spec ?? (svc.spec = {});
      const undo: Array<() => Promise<void>> = [];
      const rollback = async () => {
        for (const u of undo.reverse()) await u().catch(() => {});
      };
      try {
        if (spec.type !== 'ExternalName') {
          if (spec.clusterIP === 'None') {
            spec.clusterIPs = ['None'];
          } else if (!(old && hasClusterIP(old) && old.spec.clusterIP === spec.clusterIP)) {
            let ip = spec.clusterIP as string | undefined;
            if (ip) {
              try {
                await ips.allocateSpecific(ip, owner);
              } catch (e) {
                if (e instanceof AllocationError) throw fail(svc, [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', badValue: [ip], detail: e.message }]);
                throw e;
              }
            } else {
              ip = await ips.allocateNext(owner);
            }
            undo.push(() => ips.release(ip!, owner));
            spec.clusterIP = ip;
            spec.clusterIPs = [ip];
          }
          spec.ipFamilies ??= ['IPv4'];
          spec.ipFamilyPolicy ??= 'SingleStack';
        }
        const held = new Set(old ? nodePortsOf(old) : []);
        const claim = async (field: string, want: number | undefined): Promise<number> => {
          if (want && held.has(want)) return want;
          if (want) {
            try {
              await ports.allocateSpecific(want, owner);
            } catch (e) {
              if (e instanceof AllocationError) throw fail(svc, [{ type: 'FieldValueInvalid', field, badValue: want, detail: e.message }]);
              throw e;
            }
          } else want = await ports.allocateNext(owner);
          const p = want;
          undo.push(() => ports.release(p, owner));
          return p;
        };
        if (usesNodePorts(svc)) {
          const seen = new Set<number>();
          for (const [i, p] of (spec.ports ?? []).entries()) {
            if (p.nodePort && seen.has(p.nodePort)) continue; // same port for TCP and UDP is allowed
            p.nodePort = await claim(`spec.ports[${i}].nodePort`, p.nodePort);
            seen.add(p.nodePort);
          }
        }
        if (needsHealthCheckPort(svc)) spec.healthCheckNodePort = await claim('spec.healthCheckNodePort', spec.healthCheckNodePort);
      } catch (e) {
        await rollback();
        throw e;
      }
      return rollback;
    },
    async release(old, current) {
      const owner = ownerOf(old);
      if (hasClusterIP(old) && !(current && hasClusterIP(current) && current.spec.clusterIP === old.spec.clusterIP)) {
        await ips.release(old.spec.clusterIP, owner);
      }
      const keep = new Set(current ? nodePortsOf(current) : []);
      for (const p of nodePortsOf(old)) if (!keep.has(p)) await ports.release(p, owner);
    },
  };
}

/** The pod's QoS class, as upstream's qos.GetPodQOS. */
export function podQosClass(pod: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers: Obj[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export const podStrategy: Strategy = {
  initialStatus: (pod) => ({ phase: 'Pending', qosClass: podQosClass(pod) }),
  gracePeriod(pod, requested) {
    // A pod no node runs, or one that has finished, has nothing to stop gracefully.
    if (!pod.spec?.nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
    if (requested !== undefined) return Math.max(0, requested);
    return pod.spec?.terminationGracePeriodSeconds ?? 30;
  },
};

export interface DefaultTolerationOptions {
  /** tolerationSeconds of the not-ready:NoExecute toleration (default 300, `--default-not-ready-toleration-seconds`). */
  notReadySeconds?: number;
  /** tolerationSeconds of the unreachable:NoExecute toleration (default 300, `--default-unreachable-toleration-seconds`). */
  unreachableSeconds?: number;
}

/**
 * upstream's DefaultTolerationSeconds admission plug-in: a new pod that does
 * not already tolerate node.kubernetes.io/not-ready:NoExecute (or
 * unreachable) gets a toleration for it with tolerationSeconds, so that the
 * taint eviction controller moves it off a failed node after that long.
 */
export function addDefaultTolerations(pod: Obj, opts: DefaultTolerationOptions = {}): void {
  const spec = pod.spec ?? (pod.spec = {});
  const tolerations: Obj[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const covers = (key: string) => tolerations.some((t) => (!t?.key || t.key === key) && (!t?.effect || t.effect === 'NoExecute'));
  const add: Obj[] = [];
  for (const [key, secs] of [
    ['node.kubernetes.io/not-ready', opts.notReadySeconds ?? 300],
    ['node.kubernetes.io/unreachable', opts.unreachableSeconds ?? 300],
  ] as const) {
    if (!covers(key)) add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: secs });
  }
  if (add.length) spec.tolerations = [...tolerations, ...add];
}

/** The pod strategy with the DefaultTolerationSeconds admission on create. */
export function podStrategyWith(opts: DefaultTolerationOptions = {}): Strategy {
  return { ...podStrategy, admitCreate: (pod) => addDefaultTolerations(pod, opts) };
}

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export const namespaceStrategy: Strategy = {
  pendingDeletion: (ns) => (ns.spec?.finalizers?.length ?? 0) > 0,
  markDeleting(ns) {
    ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
  },
  admitDelete(ns) {
    if (PROTECTED_NAMESPACES.has(ns.metadata.name)) {
      return `namespaces "${ns.metadata.name}" is forbidden: this namespace may not be deleted`;
    }
    return undefined;
  },
};
