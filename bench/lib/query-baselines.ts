// The baselines of the query benchmark, asked the same questions as loghaven's API with the same
// shape of answer: DuckDB itself on the server's own database file (what the engine does with no
// server in front; opened read-only once the server has stopped), and SQLite (better-sqlite3, WAL)
// holding the same records in typed columns with indexes on the filtered columns and on the two
// attributes searched — the way a SQLite-backed log tool speeds up its queries (PRAGMAs, indexes,
// ANALYZE).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { NEEDLE, PHRASE, PREFIX, USER_ID, QueryCorpus, type CorpusRecord } from './query-corpus.js';

export interface Timing {
  medianMs: number;
  runsMs: number[];
  /** Rows of the answer. */
  rows: number;
  error?: string;
  /** What is wrong with the answer, when the caller found something. */
  problem?: string;
}

/** The SQL of one question for each baseline; `{{ts}}` / `{{seq}}` are the keyset position of page 50. */
export interface BaselineSql {
  duckdb: string;
  sqlite: string;
}

// What the API selects for a search (the server's SELECT_COLUMNS): every column of the row. The
// converted times get names of their own so that ORDER BY ts sorts the column itself, which lets
// DuckDB fetch only the rows it keeps (named `ts`, the alias would be sorted: 100 times slower).
const DUCK_COLUMNS = `seq, epoch_us(ts) AS ts_us, epoch_us(received_at) AS received_us, tenant, level, severity,
  service, host, category, source, message, trace_id, span_id, CAST(attrs AS VARCHAR) AS attrs_text`;
const DUCK_DESC = 'ORDER BY ts DESC, seq DESC';
const LITE_DESC = 'ORDER BY ts DESC, seq DESC';

const duckSearch = (where: string, tail = 'LIMIT 100') =>
  `SELECT ${DUCK_COLUMNS} FROM logs ${where ? `WHERE ${where} ` : ''}${DUCK_DESC} ${tail}`;
const liteSearch = (where: string, tail = 'LIMIT 100') => `SELECT * FROM logs ${where ? `WHERE ${where} ` : ''}${LITE_DESC} ${tail}`;
const duckTop = (col: string, where = '') => `SELECT ${col}, count(*) AS n FROM logs ${where ? `WHERE ${where} ` : ''}GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10`;
const liteTop = (col: string, where = '') => `SELECT ${col}, count(*) AS n FROM logs ${where ? `WHERE ${where} ` : ''}GROUP BY ${col} ORDER BY n DESC, ${col} LIMIT 10`;

const DUCK_TOP_SERVICE = duckTop('service');
const LITE_TOP_SERVICE = liteTop('service');
// Integer hours since the epoch: half the time of time_bucket(INTERVAL 1 hour, ts) on this table,
// the same buckets.
const DUCK_HISTOGRAM = 'SELECT epoch_us(ts) // 3600000000 AS b, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1';
const LITE_HISTOGRAM = 'SELECT ts / 3600000000 AS b, count(*) AS n FROM logs GROUP BY b ORDER BY b';

/** Free text the way each engine says "case-insensitive substring of the message". */
const duckText = (s: string) => `message ILIKE '%${s}%'`;
const liteText = (s: string) => `message LIKE '%${s}%'`;

/** By query name (bench/query.ts); the cached questions are the same SQL asked again. */
export const BASELINE_SQL: Record<string, BaselineSql> = {
  'top-service': { duckdb: DUCK_TOP_SERVICE, sqlite: LITE_TOP_SERVICE },
  'top-level': { duckdb: duckTop('level'), sqlite: liteTop('level') },
  'top-service-error': { duckdb: duckTop('service', `level = 'error'`), sqlite: liteTop('service', `level = 'error'`) },
  'histogram-1h': { duckdb: DUCK_HISTOGRAM, sqlite: LITE_HISTOGRAM },
  needle: { duckdb: duckSearch(duckText(NEEDLE)), sqlite: liteSearch(liteText(NEEDLE)) },
  phrase: { duckdb: duckSearch(duckText(PHRASE)), sqlite: liteSearch(liteText(PHRASE)) },
  prefix: { duckdb: duckSearch(duckText(PREFIX)), sqlite: liteSearch(liteText(PREFIX)) },
  'attr-status': {
    duckdb: duckSearch(`TRY_CAST(json_extract_string(attrs, '$.http.status') AS DOUBLE) >= 500`),
    sqlite: liteSearch(`json_extract(attrs, '$.http.status') >= 500`),
  },
  'attr-user': {
    duckdb: duckSearch(`json_extract_string(attrs, '$.user_id') = '${USER_ID}'`),
    sqlite: liteSearch(`json_extract(attrs, '$.user_id') = ${USER_ID}`),
  },
  latest: { duckdb: duckSearch(''), sqlite: liteSearch('') },
  // Page 50 the way the API's cursor asks for it: rows after the last one of page 49.
  'cursor-p50': {
    duckdb: duckSearch('ts <= make_timestamp({{ts}}) AND (ts < make_timestamp({{ts}}) OR seq < {{seq}})'),
    sqlite: liteSearch('ts <= {{ts}} AND (ts < {{ts}} OR seq < {{seq}})'),
  },
  // And with OFFSET, the way a pager without a cursor asks.
  'cursor-p50-offset': { duckdb: duckSearch('', 'LIMIT 100 OFFSET 4900'), sqlite: liteSearch('', 'LIMIT 100 OFFSET 4900') },
  'cached-histogram': { duckdb: DUCK_HISTOGRAM, sqlite: LITE_HISTOGRAM },
  'cached-top-service': { duckdb: DUCK_TOP_SERVICE, sqlite: LITE_TOP_SERVICE },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The last row of page 49 in (ts, seq) descending order: the keyset position of page 50. */
const PAGE_49_END = 4899;

function withPosition(sql: string, pos: { ts: bigint; seq: bigint }): string {
  return sql.replaceAll('{{ts}}', String(pos.ts)).replaceAll('{{seq}}', String(pos.seq));
}

/**
 * DuckDB on the server's database file, read-only: each query once to warm up, then `runs`
 * timed runs, answer rows read into JavaScript values as the server reads them.
 */
export async function duckdbDirect(
  file: string,
  names: string[],
  o: { runs: number; memoryLimit: string; threads: number },
): Promise<Map<string, Timing>> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY', threads: String(o.threads), memory_limit: o.memoryLimit });
  const conn = await instance.connect();
  const out = new Map<string, Timing>();
  try {
    const p = (await conn.runAndReadAll(`SELECT epoch_us(ts), seq FROM logs ${DUCK_DESC} LIMIT 1 OFFSET ${PAGE_49_END}`)).getRows()[0];
    const pos = p ? { ts: p[0] as bigint, seq: p[1] as bigint } : { ts: 0n, seq: 0n };
    for (const name of names) {
      const q = BASELINE_SQL[name];
      if (!q) continue;
      out.set(name, await timeDuck(conn, withPosition(q.duckdb, pos), o.runs));
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return out;
}

async function timeDuck(conn: DuckDBConnection, sql: string, runs: number): Promise<Timing> {
  const runsMs: number[] = [];
  let rows = 0;
  try {
    for (let k = 0; k <= runs; k++) {
      const t = performance.now();
      rows = (await conn.runAndReadAll(sql)).getRows().length;
      if (k > 0) runsMs.push(performance.now() - t);
    }
  } catch (e) {
    return { medianMs: NaN, runsMs, rows, error: (e as Error).message.split('\n')[0] };
  }
  return { medianMs: median(runsMs), runsMs, rows };
}

export interface SqliteStore {
  db: Database.Database;
  file: string;
  /** Inserting the rows (10,000-row transactions), without making them. */
  insertSeconds: number;
  /** Making the records in this process while loading (the same generator the server was fed by). */
  generateSeconds: number;
  indexSeconds: number;
  bytes: number;
  close(): void;
}

/**
 * The same records as the server's (same generator, seed and end time, same order) in SQLite:
 * WAL, synchronous NORMAL, a 10,000-page cache and 256 MB of mmap (the settings of a
 * SQLite-backed log analyser tuned for millions of rows), 10,000-row transactions, then the
 * indexes and ANALYZE.
 */
export function sqliteLoad(o: { rows: number; endMs: number; seed: number }): SqliteStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-query-sqlite-'));
  const file = path.join(dir, 'logs.sqlite');
  const db = new Database(file);
  const close = () => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = 10000');
    db.pragma('mmap_size = 268435456');
    db.exec(`CREATE TABLE logs (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, level TEXT, service TEXT, host TEXT,
      message TEXT, attrs TEXT NOT NULL)`);
    const insert = db.prepare('INSERT INTO logs (ts, level, service, host, message, attrs) VALUES (?, ?, ?, ?, ?, ?)');
    const insertMany = db.transaction((batch: CorpusRecord[]) => {
      for (const r of batch) insert.run(r.tsMs * 1000, r.level, r.service, r.host, r.msg, r.attrs);
    });
    const corpus = new QueryCorpus({ total: o.rows, endMs: o.endMs, seed: o.seed });
    let generate = 0;
    let ins = 0;
    const batch: CorpusRecord[] = [];
    while (corpus.made < o.rows) {
      const t0 = performance.now();
      batch.length = 0;
      const n = Math.min(10_000, o.rows - corpus.made);
      for (let k = 0; k < n; k++) batch.push(corpus.next());
      const t1 = performance.now();
      insertMany(batch);
      const t2 = performance.now();
      generate += t1 - t0;
      ins += t2 - t1;
    }
    const t3 = performance.now();
    db.exec(`CREATE INDEX logs_ts ON logs (ts);
      CREATE INDEX logs_level ON logs (level);
      CREATE INDEX logs_service ON logs (service);
      CREATE INDEX logs_host ON logs (host);
      CREATE INDEX logs_user_id ON logs (json_extract(attrs, '$.user_id'));
      CREATE INDEX logs_http_status ON logs (json_extract(attrs, '$.http.status'));
      ANALYZE;`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const indexSeconds = (performance.now() - t3) / 1000;
    const bytes = fs.statSync(file).size;
    return { db, file, insertSeconds: ins / 1000, generateSeconds: generate / 1000, indexSeconds, bytes, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** Each query once to warm up, then `runs` timed runs, rows read whole. */
export function sqliteTimes(store: SqliteStore, names: string[], runs: number): Map<string, Timing> {
  const out = new Map<string, Timing>();
  const p = store.db.prepare(`SELECT ts, seq FROM logs ${LITE_DESC} LIMIT 1 OFFSET ${PAGE_49_END}`).raw().get() as [number, number] | undefined;
  const pos = p ? { ts: BigInt(p[0]), seq: BigInt(p[1]) } : { ts: 0n, seq: 0n };
  for (const name of names) {
    const q = BASELINE_SQL[name];
    if (!q) continue;
    const runsMs: number[] = [];
    let rows = 0;
    try {
      const stmt = store.db.prepare(withPosition(q.sqlite, pos));
      for (let k = 0; k <= runs; k++) {
        const t = performance.now();
        rows = stmt.all().length;
        if (k > 0) runsMs.push(performance.now() - t);
      }
      out.set(name, { medianMs: median(runsMs), runsMs, rows });
    } catch (e) {
      out.set(name, { medianMs: NaN, runsMs, rows, error: (e as Error).message });
    }
  }
  return out;
}
