// `loghaven db migrate --from duckdb:PATH --to postgres://…`: a single machine's DuckDB store
// copied into PostgreSQL, for the move to several instances. Every row keeps its sequence number
// (archives name theirs, and a restore checks them), the API keys come along, and at the end the
// rows of every tenant day are counted on both sides and must agree. The target must be empty:
// rows already there could not keep their numbers.

import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LhError } from '../errors.js';
import { ROW_FORMAT_SQL } from './duckdb/read-sql.js';
import { DuckDbKeyTable } from './duckdb/key-table.js';
import { PostgresStore, type PostgresStoreOptions } from './postgres/pg-store.js';
import { toCopyRows } from './postgres/copy-rows.js';

/** Rows per read from DuckDB and per transaction into PostgreSQL. */
const CHUNK_ROWS = 50_000;

export interface MigrateProgress {
  rows: number;
  total: number;
}

export interface MigrateResult {
  rows: number;
  keys: number;
  days: number;
  /** Tenant days whose counts differ (empty when the copy is whole). */
  mismatches: { tenant: string; day: string; source: number; target: number }[];
  seconds: number;
}

/** A DuckDB file, or a data directory holding `loghaven.duckdb`. */
export function duckDbFileOf(from: string): string {
  const p = path.resolve(from);
  const file = fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, 'loghaven.duckdb') : p;
  if (!fs.existsSync(file)) throw new LhError('LH_ERR_BAD_PARAM', `no DuckDB store at ${file}`);
  return file;
}

export async function migrateDuckDbToPostgres(
  from: string,
  to: Omit<PostgresStoreOptions, 'instance'>,
  progress: (p: MigrateProgress) => void = () => undefined,
): Promise<MigrateResult> {
  const started = performance.now();
  const file = duckDbFileOf(from);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  } catch (e) {
    const text = (e as Error).message;
    if (/lock/i.test(text)) throw new LhError('LH_ERR_STORE', `${file} is in use, probably by a running server: stop it first`, undefined, { cause: e });
    throw new LhError('LH_ERR_STORE', `cannot open ${file}: ${text}`, undefined, { cause: e });
  }
  const duck = await instance.connect();
  const target = await PostgresStore.open({ ...to, instance: 'db-migrate' });
  try {
    await target.migrate();
    const live = await target.liveInstances();
    if (live.length > 0) {
      throw new LhError('LH_ERR_BAD_PARAM', `loghaven instances are running on the PostgreSQL database (${live.join(', ')}): stop them until the copy is done, or rows could share sequence numbers`);
    }
    const had = await target.stats();
    if (had.rows > 0 || had.maxSeq > 0n) {
      throw new LhError('LH_ERR_BAD_PARAM', `the PostgreSQL database already holds rows (${had.rows}, sequence numbers up to ${had.maxSeq}): migrate into an empty one`);
    }
    const [total, minSeq, maxSeq] = (await duck.runAndReadAll('SELECT count(*), coalesce(min(seq), 1), coalesce(max(seq), 0) FROM logs')).getRows()[0] as [bigint, bigint, bigint];
    let rows = 0;
    progress({ rows, total: Number(total) });
    // Ranges of sequence numbers: dense but for what retention removed.
    for (let a = minSeq; a <= maxSeq; a += BigInt(CHUNK_ROWS)) {
      const b = a + BigInt(CHUNK_ROWS) - 1n;
      const read = await duck.runAndReadAll(`SELECT seq, ${ROW_FORMAT_SQL} FROM logs WHERE seq BETWEEN ${a} AND ${b} ORDER BY seq`);
      const got = read.getRows();
      if (got.length === 0) continue;
      const seqs = got.map((r) => r[0] as bigint);
      let text = '';
      for (const r of got) text += `${r[1] as string}\n`;
      await target.importRows(toCopyRows(Buffer.from(text, 'utf8')), seqs);
      rows += got.length;
      progress({ rows, total: Number(total) });
    }
    const keys = await new DuckDbKeyTable((fn) => fn(duck)).listKeys();
    const present = new Set((await target.keys.listKeys()).map((k) => k.id));
    for (const k of keys) {
      if (present.has(k.id)) continue;
      await target.keys.insertKey(k);
      // A revoked key stays revoked.
      if (k.revokedAt !== null) await target.keys.revokeKey(k.id, k.revokedAt);
    }
    // Every tenant day counted on both sides.
    const source = (await duck.runAndReadAll(`SELECT tenant, strftime(ts, '%Y-%m-%d'), count(*) FROM logs GROUP BY ALL`)).getRows();
    const counted = new Map((await target.dayCounts()).map((d) => [`${d.tenant}\u0000${d.day}`, d.rows]));
    const mismatches: MigrateResult['mismatches'] = [];
    for (const [tenant, day, n] of source as [string, string, bigint][]) {
      const key = `${tenant}\u0000${day}`;
      const got = counted.get(key) ?? 0;
      counted.delete(key);
      if (got !== Number(n)) mismatches.push({ tenant, day, source: Number(n), target: got });
    }
    for (const [key, got] of counted) {
      const [tenant, day] = key.split('\u0000') as [string, string];
      mismatches.push({ tenant, day, source: 0, target: got });
    }
    return { rows, keys: keys.length, days: source.length, mismatches, seconds: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    duck.closeSync();
    instance.closeSync();
    await target.close();
  }
}
