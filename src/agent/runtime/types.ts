// The node agent's view of a container runtime, in the spirit of the CRI:
// pod sandboxes (network + UTS namespaces, set up by the agent's CNI runtime)
// and containers in them. The process runtime (runtime/process) is the first
// implementation; an OCI one (runc + a registry) can sit behind the same
// interface later. State lives on disk under the runtime's root, so an agent
// restart re-adopts what runs (listSandboxes/listContainers), never
// duplicating or losing it.

export interface SandboxConfig {
  /** Pod identity: sandboxes are named after the pod UID. */
  podUid: string;
  namespace: string;
  name: string;
  /** The pod's hostname (spec.hostname or name), set in its UTS namespace. */
  hostname: string;
  /** Use the node's network and UTS namespaces (spec.hostNetwork). */
  hostNetwork: boolean;
  /** Labels to remember with the sandbox (pod labels, for listing). */
  labels?: Record<string, string>;
}

export interface SandboxStatus {
  id: string;
  podUid: string;
  namespace: string;
  name: string;
  state: 'ready' | 'notready';
  /** Path of the network namespace (e.g. /var/run/netns/k8ts-<uid>), '' for hostNetwork. */
  netnsPath: string;
  createdAt: string;
}

export interface Mount {
  /** Path on the node (a file or directory prepared by the agent). */
  hostPath: string;
  /** Path inside the container. */
  containerPath: string;
  readOnly?: boolean;
}

export interface ResourceLimits {
  /** Bytes; 0 or undefined: unlimited. */
  memoryLimitBytes?: number;
  /** CPU limit in millicores (cfs quota); 0 or undefined: unlimited. */
  cpuLimitMillis?: number;
  /** CPU request in millicores (shares/weight). */
  cpuRequestMillis?: number;
}

export interface ContainerConfig {
  sandboxId: string;
  /** Container name within the pod. */
  name: string;
  /** Restart count this start is (0 first); kept in the container's identity. */
  attempt: number;
  /** The image reference as written in the pod spec. */
  image: string;
  /** The resolved argv: image entrypoint/cmd merged with command/args, $(VAR)s expanded. */
  argv: string[];
  env: Array<{ name: string; value: string }>;
  workingDir?: string;
  mounts: Mount[];
  limits?: ResourceLimits;
  runAsUser?: number;
  runAsGroup?: number;
  /** Keep stdin open (spec.stdin) and allocate a terminal (spec.tty): for attach. */
  stdin?: boolean;
  tty?: boolean;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  image: string;
  imageId: string;
  state: ContainerState;
  pid?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** 'OOMKilled', 'Error', 'Completed', as kubelet reports them. */
  reason?: string;
  message?: string;
  /** Path of the CRI-format log file ("<RFC3339Nano> stdout|stderr F|P <line>"). */
  logPath: string;
}

export interface ExecOptions {
  stdin?: NodeJS.ReadableStream;
  tty?: boolean;
  /** Terminal size changes (exec -it resize). */
  resize?: AsyncIterable<{ width: number; height: number }>;
}

export interface ExecProcess {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  stdin?: NodeJS.WritableStream;
  /** Resolves with the exit code. */
  exit: Promise<number>;
  resize?(width: number, height: number): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface ContainerRuntime {
  readonly name: string;
  createSandbox(cfg: SandboxConfig): Promise<SandboxStatus>;
  /** Stops every container of the sandbox, then removes its namespaces (CNI DEL is the agent's, before this). */
  removeSandbox(id: string): Promise<void>;
  listSandboxes(): Promise<SandboxStatus[]>;
  /** Creates and starts a container; rejects with an Error whose `reason` is kubelet's (e.g. CreateContainerError). */
  startContainer(cfg: ContainerConfig): Promise<ContainerStatus>;
  /** SIGTERM, then SIGKILL after graceSeconds; resolves once it has exited. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerStatus | undefined>;
  listContainers(sandboxId?: string): Promise<ContainerStatus[]>;
  /** Runs a command in a running container (exec probes, kubectl exec). */
  exec(id: string, argv: string[], opts?: ExecOptions): Promise<ExecProcess>;
  /**
   * Brings a container's CRI log (logPath) up to date now. Runtimes whose
   * containers write their log themselves need not have it; the process
   * runtime copies output into the log periodically, so a log reader calls
   * this first to see the very latest lines.
   */
  flushLogs?(id: string): Promise<void>;
  /** Stops the runtime's own background work (containers keep running, to be re-adopted). */
  close?(): Promise<void>;
}
