// The one way k8ts runs system commands (ip, nft, iptables-restore, CNI plugins...).
// Results and failures are structured; unit tests can swap in a recorder.
import { spawn } from 'node:child_process';

export interface ExecOptions {
  /** Written to the command's stdin (e.g. `nft -f -`, `ip -batch -`). */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command after this many milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFailure?: boolean;
}

export interface ExecResult {
  cmd: string;
  args: string[];
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  constructor(public readonly result: ExecResult, public readonly reason: 'exit' | 'timeout' | 'spawn') {
    const what = [result.cmd, ...result.args].join(' ');
    const detail = result.stderr.trim() || result.stdout.trim();
    super(
      reason === 'spawn'
        ? `cannot run ${result.cmd}: ${detail}`
        : reason === 'timeout'
          ? `${what}: timed out`
          : `${what}: exit ${result.code}${detail ? `: ${detail}` : ''}`,
    );
    this.name = 'ExecError';
  }
}

export type Runner = (cmd: string, args: string[], opts?: ExecOptions) => Promise<ExecResult>;

const realRunner: Runner = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the command may exit before reading stdin
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ExecError({ cmd, args, code: -1, signal: null, stdout: '', stderr: e.message }, 'spawn'));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = {
        cmd,
        args,
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (timedOut) reject(new ExecError(result, 'timeout'));
      else if (result.code !== 0 && !opts.allowFailure) reject(new ExecError(result, 'exit'));
      else resolve(result);
    });
    child.stdin.end(opts.input ?? '');
  });

let runner: Runner = realRunner;

/** Runs a system command. Throws ExecError on failure unless allowFailure is set. */
export function exec(cmd: string, args: string[], opts?: ExecOptions): Promise<ExecResult> {
  return runner(cmd, args, opts);
}

export interface RecordedCommand {
  cmd: string;
  args: string[];
  input?: string;
}

/**
 * For unit tests: replaces the runner with one that records every command and
 * answers through `respond` (default: success with empty output). Returns the
 * record and a function that restores the real runner.
 */
export function recordCommands(
  respond: (c: RecordedCommand) => Partial<ExecResult> | undefined = () => undefined,
): { commands: RecordedCommand[]; restore: () => void } {
  const commands: RecordedCommand[] = [];
  runner = async (cmd, args, opts = {}) => {
    const rec: RecordedCommand = { cmd, args, input: opts.input };
    commands.push(rec);
    const r: ExecResult = { cmd, args, code: 0, signal: null, stdout: '', stderr: '', ...respond(rec) };
    if (r.code !== 0 && !opts.allowFailure) throw new ExecError(r, 'exit');
    return r;
  };
  return { commands, restore: () => (runner = realRunner) };
}
