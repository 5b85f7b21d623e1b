// The process runtime on the real kernel: namespaces, mounts, cgroups, logs,
// re-adoption by a second runtime over the same root. Every sandbox's network
// namespace is named after the test's own namespace (withNetns), so it is
// swept even if a test dies; containers only ever see their pod namespace
// (loopback only). Mount namespaces are per container: host mounts are never
// touched.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ProcessRuntime } from '../../../src/agent/runtime/process/index.js';
import { parseCriLine } from '../../../src/agent/runtime/process/logs.js';
import type { ContainerConfig, ContainerStatus } from '../../../src/agent/runtime/types.js';
import { exec } from '../../../src/util/exec.js';
import { setLogSink } from '../../../src/util/log.js';
import { type Scenario, withNetns } from '../../helpers/netns.js';
import { poll } from '../../helpers/poll.js';

setLogSink(() => {});
const BB = '/bin/busybox';

interface Ctx {
  s: Scenario;
  rt: ProcessRuntime;
  root: string;
  tmp: string;
  newRuntime(): ProcessRuntime;
}

async function withRuntime(fn: (c: Ctx) => Promise<void>): Promise<void> {
  await withNetns(async (s) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-rt-'));
    const root = path.join(tmp, 'root');
    const runtimes: ProcessRuntime[] = [];
    const newRuntime = () => {
      const r = new ProcessRuntime({ root, netnsPrefix: s.name('pod-'), hostNetnsPath: `/var/run/netns/${s.netns}`, logPumpIntervalMs: 100, cgroupParent: s.netns });
      runtimes.push(r);
      return r;
    };
    const rt = newRuntime();
    try {
      await fn({ s, rt, root, tmp, newRuntime });
    } finally {
      // Remove whatever the test left (sandboxes take their containers with them).
      const last = newRuntime();
      for (const sb of await last.listSandboxes()) await last.removeSandbox(sb.id).catch(() => {});
      for (const c of await last.listContainers()) await last.removeContainer(c.id).catch(() => {});
      for (const r of runtimes) await r.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

function ctr(sandboxId: string, name: string, script: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    sandboxId,
    name,
    attempt: 0,
    image: 'busybox',
    argv: [BB, 'sh', '-c', script],
    env: [{ name: 'PATH', value: '/bin:/usr/bin' }],
    mounts: [],
    ...extra,
  };
}

async function waitExited(rt: ProcessRuntime, id: string, timeoutMs = 10_000): Promise<ContainerStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = await rt.containerStatus(id);
    if (st?.state === 'exited') return st;
    if (Date.now() > end) assert.fail(`container ${id.slice(0, 12)} did not exit in ${timeoutMs} ms: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function logText(rt: ProcessRuntime, id: string, o: { timestamps?: boolean } = {}): Promise<string> {
  let out = '';
  for await (const b of rt.readLog(id, o)) out += b.toString();
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

const sandboxCfg = (uid: string, hostname = 'web-0') => ({ podUid: uid, namespace: 'default', name: hostname, hostname, hostNetwork: false });

test('stdout and stderr become CRI log lines; exit codes and reasons', async () => {
  await withRuntime(async ({ rt }) => {
    const sb = await rt.createSandbox(sandboxCfg('11111111-aaaa'));
    assert.equal(sb.state, 'ready');
    assert.match(sb.netnsPath, /^\/var\/run\/netns\/k8ts-e2e-/);
    const c = await rt.startContainer(ctr(sb.id, 'app', 'echo out1; echo err1 >&2; printf "no newline"; exit 3'));
    const st = await waitExited(rt, c.id);
    assert.equal(st.exitCode, 3);
    assert.equal(st.reason, 'Error');
    assert.ok(st.startedAt && st.finishedAt);
    await rt.flushLogs(c.id);
    const raw = fs.readFileSync(st.logPath, 'utf8').trimEnd().split('\n');
    for (const l of raw) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] /);
    const entries = raw.map((l) => parseCriLine(Buffer.from(l))!);
    // Each stream keeps its order; the two streams are pumped separately (see logs.ts).
    const of = (stream: string) => entries.filter((e) => e.stream === stream).map((e) => [e.partial, e.content.toString()]);
    assert.deepEqual(of('stdout'), [
      [false, 'out1'],
      [false, 'no newline'],
    ]);
    assert.deepEqual(of('stderr'), [[false, 'err1']]);
    assert.deepEqual((await logText(rt, c.id)).split('\n').sort(), ['', 'err1', 'no newline', 'out1']);

    const ok = await rt.startContainer(ctr(sb.id, 'ok', 'exit 0'));
    const okSt = await waitExited(rt, ok.id);
    assert.equal(okSt.exitCode, 0);
    assert.equal(okSt.reason, 'Completed');
  });
});

test('a command that cannot be found is a StartError and leaves nothing', async () => {
  await withRuntime(async ({ rt }) => {
    const sb = await rt.createSandbox(sandboxCfg('22222222-bbbb'));
    await assert.rejects(rt.startContainer({ ...ctr(sb.id, 'bad', ''), argv: ['no-such-command-k8ts'] }), (err: Error & { reason?: string }) => {
      assert.equal(err.reason, 'StartError');
      assert.match(err.message, /exec: "no-such-command-k8ts": executable file not found in \$PATH/);
      return true;
    });
    await assert.rejects(rt.startContainer(ctr(sb.id, 'badwd', 'true', { workingDir: '/no/such/dir/k8ts' })), (err: Error & { reason?: string }) => {
      assert.equal(err.reason, 'StartError');
      assert.match(err.message, /chdir to cwd \("\/no\/such\/dir\/k8ts"\)/);
      return true;
    });
    assert.deepEqual(await rt.listContainers(sb.id), []);
  });
});

test('hostname, PID 1, exact env, bind mounts (read-only too), the host untouched', async () => {
  await withRuntime(async ({ rt, tmp }) => {
    const hostsBefore = fs.readFileSync('/etc/hosts', 'utf8');
    const hosts = path.join(tmp, 'hosts');
    fs.writeFileSync(hosts, '10.9.8.7 web-0.example web-0\n');
    const vol = path.join(tmp, 'vol');
    fs.mkdirSync(vol);
    fs.writeFileSync(path.join(vol, 'data.txt'), 'volume data\n');
    const missing = path.join(tmp, 'not-there', 'ro'); // a mount point missing on the node: created, then removed
    const sb = await rt.createSandbox(sandboxCfg('33333333-cccc', 'web-0'));
    const c = await rt.startContainer(
      ctr(sb.id, 'app', `hostname; echo pid=$$; ${BB} env | ${BB} sort; ${BB} cat /etc/hosts; ${BB} cat ${missing}/data.txt; echo x > ${missing}/new || echo readonly; pwd`, {
        env: [
          { name: 'PATH', value: '/bin:/usr/bin' },
          { name: 'GREETING', value: 'hello world' },
          { name: 'EMPTY', value: '' },
        ],
        mounts: [
          { hostPath: hosts, containerPath: '/etc/hosts' },
          { hostPath: vol, containerPath: missing, readOnly: true },
        ],
        workingDir: '/tmp',
      }),
    );
    const st = await waitExited(rt, c.id);
    const out = await logText(rt, c.id);
    assert.equal(st.exitCode, 0, out);
    const lines = out.split('\n');
    assert.equal(lines[0], 'web-0');
    assert.equal(lines[1], 'pid=1');
    // busybox sh adds PWD and SHLVL itself; nothing else but what was given.
    const env = lines.filter((l) => /^[A-Z_]+=/.test(l)).filter((l) => !/^(PWD|SHLVL)=/.test(l));
    assert.deepEqual(env, ['EMPTY=', 'GREETING=hello world', 'PATH=/bin:/usr/bin']);
    assert.ok(lines.includes('10.9.8.7 web-0.example web-0'), out);
    assert.ok(lines.includes('volume data'), out);
    assert.ok(lines.includes('readonly'), out);
    assert.ok(lines.includes('/tmp'), out);
    assert.equal(fs.readFileSync('/etc/hosts', 'utf8'), hostsBefore);
    assert.ok(!fs.existsSync(path.join(vol, 'new')));
    assert.notEqual(os.hostname(), 'web-0');
    await rt.removeContainer(c.id);
    assert.ok(!fs.existsSync(path.join(tmp, 'not-there')), 'created mount points are removed');
    assert.ok(!fs.existsSync(st.logPath), 'log removed with the container');
  });
});

test('containers of a sandbox share its network namespace, apart from the node', async () => {
  await withRuntime(async ({ rt, tmp }) => {
    const www = path.join(tmp, 'www');
    fs.mkdirSync(www);
    fs.writeFileSync(path.join(www, 'index.html'), 'hello from the pod\n');
    const sb = await rt.createSandbox(sandboxCfg('44444444-dddd'));
    const srv = await rt.startContainer(ctr(sb.id, 'server', `cd ${www} && exec ${BB} httpd -f -p 127.0.0.1:8080 -h ${www}`));
    const client = await rt.startContainer(
      ctr(sb.id, 'client', `i=0; while [ $i -lt 50 ]; do ${BB} wget -q -O - http://127.0.0.1:8080/ && exit 0; i=$((i+1)); ${BB} sleep 0.1; done; exit 1`),
    );
    const st = await waitExited(rt, client.id);
    assert.equal(st.exitCode, 0, await logText(rt, client.id));
    assert.equal(await logText(rt, client.id), 'hello from the pod\n');
    // The node (here: the test's namespace) does not see the pod's listener.
    const r = await exec(BB, ['wget', '-q', '-T', '1', '-O', '-', 'http://127.0.0.1:8080/'], { allowFailure: true, timeoutMs: 5000 });
    assert.notEqual(r.stdout, 'hello from the pod\n');
    assert.equal((await rt.containerStatus(srv.id))?.state, 'running');
    // exec runs in the container's namespaces, with its env.
    const p = await rt.exec(srv.id, [BB, 'sh', '-c', 'hostname; echo $$; echo $PATH; exit 4']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    assert.equal(await p.exit, 4);
    const [h, pid, envPath] = out.trim().split('\n');
    assert.equal(h, 'web-0');
    assert.ok(Number(pid) > 1);
    assert.equal(envPath, '/bin:/usr/bin');
    // exec with stdin, and with a terminal
    const { Readable } = await import('node:stream');
    const cat = await rt.exec(srv.id, [BB, 'cat'], { stdin: Readable.from(['piped input\n']) });
    let catOut = '';
    cat.stdout.on('data', (d) => (catOut += d));
    assert.equal(await cat.exit, 0);
    assert.equal(catOut, 'piped input\n');
    const t = await rt.exec(srv.id, [BB, 'sh', '-c', 'tty; exit 2'], { tty: true });
    let tOut = '';
    t.stdout.on('data', (d) => (tOut += d));
    assert.equal(await t.exit, 2);
    assert.match(tOut, /\/dev\/pts\/\d+/);
  });
});

test('runAsUser and runAsGroup', async () => {
  await withRuntime(async ({ rt }) => {
    const sb = await rt.createSandbox(sandboxCfg('55555555-eeee'));
    const c = await rt.startContainer(ctr(sb.id, 'app', `${BB} id -u; ${BB} id -g; ${BB} id -G`, { runAsUser: 65534, runAsGroup: 65534 }));
    const st = await waitExited(rt, c.id);
    assert.equal(st.exitCode, 0);
    assert.equal(await logText(rt, c.id), '65534\n65534\n65534\n');
  });
});

test('memory limit: a process allocating beyond it is OOMKilled', async (t) => {
  await withRuntime(async ({ rt }) => {
    if (!rt.cgroups || (rt.cgroups.version === 1 && !rt.cgroups.parents.memory)) {
      t.skip('no memory cgroup controller on this machine');
      return;
    }
    const sb = await rt.createSandbox(sandboxCfg('66666666-ffff'));
    const c = await rt.startContainer(ctr(sb.id, 'hog', `exec ${BB} dd if=/dev/zero of=/dev/null bs=96M count=1`, { limits: { memoryLimitBytes: 32 * 1024 * 1024, cpuLimitMillis: 500, cpuRequestMillis: 100 } }));
    const st = await waitExited(rt, c.id, 20_000);
    assert.equal(st.reason, 'OOMKilled', JSON.stringify(st));
    assert.equal(st.exitCode, 137);
    // Within the limit: fine.
    const ok = await rt.startContainer(ctr(sb.id, 'small', `exec ${BB} dd if=/dev/zero of=/dev/null bs=4M count=1`, { limits: { memoryLimitBytes: 32 * 1024 * 1024 } }));
    const okSt = await waitExited(rt, ok.id);
    assert.equal(okSt.reason, 'Completed');
  });
});

test('stop: SIGTERM for a PID 1 that handles it, SIGKILL after the grace period otherwise', async () => {
  await withRuntime(async ({ rt }) => {
    const sb = await rt.createSandbox(sandboxCfg('77777777-aaaa'));
    const polite = await rt.startContainer(ctr(sb.id, 'polite', `trap 'echo bye; exit 0' TERM; echo ready; while true; do ${BB} sleep 0.1; done`));
    const stubborn = await rt.startContainer({ ...ctr(sb.id, 'stubborn', ''), argv: [BB, 'sleep', '1000'] });
    // The trap is set once the container has said so.
    await poll(
      async () => {
        await rt.flushLogs(polite.id);
        return (await logText(rt, polite.id)).includes('ready');
      },
      { timeoutMs: 10_000, what: 'the polite container to set its trap' },
    );
    let t0 = Date.now();
    await rt.stopContainer(polite.id, 10);
    assert.ok(Date.now() - t0 < 5000, 'a handled SIGTERM ends it before the grace period');
    const p = await rt.containerStatus(polite.id);
    assert.equal(p?.state, 'exited');
    assert.equal(p?.exitCode, 0);
    assert.match(await logText(rt, polite.id), /bye/);

    t0 = Date.now();
    await rt.stopContainer(stubborn.id, 1);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 8000, `took ${took} ms`);
    const s = await rt.containerStatus(stubborn.id);
    assert.equal(s?.state, 'exited');
    assert.equal(s?.exitCode, 137);
    assert.ok(!alive(stubborn.pid!));
  });
});

test('a new runtime over the same root re-adopts running containers and sees exits that happened while none ran', async () => {
  await withRuntime(async ({ rt, root, newRuntime }) => {
    const sb = await rt.createSandbox(sandboxCfg('88888888-bbbb'));
    const long = await rt.startContainer({ ...ctr(sb.id, 'long', ''), argv: [BB, 'sleep', '1000'] });
    const gate = path.join(os.tmpdir(), `k8ts-rt-gate-${process.pid}-${Date.now()}`);
    const short = await rt.startContainer(ctr(sb.id, 'short', `echo before; while [ ! -e ${gate} ]; do ${BB} sleep 0.05; done; echo written while no agent ran; exit 7`));
    await rt.flushLogs(short.id);
    await rt.close(); // "the agent stops"
    fs.writeFileSync(gate, '');
    try {
      // The short container ends while no runtime is there.
      const end = Date.now() + 10_000;
      while (!fs.existsSync(path.join(root, 'containers', short.id, 'exit')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.ok(fs.existsSync(path.join(root, 'containers', short.id, 'exit')), 'the shim recorded the exit');
      const rt2 = newRuntime();
      const sbs = await rt2.listSandboxes();
      assert.deepEqual(
        sbs.map((s) => [s.id, s.state]),
        [[sb.id, 'ready']],
      );
      const l = await rt2.containerStatus(long.id);
      assert.equal(l?.state, 'running');
      assert.equal(l?.pid, long.pid);
      const s = await waitExited(rt2, short.id);
      assert.equal(s.exitCode, 7);
      assert.equal(s.reason, 'Error');
      assert.equal(await logText(rt2, short.id), 'before\nwritten while no agent ran\n');
      assert.equal((await rt2.listContainers(sb.id)).length, 2);
      await rt2.stopContainer(long.id, 0);
      assert.equal((await rt2.containerStatus(long.id))?.state, 'exited');
    } finally {
      fs.rmSync(gate, { force: true });
    }
  });
});

test('removeSandbox leaves no process, netns, cgroup, state or log behind', async () => {
  await withRuntime(async ({ rt, root }) => {
    const sb = await rt.createSandbox(sandboxCfg('99999999-cccc'));
    const a = await rt.startContainer({ ...ctr(sb.id, 'a', ''), argv: [BB, 'sleep', '1000'], limits: { memoryLimitBytes: 64 * 1024 * 1024, cpuLimitMillis: 250, cpuRequestMillis: 100 } });
    const b = await rt.startContainer(ctr(sb.id, 'b', `${BB} sleep 1000 & ${BB} sleep 1000 & wait`));
    const state = JSON.parse(fs.readFileSync(path.join(root, 'sandboxes', sb.id, 'sandbox.json'), 'utf8'));
    const ctrState = JSON.parse(fs.readFileSync(path.join(root, 'containers', a.id, 'container.json'), 'utf8'));
    const pids = [a.pid!, b.pid!, state.pause.pid, ctrState.shim.pid];
    for (const p of pids) assert.ok(alive(p), `pid ${p} runs`);
    const netns = path.basename(sb.netnsPath);
    assert.ok((await exec('ip', ['netns', 'list'])).stdout.includes(netns));
    const cgroups: string[] = ctrState.cgroups;
    for (const c of cgroups) assert.ok(fs.existsSync(c));
    const memcg = cgroups.find((c) => fs.existsSync(path.join(c, 'memory.limit_in_bytes')));
    if (memcg) {
      assert.equal(fs.readFileSync(path.join(memcg, 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
      assert.ok(fs.readFileSync(path.join(memcg, 'cgroup.procs'), 'utf8').split('\n').includes(String(a.pid)), 'the container is in its cgroup');
    }
    const cpucg = cgroups.find((c) => fs.existsSync(path.join(c, 'cpu.cfs_quota_us')));
    if (cpucg) {
      assert.equal(fs.readFileSync(path.join(cpucg, 'cpu.cfs_quota_us'), 'utf8').trim(), '25000');
      assert.equal(fs.readFileSync(path.join(cpucg, 'cpu.shares'), 'utf8').trim(), '102');
    }
    await rt.removeSandbox(sb.id);
    for (const p of pids) assert.ok(!alive(p), `pid ${p} ended`);
    assert.ok(!(await exec('ip', ['netns', 'list'])).stdout.includes(netns));
    for (const c of cgroups) {
      assert.ok(!fs.existsSync(c), `${c} removed`);
      assert.ok(!fs.existsSync(path.dirname(c)), `${path.dirname(c)} removed`);
    }
    assert.deepEqual(fs.readdirSync(path.join(root, 'sandboxes')), []);
    assert.deepEqual(fs.readdirSync(path.join(root, 'containers')), []);
    assert.ok(!fs.existsSync(a.logPath));
    assert.deepEqual(await rt.listSandboxes(), []);
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(root));
  });
});

test('hostNetwork: the node network and UTS namespaces, no pause process', async () => {
  await withRuntime(async ({ rt, s }) => {
    const sb = await rt.createSandbox({ ...sandboxCfg('aaaaaaaa-dddd', 'hostnet'), hostNetwork: true });
    assert.equal(sb.netnsPath, '');
    assert.equal(sb.state, 'ready');
    // The "node" network here is the test's namespace (hostNetnsPath).
    const c = await rt.startContainer(ctr(sb.id, 'app', `hostname; ${BB} readlink /proc/self/ns/net`));
    const st = await waitExited(rt, c.id);
    assert.equal(st.exitCode, 0, await logText(rt, c.id));
    assert.equal(await logText(rt, c.id), `${os.hostname()}\nnet:[${fs.statSync(`/var/run/netns/${s.netns}`).ino}]\n`);
    await rt.removeSandbox(sb.id);
    assert.deepEqual(await rt.listSandboxes(), []);
  });
});
