// The two ingest baselines: DuckDB's own NDJSON reader loading a file into loghaven's table
// (what the engine can do with no server in front), and SQLite with batched transactions in WAL
// mode (how the systems loghaven replaces stored logs). Both do the same field mapping.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import { MIGRATIONS } from '../../src/store/duckdb/migrations.js';

export interface BaselineResult {
  rowsPerSecond: number;
  seconds: number;
}

export async function duckdbReadJsonBaseline(file: string, rows: number): Promise<BaselineResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-baseline-'));
  const instance = await DuckDBInstance.create(path.join(dir, 'baseline.duckdb'), { threads: '2' });
  const conn = await instance.connect();
  try {
    for (const m of MIGRATIONS) for (const stmt of m.sql) await conn.run(stmt);
    const started = performance.now();
    await conn.run('BEGIN TRANSACTION');
    await conn.run(`INSERT INTO logs
      SELECT row_number() OVER (), CAST(ts AS TIMESTAMP), now()::TIMESTAMP, 'default', lower(level), NULL, service, host,
             NULL, NULL, msg, NULL, NULL,
             json_object('req', req, 'status', status, 'duration_ms', duration_ms, 'http', http, 'user', "user",
                         'region', region, 'retry', retry)
      FROM read_json('${file}', format = 'newline_delimited', columns = {
        ts: 'VARCHAR', level: 'VARCHAR', service: 'VARCHAR', host: 'VARCHAR', msg: 'VARCHAR', req: 'VARCHAR',
        status: 'INTEGER', duration_ms: 'DOUBLE', http: 'STRUCT(method VARCHAR, bytes INTEGER)',
        "user": 'STRUCT(id INTEGER, plan VARCHAR)', region: 'VARCHAR', retry: 'INTEGER'})`);
    await conn.run('COMMIT');
    const seconds = (performance.now() - started) / 1000;
    const n = await conn.runAndReadAll('SELECT count(*) FROM logs');
    if (Number(n.getRows()[0]![0]) !== rows) throw new Error('baseline loaded a different row count');
    return { rowsPerSecond: rows / seconds, seconds };
  } finally {
    conn.closeSync();
    instance.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function sqliteBaseline(lines: string[], rows: number): BaselineResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-sqlite-'));
  const db = new Database(path.join(dir, 'baseline.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL'); // every commit fsynced, like loghaven's default
    db.exec(`CREATE TABLE logs (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, received_at INTEGER NOT NULL,
      tenant TEXT NOT NULL, level TEXT, severity INTEGER, service TEXT, host TEXT, category TEXT, source TEXT,
      message TEXT, trace_id TEXT, span_id TEXT, attrs TEXT NOT NULL)`);
    const insert = db.prepare(`INSERT INTO logs (ts, received_at, tenant, level, service, host, message, attrs)
      VALUES (?, ?, 'default', ?, ?, ?, ?, ?)`);
    const insertMany = db.transaction((batch: string[]) => {
      const now = Date.now() * 1000;
      for (const line of batch) {
        const { ts, level, service, host, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
        insert.run(Date.parse(ts as string) * 1000, now, String(level).toLowerCase(), service, host, msg, JSON.stringify(rest));
      }
    });
    const started = performance.now();
    for (let done = 0; done < rows; done += 1000) {
      const from = done % lines.length;
      insertMany(lines.slice(from, from + 1000));
    }
    const seconds = (performance.now() - started) / 1000;
    return { rowsPerSecond: rows / seconds, seconds };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
