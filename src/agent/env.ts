// A container's environment, as kubelet makes it:
//   - the service environment variables (<NAME>_SERVICE_HOST, _SERVICE_PORT,
//     _SERVICE_PORT_<PORTNAME>, and the Docker-link style _PORT,
//     _PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]) of the services in the pod's
//     namespace (with enableServiceLinks, the default) and, always, of the
//     `kubernetes` service in `default`;
//   - envFrom (configMapRef/secretRef, with prefix; invalid names skipped and
//     reported), then env in order, with valueFrom fieldRef, resourceFieldRef,
//     configMapKeyRef and secretKeyRef;
//   - $(VAR) references expanded against the variables defined before, then
//     the service variables ($$ escapes, unknown references stay as written);
//     command and args are expanded against the final environment.
// Pure: objects come in through EnvSources.
import { parseQuantity, scaledValue, toMilli } from '../api/quantity.js';

export type Obj = Record<string, any>;

export interface EnvSources {
  /** Services of the pod's namespace and of `default` (others are ignored). */
  services: Obj[];
  configMap(namespace: string, name: string): Obj | undefined;
  secret(namespace: string, name: string): Obj | undefined;
  /** The node's allocatable resources (limits default to them). */
  nodeAllocatable: Record<string, string>;
  podIPs: string[];
  hostIPs: string[];
}

export class EnvError extends Error {
  constructor(
    message: string,
    readonly reason = 'CreateContainerConfigError',
  ) {
    super(message);
  }
}

export interface EnvResult {
  env: Array<{ name: string; value: string }>;
  /** Warnings to record as Events: [reason, message]. */
  warnings: Array<[string, string]>;
}

const MASTER_SERVICES = new Set(['kubernetes']);
const envName = (s: string): string => s.replace(/-/g, '_').toUpperCase();
const ipSet = (svc: Obj): boolean => !!svc.spec?.clusterIP && svc.spec.clusterIP !== 'None';

/** The services whose variables a pod in `namespace` gets, as kubelet's getServiceEnvVarMap. */
export function servicesForPod(services: Obj[], namespace: string, enableServiceLinks: boolean): Obj[] {
  const byName = new Map<string, Obj>();
  for (const svc of services) {
    if (!ipSet(svc)) continue;
    const name = svc.metadata?.name;
    if (svc.metadata?.namespace === 'default' && MASTER_SERVICES.has(name)) {
      if (!byName.has(name)) byName.set(name, svc);
    } else if (svc.metadata?.namespace === namespace && enableServiceLinks) {
      byName.set(name, svc);
    }
  }
  return [...byName.values()];
}

/** The variables of one service (kubelet's envvars.FromServices). */
export function serviceEnv(svc: Obj): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  const ports: Obj[] = svc.spec?.ports ?? [];
  if (!ipSet(svc) || ports.length === 0) return out;
  const prefix = envName(svc.metadata.name);
  const ip: string = svc.spec.clusterIP;
  out.push({ name: `${prefix}_SERVICE_HOST`, value: ip });
  out.push({ name: `${prefix}_SERVICE_PORT`, value: String(ports[0].port) });
  for (const p of ports) if (p.name) out.push({ name: `${prefix}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
  ports.forEach((p, i) => {
    const proto = String(p.protocol || 'TCP');
    const url = `${proto.toLowerCase()}://${ip.includes(':') ? `[${ip}]` : ip}:${p.port}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push({ name: pp, value: url }, { name: `${pp}_PROTO`, value: proto.toLowerCase() }, { name: `${pp}_PORT`, value: String(p.port) }, { name: `${pp}_ADDR`, value: ip });
  });
  return out;
}

/** Expands $(VAR) with `lookup`; `$$` is a literal `$`; unknown references are kept as written. */
export function expand(text: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$' || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, end);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = end;
    } else out += c;
  }
  return out;
}

/** Names envFrom accepts: printable ASCII without '=' (upstream's relaxed validation). */
const ENV_NAME = /^[ -<>-~]+$/;

function fieldValue(pod: Obj, path: string, src: EnvSources): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata?.[m[1]]?.[m[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return src.hostIPs[0] ?? '';
    case 'status.hostIPs':
      return src.hostIPs.join(',');
    case 'status.podIP':
      return src.podIPs[0] ?? '';
    case 'status.podIPs':
      return src.podIPs.join(',');
    default:
      throw new EnvError(`unsupported fieldRef fieldPath: ${path}`);
  }
}

/** resourceFieldRef: the container's request/limit (limits default to node allocatable), in units of divisor, rounded up. */
export function resourceValue(container: Obj, ref: Obj, allocatable: Record<string, string>): string {
  const [kind, res] = String(ref.resource ?? '').split('.');
  if ((kind !== 'limits' && kind !== 'requests') || !res) throw new EnvError(`unsupported resourceFieldRef resource: ${ref.resource}`);
  let q: string | undefined = container.resources?.[kind]?.[res];
  if (q === undefined && kind === 'limits') q = allocatable[res];
  if (q === undefined) q = '0';
  const divisor = ref.divisor !== undefined ? String(ref.divisor) : '1';
  const dm = toMilli(parseQuantity(divisor));
  if (dm === 0) throw new EnvError(`resourceFieldRef divisor of ${ref.resource} is zero`);
  if (res === 'cpu') return String(Math.ceil(toMilli(parseQuantity(q)) / dm));
  const value = scaledValue(parseQuantity(q), 0);
  const div = scaledValue(parseQuantity(divisor), 0);
  return String((value + div - 1n) / div);
}

function keyRef(kind: 'configmap' | 'secret', pod: Obj, ref: Obj, src: EnvSources): string | undefined {
  const ns = pod.metadata?.namespace ?? 'default';
  const obj = kind === 'configmap' ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
  const label = kind === 'configmap' ? 'configmap' : 'secret';
  if (!obj) {
    if (ref.optional) return undefined;
    throw new EnvError(`${label} "${ref.name}" not found`);
  }
  let v: string | undefined;
  if (kind === 'configmap') v = obj.data?.[ref.key] ?? (obj.binaryData?.[ref.key] !== undefined ? Buffer.from(obj.binaryData[ref.key], 'base64').toString() : undefined);
  else v = obj.data?.[ref.key] !== undefined ? Buffer.from(obj.data[ref.key], 'base64').toString() : obj.stringData?.[ref.key];
  if (v === undefined && !ref.optional) throw new EnvError(`couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name}`);
  return v;
}

/** The container's environment, in order (envFrom, env, then service variables not already set). */
export function containerEnv(pod: Obj, container: Obj, src: EnvSources): EnvResult {
  const warnings: Array<[string, string]> = [];
  const ns = pod.metadata?.namespace ?? 'default';
  const vars = new Map<string, string>();
  const svcVars = new Map<string, string>();
  for (const svc of servicesForPod(src.services, ns, pod.spec?.enableServiceLinks !== false)) {
    for (const v of serviceEnv(svc)) svcVars.set(v.name, v.value);
  }

  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref?.name) continue;
    const isCm = !!from.configMapRef;
    const obj = isCm ? src.configMap(ns, ref.name) : src.secret(ns, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new EnvError(`${isCm ? 'configmap' : 'secret'} "${ref.name}" not found`);
    }
    const invalid: string[] = [];
    for (const [k, raw] of Object.entries<string>(obj.data ?? {})) {
      const name = `${from.prefix ?? ''}${k}`;
      if (!ENV_NAME.test(name)) {
        invalid.push(k);
        continue;
      }
      vars.set(name, isCm ? raw : Buffer.from(raw, 'base64').toString());
    }
    if (invalid.length) {
      invalid.sort();
      warnings.push([
        'InvalidEnvironmentVariableNames',
        `Keys [${invalid.join(', ')}] from the EnvFrom ${isCm ? 'configMap' : 'secret'} ${ns}/${ref.name} were skipped since they are considered invalid environment variable names.`,
      ]);
    }
  }

  const lookup = (name: string) => vars.get(name) ?? svcVars.get(name);
  for (const e of container.env ?? []) {
    if (!e?.name) continue;
    let value: string | undefined;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldValue(pod, vf.fieldRef.fieldPath, src);
      else if (vf.resourceFieldRef) {
        const target = vf.resourceFieldRef.containerName
          ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c: Obj) => c.name === vf.resourceFieldRef.containerName)
          : container;
        if (!target) throw new EnvError(`resourceFieldRef: container "${vf.resourceFieldRef.containerName}" not found`);
        value = resourceValue(target, vf.resourceFieldRef, src.nodeAllocatable);
      } else if (vf.configMapKeyRef) value = keyRef('configmap', pod, vf.configMapKeyRef, src);
      else if (vf.secretKeyRef) value = keyRef('secret', pod, vf.secretKeyRef, src);
      if (value === undefined) continue; // an optional reference that is missing
    } else value = expand(e.value ?? '', lookup);
    vars.set(e.name, value);
  }

  const env = [...vars].map(([name, value]) => ({ name, value }));
  for (const [name, value] of [...svcVars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (!vars.has(name)) env.push({ name, value });
  return { env, warnings };
}

/** command and args with $(VAR) expanded against the container's environment. */
export function expandCommand(container: Obj, env: Array<{ name: string; value: string }>): { command: string[]; args: string[] } {
  const m = new Map(env.map((e) => [e.name, e.value]));
  const lookup = (n: string) => m.get(n);
  return {
    command: (container.command ?? []).map((s: string) => expand(String(s), lookup)),
    args: (container.args ?? []).map((s: string) => expand(String(s), lookup)),
  };
}
