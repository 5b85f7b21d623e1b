// SQLite backend (the default): one revision log table, like k3s's kine.
// Every write appends a row whose rowid is the store revision; a delete appends
// a tombstone (value NULL). Reads at a revision take each key's newest row at or
// before it. WAL with synchronous=NORMAL means an acknowledged write is in the
// WAL before the call returns, so it survives kill -9 of the process; FULL also
// survives power loss at a cost per write (choose with ?sync=full).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Engine, type LogRow, LocalStore, rowToEvent, toKeyValue } from '../local-store.js';
import { CorruptStoreError, type KeyValue, StoreError, type WatchEvent, prefixEnd } from '../types.js';

export interface SqliteOptions {
  /** 'normal' (default; survives process crash) or 'full' (also survives power loss). */
  sync?: 'normal' | 'full';
}

interface DbRow {
  rev: number;
  key: string;
  value: string | null;
  create_rev: number;
  version: number;
  prev_rev: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  rev        INTEGER PRIMARY KEY,
  key        TEXT    NOT NULL,
  value      TEXT,
  create_rev INTEGER NOT NULL,
  version    INTEGER NOT NULL,
  prev_rev   INTEGER
);
CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

const fromDb = (r: DbRow): LogRow => ({
  key: r.key,
  rev: r.rev,
  value: r.value,
  createRev: r.create_rev,
  version: r.version,
  prevRev: r.prev_rev,
});

class SqliteEngine implements Engine {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      latest: db.prepare<[string], DbRow>('SELECT * FROM kv WHERE key = ? ORDER BY rev DESC LIMIT 1'),
      // SQLite takes the bare columns of an aggregate from the row holding MAX(rev).
      range: db.prepare<[string, string, number, number], DbRow>(
        `SELECT MAX(rev) AS rev, key, value, create_rev, version, prev_rev FROM kv
         WHERE key >= ? AND key < ? AND rev <= ? GROUP BY key HAVING value IS NOT NULL ORDER BY key LIMIT ?`,
      ),
      insert: db.prepare(
        'INSERT INTO kv (rev, key, value, create_rev, version, prev_rev) VALUES (@rev, @key, @value, @createRev, @version, @prevRev)',
      ),
      history: db.prepare<[number, string, string], DbRow & { p_value: string | null; p_rev: number | null; p_create_rev: number; p_version: number }>(
        `SELECT c.*, p.value AS p_value, p.rev AS p_rev, p.create_rev AS p_create_rev, p.version AS p_version
         FROM kv c LEFT JOIN kv p ON p.rev = c.prev_rev
         WHERE c.rev > ? AND c.key >= ? AND c.key < ? ORDER BY c.rev`,
      ),
      compact: db.prepare<[{ rev: number }]>(
        `DELETE FROM kv WHERE rev <= @rev AND (value IS NULL OR EXISTS
           (SELECT 1 FROM kv n WHERE n.key = kv.key AND n.rev > kv.rev AND n.rev <= @rev))`,
      ),
    };
  }

  latest(key: string): LogRow | undefined {
    const r = this.q.latest.get(key);
    return r && fromDb(r);
  }

  rangeAt(start: string, end: string, rev: number, limit: number): KeyValue[] {
    return this.q.range.all(start, end, rev, limit || -1).map((r) => toKeyValue(fromDb(r)));
  }

  append(row: LogRow): void {
    this.q.insert.run(row);
  }

  historySince(prefix: string, after: number): WatchEvent[] {
    return this.q.history.all(after, prefix, prefixEnd(prefix)).map((r) => {
      const prev: KeyValue | undefined =
        r.p_rev === null
          ? undefined
          : { key: r.key, value: r.p_value as string, createRevision: r.p_create_rev, modRevision: r.p_rev, version: r.p_version };
      return rowToEvent(fromDb(r), prev);
    });
  }

  compactTo(rev: number): void {
    this.q.compact.run({ rev });
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}

/** Opens (creating if needed) the SQLite store at `file`. Never resets an existing file. */
export function openSqliteStore(file: string, opts: SqliteOptions = {}): LocalStore {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 2000 });
    // Hold the file exclusively: two servers writing one SQLite file would corrupt revisions.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
    const cols = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('kv')").all().map((c) => c.name);
    if (cols.length) {
      for (const c of ['rev', 'key', 'value', 'create_rev', 'version', 'prev_rev']) {
        if (!cols.includes(c)) throw new CorruptStoreError(`table kv has no column ${c}: this is not a k8ts database`);
      }
    }
    db.exec(SCHEMA);
    const maxRev = db.prepare<[], { r: number | null }>('SELECT MAX(rev) AS r FROM kv').get()!.r ?? 0;
    const compacted = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'compact_rev'").get()?.value ?? 0;
    const save = db.prepare<[number]>("INSERT INTO meta (name, value) VALUES ('compact_rev', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    return new LocalStore('sqlite', new SqliteEngine(db), Math.max(maxRev, compacted), compacted, (r) => save.run(r));
  } catch (err) {
    db?.close();
    throw explainOpenError(file, err);
  }
}

function explainOpenError(file: string, err: unknown): Error {
  if (err instanceof StoreError) return new CorruptStoreError(`cannot open datastore ${file}: ${err.message}`);
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  const base = `cannot open datastore ${file}`;
  switch (e.code) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return new CorruptStoreError(`${base}: the file is not a valid SQLite database (${msg}). It was left untouched; restore it from a backup or move it away to start an empty cluster.`);
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StoreError(`${base}: it is locked by another process (is another k8ts server using this data dir?)`);
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_READONLY':
    case 'SQLITE_IOERR':
      return new StoreError(`${base}: ${msg} (check that the path is a writable file)`);
    default:
      return new StoreError(`${base}: ${msg}`);
  }
}
