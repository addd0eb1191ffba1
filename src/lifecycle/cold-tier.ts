// The cold tier (SPEC §7): tenant days that retention has taken out of the hot store, but whose
// archive holds them whole. Reads over such days go to the day's
// Parquet file, through an engine of the cold tier's own (an in-memory DuckDB reading the files
// in place), with the same SQL as the hot store's reads — the file has the table's columns.
// Which days are cold is worked out when the lifecycle changes something (an archive run,
// retention, a restore), never per query.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { fieldSql } from '../query/sql.js';
import { DAY_MICROS, dayStartMicros } from '../model/record.js';
import { CSV_LINE_SQL, JSON_LINE_SQL, SELECT_COLUMNS, WhereBuilder, bindTypes, sqlString, toStoredRecord } from '../store/duckdb/read-sql.js';
import { LEVEL_KEY_SQL, bucketOfLevelKey, type ExportChunk, type ExportRequest, type HistogramBucket, type HistogramRequest, type Page, type PageRequest, type Selection, type Store, type TopRequest, type TopValue } from '../store/store.js';
import { listArchives, tenantArchiveDir } from './archive.js';
import { segmentTest, type SegmentInfo } from '../store/index/segment-filter.js';
import { readSummary } from '../store/index/segment-summary.js';

export class ColdTier {
  /** Cold days by tenant: day start (µs) → its Parquet file. */
  private days = new Map<string, Map<bigint, string>>();
  /** The token summary of each cold day's file, when it has one (archive.ts writes `YYYY-MM-DD.idx`). */
  private summaries = new Map<string, SegmentInfo>();
  private engine: Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> | null = null;
  /** One statement at a time on the one connection. */
  private chain: Promise<unknown> = Promise.resolve();
  private tempDir: string | null = null;

  constructor(private readonly archiveDir: string) {}

  /**
   * Cold tenant days now: archived complete, and none of their rows left in the hot store. A day
   * retention only thinned (rules keeping some of its rows) stays hot: searches show what the
   * rules keep.
   */
  async refresh(store: Store): Promise<void> {
    const archives = listArchives(this.archiveDir).filter((a) => a.complete);
    // No archive, no cold day: a start without archives does not count the store's days.
    const hot = archives.length === 0 ? new Set<string>() : new Set((await store.dayCounts()).map((d) => `${d.tenant}\u0000${d.day}`));
    const days = new Map<string, Map<bigint, string>>();
    const summaries = new Map<string, SegmentInfo>();
    for (const a of archives) {
      if (hot.has(`${a.tenant}\u0000${a.day}`)) continue;
      let t = days.get(a.tenant);
      if (t === undefined) days.set(a.tenant, (t = new Map()));
      const file = path.join(tenantArchiveDir(this.archiveDir, a.tenant), `${a.day}.parquet`);
      t.set(dayStartMicros(a.day), file);
      const idx = file.replace(/\.parquet$/, '.idx');
      try {
        const summary = readSummary(idx);
        summaries.set(file, { firstSeq: summary.firstSeq, lastSeq: summary.lastSeq, rows: summary.rows, minTs: dayStartMicros(a.day), maxTs: dayStartMicros(a.day) + DAY_MICROS - 1n, summary });
      } catch {
        // No summary (or an unreadable one): the day is read whole.
      }
    }
    this.days = days;
    this.summaries = summaries;
  }

  /**
   * What to read of `files` for `sel`: each file, or only the rows of the blocks its token
   * summary says may match (file_row_number ranges, which the engine reads alone), or nothing.
   */
  private source(files: string[], sel: Selection): string {
    const test = segmentTest(sel.tenant, sel.query);
    const parts: string[] = [];
    let whole = 0;
    for (const f of files) {
      const read = `read_parquet(${sqlString(f)}`;
      const info = this.summaries.get(f);
      const blocks = info === undefined ? null : test(info);
      if (blocks === false) continue;
      if (blocks === null) {
        parts.push(`SELECT * FROM ${read})`);
        whole++;
        continue;
      }
      const t = info!.summary!.blocks;
      const ranges: [bigint, bigint][] = [];
      for (let b = 0; b < t.count; b++) {
        if (blocks[b] !== 1) continue;
        const [from, to] = [t.firstSeq(b) - 1n, t.lastSeq(b) - 1n];
        const last = ranges[ranges.length - 1];
        if (last !== undefined && last[1] + 1n === from) last[1] = to;
        else ranges.push([from, to]);
      }
      if (ranges.length === 0) continue;
      parts.push(`SELECT * EXCLUDE (file_row_number) FROM ${read}, file_row_number = true) WHERE ${ranges.map(([a, b]) => `file_row_number BETWEEN ${a} AND ${b}`).join(' OR ')}`);
    }
    // Every file whole (a count, top values): one scan of them all, which the engine spreads over its threads.
    if (whole === files.length) return `read_parquet([${files.map(sqlString).join(', ')}]) WHERE `;
    // Nothing may match: an empty read of the right shape.
    if (parts.length === 0) return `(SELECT * FROM read_parquet(${sqlString(files[0]!)}) WHERE false) AS cold WHERE `;
    return `(${parts.join(' UNION ALL ')}) AS cold WHERE `;
  }

  /** Cold tenant days in all. */
  get size(): number {
    let n = 0;
    for (const t of this.days.values()) n += t.size;
    return n;
  }

  /**
   * The selection's time range cut into runs of whole days, each read from one tier, oldest
   * first; null when no cold day falls in it (the hot store answers alone).
   */
  runs(sel: Selection): { cold: boolean; from: bigint | undefined; to: bigint | undefined; files: string[] }[] | null {
    const mine = this.days.get(sel.tenant);
    if (mine === undefined) return null;
    const cold = [...mine.keys()].filter((d) => (sel.to === undefined || d < sel.to) && (sel.from === undefined || d + DAY_MICROS > sel.from)).sort((a, b) => (a < b ? -1 : 1));
    if (cold.length === 0) return null;
    const runs: { cold: boolean; from: bigint | undefined; to: bigint | undefined; files: string[] }[] = [];
    const clampFrom = (t: bigint) => (sel.from !== undefined && sel.from > t ? sel.from : t);
    const clampTo = (t: bigint) => (sel.to !== undefined && sel.to < t ? sel.to : t);
    let at: bigint | undefined = sel.from;
    for (const d of cold) {
      const start = clampFrom(d);
      if (at === undefined || at < start) runs.push({ cold: false, from: at, to: start, files: [] });
      const last = runs[runs.length - 1];
      const end = clampTo(d + DAY_MICROS);
      if (last?.cold && last.to === start) {
        last.to = end;
        last.files.push(mine.get(d)!);
      } else runs.push({ cold: true, from: start, to: end, files: [mine.get(d)!] });
      at = end;
    }
    if (sel.to === undefined || at! < sel.to) runs.push({ cold: false, from: at, to: sel.to, files: [] });
    return runs;
  }

  async page(files: string[], req: PageRequest): Promise<Page> {
    const where = new WhereBuilder(req);
    if (req.after !== undefined) where.addAfter(req.after, req.order);
    where.addQuery(req.query);
    const dir = req.order === 'desc' ? 'DESC' : 'ASC';
    const limit = req.limit + (req.offset ?? 0);
    const rows = await this.run(`SELECT ${SELECT_COLUMNS} FROM ${this.source(files, req)}${where.sql()} ORDER BY ts ${dir}, seq ${dir} LIMIT ${limit}`, where.params);
    return { items: rows.map(toStoredRecord), rowsScanned: rows.length };
  }

  async histogram(files: string[], req: HistogramRequest): Promise<HistogramBucket[]> {
    const where = new WhereBuilder(req);
    const step = where.param(req.stepMicros);
    where.addQuery(req.query);
    const bucket = `(epoch_us(ts) // ${step}) * ${step}`;
    const key = req.byLevel === true ? `${bucket} * 8 + ${LEVEL_KEY_SQL}` : bucket;
    const rows = await this.run(`SELECT ${key} AS k, count(*) FROM ${this.source(files, req)}${where.sql()} GROUP BY k ORDER BY k`, where.params);
    return rows.map((r) => (req.byLevel === true ? bucketOfLevelKey(r[0] as bigint, Number(r[1])) : { ts: r[0] as bigint, count: Number(r[1]) }));
  }

  async topValues(files: string[], req: TopRequest): Promise<TopValue[]> {
    const where = new WhereBuilder(req);
    const field = fieldSql(req.field, 'duckdb', where.nextParam());
    where.params.push(...(field.params as DuckDBValue[]));
    where.addQuery(req.query);
    const rows = await this.run(`SELECT ${field.sql} AS k, count(*) AS n FROM ${this.source(files, req)}${where.sql()} GROUP BY k ORDER BY n DESC, k NULLS LAST LIMIT ${req.limit}`, where.params);
    return rows.map((r) => ({ value: r[0] as string | null, count: Number(r[1]) }));
  }

  /**
   * Every matching row in (ts, seq) order, rendered as the hot store renders them: one query
   * streamed on a connection of its own (a day's file is sorted by category, so pages by keyset
   * would each read the whole day again), handed out about `chunkRows` rows at a time.
   */
  async *exportText(files: string[], req: ExportRequest, signal?: AbortSignal): AsyncIterable<ExportChunk> {
    const chunkRows = req.chunkRows ?? 5000;
    const line = req.format === 'csv' ? CSV_LINE_SQL : JSON_LINE_SQL;
    const dir = req.order === 'desc' ? 'DESC' : 'ASC';
    const where = new WhereBuilder(req);
    where.addQuery(req.query);
    const { instance } = await this.open();
    const conn = await instance.connect();
    const stop = () => conn.interrupt();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const result = await conn.stream(`SELECT ${line} FROM ${this.source(files, req)}${where.sql()} ORDER BY ts ${dir}, seq ${dir}`, where.params, bindTypes(where.params));
      let lines: string[] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        for (const r of chunk.getRows()) lines.push(r[0] as string);
        if (lines.length >= chunkRows) {
          yield { text: `${lines.join('\n')}\n`, rows: lines.length };
          lines = [];
        }
        if (signal?.aborted) return;
      }
      if (lines.length > 0) yield { text: `${lines.join('\n')}\n`, rows: lines.length };
    } finally {
      signal?.removeEventListener('abort', stop);
      conn.closeSync();
    }
  }

  private open(): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
    // Sorts larger than the memory limit spill to a folder of the cold tier's own.
    this.engine ??= DuckDBInstance.create(':memory:', {
      threads: '2',
      memory_limit: '256MB',
      temp_directory: (this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-cold-'))),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    }).then(async (instance) => ({ instance, conn: await instance.connect() }));
    return this.engine;
  }

  private run(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    const done = this.chain.then(async () => {
      const { conn } = await this.open();
      return (await conn.runAndReadAll(sql, params, bindTypes(params))).getRows();
    });
    this.chain = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.engine === null) return;
    const { instance, conn } = await this.engine;
    conn.closeSync();
    instance.closeSync();
    this.engine = null;
    if (this.tempDir !== null) fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}
