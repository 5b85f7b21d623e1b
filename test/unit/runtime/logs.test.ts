// CRI logs of the process runtime: the pump (raw output -> CRI lines, partial
// lines, rotation, resuming from its offsets) and readLog (kubectl logs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LogPump, formatCriLine, nowRfc3339Nano, parseCriLine, readLog } from '../../../src/agent/runtime/process/logs.js';

function tmpdir(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-logs-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function setup(dir: string, o = {}) {
  const raw = { stdout: path.join(dir, 'stdout'), stderr: path.join(dir, 'stderr') };
  fs.writeFileSync(raw.stdout, '');
  fs.writeFileSync(raw.stderr, '');
  const logPath = path.join(dir, '0.log');
  const make = () => new LogPump(raw, path.join(dir, 'offsets'), logPath, o);
  return { raw, logPath, make };
}

const entries = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const e = parseCriLine(Buffer.from(l))!;
      return `${e.stream} ${e.partial ? 'P' : 'F'} ${e.content}`;
    });

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  let s = '';
  for await (const b of it) s += b.toString();
  return s;
}

test('timestamps are RFC3339Nano and parse back', () => {
  const t = nowRfc3339Nano();
  assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.ok(Math.abs(Date.parse(t) - Date.now()) < 1000);
  const e = parseCriLine(formatCriLine(t, 'stderr', true, Buffer.from('a b c')).subarray(0, -1))!;
  assert.deepEqual([e.time, e.stream, e.partial, e.content.toString()], [t, 'stderr', true, 'a b c']);
  assert.equal(parseCriLine(Buffer.from('garbage')), undefined);
});

test('pump: whole lines, waiting for the rest of a line, long lines as partials, the last line at the end', async (t) => {
  const dir = tmpdir(t);
  const { raw, logPath, make } = setup(dir, { maxLine: 8 });
  const pump = make();
  fs.appendFileSync(raw.stdout, 'one\ntw');
  fs.appendFileSync(raw.stderr, 'oops\n');
  await pump.pump();
  assert.deepEqual(entries(logPath), ['stdout F one', 'stderr F oops']);
  fs.appendFileSync(raw.stdout, 'o\n0123456789abcdefXY\nend');
  await pump.pump();
  assert.deepEqual(entries(logPath).slice(2), ['stdout F two', 'stdout P 01234567', 'stdout P 89abcdef', 'stdout F XY']);
  // A new pump (a restarted agent) carries on where the last one stopped.
  const again = make();
  await again.pump(true);
  assert.deepEqual(entries(logPath).slice(6), ['stdout F end']);
  await again.pump(true);
  assert.equal(entries(logPath).length, 7);
  assert.equal(await collect(readLog(logPath)), 'one\noops\ntwo\n0123456789abcdefXY\nend\n');
});

test('pump: rotation keeps maxFiles files and readLog reads them in order', async (t) => {
  const dir = tmpdir(t);
  const { raw, logPath, make } = setup(dir, { maxSize: 200, maxFiles: 3 });
  const pump = make();
  for (let i = 0; i < 20; i++) {
    fs.appendFileSync(raw.stdout, `line ${i}\n`);
    await pump.pump();
  }
  assert.ok(fs.existsSync(`${logPath}.1`) && fs.existsSync(`${logPath}.2`));
  assert.ok(!fs.existsSync(`${logPath}.3`));
  for (const f of [logPath, `${logPath}.1`, `${logPath}.2`]) assert.ok(fs.statSync(f).size <= 200);
  const text = await collect(readLog(logPath));
  const nums = text.trim().split('\n').map((l) => Number(l.split(' ')[1]));
  assert.equal(nums[nums.length - 1], 19);
  assert.deepEqual(nums, nums.map((_, i) => nums[0] + i), 'consecutive, oldest first');
});

test('pump: frees consumed raw output without losing any', async (t) => {
  const dir = tmpdir(t);
  const { raw, logPath, make } = setup(dir, { punchEvery: 64 * 1024, maxSize: 100 * 1024 * 1024 });
  const pump = make();
  const line = 'x'.repeat(1000) + '\n';
  for (let i = 0; i < 3; i++) {
    fs.appendFileSync(raw.stdout, line.repeat(100));
    await pump.pump();
  }
  const st = fs.statSync(raw.stdout);
  assert.equal(st.size, 300 * 1001);
  assert.ok(st.blocks * 512 < st.size / 2, `blocks freed (${st.blocks * 512} bytes on disk of ${st.size})`);
  assert.equal(entries(logPath).length, 300);
});

test('readLog: tailLines, sinceTime, timestamps, limitBytes, stream', async (t) => {
  const dir = tmpdir(t);
  const logPath = path.join(dir, '0.log');
  const lines = [
    formatCriLine('2026-01-01T00:00:01.000000001Z', 'stdout', false, Buffer.from('a')),
    formatCriLine('2026-01-01T00:00:02.000000000Z', 'stderr', false, Buffer.from('b')),
    formatCriLine('2026-01-01T00:00:03.000000000Z', 'stdout', true, Buffer.from('c1')),
    formatCriLine('2026-01-01T00:00:03.000000000Z', 'stdout', false, Buffer.from('c2')),
  ];
  fs.writeFileSync(logPath, Buffer.concat(lines));
  assert.equal(await collect(readLog(logPath)), 'a\nb\nc1c2\n');
  assert.equal(await collect(readLog(logPath, { tailLines: 1 })), 'c1c2\n');
  assert.equal(await collect(readLog(logPath, { tailLines: 2 })), 'b\nc1c2\n');
  assert.equal(await collect(readLog(logPath, { tailLines: 0 })), '');
  assert.equal(await collect(readLog(logPath, { sinceTime: '2026-01-01T00:00:01.5Z' })), 'b\nc1c2\n');
  assert.equal(await collect(readLog(logPath, { sinceTime: new Date('2026-01-01T00:00:01Z') })), 'a\nb\nc1c2\n');
  assert.equal(await collect(readLog(logPath, { sinceTime: '2026-01-01T00:00:01.000000002Z' })), 'b\nc1c2\n');
  assert.equal(await collect(readLog(logPath, { stream: 'stderr' })), 'b\n');
  assert.equal(await collect(readLog(logPath, { limitBytes: 3 })), 'a\nb');
  assert.equal(
    await collect(readLog(logPath, { timestamps: true, tailLines: 2 })),
    '2026-01-01T00:00:02.000000000Z b\n2026-01-01T00:00:03.000000000Z c1' + '2026-01-01T00:00:03.000000000Z c2\n',
  );
});

test('readLog: follow sees new lines and rotation, and stops when done', async (t) => {
  const dir = tmpdir(t);
  const { raw, logPath, make } = setup(dir, { maxSize: 120, maxFiles: 2 });
  const pump = make();
  fs.appendFileSync(raw.stdout, 'first\n');
  await pump.pump();
  let finished = false;
  const got: string[] = [];
  const reader = (async () => {
    for await (const b of readLog(logPath, { follow: true, pollMs: 20, done: () => finished })) got.push(b.toString());
  })();
  for (let i = 0; i < 10; i++) {
    fs.appendFileSync(raw.stdout, `more ${i}\n`);
    await pump.pump();
    await new Promise((r) => setTimeout(r, 30));
  }
  assert.ok(fs.existsSync(`${logPath}.1`), 'rotated meanwhile');
  finished = true;
  const timeout = setTimeout(() => assert.fail('follow did not stop'), 5000);
  await reader;
  clearTimeout(timeout);
  assert.equal(got.join(''), 'first\n' + Array.from({ length: 10 }, (_, i) => `more ${i}\n`).join(''));
});

test('readLog: follow stops on abort', async (t) => {
  const dir = tmpdir(t);
  const logPath = path.join(dir, '0.log');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const t0 = Date.now();
  assert.equal(await collect(readLog(logPath, { follow: true, signal: ac.signal })), '');
  assert.ok(Date.now() - t0 < 2000);
});
