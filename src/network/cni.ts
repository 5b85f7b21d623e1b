// The node agent's CNI runtime: what libcni does for kubelet/containerd.
//
// It reads the lexicographically first network configuration in a conf dir
// (`*.conflist`, or a single-plugin `*.conf`/`*.json` wrapped into a list),
// finds the plugin binaries in the bin dirs and runs them as the CNI spec
// (1.0.0; 0.3.x and 0.4.0 configs are accepted) describes:
//
//   ADD    plugins in order; each gets the previous plugin's result as
//          `prevResult`; the last result is the pod's network.
//   DEL    plugins in reverse order, with the cached ADD result; tolerant of
//          missing state (the pod's netns may already be gone).
//   CHECK  plugins in order with the cached result (0.4.0 and later).
//
// A plugin is a program: the command and its arguments come in environment
// variables (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
// CNI_PATH), its configuration on stdin, its result (or error
// {code,msg,details}) on stdout.
//
// As libcni does, the runtime caches each ADD (the whole config list, the
// arguments and the result) in <cacheDir>/results/<network>-<container>-<ifname>,
// so that DEL runs with the configuration the pod was set up with even when
// the conflist on disk changed (e.g. the node's podCIDR moved).
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { ExecError, type ExecResult, exec } from '../util/exec.js';
import { logger } from '../util/log.js';

const log = logger('cni');

export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
/** Config versions this runtime accepts (results of 0.1.0/0.2.0 are a different shape). */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];
/** File extensions libcni reads from a conf dir. */
const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];

export interface PluginConf {
  type: string;
  name?: string;
  cniVersion?: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
  [key: string]: unknown;
}

export interface LoadedNetwork {
  /** The file it came from (absolute path). */
  file: string;
  list: NetworkConfigList;
}

/** A CNI result in the 0.3.0+ shape (1.0.0 drops ips[].version). */
export interface CniResultRaw {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; mtu?: number; sandbox?: string; [k: string]: unknown }>;
  ips?: Array<{ version?: string; address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
  [key: string]: unknown;
}

export interface CniInterface {
  name: string;
  mac?: string;
  /** Set when the interface is inside the pod (the netns path). */
  sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR form, e.g. 10.244.1.5/24. */
  address: string;
  /** The bare address, e.g. 10.244.1.5. */
  ip: string;
  family: 4 | 6;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniResult {
  network: string;
  cniVersion: string;
  /** The pod's addresses (those on an interface inside the sandbox), bare. */
  ips: string[];
  /** The gateway of the pod's first address. */
  gateway?: string;
  interfaces: CniInterface[];
  ipConfigs: CniIpConfig[];
  routes: Array<{ dst: string; gw?: string }>;
  dns: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
  /** The last plugin's result as it printed it. */
  raw: CniResultRaw;
}

/** A port mapping for the `portMappings` capability (the portmap plugin). */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  /** tcp, udp or sctp (any case; lowercased as kubelet does). */
  protocol: string;
  hostIP?: string;
}

export interface PodNetworkRef {
  containerId: string;
  netnsPath: string;
  podNamespace: string;
  podName: string;
  podUid: string;
  /** Interface name inside the pod (default eth0). */
  ifName?: string;
}

export interface SetUpParams extends PodNetworkRef {
  portMappings?: CniPortMapping[];
  /** Further capability arguments (e.g. bandwidth), injected as runtimeConfig for plugins that declare them. */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniStatus {
  ready: boolean;
  /** Why the network is not ready (kubelet's "cni plugin not initialized"). */
  message?: string;
  file?: string;
  network?: string;
  cniVersion?: string;
  plugins?: string[];
  /** Config files that were skipped because they are invalid. */
  skipped?: Array<{ file: string; error: string }>;
}

export interface CniRuntimeOptions {
  confDir?: string;
  binDirs?: string[];
  /** Where ADD results are cached for DEL/CHECK (e.g. <dataDir>/cni-cache). */
  cacheDir: string;
  /**
   * Runs every plugin through this command prefix, e.g.
   * ['ip', 'netns', 'exec', 'node-ns'] so that a test's "node" is a namespace.
   */
  execPrefix?: string[];
  /** Bring the pod's lo up with the loopback plugin before the network (default true, as containerd does). */
  loopback?: boolean;
  /** Per plugin invocation (default 60 s). */
  timeoutMs?: number;
}

/** A plugin's error result, or a failure to run it. */
export class CniPluginError extends Error {
  constructor(
    public readonly plugin: string,
    public readonly command: string,
    public readonly network: string,
    public readonly code: number | undefined,
    public readonly msg: string,
    public readonly details?: string,
  ) {
    super(
      `CNI plugin "${plugin}" of network "${network}" failed ${command}: ${msg}` +
        (details && details !== msg ? ` (${details})` : '') +
        (code !== undefined ? ` [code ${code}]` : ''),
    );
    this.name = 'CniPluginError';
  }
}

// ---------------------------------------------------------------------------
// Pure parts

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkVersion(v: unknown, where: string): string {
  if (typeof v !== 'string' || !v) throw new Error(`${where}: cniVersion is missing`);
  if (!SUPPORTED_CNI_VERSIONS.includes(v)) {
    throw new Error(`${where}: cniVersion ${v} is not supported (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`);
  }
  return v;
}

function checkPlugin(p: unknown, where: string): PluginConf {
  if (!isObject(p)) throw new Error(`${where}: a plugin configuration must be an object`);
  if (typeof p.type !== 'string' || !p.type) throw new Error(`${where}: plugin "type" is missing`);
  if (p.type.includes('/') || p.type.startsWith('.')) throw new Error(`${where}: invalid plugin type ${JSON.stringify(p.type)}`);
  return p as PluginConf;
}

/**
 * Parses a network configuration: a list (`plugins`) or a single plugin
 * (`type`, as in a .conf file), which is wrapped into a list. `where` names
 * the source in error messages.
 */
export function parseNetworkConfig(text: string, where = 'network config'): NetworkConfigList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new Error(`${where}: not a JSON object`);
  const name = doc.name;
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new Error(`${where}: invalid or missing network name ${JSON.stringify(name)}`);
  const cniVersion = checkVersion(doc.cniVersion, where);
  if ('plugins' in doc) {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) throw new Error(`${where}: "plugins" must be a non-empty list`);
    const plugins = doc.plugins.map((p, i) => checkPlugin(p, `${where}: plugins[${i}]`));
    return { ...doc, cniVersion, name, disableCheck: doc.disableCheck === true || doc.disableCheck === 'true', plugins };
  }
  const plugin = checkPlugin(doc, where);
  return { cniVersion, name, plugins: [plugin] };
}

/** Network config file names in a conf dir, in the order libcni ranks them. */
export async function listConfFiles(confDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(confDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => !n.startsWith('.') && CONF_EXTENSIONS.includes(path.extname(n)))
    .sort()
    .map((n) => path.join(confDir, n));
}

/**
 * Loads the first valid network configuration of a conf dir (invalid ones are
 * skipped with a warning, as kubelet did). Undefined when there is none.
 */
export async function loadNetworkConfig(confDir: string, skipped: Array<{ file: string; error: string }> = []): Promise<LoadedNetwork | undefined> {
  for (const file of await listConfFiles(confDir)) {
    try {
      const text = await fs.readFile(file, 'utf8');
      return { file, list: parseNetworkConfig(text, file) };
    } catch (e) {
      const error = (e as Error).message;
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') continue;
      skipped.push({ file, error });
      log.warn('skipping invalid CNI config', { file, error });
    }
  }
  return undefined;
}

/** CNI_ARGS as kubelet/containerd pass it (IgnoreUnknown lets plugins skip keys they do not know). */
export function cniArgs(p: Pick<PodNetworkRef, 'containerId' | 'podNamespace' | 'podName' | 'podUid'>): string {
  const pairs: Array<[string, string]> = [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', p.podNamespace],
    ['K8S_POD_NAME', p.podName],
    ['K8S_POD_INFRA_CONTAINER_ID', p.containerId],
    ['K8S_POD_UID', p.podUid],
  ];
  for (const [k, v] of pairs) {
    if (/[;=]/.test(v)) throw new Error(`CNI_ARGS: ${k} must not contain ';' or '=': ${JSON.stringify(v)}`);
  }
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

/** Parses CNI_ARGS back into pairs. */
export function parseCniArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(';')) {
    if (!part) continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`CNI_ARGS: invalid pair ${JSON.stringify(part)}`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** Capability arguments for a pod: portMappings (protocol lowercased, as kubelet does) and any extra ones. */
export function capabilityArgsFor(p: Pick<SetUpParams, 'portMappings' | 'capabilityArgs'>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(p.capabilityArgs ?? {}) };
  if (p.portMappings && p.portMappings.length) {
    out.portMappings = p.portMappings.map((m) => ({
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol: (m.protocol || 'tcp').toLowerCase(),
      ...(m.hostIP ? { hostIP: m.hostIP } : {}),
    }));
  }
  return out;
}

/** Port mappings of a pod's containers' hostPorts (what kubelet hands the portmap plugin). */
export function portMappingsFromPod(pod: {
  spec?: { containers?: Array<{ ports?: Array<{ hostPort?: number; containerPort: number; protocol?: string; hostIP?: string }> }> };
}): CniPortMapping[] {
  const out: CniPortMapping[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase(), ...(p.hostIP ? { hostIP: p.hostIP } : {}) });
    }
  }
  return out;
}

/**
 * The stdin of one plugin invocation (libcni's buildOneConfig): the plugin's
 * config with the list's name and cniVersion, the previous result, and a
 * runtimeConfig holding the capability arguments the plugin declared.
 */
export function pluginStdin(
  list: Pick<NetworkConfigList, 'name' | 'cniVersion'>,
  plugin: PluginConf,
  prevResult: CniResultRaw | undefined,
  capabilityArgs: Record<string, unknown> = {},
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult) conf.prevResult = prevResult;
  else delete conf.prevResult;
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    if (on === true && cap in capabilityArgs) rc[cap] = capabilityArgs[cap];
  }
  if (Object.keys(rc).length) conf.runtimeConfig = rc;
  return conf;
}

/** The environment of one plugin invocation (on top of the agent's own). */
export function pluginEnv(
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION',
  p: { containerId: string; netnsPath: string; ifName: string; args: string },
  binDirs: string[],
): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: p.containerId,
    CNI_NETNS: p.netnsPath,
    CNI_IFNAME: p.ifName,
    CNI_ARGS: p.args,
    CNI_PATH: binDirs.join(':'),
  };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function bareIp(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
}

/** Reads a plugin's ADD result (0.3.0 .. 1.0.0) into the runtime's shape. */
export function parseResult(raw: unknown, network: string, version: string): CniResult {
  if (!isObject(raw)) throw new Error(`network "${network}": the ADD result is not a JSON object`);
  const r = raw as CniResultRaw;
  const interfaces: CniInterface[] = (r.interfaces ?? []).map((i) => ({
    name: i.name,
    ...(i.mac ? { mac: i.mac } : {}),
    ...(i.sandbox ? { sandbox: i.sandbox } : {}),
  }));
  const ipConfigs: CniIpConfig[] = (r.ips ?? []).map((c) => {
    if (typeof c.address !== 'string' || !c.address.includes('/')) throw new Error(`network "${network}": invalid address in result: ${JSON.stringify(c.address)}`);
    const ip = bareIp(c.address);
    return {
      address: c.address,
      ip,
      family: ip.includes(':') ? 6 : 4,
      ...(c.gateway ? { gateway: c.gateway } : {}),
      ...(typeof c.interface === 'number' ? { interface: c.interface } : {}),
    };
  });
  // The pod's addresses: on an interface inside the sandbox, or not tied to one.
  const podIps = ipConfigs.filter((c) => c.interface === undefined || interfaces[c.interface]?.sandbox);
  return {
    network,
    cniVersion: typeof r.cniVersion === 'string' ? r.cniVersion : version,
    ips: podIps.map((c) => c.ip),
    ...(podIps[0]?.gateway ? { gateway: podIps[0].gateway } : {}),
    interfaces,
    ipConfigs,
    routes: (r.routes ?? []).map((x) => ({ dst: x.dst, ...(x.gw ? { gw: x.gw } : {}) })),
    dns: r.dns ?? {},
    raw: r,
  };
}

/** Reads a plugin's error output ({code,msg,details}); undefined when it is not one. */
export function parsePluginError(stdout: string): { code?: number; msg: string; details?: string } | undefined {
  const t = stdout.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const e = JSON.parse(t) as unknown;
    if (isObject(e) && typeof e.msg === 'string') {
      return { ...(typeof e.code === 'number' ? { code: e.code } : {}), msg: e.msg, ...(typeof e.details === 'string' && e.details ? { details: e.details } : {}) };
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}

/** libcni's comparison: a >= b for dotted versions. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * The bridge plugin's per-pod masquerade chain (ipMasq), as the plugins'
 * utils.FormatChainName names it: CNI- and the start of sha512(network + id).
 */
export function bridgeMasqChain(network: string, containerId: string): string {
  return `CNI-${createHash('sha512').update(network + containerId).digest('hex')}`.slice(0, 28);
}

/**
 * iptables-restore input (--noflush) that removes a masquerade chain and the
 * POSTROUTING rules jumping to it, from `iptables-save -t nat` output;
 * undefined when the chain is not there.
 */
export function masqChainCleanup(natSave: string, chain: string): string | undefined {
  const lines = natSave.split('\n');
  if (!lines.includes(`:${chain} - [0:0]`) && !lines.some((l) => l.startsWith(`:${chain} `))) return undefined;
  const out = ['*nat'];
  for (const l of lines) {
    const words = l.split(/\s+/);
    if (l.startsWith('-A ') && words[1] !== chain && words.includes('-j') && words[words.indexOf('-j') + 1] === chain) {
      out.push(`-D ${l.slice(3)}`);
    }
  }
  out.push(`-F ${chain}`, `-X ${chain}`, 'COMMIT', '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------
// The cache (libcni's cachedInfo, so the files read the same)

interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  /** The network config list, base64 (as libcni stores []byte). */
  config: string;
  ifName: string;
  networkName: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: Record<string, unknown>;
  result?: CniResultRaw;
}

// ---------------------------------------------------------------------------
// The runtime

export class CniRuntime {
  readonly confDir: string;
  readonly binDirs: string[];
  readonly cacheDir: string;
  private readonly execPrefix: string[];
  private readonly loopback: boolean;
  private readonly timeoutMs: number;

  constructor(opts: CniRuntimeOptions) {
    this.confDir = opts.confDir ?? DEFAULT_CNI_CONF_DIR;
    this.binDirs = opts.binDirs ?? DEFAULT_CNI_BIN_DIRS;
    this.cacheDir = opts.cacheDir;
    this.execPrefix = opts.execPrefix ?? [];
    this.loopback = opts.loopback ?? true;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** The network the next pod would get (undefined when the conf dir has none). */
  network(): Promise<LoadedNetwork | undefined> {
    return loadNetworkConfig(this.confDir);
  }

  /** Is the pod network usable: a valid config, and every plugin it names installed. */
  async status(): Promise<CniStatus> {
    const skipped: Array<{ file: string; error: string }> = [];
    const net = await loadNetworkConfig(this.confDir, skipped);
    const extra = skipped.length ? { skipped } : {};
    if (!net) return { ready: false, message: `cni plugin not initialized: no valid network config found in ${this.confDir}`, ...extra };
    const plugins = net.list.plugins.map((p) => p.type);
    const wanted = this.loopback ? ['loopback', ...plugins] : plugins;
    const missing: string[] = [];
    for (const t of new Set(wanted)) if (!(await this.findPlugin(t))) missing.push(t);
    const base = { file: net.file, network: net.list.name, cniVersion: net.list.cniVersion, plugins, ...extra };
    if (missing.length) return { ready: false, message: `cni plugin not initialized: plugin(s) ${missing.join(', ')} not found in ${this.binDirs.join(':')}`, ...base };
    return { ready: true, ...base };
  }

  /** The path of a plugin binary, searched in the bin dirs in order. */
  async findPlugin(type: string): Promise<string | undefined> {
    if (!type || type.includes('/')) return undefined;
    for (const dir of this.binDirs) {
      const p = path.join(dir, type);
      try {
        const st = await fs.stat(p);
        if (!st.isFile()) continue;
        await fs.access(p, fsc.X_OK);
        return p;
      } catch {
        /* next dir */
      }
    }
    return undefined;
  }

  /** ADD: sets up the pod's network. On failure the partial set-up is undone (DEL) and the error thrown. */
  async setUp(p: SetUpParams): Promise<CniResult> {
    const ref = this.ref(p);
    const net = await loadNetworkConfig(this.confDir);
    if (!net) throw new Error(`cni plugin not initialized: no valid network config found in ${this.confDir}`);
    const { list } = net;
    const args = cniArgs(p);
    const caps = capabilityArgsFor(p);

    if (this.loopback) await this.runLoopback(ref.netnsPath, ref.containerId, args);

    let prev: CniResultRaw | undefined;
    try {
      for (const plugin of list.plugins) {
        const out = await this.invoke('ADD', list, plugin, prev, caps, { ...ref, args });
        let parsed: unknown;
        try {
          parsed = JSON.parse(out);
        } catch {
          throw new CniPluginError(plugin.type, 'ADD', list.name, undefined, `invalid result: ${JSON.stringify(out.slice(0, 200))}`);
        }
        if (!isObject(parsed)) throw new CniPluginError(plugin.type, 'ADD', list.name, undefined, 'result is not a JSON object');
        prev = parsed as CniResultRaw;
      }
    } catch (e) {
      // The spec asks the runtime to DEL after a failed ADD so plugins release what they took.
      for (const plugin of [...list.plugins].reverse()) {
        await this.invoke('DEL', list, plugin, undefined, caps, { ...ref, args }).catch((de) =>
          log.warn('cleanup after failed ADD', { containerId: ref.containerId, plugin: plugin.type, error: de }),
        );
      }
      throw e;
    }
    const result = parseResult(prev, list.name, list.cniVersion);
    await this.writeCache({
      kind: 'cniCacheV1',
      containerId: ref.containerId,
      config: Buffer.from(JSON.stringify(list)).toString('base64'),
      ifName: ref.ifName,
      networkName: list.name,
      cniArgs: Object.entries(parseCniArgs(args)),
      ...(Object.keys(caps).length ? { capabilityArgs: caps } : {}),
      result: prev,
    });
    log.info('pod network set up', { network: list.name, pod: `${p.podNamespace}/${p.podName}`, containerId: ref.containerId, ips: result.ips.join(',') });
    return result;
  }

  /**
   * DEL: tears down the pod's network with the configuration it was set up
   * with (from the cache; the current config when there is no cache entry).
   * Succeeds when there is nothing left to remove, also when the netns is gone.
   */
  async tearDown(p: PodNetworkRef): Promise<void> {
    const ref = this.ref(p);
    const cached = await this.readCache(ref.containerId, ref.ifName);
    let list: NetworkConfigList;
    let caps: Record<string, unknown> = {};
    let prev: CniResultRaw | undefined;
    if (cached) {
      list = parseNetworkConfig(Buffer.from(cached.entry.config, 'base64').toString(), `cached config of ${ref.containerId}`);
      caps = cached.entry.capabilityArgs ?? {};
      if (versionAtLeast(list.cniVersion, '0.4.0')) prev = cached.entry.result;
    } else {
      const net = await loadNetworkConfig(this.confDir);
      if (!net) {
        log.warn('no CNI config and no cached result: nothing to tear down', { containerId: ref.containerId });
        return;
      }
      list = net.list;
    }
    const args = cniArgs(p);
    const errors: Error[] = [];
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.invoke('DEL', list, plugin, prev, caps, { ...ref, args });
      } catch (e) {
        errors.push(e as Error);
      }
    }
    // Without the pod's netns the bridge plugin cannot learn the pod's
    // addresses, so it skips removing its ipMasq chain; remove it here.
    if (!errors.length && list.plugins.some((x) => x.type === 'bridge' && x.ipMasq === true) && !(await exists(ref.netnsPath))) {
      await this.removeMasqChain(list.name, ref.containerId).catch((e) => errors.push(e as Error));
    }
    if (errors.length) {
      // Keep the cache so that a retry tears down the same network.
      throw errors.length === 1 ? errors[0] : new Error(errors.map((e) => e.message).join('; '));
    }
    if (cached) await fs.rm(cached.file, { force: true });
    log.info('pod network torn down', { network: list.name, pod: `${p.podNamespace}/${p.podName}`, containerId: ref.containerId });
  }

  /** CHECK: asks the plugins whether the pod's network is still as set up (0.4.0+; a no-op before or when disabled). */
  async check(p: PodNetworkRef): Promise<void> {
    const ref = this.ref(p);
    const cached = await this.readCache(ref.containerId, ref.ifName);
    if (!cached) throw new Error(`CNI CHECK: no cached result for container ${ref.containerId} (${ref.ifName})`);
    const list = parseNetworkConfig(Buffer.from(cached.entry.config, 'base64').toString(), `cached config of ${ref.containerId}`);
    if (!versionAtLeast(list.cniVersion, '0.4.0') || list.disableCheck) return;
    const args = cniArgs(p);
    for (const plugin of list.plugins) {
      await this.invoke('CHECK', list, plugin, cached.entry.result, cached.entry.capabilityArgs ?? {}, { ...ref, args });
    }
  }

  /** The cached ADD result of a container, if any (what the agent reports as pod IPs after a restart). */
  async cachedResult(containerId: string, ifName = 'eth0'): Promise<CniResult | undefined> {
    const c = await this.readCache(containerId, ifName);
    if (!c?.entry.result) return undefined;
    const list = parseNetworkConfig(Buffer.from(c.entry.config, 'base64').toString(), `cached config of ${containerId}`);
    return parseResult(c.entry.result, c.entry.networkName, list.cniVersion);
  }

  /** Container ids with a cached ADD (for garbage collection of pods the agent no longer knows). */
  async cachedContainers(): Promise<Array<{ containerId: string; ifName: string; network: string }>> {
    let names: string[];
    try {
      names = await fs.readdir(this.resultsDir());
    } catch {
      return [];
    }
    const out: Array<{ containerId: string; ifName: string; network: string }> = [];
    for (const n of names) {
      try {
        const e = JSON.parse(await fs.readFile(path.join(this.resultsDir(), n), 'utf8')) as CacheEntry;
        if (e.kind === 'cniCacheV1') out.push({ containerId: e.containerId, ifName: e.ifName, network: e.networkName });
      } catch {
        /* partial or foreign file */
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------

  private ref(p: PodNetworkRef): { containerId: string; netnsPath: string; ifName: string } {
    const ifName = p.ifName ?? 'eth0';
    if (!NAME_RE.test(p.containerId)) throw new Error(`invalid container id ${JSON.stringify(p.containerId)}`);
    if (!/^[^\s/:]{1,15}$/.test(ifName)) throw new Error(`invalid interface name ${JSON.stringify(ifName)}`);
    return { containerId: p.containerId, netnsPath: p.netnsPath, ifName };
  }

  private async removeMasqChain(network: string, containerId: string): Promise<void> {
    const chain = bridgeMasqChain(network, containerId);
    const run = (cmd: string, args: string[], input?: string) => {
      const argv = [...this.execPrefix, cmd, ...args];
      return exec(argv[0]!, argv.slice(1), { input, timeoutMs: this.timeoutMs });
    };
    for (const [save, restore] of [
      ['iptables-save', 'iptables-restore'],
      ['ip6tables-save', 'ip6tables-restore'],
    ] as const) {
      const r = await run(save, ['-t', 'nat']).catch(() => undefined); // no ip6tables: nothing to clean
      const input = r && masqChainCleanup(r.stdout, chain);
      if (!input) continue;
      await run(restore, ['-w', '--noflush'], input);
      log.info('removed masquerade chain left by the bridge plugin', { chain, containerId });
    }
  }

  private async runLoopback(netnsPath: string, containerId: string, args: string): Promise<void> {
    const list = { name: 'cni-loopback', cniVersion: '1.0.0' };
    await this.invoke('ADD', list, { type: 'loopback' }, undefined, {}, { containerId, netnsPath, ifName: 'lo', args });
  }

  /** Runs one plugin; returns its stdout, or throws a CniPluginError. */
  private async invoke(
    command: 'ADD' | 'DEL' | 'CHECK',
    list: Pick<NetworkConfigList, 'name' | 'cniVersion'>,
    plugin: PluginConf,
    prev: CniResultRaw | undefined,
    caps: Record<string, unknown>,
    p: { containerId: string; netnsPath: string; ifName: string; args: string },
  ): Promise<string> {
    const bin = await this.findPlugin(plugin.type);
    if (!bin) throw new CniPluginError(plugin.type, command, list.name, undefined, `plugin binary not found in ${this.binDirs.join(':')}`);
    const input = JSON.stringify(pluginStdin(list, plugin, prev, caps));
    const env = { ...process.env, ...pluginEnv(command, p, this.binDirs) };
    const [cmd, ...rest] = this.execPrefix.length ? [...this.execPrefix, bin] : [bin];
    let r: ExecResult;
    try {
      r = await exec(cmd!, rest, { input, env, allowFailure: true, timeoutMs: this.timeoutMs });
    } catch (e) {
      const msg = e instanceof ExecError ? (e.reason === 'timeout' ? `timed out after ${this.timeoutMs} ms` : e.message) : String(e);
      throw new CniPluginError(plugin.type, command, list.name, undefined, msg);
    }
    if (r.code !== 0) {
      const pe = parsePluginError(r.stdout);
      if (pe) throw new CniPluginError(plugin.type, command, list.name, pe.code, pe.msg, pe.details);
      const detail = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).slice(0, 500);
      throw new CniPluginError(plugin.type, command, list.name, undefined, detail);
    }
    return r.stdout;
  }

  private resultsDir(): string {
    return path.join(this.cacheDir, 'results');
  }

  private async writeCache(e: CacheEntry): Promise<void> {
    const dir = this.resultsDir();
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${e.networkName}-${e.containerId}-${e.ifName}`);
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.writeFile(tmp, JSON.stringify(e), { mode: 0o600 });
    await fs.rename(tmp, file);
  }

  /** The cache entry of a container (whatever network it was set up on). */
  private async readCache(containerId: string, ifName: string): Promise<{ file: string; entry: CacheEntry } | undefined> {
    let names: string[];
    try {
      names = await fs.readdir(this.resultsDir());
    } catch {
      return undefined;
    }
    const suffix = `-${containerId}-${ifName}`;
    for (const n of names.filter((x) => x.endsWith(suffix)).sort()) {
      const file = path.join(this.resultsDir(), n);
      try {
        const entry = JSON.parse(await fs.readFile(file, 'utf8')) as CacheEntry;
        if (entry.kind === 'cniCacheV1' && entry.containerId === containerId && entry.ifName === ifName && typeof entry.config === 'string') {
          return { file, entry };
        }
      } catch (e) {
        log.warn('unreadable CNI cache entry', { file, error: e });
      }
    }
    return undefined;
  }
}
