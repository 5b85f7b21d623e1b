// kubectl logs / exec / attach / port-forward through a real `k8ts server`
// to a node agent server (test/unit/agent-server/program.ts, fake runtime)
// of a node whose InternalIP is 127.0.0.1. Loopback only, inside the
// scenario's network namespace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Cluster, kubectlPath, withCluster } from '../helpers/cluster.js';
import { poll } from '../helpers/poll.js';

const program = fileURLToPath(new URL('../unit/agent-server/program.js', import.meta.url));
const OPTS = { args: ['--disable-controller-manager', '--disable-scheduler'] };

function cri(text: string, stream = 'stdout', at = new Date()): string {
  return `${at.toISOString().replace('Z', '000000Z')} ${stream} F ${text}\n`;
}

async function startAgent(c: Cluster, logPath: string) {
  const p = c.scenario.spawn(process.execPath, [program, c.dataDir, logPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (b) => (out += b));
  p.stderr!.on('data', (b) => (out += b));
  c.scenario.onCleanup(async () => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  });
  const info = await poll(
    () => {
      if (p.exitCode !== null) throw new Error(`agent program exited ${p.exitCode}: ${out}`);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { port: number; echoPort: number }) : false;
    },
    { timeoutMs: 15_000, what: `agent program (${out})` },
  );
  return { ...info, output: () => out };
}

async function setUp(c: Cluster, logPath: string) {
  const agent = await startAgent(c, logPath);
  await c.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake-node' } }) });
  const status = { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: agent.port } } } };
  await c.k(['patch', 'node', 'fake-node', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { nodeName: 'fake-node', containers: [{ name: 'app', image: 'fake' }] } };
  await c.k(['create', '-f', '-'], { input: JSON.stringify(pod) });
  await c.k(['patch', 'pod', 'web', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running' } })]);
  return agent;
}

test('kubectl logs, exec, attach and port-forward through the API server to a node agent', async () => {
  await withCluster(OPTS, async (c) => {
    const logPath = path.join(c.dataDir, 'app.log');
    const old = new Date(Date.now() - 3600_000);
    fs.writeFileSync(logPath, cri('line 1', 'stdout', old) + cri('line 2', 'stderr', old) + cri('line 3'));
    fs.writeFileSync(`${logPath}.prev`, cri('before the restart'));
    const agent = await setUp(c, logPath);

    // --- logs (plain HTTP streaming)
    assert.equal(await c.k(['logs', 'web']), 'line 1\nline 2\nline 3\n');
    assert.equal(await c.k(['logs', 'web', '-c', 'app', '--tail', '1']), 'line 3\n');
    assert.equal(await c.k(['logs', 'web', '--since', '5m']), 'line 3\n');
    assert.match(await c.k(['logs', 'web', '--tail', '1', '--timestamps']), /^\d{4}-\d\d-\d\dT[\d:.]+Z line 3\n$/);
    assert.equal(await c.k(['logs', 'web', '--previous']), 'before the restart\n');
    for (const v of ['1.27', 'default']) {
      if (v !== 'default' && !fs.existsSync(kubectlPath(v))) continue;
      assert.equal(await c.k(['logs', 'web', '--tail', '2'], { version: v }), 'line 2\nline 3\n', `kubectl ${v}`);
    }
    const bad = await c.kubectl(['logs', 'web', '-c', 'nope'], { allowFailure: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container nope is not valid for pod web/);

    // logs -f: appended lines arrive; the stream ends when the container stops.
    const follow = c.scenario.spawn(kubectlPath(), ['--kubeconfig', c.kubeconfig, 'logs', '-f', 'web', '--tail', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let fout = '';
    follow.stdout!.on('data', (b) => (fout += b));
    follow.stderr!.on('data', (b) => (fout += b));
    const followExit = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)));
    await poll(() => fout.includes('line 3\n'), { timeoutMs: 10_000, what: `logs -f first line (${fout})` });
    fs.appendFileSync(logPath, cri('line 4'));
    await poll(() => fout.includes('line 4\n'), { timeoutMs: 10_000, what: `logs -f appended line (${fout})` });
    fs.writeFileSync(`${logPath}.stopped`, '');
    const code = await Promise.race([followExit, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (code === 'timeout') follow.kill('SIGKILL');
    assert.equal(code, 0, fout);
    assert.equal(fout, 'line 3\nline 4\n');
    fs.unlinkSync(`${logPath}.stopped`);

    // --- exec (WebSocket, v5.channel.k8s.io, through the API server)
    assert.equal(await c.k(['exec', 'web', '--', 'sh', '-c', 'echo hello; echo oops >&2']), 'hello\n');
    const failing = await c.kubectl(['exec', 'web', '-c', 'app', '--', 'sh', '-c', 'echo partial; exit 7'], { allowFailure: true });
    assert.equal(failing.code, 7, failing.stderr);
    assert.equal(failing.stdout, 'partial\n');
    assert.match(failing.stderr, /command terminated with exit code 7/);
    const stderrOut = await c.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo to-stderr >&2'], { allowFailure: true });
    assert.equal(stderrOut.code, 0);
    assert.equal(stderrOut.stderr.trim(), 'to-stderr');
    assert.equal(await c.k(['exec', '-i', 'web', '--', 'tr', 'a-z', 'A-Z'], { input: 'shout\n' }), 'SHOUT\n');

    // exec -it through a pseudo-terminal (script(1)): tty, stdin, resize.
    const tty = await c.scenario.exec(
      'script',
      ['-qec', `${kubectlPath()} --kubeconfig ${c.kubeconfig} exec -it web -- sh -c 'read x; echo got-$x'`, '/dev/null'],
      { input: 'typed\n', allowFailure: true, timeoutMs: 30_000 },
    );
    assert.equal(tty.code, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout, /got-typed/);

    // --- attach (output-only, the runtime has no attach)
    const attach = c.scenario.spawn(kubectlPath(), ['--kubeconfig', c.kubeconfig, 'attach', 'web', '-c', 'app'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let aout = '';
    attach.stdout!.on('data', (b) => (aout += b));
    attach.stderr!.on('data', (b) => (aout += b));
    const attachExit = new Promise<number | null>((r) => attach.once('exit', (code) => r(code)));
    // Attach streams from when it started following: write until a line arrives (no guess at when that was).
    await poll(
      () => {
        fs.appendFileSync(logPath, cri('attached output'));
        return aout.includes('attached output');
      },
      { timeoutMs: 10_000, intervalMs: 200, what: () => `attach output (${aout})` },
    );
    fs.writeFileSync(`${logPath}.stopped`, '');
    const acode = await Promise.race([attachExit, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (acode === 'timeout') attach.kill('SIGKILL');
    assert.equal(acode, 0, aout);
    fs.unlinkSync(`${logPath}.stopped`);

    // --- port-forward
    // kubectl 1.33: SPDY tunneled in WebSocket; kubectl 1.27: plain SPDY upgrade.
    for (const [v, local] of [['default', 18080], ['1.27', 18081]] as const) {
    if (v !== 'default' && !fs.existsSync(kubectlPath(v))) continue;
    const pf = c.scenario.spawn(kubectlPath(v), ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/web', `${local}:${agent.echoPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pout = '';
    pf.stdout!.on('data', (b) => (pout += b));
    pf.stderr!.on('data', (b) => (pout += b));
    try {
      await poll(
        () => {
          if (pf.exitCode !== null) throw new Error(`port-forward exited ${pf.exitCode}: ${pout}`);
          return pout.includes('Forwarding from');
        },
        { timeoutMs: 15_000, what: `port-forward to start (${pout})` },
      );
      const script = `const s=require('net').connect(${local},'127.0.0.1',()=>s.write('ping through the tunnel'));let d='';s.on('data',b=>{d+=b;if(d.length>=23){console.log(d);s.end();}});setTimeout(()=>process.exit(2),10000).unref();`;
      const r = await c.scenario.exec(process.execPath, ['-e', script], { allowFailure: true, timeoutMs: 20_000 });
      assert.equal(r.stdout.trim(), 'ping through the tunnel', `${r.stderr}\nport-forward: ${pout}`);
    } finally {
      pf.kill('SIGTERM');
    }
    }

    // kubectl 1.27 exec speaks only SPDY: refused with a clear message.
    if (fs.existsSync(kubectlPath('1.27'))) {
      const old = await c.kubectl(['exec', 'web', '--', 'true'], { version: '1.27', allowFailure: true });
      assert.notEqual(old.code, 0);
      assert.match(old.stderr, /unsupported upgrade protocol "SPDY\/3.1"/);
    }

    // --- errors: the node agent unreachable, a node without address
    await c.k(['patch', 'node', 'fake-node', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { daemonEndpoints: { kubeletEndpoint: { Port: 1 } } } })]);
    const down = await c.kubectl(['logs', 'web'], { allowFailure: true });
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /error dialing backend/);
    const downExec = await c.kubectl(['exec', 'web', '--', 'true'], { allowFailure: true });
    assert.notEqual(downExec.code, 0);
    assert.match(downExec.stderr, /error dialing backend/);
    await c.k(['patch', 'node', 'fake-node', '--subresource=status', '--type=json', '-p', '[{"op":"remove","path":"/status/addresses"}]']);
    const noAddr = await c.kubectl(['logs', 'web'], { allowFailure: true });
    assert.match(noAddr.stderr, /no preferred addresses found for node "fake-node"/);
    assert.ok(agent.output().length >= 0);
  });
});
