import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CompactedError, CorruptStoreError, type Store, StoreError, startAutoCompaction } from '../../../src/storage/index.js';
import { openSqliteStore } from '../../../src/storage/sqlite/sqlite-store.js';
import { poll } from '../../helpers/poll.js';
import { storeConformance } from './conformance.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-sqlite-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const file = path.join(tmp, 'conformance', 'state.db');
let shared: Store | undefined;

storeConformance('sqlite', {
  open: async () => (shared ??= openSqliteStore(file)),
  reopen: async (s) => {
    await s.close();
    shared = openSqliteStore(file);
    return shared;
  },
});
after(() => shared?.close());

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('sqlite backend', () => {
  test('every acknowledged write survives kill -9 during a write loop', async () => {
    const db = path.join(tmp, 'crash', 'state.db');
    const writer = fileURLToPath(new URL('../../helpers/sqlite-writer.js', import.meta.url));
    const child = spawn(process.execPath, [writer, db], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = -1;
    let buf = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      buf += b;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith('ack ')) acked = Number(l.slice(4));
    });
    child.stderr.on('data', (b) => (stderr += b));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await poll(() => acked >= 500 || child.exitCode !== null, { timeoutMs: 30_000, what: '500 acknowledged writes' });
      assert.equal(child.exitCode, null, `writer died early: ${stderr}`);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const store = openSqliteStore(db);
    try {
      const { items } = await store.list('/registry/crash/');
      assert.ok(items.length >= acked + 1, `${items.length} keys present, ${acked + 1} acknowledged`);
      for (let i = 0; i <= acked; i++) assert.equal(items[i].key, `/registry/crash/${String(i).padStart(8, '0')}`);
      // The store keeps working: revisions continue after the last present write.
      const next = await store.create('/registry/crash/after', 'x');
      assert.equal(next.modRevision, items.length + 1);
    } finally {
      await store.close();
    }
  });

  test('a corrupt database file gives a clear error and is never reset', async () => {
    const db = path.join(tmp, 'corrupt.db');
    fs.writeFileSync(db, Buffer.concat([Buffer.from('this is not sqlite'), Buffer.alloc(8192, 7)]));
    const before = sha(db);
    const err = (() => {
      try {
        openSqliteStore(db);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof CorruptStoreError, String(err));
    assert.match(String((err as Error).message), /cannot open datastore .*corrupt\.db: the file is not a valid SQLite database/);
    assert.match(String((err as Error).message), /left untouched/);
    assert.equal(sha(db), before, 'the file is unchanged');
  });

  test('a database of another program is refused, not altered', async () => {
    const db = path.join(tmp, 'foreign.db');
    const s = openSqliteStore(db);
    await s.close();
    // Simulate another program's schema under the same table name.
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(db);
    raw.exec('DROP TABLE kv; CREATE TABLE kv (id INTEGER PRIMARY KEY, data TEXT);');
    raw.close();
    assert.throws(() => openSqliteStore(db), /this is not a k8ts database/);
  });

  test('an unreadable path and a locked database give clear errors', async () => {
    const dir = path.join(tmp, 'is-a-dir.db');
    fs.mkdirSync(dir);
    assert.throws(() => openSqliteStore(dir), (e: Error) => e instanceof StoreError && /cannot open datastore .*is-a-dir\.db/.test(e.message));

    const db = path.join(tmp, 'locked.db');
    const first = openSqliteStore(db);
    try {
      const child = spawn(process.execPath, [
        '--input-type=module',
        '-e',
        `import { openSqliteStore } from ${JSON.stringify(new URL('../../../src/storage/sqlite/sqlite-store.js', import.meta.url).href)};
         try { openSqliteStore(${JSON.stringify(db)}); console.log('opened'); } catch (e) { console.log(e.message); }`,
      ]);
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      await new Promise((r) => child.once('exit', r));
      assert.match(out, /locked by another process \(is another k8ts server using this data dir\?\)/);
    } finally {
      await first.close();
    }
  });

  test('automatic compaction bounds history under churn', async () => {
    const db = path.join(tmp, 'churn.db');
    const s = openSqliteStore(db);
    const stop = startAutoCompaction(s, { intervalMs: 20, retain: 100 });
    try {
      let kv = await s.create('/registry/churn/k', '0');
      for (let i = 1; i <= 1000; i++) kv = await s.update('/registry/churn/k', String(i), kv.modRevision);
      const current = await s.currentRevision();
      await poll(async () => (await s.compactRevision()) >= current - 100, { what: 'auto compaction' });
      await assert.rejects(s.watch('/registry/churn/', 1, { onEvents: () => {} }), CompactedError);
      assert.equal((await s.get('/registry/churn/k'))?.value, '1000');
      const { default: Database } = await import('better-sqlite3');
      await s.close();
      const raw = new Database(db, { readonly: true });
      const rows = (raw.prepare('SELECT COUNT(*) AS n FROM kv').get() as { n: number }).n;
      raw.close();
      assert.ok(rows <= 101, `history rows after compaction: ${rows}`);
    } finally {
      stop();
      await s.close();
    }
  });
});
