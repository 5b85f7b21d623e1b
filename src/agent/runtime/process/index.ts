// The process runtime: pods run as plain Linux processes on the node's
// filesystem. A sandbox is a named network namespace (`ip netns add`, lo up;
// the agent's CNI ADD gives it the pod's interface) and a UTS namespace with
// the pod's hostname, held by a tiny "pause" process (sleep infinity). Each
// container is a process tree in the sandbox's network and UTS namespaces,
// with its own mount namespace (the pod's files and volumes bind-mounted over
// the node's paths) and its own PID namespace (the container's command is
// PID 1), inside its own cgroups (memory and CPU limits).
//
// Everything lives on disk under the root directory, so a new runtime over
// the same root (an agent restart) re-adopts what runs:
//
//   <root>/sandboxes/<id>/sandbox.json       identity, netns, pause pid + start time
//   <root>/containers/<id>/container.json    config, cgroups, shim pid + start time
//                          shim.sh init.sh   the scripts that start it
//                          init.pid          the container's PID 1 (host pid + start time)
//                          started           written just before the command is exec'd
//                          start-error       why it could not start (runc's wording)
//                          exit              "<code> <oom kills> <finishedAt>", by the shim
//                          stdout stderr     raw output, turned into the CRI log by the log pump
//                          runtime.err       errors of nsenter/unshare themselves
//   <logDir>/<ns>_<pod>_<uid>/<container>/<attempt>.log   CRI log (see logs.ts)
//
// Process identities are a PID plus its start time (/proc/<pid>/stat field
// 22), so a reused PID is never mistaken for a container. The container's
// shim (`sh shim.sh`, its own session) joins the cgroups, runs
//   nsenter --net --uts -> unshare --mount --pid --fork --mount-proc -> sh init.sh
// where init.sh (PID 1 of the new PID namespace) makes the bind mounts,
// changes directory and execs `setpriv` (runAsUser/runAsGroup) `env -i`
// (exactly the container's environment) and the command; when the command
// ends the shim records its exit code and the cgroup's OOM kill count. The
// agent is nowhere in that chain: it can stop and start again at any time.
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { exec as run } from '../../../util/exec.js';
import { logger } from '../../../util/log.js';
import type {
  ContainerConfig,
  ContainerRuntime,
  ContainerStatus,
  ExecOptions,
  ExecProcess,
  SandboxConfig,
  SandboxStatus,
} from '../types.js';
import { type CgroupLayout, cgroupPids, createContainerCgroups, detectCgroups, oomFile, removeCgroups } from './cgroups.js';
import { LogPump, type ReadLogOptions, logFiles, readLog } from './logs.js';
import { type ProcRef, childrenOf, isAlive, procRef, readJson, resolveExecutable, shJoin, shQuote, signal, sleep, waitFor, writeAtomic } from './proc.js';

export { readLog, parseCriLine, formatCriLine, LogPump } from './logs.js';
export type { ReadLogOptions, CriLogEntry } from './logs.js';

const log = logger('runtime/process');

export interface ProcessRuntimeOptions {
  /** Where sandbox and container state lives (e.g. <dataDir>/runtime). */
  root: string;
  /** Where CRI logs go (default <root>/logs), as /var/log/pods: <ns>_<pod>_<uid>/<container>/<attempt>.log. */
  logDir?: string;
  /** Prefix of the sandboxes' network namespace names (default "k8ts-"). */
  netnsPrefix?: string;
  /** Network namespace (a path) for hostNetwork pods; default: the agent's own. */
  hostNetnsPath?: string;
  /** false: no cgroups (no limits); a layout: use it; default: detect. */
  cgroups?: false | CgroupLayout;
  /** Name of the cgroup parent (default "k8ts"). */
  cgroupParent?: string;
  /** CRI log rotation (kubelet's containerLogMaxSize / containerLogMaxFiles). */
  logMaxSize?: number;
  logMaxFiles?: number;
  /** How often the log pump reads new output (default 250 ms). */
  logPumpIntervalMs?: number;
}

interface SandboxState {
  id: string;
  podUid: string;
  namespace: string;
  name: string;
  hostname: string;
  hostNetwork: boolean;
  labels: Record<string, string>;
  netns: string;
  netnsPath: string;
  pause?: ProcRef;
  createdAt: string;
}

interface ContainerStateFile {
  id: string;
  config: ContainerConfig;
  createdAt: string;
  logPath: string;
  cgroups: string[];
  oomFile?: string;
  shim?: ProcRef;
  createdMountpoints: string[];
}

/** An error of container creation or start, with kubelet's waiting reason. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly reason: 'CreateContainerError' | 'StartError' | 'RunContainerError' = 'CreateContainerError',
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

const nowIso = () => new Date().toISOString();

export class ProcessRuntime implements ContainerRuntime {
  readonly name = 'process';
  private readonly root: string;
  private readonly logDir: string;
  private readonly netnsPrefix: string;
  private readonly cgroupLayout?: CgroupLayout;
  private readonly pumps = new Map<string, LogPump>();
  private readonly timer: NodeJS.Timeout;
  private pumping = false;
  private closed = false;

  constructor(private readonly o: ProcessRuntimeOptions) {
    this.root = path.resolve(o.root);
    this.logDir = path.resolve(o.logDir ?? path.join(this.root, 'logs'));
    this.netnsPrefix = o.netnsPrefix ?? 'k8ts-';
    fs.mkdirSync(path.join(this.root, 'sandboxes'), { recursive: true });
    fs.mkdirSync(path.join(this.root, 'containers'), { recursive: true });
    if (o.cgroups === false) this.cgroupLayout = undefined;
    else {
      this.cgroupLayout = o.cgroups ?? detectCgroups('/sys/fs/cgroup', o.cgroupParent ?? 'k8ts');
      if (!this.cgroupLayout) log.warn('no usable cgroup controllers: containers run without resource limits');
      else log.info('cgroups', { version: this.cgroupLayout.version, parents: Object.values(this.cgroupLayout.parents).join(',') });
    }
    this.timer = setInterval(() => void this.pumpAll(), o.logPumpIntervalMs ?? 250);
    this.timer.unref();
  }

  /** Stops the log pump (containers keep running; a new runtime over the same root carries on). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    while (this.pumping) await sleep(10);
  }

  get cgroups(): CgroupLayout | undefined {
    return this.cgroupLayout;
  }

  private sbDir(id: string) {
    return path.join(this.root, 'sandboxes', id);
  }
  private ctrDir(id: string) {
    return path.join(this.root, 'containers', id);
  }
  private readSandbox(id: string): SandboxState | undefined {
    if (!/^[0-9a-f]+$/.test(id)) return undefined;
    return readJson<SandboxState>(path.join(this.sbDir(id), 'sandbox.json'));
  }
  private readContainer(id: string): ContainerStateFile | undefined {
    if (!/^[0-9a-f]+$/.test(id)) return undefined;
    return readJson<ContainerStateFile>(path.join(this.ctrDir(id), 'container.json'));
  }

  // ---- sandboxes ----

  async createSandbox(cfg: SandboxConfig): Promise<SandboxStatus> {
    const id = crypto.randomBytes(32).toString('hex');
    const dir = this.sbDir(id);
    fs.mkdirSync(dir, { recursive: true });
    const st: SandboxState = {
      id,
      podUid: cfg.podUid,
      namespace: cfg.namespace,
      name: cfg.name,
      hostname: cfg.hostname,
      hostNetwork: cfg.hostNetwork,
      labels: cfg.labels ?? {},
      netns: '',
      netnsPath: '',
      createdAt: nowIso(),
    };
    try {
      if (!cfg.hostNetwork) {
        st.netns = `${this.netnsPrefix}${cfg.podUid.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}-${id.slice(0, 8)}`;
        st.netnsPath = `/var/run/netns/${st.netns}`;
        writeAtomic(path.join(dir, 'sandbox.json'), JSON.stringify(st)); // so a failure below is still cleaned up
        await run('ip', ['netns', 'add', st.netns]);
        await run('ip', ['-n', st.netns, 'link', 'set', 'lo', 'up']);
        st.pause = await this.startPause(st);
      }
      writeAtomic(path.join(dir, 'sandbox.json'), JSON.stringify(st));
    } catch (err) {
      await this.destroySandbox(st).catch(() => {});
      throw new RuntimeError(`failed to create pod sandbox: ${(err as Error).message}`, 'CreateContainerError');
    }
    log.info('sandbox created', { id: id.slice(0, 12), pod: `${cfg.namespace}/${cfg.name}`, netns: st.netns || 'host' });
    return this.sandboxStatus(st);
  }

  /** Starts the process that holds the pod's UTS namespace (hostname) and sits in its network namespace. */
  private async startPause(st: SandboxState): Promise<ProcRef> {
    const p = spawn(
      'nsenter',
      [`--net=${st.netnsPath}`, 'unshare', '--uts', 'sh', '-c', 'hostname "$1" && exec sleep infinity', 'pause', st.hostname],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('error', () => {});
    const ok = await waitFor(() => p.exitCode !== null || p.signalCode !== null || readComm(p.pid) === 'sleep', 5000);
    p.stderr!.destroy();
    p.unref();
    if (!ok || p.exitCode !== null || p.signalCode !== null || !p.pid) {
      if (p.pid) killTree(p);
      throw new Error(`pause process failed: ${stderr.trim() || `exit ${p.exitCode}`}`);
    }
    return procRef(p.pid)!;
  }

  private sandboxStatus(st: SandboxState): SandboxStatus {
    const ready = st.hostNetwork || (fs.existsSync(st.netnsPath) && isAlive(st.pause));
    return {
      id: st.id,
      podUid: st.podUid,
      namespace: st.namespace,
      name: st.name,
      state: ready ? 'ready' : 'notready',
      netnsPath: st.netnsPath,
      createdAt: st.createdAt,
    };
  }

  async listSandboxes(): Promise<SandboxStatus[]> {
    const out: SandboxStatus[] = [];
    for (const id of safeReaddir(path.join(this.root, 'sandboxes'))) {
      const st = this.readSandbox(id);
      if (st) out.push(this.sandboxStatus(st));
    }
    return out;
  }

  /** Stops and removes every container of the sandbox, ends the pause process, deletes the netns and the state. */
  async removeSandbox(id: string): Promise<void> {
    const st = this.readSandbox(id);
    if (!st) {
      if (/^[0-9a-f]+$/.test(id)) fs.rmSync(this.sbDir(id), { recursive: true, force: true });
      return;
    }
    for (const c of await this.listContainers(id)) {
      await this.stopContainer(c.id, 0);
      await this.removeContainer(c.id);
    }
    await this.destroySandbox(st);
    log.info('sandbox removed', { id: id.slice(0, 12), pod: `${st.namespace}/${st.name}` });
  }

  private async destroySandbox(st: SandboxState): Promise<void> {
    if (st.pause && signal(st.pause, 'SIGKILL')) await waitFor(() => !isAlive(st.pause), 5000);
    if (st.netns && fs.existsSync(st.netnsPath)) await run('ip', ['netns', 'del', st.netns], { allowFailure: true });
    if (this.cgroupLayout) {
      const dirs = Object.values(this.cgroupLayout.parents).map((p) => path.join(p, st.id));
      await removeCgroups(dirs);
    }
    fs.rmSync(this.sbDir(st.id), { recursive: true, force: true });
  }

  // ---- containers ----

  async startContainer(cfg: ContainerConfig): Promise<ContainerStatus> {
    const sb = this.readSandbox(cfg.sandboxId);
    if (!sb) throw new RuntimeError(`pod sandbox ${cfg.sandboxId} not found`, 'CreateContainerError');
    if (!sb.hostNetwork && (!isAlive(sb.pause) || !fs.existsSync(sb.netnsPath))) {
      throw new RuntimeError(`pod sandbox ${cfg.sandboxId.slice(0, 12)} is not ready`, 'CreateContainerError');
    }
    const envPath = cfg.env.filter((e) => e.name === 'PATH').pop()?.value;
    let exe: string;
    try {
      exe = resolveExecutable(cfg.argv[0] ?? '', envPath, cfg.mounts);
      if (!cfg.argv.length) throw new Error('no command specified');
      for (const m of cfg.mounts) if (!fs.existsSync(m.hostPath)) throw new Error(`error mounting "${m.hostPath}" to rootfs at "${m.containerPath}": stat ${m.hostPath}: no such file or directory`);
    } catch (err) {
      throw new RuntimeError(`failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${(err as Error).message}: unknown`, 'StartError');
    }

    const id = crypto.randomBytes(32).toString('hex');
    const dir = this.ctrDir(id);
    fs.mkdirSync(dir, { recursive: true });
    const logPath = path.join(this.logDir, `${sb.namespace}_${sb.name}_${sb.podUid}`, cfg.name, `${cfg.attempt}.log`);
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const state: ContainerStateFile = { id, config: cfg, createdAt: nowIso(), logPath, cgroups: [], createdMountpoints: [] };
    try {
      if (this.cgroupLayout) {
        try {
          state.cgroups = createContainerCgroups(this.cgroupLayout, sb.id, id, cfg.limits);
          state.oomFile = oomFile(state.cgroups);
        } catch (err) {
          log.warn('cannot create cgroups: container runs without resource limits', { container: cfg.name, error: err as Error });
          state.cgroups = [];
        }
      }
      state.createdMountpoints = createMountpoints(cfg.mounts);
      writeAtomic(path.join(dir, 'container.json'), JSON.stringify(state));
      fs.writeFileSync(path.join(dir, 'stdout'), '');
      fs.writeFileSync(path.join(dir, 'stderr'), '');
      fs.writeFileSync(path.join(dir, 'init.sh'), this.initScript(dir, cfg, exe));
      fs.writeFileSync(path.join(dir, 'shim.sh'), this.shimScript(dir, sb, state));

      const shim = spawn('sh', [path.join(dir, 'shim.sh')], { detached: true, stdio: 'ignore', cwd: dir, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
      shim.on('error', () => {});
      shim.unref();
      if (!shim.pid) throw new Error('cannot start the container shim');
      state.shim = procRef(shim.pid) ?? { pid: shim.pid, start: '' };
      writeAtomic(path.join(dir, 'container.json'), JSON.stringify(state));

      // Wait until the command is exec'd (or the start failed).
      const has = (f: string) => fs.existsSync(path.join(dir, f));
      const ok = await waitFor(() => has('started') || has('exit'), 15_000, 10);
      if (has('start-error') || (!has('started') && has('exit'))) {
        const msg =
          safeRead(path.join(dir, 'start-error')).trim() ||
          safeRead(path.join(dir, 'runtime.err')).trim() ||
          safeRead(path.join(dir, 'stderr')).trim() ||
          'container exited during start';
        throw new RuntimeError(`failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${msg}: unknown`, 'StartError');
      }
      if (!ok) throw new RuntimeError('timed out starting the container', 'StartError');
      this.initOf(id, state);
    } catch (err) {
      await this.stopContainer(id, 0).catch(() => {});
      await this.removeContainer(id).catch(() => {});
      throw err instanceof RuntimeError ? err : new RuntimeError((err as Error).message, 'CreateContainerError');
    }
    log.info('container started', { id: id.slice(0, 12), pod: `${sb.namespace}/${sb.name}`, container: cfg.name });
    return (await this.containerStatus(id))!;
  }

  /** The script of the container's shim: joins the cgroups, runs the container, records how it ended. */
  private shimScript(dir: string, sb: SandboxState, st: ContainerStateFile): string {
    const chain: string[] = [];
    if (!sb.hostNetwork) chain.push('nsenter', `--net=${sb.netnsPath}`, `--uts=/proc/${sb.pause!.pid}/ns/uts`);
    else if (this.o.hostNetnsPath) chain.push('nsenter', `--net=${this.o.hostNetnsPath}`);
    chain.push('unshare', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', path.join(dir, 'init.sh'));
    const q = shQuote;
    return [
      '#!/bin/sh',
      `# k8ts container shim: ${st.config.name} (${st.id})`,
      `cd ${q(dir)} || exit 1`,
      ...st.cgroups.map((c) => `echo $$ > ${q(path.join(c, 'cgroup.procs'))} || echo "k8ts: cannot join cgroup ${c}" >> stderr`),
      // nsenter's and unshare's own errors go to runtime.err; init.sh moves the container's stderr (fd 3) to fd 2.
      `${shJoin(chain)} </dev/null >>stdout 2>>runtime.err 3>>stderr`,
      'code=$?',
      // util-linux 2.38 `unshare --fork` exits 1 ("sigprocmask unblock failed") instead of dying of
      // SIGKILL when its child was SIGKILLed (it cannot reset SIGKILL's handler); every other signal
      // it passes on. Recognise that case: the container's PID 1 was killed.
      `if [ "$code" = 1 ] && grep -q 'sigprocmask unblock failed' runtime.err 2>/dev/null; then code=137; fi`,
      'oom=0',
      st.oomFile ? `oom=$(sed -n 's/^oom_kill //p' ${q(st.oomFile)} 2>/dev/null)` : '',
      `printf '%s %s %s\\n' "$code" "\${oom:-0}" "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" > exit.tmp && mv exit.tmp exit`,
      '',
    ].join('\n');
  }

  /** The script run as PID 1 of the container's PID namespace: mounts, working directory, user, env, exec. */
  private initScript(dir: string, cfg: ContainerConfig, exe: string): string {
    const q = shQuote;
    const lines = [
      '#!/bin/sh',
      `fail() { printf '%s' "$1" > ${q(path.join(dir, 'start-error'))}; exit 128; }`,
      'exec 2>&3 3>&-',
      `mount --make-rprivate / 2>/dev/null || fail 'cannot make mounts private'`,
    ];
    const mounts = [...cfg.mounts].sort((a, b) => a.containerPath.split('/').length - b.containerPath.split('/').length);
    for (const m of mounts) {
      const err = `error mounting "${m.hostPath}" to rootfs at "${m.containerPath}"`;
      lines.push(`mount --bind ${q(m.hostPath)} ${q(m.containerPath)} || fail ${q(err)}`);
      if (m.readOnly) lines.push(`mount -o remount,bind,ro ${q(m.containerPath)} || fail ${q(`${err}: read-only remount failed`)}`);
    }
    const wd = cfg.workingDir || '/';
    lines.push(`cd ${q(wd)} 2>/dev/null || fail ${q(`chdir to cwd ("${wd}") set in config.json failed: no such file or directory`)}`);
    lines.push(`date -u +%Y-%m-%dT%H:%M:%S.%NZ > ${q(path.join(dir, 'started.tmp'))} && mv ${q(path.join(dir, 'started.tmp'))} ${q(path.join(dir, 'started'))}`);
    const user = cfg.runAsUser !== undefined || cfg.runAsGroup !== undefined ? ['setpriv', `--reuid=${cfg.runAsUser ?? 0}`, `--regid=${cfg.runAsGroup ?? 0}`, '--clear-groups'] : [];
    const env = cfg.env.map((e) => `${e.name}=${e.value}`);
    lines.push(`exec ${shJoin([...user, 'env', '-i', ...env, exe, ...cfg.argv.slice(1)])}`);
    return lines.join('\n') + '\n';
  }

  /** The container's PID 1 (a host PID), found under the shim once and then remembered. */
  private initOf(id: string, st: ContainerStateFile): ProcRef | undefined {
    const file = path.join(this.ctrDir(id), 'init.pid');
    const saved = readJson<ProcRef>(file);
    if (saved) return saved;
    if (!st.shim || !isAlive(st.shim)) return undefined;
    // shim (sh) -> nsenter/unshare -> the container's PID 1
    for (const u of childrenOf(st.shim.pid)) {
      for (const c of childrenOf(u)) {
        const ref = procRef(c);
        if (ref) {
          writeAtomic(file, JSON.stringify(ref));
          return ref;
        }
      }
    }
    return undefined;
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const st = this.readContainer(id);
    if (!st) return undefined;
    const dir = this.ctrDir(id);
    const cfg = st.config;
    const base: ContainerStatus = {
      id,
      sandboxId: cfg.sandboxId,
      name: cfg.name,
      attempt: cfg.attempt,
      image: cfg.image,
      imageId: cfg.image,
      state: 'created',
      createdAt: st.createdAt,
      logPath: st.logPath,
    };
    const started = safeRead(path.join(dir, 'started')).trim();
    if (started) base.startedAt = started;
    const exit = safeRead(path.join(dir, 'exit')).trim();
    const init = started ? this.initOf(id, st) : undefined;
    if (exit) {
      const [code, oom, finished] = exit.split(' ');
      const exitCode = Number(code);
      const oomKilled = Number(oom) > 0;
      return {
        ...base,
        pid: init?.pid,
        state: 'exited',
        exitCode,
        finishedAt: finished,
        reason: oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      };
    }
    if (isAlive(st.shim) || isAlive(init)) return { ...base, pid: init?.pid, state: started ? 'running' : 'created' };
    // The shim ended without recording an exit (killed, or the node rebooted).
    return {
      ...base,
      state: 'exited',
      exitCode: 137,
      finishedAt: base.startedAt ?? st.createdAt,
      reason: 'Error',
      message: "the container's shim ended without recording an exit code",
    };
  }

  async listContainers(sandboxId?: string): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const id of safeReaddir(path.join(this.root, 'containers'))) {
      const st = this.readContainer(id);
      if (!st || (sandboxId && st.config.sandboxId !== sandboxId)) continue;
      const s = await this.containerStatus(id);
      if (s) out.push(s);
    }
    return out;
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const st = this.readContainer(id);
    if (!st) return;
    const dir = this.ctrDir(id);
    const ended = () => fs.existsSync(path.join(dir, 'exit')) || (!isAlive(st.shim) && !isAlive(this.initOf(id, st)));
    if (ended()) return;
    const init = this.initOf(id, st);
    // PID 1 of a PID namespace gets SIGTERM only if it handles it (as in any container); SIGKILL always.
    if (graceSeconds > 0 && init) {
      signal(init, 'SIGTERM');
      if (await waitFor(ended, graceSeconds * 1000, 50)) return;
    }
    const initNow = this.initOf(id, st);
    if (initNow) signal(initNow, 'SIGKILL');
    else {
      // Not started yet (or PID 1 unknown): end the whole shim tree through the cgroup, or the shim.
      for (const c of st.cgroups) for (const pid of cgroupPids(c)) killPid(pid, 'SIGKILL');
      if (!st.cgroups.length) signal(st.shim, 'SIGKILL');
    }
    if (!(await waitFor(ended, 10_000, 50))) {
      signal(st.shim, 'SIGKILL');
      for (const c of st.cgroups) for (const pid of cgroupPids(c)) killPid(pid, 'SIGKILL');
      await waitFor(ended, 5000, 50);
    }
  }

  /** Removes a container that has ended (stops it first if not): its cgroups, mount points it created, state and logs. */
  async removeContainer(id: string): Promise<void> {
    const st = this.readContainer(id);
    const dir = this.ctrDir(id);
    if (!st) {
      if (/^[0-9a-f]+$/.test(id)) fs.rmSync(dir, { recursive: true, force: true });
      return;
    }
    await this.stopContainer(id, 0);
    this.pumps.delete(id);
    const left = await removeCgroups(st.cgroups);
    if (left.length) log.warn('cgroups left behind', { container: id.slice(0, 12), cgroups: left.join(',') });
    for (const p of [...st.createdMountpoints].reverse()) {
      try {
        const s = fs.lstatSync(p);
        if (s.isDirectory()) fs.rmdirSync(p);
        else if (s.size === 0) fs.unlinkSync(p);
      } catch {
        /* in use or gone */
      }
    }
    for (const f of logFiles(st.logPath)) fs.rmSync(f, { force: true });
    for (let d = path.dirname(st.logPath), i = 0; i < 2; i++, d = path.dirname(d)) {
      try {
        fs.rmdirSync(d);
      } catch {
        break;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // ---- logs ----

  private pumpOf(id: string, st: ContainerStateFile): LogPump {
    let p = this.pumps.get(id);
    if (!p) {
      const dir = this.ctrDir(id);
      p = new LogPump({ stdout: path.join(dir, 'stdout'), stderr: path.join(dir, 'stderr') }, path.join(dir, 'log.offsets'), st.logPath, {
        maxSize: this.o.logMaxSize,
        maxFiles: this.o.logMaxFiles,
      });
      this.pumps.set(id, p);
    }
    return p;
  }

  /** Copies a container's new output into its CRI log now (the pump also does it periodically). */
  async flushLogs(id: string): Promise<void> {
    const st = this.readContainer(id);
    if (!st) return;
    const dir = this.ctrDir(id);
    if (fs.existsSync(path.join(dir, 'log.done'))) return;
    const final = fs.existsSync(path.join(dir, 'exit'));
    await this.pumpOf(id, st).pump(final);
    if (final) fs.writeFileSync(path.join(dir, 'log.done'), '');
  }

  private async pumpAll(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      for (const id of safeReaddir(path.join(this.root, 'containers'))) {
        if (this.closed) break;
        await this.flushLogs(id).catch((err) => log.debug('log pump', { container: id.slice(0, 12), error: err as Error }));
      }
    } finally {
      this.pumping = false;
    }
  }

  /** A container's log as kubectl logs shows it; with follow, until the container has ended and its log is drained. */
  async *readLog(id: string, o: ReadLogOptions = {}): AsyncGenerator<Buffer> {
    const st = this.readContainer(id);
    if (!st) throw new Error(`container ${id} not found`);
    await this.flushLogs(id);
    const dir = this.ctrDir(id);
    yield* readLog(st.logPath, {
      ...o,
      done: async () => {
        if (o.done && (await o.done())) return true;
        if (!fs.existsSync(dir)) return true;
        await this.flushLogs(id);
        return fs.existsSync(path.join(dir, 'log.done'));
      },
    });
  }

  // ---- exec ----

  async exec(id: string, argv: string[], opts: ExecOptions = {}): Promise<ExecProcess> {
    const st = this.readContainer(id);
    const init = st ? this.initOf(id, st) : undefined;
    if (!st || !isAlive(init) || fs.existsSync(path.join(this.ctrDir(id), 'exit'))) {
      throw new RuntimeError(`container ${id.slice(0, 12)} is not running`, 'RunContainerError');
    }
    const cfg = st.config;
    const user = cfg.runAsUser !== undefined || cfg.runAsGroup !== undefined ? ['setpriv', `--reuid=${cfg.runAsUser ?? 0}`, `--regid=${cfg.runAsGroup ?? 0}`, '--clear-groups'] : [];
    const env = cfg.env.map((e) => `${e.name}=${e.value}`);
    if (opts.tty && !cfg.env.some((e) => e.name === 'TERM')) env.push('TERM=xterm');
    const inner = ['nsenter', '--target', String(init!.pid), '--mount', '--uts', '--net', '--pid', `--wd=${cfg.workingDir || '/'}`, ...user, 'env', '-i', ...env, ...argv];
    // Join the container's cgroups first, so what exec runs counts against its limits.
    const joinCgroups = st.cgroups.map((c) => `echo $$ > ${shQuote(path.join(c, 'cgroup.procs'))} 2>/dev/null;`).join(' ');
    const cmd = `${joinCgroups} exec ${shJoin(inner)}`;
    const child: ChildProcess = opts.tty
      ? spawn('script', ['-qfec', cmd, '/dev/null'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH, SHELL: '/bin/sh' } })
      : spawn('sh', ['-c', cmd], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    const exit = new Promise<number>((resolve) => {
      child.on('error', () => resolve(126));
      child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? signalNumber(sig) : 9)));
    });
    child.stdin!.on('error', () => {});
    if (opts.stdin) opts.stdin.pipe(child.stdin!);
    else child.stdin!.end();
    const proc: ExecProcess = {
      stdout: child.stdout ?? new PassThrough(),
      stderr: child.stderr ?? new PassThrough(),
      exit,
      kill: (sig: NodeJS.Signals = 'SIGKILL') => {
        try {
          if (child.pid) process.kill(-child.pid, sig); // the exec's process group (nsenter and what it forked)
        } catch {
          /* gone */
        }
      },
    };
    if (opts.tty) {
      proc.resize = (width: number, height: number) => void resizePty(child.pid, width, height);
      if (opts.resize) {
        void (async () => {
          for await (const s of opts.resize!) resizePty(child.pid, s.width, s.height);
        })().catch(() => {});
      }
    }
    return proc;
  }
}

/** Sets the size of the terminal `script` made for its child (TIOCSWINSZ also sends SIGWINCH). Best effort. */
function resizePty(scriptPid: number | undefined, width: number, height: number): void {
  if (!scriptPid) return;
  for (const c of childrenOf(scriptPid)) {
    try {
      const tty = fs.readlinkSync(`/proc/${c}/fd/0`);
      if (tty.startsWith('/dev/pts/')) {
        void run('stty', ['-F', tty, 'rows', String(height), 'cols', String(width)], { allowFailure: true }).catch(() => {});
        return;
      }
    } catch {
      /* gone */
    }
  }
}

/** Creates the mount points missing on the node (directories, or empty files for file mounts); returns what it created. */
function createMountpoints(mounts: Array<{ hostPath: string; containerPath: string }>): string[] {
  const created: string[] = [];
  for (const m of mounts) {
    if (fs.existsSync(m.containerPath)) continue;
    const isDir = fs.statSync(m.hostPath).isDirectory();
    const parts = path.resolve(m.containerPath).split('/').filter(Boolean);
    let p = '';
    for (let i = 0; i < parts.length; i++) {
      p += `/${parts[i]}`;
      if (fs.existsSync(p)) continue;
      if (i === parts.length - 1 && !isDir) fs.writeFileSync(p, '');
      else fs.mkdirSync(p);
      created.push(p);
    }
  }
  return created;
}

function readComm(pid: number | undefined): string {
  return pid ? safeRead(`/proc/${pid}/comm`).trim() : '';
}

function killTree(p: ChildProcess): void {
  try {
    process.kill(-p.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function killPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  const n = (osConstants.signals as Record<string, number>)[sig];
  return typeof n === 'number' ? n : 9;
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
