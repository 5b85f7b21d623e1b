import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { poll } from '../helpers/poll.js';
import { type Scenario, withNetns } from '../helpers/netns.js';

const k8ts = fileURLToPath(new URL('../../../bin/k8ts', import.meta.url));
const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-cli-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Starts `k8ts server` inside the scenario's namespace and collects its output. */
function server(s: Scenario, args: string[]): { proc: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const proc = s.spawn(process.execPath, [k8ts, 'server', '--disable-agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b) => (out += b));
  proc.stderr!.on('data', (b) => (out += b));
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exit };
}

test('k8ts --help and k8ts version', async () => {
  const help = (await run(k8ts, ['--help'])).stdout;
  assert.match(help, /Usage: k8ts \[options\] \[command\]/);
  assert.match(help, /server \[options\]/);
  assert.match(help, /version/);
  const serverHelp = (await run(k8ts, ['server', '--help'])).stdout;
  for (const flag of ['--data-dir', '--datastore-endpoint', '--compaction-interval']) assert.match(serverHelp, new RegExp(flag));
  assert.match((await run(k8ts, ['version'])).stdout, /^k8ts version v\d+\.\d+\.\d+ \(Kubernetes API v1\.\d+\.\d+/);
});

test('bad flags are refused with a clear message', async () => {
  const bad = await run(k8ts, ['server', '--compaction-interval', 'soon']).catch((e) => e);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /argument 'soon' is invalid\. not a duration/);
  const ep = await run(k8ts, ['server', '--datastore-endpoint', 'mysql://x']).catch((e) => e);
  assert.equal(ep.code, 1);
  assert.match(ep.stderr, /--datastore-endpoint mysql:\/\/x: not understood/);
});

test('k8ts server opens the SQLite store in --data-dir, serves the API, and stops cleanly on SIGTERM', () => withNetns(async (ns) => {
  const dir = path.join(tmp, 'data');
  const s = server(ns, ['--data-dir', dir, '--secure-port', '0', '--bind-address', '127.0.0.1']);
  await poll(() => s.output().includes('msg="API server ready"'), { what: 'server ready', timeoutMs: 15_000 });
  assert.ok(fs.existsSync(path.join(dir, 'db', 'state.db')));
  await poll(() => /admin kubeconfig: .*admin\.kubeconfig/.test(s.output()), { what: 'the kubeconfig path on stdout' });
  s.proc.kill('SIGTERM');
  assert.equal(await s.exit, 0);
}));

test('k8ts server refuses a corrupt datastore at start and leaves it alone', () => withNetns(async (ns) => {
  const dir = path.join(tmp, 'corrupt');
  fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
  const file = path.join(dir, 'db', 'state.db');
  fs.writeFileSync(file, 'garbage'.repeat(2000));
  const s = server(ns, ['--data-dir', dir]);
  assert.equal(await s.exit, 1);
  assert.match(s.output(), /k8ts: cannot open datastore .*state\.db: the file is not a valid SQLite database/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'garbage'.repeat(2000));
}));

test('k8ts server waits for an unreachable etcd with log lines instead of crashing', () => withNetns(async (ns) => {
  // Nothing listens on this port inside the fresh namespace.
  const s = server(ns, ['--datastore-endpoint', 'http://127.0.0.1:2379']);
  await poll(() => s.output().includes('msg="etcd unreachable, retrying"'), { what: 'a retry log line', timeoutMs: 15_000 });
  assert.equal(s.proc.exitCode, null, 'still running');
  s.proc.kill('SIGTERM');
  assert.equal(await s.exit, 0, 'a signal while waiting still shuts down cleanly');
}));
