// The embedded default backend: one DuckDB database file under the data directory. Rows arrive
// as files in the row format (spool segments, or an append's rows written to a file) and are
// loaded by DuckDB's own CSV reader through one writer connection, one transaction per file
// (DuckDB fsyncs its WAL at commit, so a resolved load is durable); reads use a small pool of
// their own connections. Each load is one segment of the catalog (store/index/): its extent is
// recorded with its rows, and its file goes to the token index. Rows acknowledged but not loaded
// yet can be staged in the hot tier (hot-tier.ts) so that reads see them at once.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue, BIGINT, VARCHAR } from '@duckdb/node-api';
import { LhError } from '../../errors.js';
import { parseByteSize } from '../../config/size.js';
import { DAY_MICROS, dayStartMicros, type StoredRecord } from '../../model/record.js';
import { fieldSql } from '../../query/sql.js';
import type {
  AppendResult,
  DayCount,
  DayParquetRequest,
  ExpiryPlan,
  ExportChunk,
  ExportRequest,
  HistogramBucket,
  HistogramRequest,
  IndexStatus,
  FileRow,
  JsonRecord,
  LoadedSegment,
  OptimizeResult,
  Page,
  PageAfter,
  PageRequest,
  Selection,
  Store,
  StoreStats,
  TailRequest,
  TopRequest,
  TopValue,
} from '../store.js';
import { LEVEL_KEY_SQL, bucketOfLevelKey } from '../store.js';
import { SegmentCatalog, onlyTenant, type SegmentExtent } from '../index/segment-catalog.js';
import { segmentTest, type SegmentTest } from '../index/segment-filter.js';
import { SegmentIndex, type SegmentIndexLog } from '../index/segment-index.js';
import { LOGS_DDL, MIGRATIONS, MIGRATIONS_TABLE } from './migrations.js';
import { ACCESS_SOURCES, APPEND_AGGREGATES_SQL, CROWDED_HOURS_SQL, INSERT_ACCESS_SQL, MERGE_HOUR_SQL, typedRowsSql } from './access-tables.js';
import { DuckDbAccessAnalytics } from './access-analytics.js';
import type { AccessAnalytics } from '../access.js';
import type { RowBatch } from '../row-format.js';
import { ConnectionPool } from './connection-pool.js';
import { DuckDbKeyTable } from './key-table.js';
import type { KeyTable } from '../../auth/key-table.js';
import { freshReadable } from './fresh-rows.js';
import { HotTier, type HotSnapshot } from './hot-tier.js';
import { readPage } from './page-planner.js';
import {
  CSV_LINE_SQL,
  JSON_LINE_SQL,
  ROW_FORMAT_SQL,
  SELECT_COLUMNS,
  WhereBuilder,
  bindTypes,
  mergeRanges,
  rangesFrom,
  sqlString,
  toStoredRecord,
} from './read-sql.js';

export interface DuckDbStoreOptions {
  /** Database file; ':memory:' for a throwaway store. */
  file: string;
  threads: number;
  memoryLimit: string;
  readConnections?: number;
  queryTimeoutMs?: number;
  /** Longest row (row-format.ts, without its newline) a load must take; the default is 1 MiB. */
  maxRowBytes?: number;
  /**
   * How far the memory limit is raised, for as long as it takes, when a load or a query runs out
   * of memory under `memoryLimit` (wide rows need more per batch of rows); it is retried once.
   */
  maxMemoryLimit?: string;
  /** Told each time a load or query needed the raised limit. */
  onMemoryBoost?: (what: string) => void;
  /** Where the token index lives; `<file>.index` by default. */
  indexDir?: string;
  /** Where rows wait to be loaded (files the engine reads); `<file>.load` by default. */
  loadDir?: string;
  /** false: read every segment in the time window (the token index is still built). */
  pruning?: boolean;
  /** Memory of the hot tier's own in-memory instance (staged rows). */
  hotMemoryLimit?: string;
  log?: SegmentIndexLog;
}

const unescapeText = (col: string) =>
  `CASE WHEN contains(${col}, '\\') THEN json_extract_string(concat('"', ${col}, '"'), '$') ELSE ${col} END`;

/**
 * Reads a file of rows (row-format.ts) as table rows, numbered from `seq` + 1. One reader thread:
 * a load shares the machine with ingest parsing, and one thread does the most rows per CPU second.
 * The line size limit is the longest row the pipeline accepts, so no acknowledged row is refused
 * here; the buffer is sized from it explicitly (DuckDB's default is 16 times the limit).
 */
const rowsSelect = (maxRowBytes: number) => (file: string, seq: string, fileBytes?: number) => {
  // A small file (a few staged rows) gets a small buffer: the reader allocates it whole.
  const line = Math.min(maxRowBytes, fileBytes ?? maxRowBytes) + 1;
  const buffer = fileBytes === undefined ? Math.max(maxRowBytes + 2 ** 20, 8 * 2 ** 20) : Math.max(line + 1024, 2 ** 16);
  return `SELECT ${seq} + row_number() OVER (), make_timestamp(ts), make_timestamp(received_at), ${unescapeText('tenant')}, level,
  severity, ${unescapeText('service')}, ${unescapeText('host')}, ${unescapeText('category')}, ${unescapeText('source')},
  ${unescapeText('message')}, ${unescapeText('trace_id')}, ${unescapeText('span_id')}, attrs
FROM read_csv(${file}, delim = '\t', quote = '', escape = '', header = false, nullstr = '\\N', auto_detect = false,
  parallel = false, max_line_size = ${line}, buffer_size = ${buffer},
  columns = {ts: 'BIGINT', received_at: 'BIGINT', tenant: 'VARCHAR', level: 'VARCHAR', severity: 'UTINYINT',
    service: 'VARCHAR', host: 'VARCHAR', category: 'VARCHAR', source: 'VARCHAR', message: 'VARCHAR', trace_id: 'VARCHAR',
    span_id: 'VARCHAR', attrs: 'VARCHAR'})`;
};

/**
 * DuckDB stores rows in groups of this many; a load of whole groups is written once, where
 * partial groups are merged and rewritten by later checkpoints.
 */
export const DUCKDB_ROW_GROUP_ROWS = 122_880;

/**
 * Rows per row group of an archive's Parquet file: small enough that a cold search reading a
 * few blocks of 2,048 rows (its token summary's) skips most of the file, as large as the same
 * size allows (16,384 rows compress as well as 122,880 here).
 */
const ARCHIVE_ROW_GROUP_ROWS = 16_384;

/** Rows of one read for the category files (a few MB in the engine). */
const FILE_PAGE_ROWS = 5_000;

/** Keyset pages per export time slice: bounds how many rows one page query looks at. */
const SLICE_PAGES = 8;

/** Rows per exported string piece (a few tens of kilobytes). */
const PIECE_ROWS = 64;

/** Below this share of the table's rows, a pruned read names its segments instead of the table. */
const PRUNED_SHARE = 0.5;

/** Most rows (limit + offset) a page with no query takes from the staged rows in memory; more go through the engine. */
const MAX_FRESH_ROWS = 10_000;

const NULL_LOG: SegmentIndexLog = { info: () => undefined, error: () => undefined };

export class DuckDbStore implements Store {
  readonly backend = 'duckdb';
  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  /** Highest sequence number committed; only the writer connection changes it, after a commit. */
  private lastSeq = 0n;
  /** Highest spool segment id loaded: staging an older one is too late. */
  private loadedSegmentId = 0n;
  /** Loads and queries running with the raised memory limit, and the change of limit under way. */
  private boosted = 0;
  private limitChange: Promise<void> = Promise.resolve();
  private probeChain: Promise<unknown> = Promise.resolve();
  private readonly catalog = new SegmentCatalog();
  private index: SegmentIndex | null = null;
  private hot: HotTier | null = null;

  private constructor(
    private instance: DuckDBInstance,
    private writer: DuckDBConnection,
    /** For instance-wide settings changed at run time (the memory limit). */
    private control: DuckDBConnection,
    /** For the readiness probe alone. */
    private probe: DuckDBConnection,
    private readonly readers: ConnectionPool,
    private readonly options: DuckDbStoreOptions,
    private readonly loadDir: string,
  ) {}

  static async open(options: DuckDbStoreOptions): Promise<DuckDbStore> {
    if (options.file !== ':memory:') {
      fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
      // A rewrite that did not finish (optimize): the database file is still the one it copied.
      for (const f of [rewriteTarget(options.file), `${rewriteTarget(options.file)}.wal`]) fs.rmSync(f, { force: true });
    }
    const instance = await openInstance(options);
    const writer = await instance.connect();
    const control = await instance.connect();
    const probe = await instance.connect();
    const readers = new ConnectionPool(instance, options.readConnections ?? 4);
    const loadDir =
      options.loadDir ??
      (options.file === ':memory:' ? fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-load-')) : `${path.resolve(options.file)}.load`);
    fs.mkdirSync(loadDir, { recursive: true });
    return new DuckDbStore(instance, writer, control, probe, readers, options, loadDir);
  }

  private get maxRowBytes(): number {
    return this.options.maxRowBytes ?? 2 ** 20;
  }

  async migrate(): Promise<number[]> {
    const applied: number[] = [];
    await this.writer.run(MIGRATIONS_TABLE);
    const done = await this.writer.runAndReadAll('SELECT version FROM schema_migrations');
    const have = new Set(done.getRows().map((r) => Number(r[0])));
    for (const m of MIGRATIONS) {
      if (have.has(m.version)) continue;
      try {
        await this.inTransaction(async () => {
          for (const stmt of m.sql) await this.writer.run(stmt);
          await this.writer.run('INSERT INTO schema_migrations VALUES ($1, $2, now())', [m.version, m.name]);
        });
      } catch (e) {
        throw new LhError('LH_ERR_MIGRATION', `migration ${m.version} (${m.name}): ${errorText(e)}`, undefined, { cause: e });
      }
      applied.push(m.version);
    }
    // The segments keep the high-water mark when retention has emptied the newest of them.
    const last = await this.writer.runAndReadAll('SELECT greatest(coalesce((SELECT max(seq) FROM logs), 0), coalesce((SELECT max(last_seq) FROM segments), 0))');
    this.lastSeq = last.getRows()[0]![0] as bigint;
    const seg = await this.writer.runAndReadAll('SELECT coalesce(max(id), 0) FROM spool_segments');
    this.loadedSegmentId = seg.getRows()[0]![0] as bigint;
    await this.openCatalog();
    return applied;
  }

  /**
   * Reads the segment extents, measures the rows no extent covers (loaded before extents were
   * recorded) a row group at a time, then opens the token index and the hot tier.
   */
  private async openCatalog(): Promise<void> {
    if (this.index !== null) return;
    const rows = await this.writer.runAndReadAll(
      'SELECT first_seq, last_seq, rows, epoch_us(min_ts), epoch_us(max_ts) FROM segments ORDER BY first_seq',
    );
    let covered = 0n;
    for (const r of rows.getRows()) {
      const e = extentOf(r);
      // A segment retention has emptied stays in the table for its sequence numbers alone.
      if (e.rows > 0) this.catalog.add(e);
      if (e.lastSeq > covered) covered = e.lastSeq;
    }
    if (covered < this.lastSeq) {
      await this.inTransaction(async () => {
        const measured = await this.writer.runAndReadAll(
          `INSERT INTO segments SELECT min(seq), max(seq), count(*), min(ts), max(ts) FROM logs WHERE seq > $1
             GROUP BY (seq - 1) // ${DUCKDB_ROW_GROUP_ROWS}
           RETURNING first_seq, last_seq, rows, epoch_us(min_ts), epoch_us(max_ts)`,
          [covered],
          [BIGINT],
        );
        for (const r of measured.getRows()) this.catalog.add(extentOf(r));
      });
    }
    const indexDir =
      this.options.indexDir ?? (this.options.file === ':memory:' ? path.join(this.loadDir, 'index') : `${path.resolve(this.options.file)}.index`);
    fs.mkdirSync(indexDir, { recursive: true });
    this.index = SegmentIndex.open({
      dir: indexDir,
      catalog: this.catalog,
      exportRows: (e, file) => this.exportRows(e, file),
      log: this.options.log ?? NULL_LOG,
    });
    this.hot = new HotTier({
      tmpDir: this.loadDir,
      rowsSelect: rowsSelect(this.maxRowBytes),
      // Pieces are in memory and short-lived: no compression to ask for.
      tableDdl: LOGS_DDL.replace(/\s*USING COMPRESSION \w+/g, ''),
      memoryLimit: this.options.hotMemoryLimit ?? '128MB',
    });
  }

  append(batch: RowBatch): Promise<AppendResult> {
    // The rows go through a file so the engine's own CSV reader loads them: far cheaper than
    // converting every value through the JavaScript bindings.
    return this.serialised(async () => {
      this.assertOpen();
      const firstSeq = this.lastSeq + 1n;
      if (batch.count === 0) return { firstSeq, count: 0 };
      const file = path.join(this.loadDir, `append-${firstSeq}.tsv`);
      let extent: SegmentExtent | null;
      try {
        fs.writeFileSync(file, batch.bytes);
        extent = await this.withMemoryHeadroom('append', () => this.inTransaction(() => this.loadRows(file)));
      } catch (e) {
        fs.rmSync(file, { force: true });
        throw storeError('append', e);
      }
      if (extent === null) {
        fs.rmSync(file, { force: true });
        return { firstSeq, count: 0 };
      }
      if (!this.loaded(extent, file)) fs.rmSync(file, { force: true });
      return { firstSeq, count: extent.rows };
    });
  }

  loadSegment(file: string, id: bigint): Promise<LoadedSegment> {
    return this.serialised(async () => {
      this.assertOpen();
      const firstSeq = this.lastSeq + 1n;
      let extent: SegmentExtent | null;
      try {
        extent = await this.withMemoryHeadroom(
          `load of spool segment ${id}`,
          () =>
            this.inTransaction(async () => {
              const seen = await this.writer.runAndReadAll('SELECT count(*) FROM spool_segments WHERE id = $1', [id], [BIGINT]);
              if (Number(seen.getRows()[0]![0]) > 0) return null;
              const e = await this.loadRows(file);
              await this.writer.run('INSERT INTO spool_segments VALUES ($1, $2, now())', [id, BigInt(e?.rows ?? 0)], [BIGINT, BIGINT]);
              return e;
            }),
          headroomBytes(file),
        );
      } catch (e) {
        throw storeError('load segment', e);
      }
      if (id > this.loadedSegmentId) this.loadedSegmentId = id;
      this.hot?.markLoaded(id);
      if (extent === null) return { rows: 0, firstSeq, fileKept: false };
      const kept = this.loaded(extent, file);
      return { rows: extent.rows, firstSeq, fileKept: kept };
    });
  }

  /**
   * Inserts the rows of a file with the sequence numbers after lastSeq and records their extent,
   * in the caller's transaction.
   */
  private async loadRows(file: string): Promise<SegmentExtent | null> {
    const select = rowsSelect(this.maxRowBytes)('$1', '$2');
    const inserted = await this.writer.runAndReadAll(`INSERT INTO logs ${select}`, [file, this.lastSeq], [VARCHAR, BIGINT]);
    if (Number(inserted.getRows()[0]![0]) === 0) return null;
    await this.loadAccessRows();
    const r = await this.writer.runAndReadAll(
      `INSERT INTO segments SELECT $1 + 1, max(seq), count(*), min(ts), max(ts) FROM logs WHERE seq > $1
       RETURNING first_seq, last_seq, rows, epoch_us(min_ts), epoch_us(max_ts)`,
      [this.lastSeq],
      [BIGINT],
    );
    return extentOf(r.getRows()[0]!);
  }

  /**
   * Types the access records among the rows just inserted (seq > lastSeq) into access_logs and
   * appends their partial aggregates (access-tables.ts), merging those of any hour that has
   * taken too many loads, in the caller's transaction.
   */
  private async loadAccessRows(): Promise<void> {
    const typed = await this.writer.runAndReadAll(INSERT_ACCESS_SQL, [this.lastSeq], [BIGINT]);
    if (Number(typed.getRows()[0]![0]) === 0) return;
    for (const sql of APPEND_AGGREGATES_SQL) await this.writer.run(sql, [this.lastSeq], [BIGINT]);
    const crowded = await this.writer.runAndReadAll(CROWDED_HOURS_SQL, [this.lastSeq], [BIGINT]);
    for (const [tenant, hour] of crowded.getRows()) {
      for (const m of MERGE_HOUR_SQL) {
        if (m.hourParams) await this.writer.run(m.sql, [tenant as string, hour as bigint], [VARCHAR, BIGINT]);
        else await this.writer.run(m.sql);
      }
    }
  }

  /** After a commit: the rows are readable, and their file goes to the index. Returns whether it took the file. */
  private loaded(extent: SegmentExtent, file: string): boolean {
    this.lastSeq = extent.lastSeq;
    const info = this.catalog.add(extent);
    if (this.index === null) return false;
    try {
      this.index.take(file, info);
      return true;
    } catch (e) {
      // The segment is read in full until its summary is rebuilt from the store.
      this.options.log?.error({ err: e, file }, 'cannot hand a loaded segment to the index');
      return false;
    }
  }

  stage(segmentId: bigint, file: string, fromByte: number, toByte: number, firstSeq: bigint, rows: number): Promise<void> {
    if (this.hot === null || segmentId <= this.loadedSegmentId) return Promise.resolve();
    try {
      this.hot.stage(segmentId, file, fromByte, toByte, firstSeq, rows);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(storeError('stage', e));
    }
  }

  /** Writes a segment's rows in the row format, for the index to rebuild its summary. */
  private async exportRows(e: SegmentExtent, file: string): Promise<void> {
    await this.readers.with((conn) =>
      this.timed(conn, () =>
        conn.run(
          `COPY (SELECT ${ROW_FORMAT_SQL} FROM logs WHERE seq BETWEEN ${e.firstSeq} AND ${e.lastSeq} ORDER BY seq)
           TO ${sqlString(file)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')`,
        ),
      ),
    );
  }

  /**
   * Runs `fn`; when the engine runs out of memory, raises the (instance-wide) memory limit to
   * maxMemoryLimit and runs `fn` once more, then lowers it again when no other work needs it.
   * The usual limit stays small, and the rare wide batch still gets through: a segment that could
   * never load would stop every load after it. `inputBytes` over the usual limit (Infinity for a
   * whole day's work: an archive, an expiry, a restore) gets the raised limit from the start.
   */
  private async withMemoryHeadroom<T>(what: string, fn: () => Promise<T>, inputBytes = 0): Promise<T> {
    const max = this.options.maxMemoryLimit;
    // A load holds its rows in memory until it commits: a segment bigger than the usual limit
    // (wide rows, such as access-log entries with every field in attrs) would spill most of
    // them to disk and take several times as long, so it gets the headroom from the start.
    const limit = parseByteSize(this.options.memoryLimit);
    if (max !== undefined && limit !== undefined && inputBytes > limit) return this.boostedRun(max, fn);
    try {
      return await fn();
    } catch (e) {
      if (max === undefined || !/Out of Memory/i.test(errorText(e))) throw e;
      this.options.onMemoryBoost?.(what);
      return this.boostedRun(max, fn);
    }
  }

  /** Runs `fn` with the memory limit raised to `max`. */
  private async boostedRun<T>(max: string, fn: () => Promise<T>): Promise<T> {
    if (this.boosted++ === 0) this.setMemoryLimit(max);
    try {
      await this.limitChange;
      return await fn();
    } finally {
      if (--this.boosted === 0) this.setMemoryLimit(this.options.memoryLimit);
    }
  }

  /** Changes the instance-wide limit on a connection of its own, one change after another. */
  private setMemoryLimit(limit: string): void {
    this.limitChange = this.limitChange.then(() => this.control.run(`SET memory_limit = '${limit.replace(/'/g, '')}'`)).then(
      () => undefined,
      () => undefined,
    );
  }

  async loadedSegments(ids: bigint[]): Promise<Set<bigint>> {
    if (ids.length === 0) return new Set();
    const r = await this.writer.runAndReadAll(
      `SELECT id FROM spool_segments WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`,
      ids,
      ids.map(() => BIGINT),
    );
    return new Set(r.getRows().map((row) => row[0] as bigint));
  }

  /** Runs `fn` on the writer connection inside one transaction, rolled back if it throws. */
  private async inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.writer.run('COMMIT');
      return result;
    } catch (e) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async maxSegmentId(): Promise<bigint> {
    const r = await this.writer.runAndReadAll('SELECT coalesce(max(id), 0) FROM spool_segments');
    return r.getRows()[0]![0] as bigint;
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /**
   * What a read sees: `logs` up to the committed sequence number, and the staged rows beyond.
   * `engine`: the read asks the hot tier's engine, so the staged rows are copied there first and
   * the snapshot reaches as far as the copy (at least every row staged before the call).
   */
  private async snapshot(engine: boolean): Promise<{ loadedSeq: bigint; hot: HotSnapshot; maxSeq: bigint }> {
    this.assertOpen();
    if (engine) await this.hot?.copyToEngine().catch((e: unknown) => Promise.reject(storeError('stage', e)));
    this.assertOpen();
    const hot = this.hot?.snapshot() ?? { parts: [], fresh: [], partsMaxSeq: 0n, maxSeq: 0n, release: () => undefined };
    const loadedSeq = this.lastSeq;
    const staged = engine ? hot.partsMaxSeq : hot.maxSeq;
    return { loadedSeq, hot, maxSeq: staged > loadedSeq ? staged : loadedSeq };
  }

  /** Which segments may hold rows of a selection (all of them in its time window without pruning). */
  private segmentTest(sel: Selection): SegmentTest {
    return this.options.pruning === false ? () => null : segmentTest(sel.tenant, sel.query);
  }

  /** Runs a read of staged rows, in the hot tier's own instance. */
  private runHot(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    this.assertOpen();
    return this.hot!.run(sql, params, bindTypes(params)).catch((e: unknown) => Promise.reject(storeError('query', e)));
  }

  /** Runs a read on a pooled connection, with the timeout and the memory retry. */
  private run(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]> {
    return this.readers.with(async (conn) => (await this.timed(conn, () => conn.runAndReadAll(sql, params, bindTypes(params)))).getRows());
  }

  async queryPage(req: PageRequest): Promise<Page> {
    // A page with no query takes the staged rows from memory (fresh-rows.ts), when it can order them.
    let fresh = req.query === undefined && req.limit + (req.offset ?? 0) <= MAX_FRESH_ROWS;
    let snap = await this.snapshot(!fresh);
    if (fresh && !freshReadable(snap.hot.fresh)) {
      snap.hot.release();
      fresh = false;
      snap = await this.snapshot(true);
    }
    try {
      const maxSeq = req.maxSeq !== undefined && req.maxSeq < snap.maxSeq ? req.maxSeq : snap.maxSeq;
      return await readPage(
        {
          catalog: this.catalog,
          loadedSeq: snap.loadedSeq,
          hot: snap.hot,
          fresh,
          test: this.segmentTest(req),
          run: (sql, params) => this.run(sql, params),
          runHot: (sql, params) => this.runHot(sql, params),
        },
        { ...req, maxSeq },
      );
    } finally {
      snap.hot.release();
    }
  }

  readAfter(req: TailRequest): Promise<StoredRecord[]> {
    return this.readBySeq(req, SELECT_COLUMNS, toStoredRecord);
  }

  readAfterJson(req: TailRequest): Promise<JsonRecord[]> {
    // The engine renders each record (as exports do): two values a row cross into JavaScript.
    return this.readBySeq(req, `seq, ${JSON_LINE_SQL}`, (r) => ({ seq: r[0] as bigint, json: r[1] as string }));
  }

  private async readBySeq<T>(req: TailRequest, columns: string, map: (r: DuckDBValue[]) => T): Promise<T[]> {
    const snap = await this.snapshot(true);
    try {
      const maxSeq = req.maxSeq < snap.maxSeq ? req.maxSeq : snap.maxSeq;
      if (maxSeq <= req.afterSeq) return [];
      const desc = req.order === 'desc';
      const where = new WhereBuilder(req);
      where.add(`seq > ${where.param(req.afterSeq)} AND seq <= ${where.param(maxSeq)}`);
      where.addQuery(req.query);
      const read = async (sources: string[], staged = false): Promise<T[]> => {
        if (sources.length === 0) return [];
        const sql = `SELECT ${columns} FROM (${sources.join(' UNION ALL ')}) AS t WHERE ${where.sql()}
          ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ${req.limit}`;
        return (await (staged ? this.runHot(sql, where.params) : this.run(sql, where.params))).map(map);
      };
      const hot = snap.hot.parts
        .filter((p) => p.lastSeq > req.afterSeq && p.firstSeq <= maxSeq)
        .map((p) => `SELECT * FROM ${p.table} WHERE seq > ${snap.loadedSeq}`);
      const loadedMax = maxSeq < snap.loadedSeq ? maxSeq : snap.loadedSeq;
      const segs =
        req.afterSeq < loadedMax
          ? this.catalog.candidates({ from: req.from, to: req.to, maxSeq: loadedMax, test: this.segmentTest(req) }).filter((s) => s.lastSeq > req.afterSeq)
          : [];
      const scans = (batch: typeof segs) =>
        mergeRanges(batch.map((s) => [s.firstSeq > req.afterSeq ? s.firstSeq : req.afterSeq + 1n, s.lastSeq < loadedMax ? s.lastSeq : loadedMax])).map(
          ([a, b]) => `SELECT * FROM logs WHERE seq BETWEEN ${a} AND ${b}`,
        );
      // Segments hold disjoint sequence ranges: in the order read, the first segments that yield
      // `limit` rows are the answer, so they are read a growing batch at a time.
      const ordered = desc ? [...segs].reverse() : segs;
      let kept: T[] = desc ? await read(hot, true) : [];
      let next = 0;
      let budget = 250_000;
      while (kept.length < req.limit && next < ordered.length) {
        const batch: typeof segs = [];
        let rows = 0;
        while (next < ordered.length && (batch.length === 0 || rows + ordered[next]!.rows <= budget)) {
          rows += ordered[next]!.rows;
          batch.push(ordered[next++]!);
        }
        kept = kept.concat(await read(scans(batch)));
        budget *= 4;
      }
      if (!desc && kept.length < req.limit) kept = kept.concat(await read(hot, true));
      return kept.slice(0, req.limit);
    } finally {
      snap.hot.release();
    }
  }

  /**
   * `FROM … WHERE ` of the loaded rows a selection may match: the whole table, or only the
   * segments the index leaves when they are a small share of it.
   */
  private loadedSource(sel: Selection, maxSeq: bigint): { from: string; tenantImplied: boolean } {
    const test = this.segmentTest(sel);
    const q = { from: sel.from, to: sel.to, maxSeq, test };
    // Counted first: most selections read the whole table, and need no list of blocks.
    const rows = this.catalog.candidateRows(q);
    if (rows > 0 && rows >= this.catalog.rows * PRUNED_SHARE) return { from: 'logs WHERE ', tenantImplied: this.catalog.onlyTenant(sel.tenant, maxSeq) };
    const units = this.catalog.candidates(q);
    if (units.length === 0) return { from: 'logs WHERE false AND ', tenantImplied: false };
    return { from: rangesFrom(mergeRanges(units.map((s) => [s.firstSeq, s.lastSeq]))), tenantImplied: onlyTenant(units, sel.tenant) };
  }

  async *exportText(req: ExportRequest, signal?: AbortSignal): AsyncIterable<ExportChunk> {
    // Neither one big ORDER BY (the engine would sort everything in memory) nor plain keyset
    // pages (each page would rescan every later row): the matching rows are cut into time
    // slices of bounded size, and each slice is read in keyset pages. The engine renders each
    // page into one string, so the JavaScript side handles one value per page, not per field.
    // Exports read loaded rows only (the caller waits for the loads, not the hot tier).
    const chunkRows = req.chunkRows ?? 5000;
    const maxSeq = req.maxSeq !== undefined && req.maxSeq < this.lastSeq ? req.maxSeq : this.lastSeq;
    const source = this.loadedSource(req, maxSeq).from;
    const slices = await this.exportSlices(req, source, maxSeq, chunkRows * SLICE_PAGES);
    if (req.order === 'desc') slices.reverse();
    const line = req.format === 'csv' ? CSV_LINE_SQL : JSON_LINE_SQL;
    const dir = req.order === 'desc' ? 'DESC' : 'ASC';
    for (const slice of slices) {
      let after: PageAfter | undefined;
      for (;;) {
        if (signal?.aborted) return;
        const where = new WhereBuilder({ ...req, ...slice });
        where.add(`seq <= ${where.param(maxSeq)}`);
        if (after !== undefined) where.addAfter(after, req.order);
        where.addQuery(req.query);
        const page = `SELECT * FROM ${source}${where.sql()} ORDER BY ts ${dir}, seq ${dir} LIMIT ${chunkRows}`;
        // Pieces of PIECE_ROWS lines: small strings die young in V8, where one multi-megabyte
        // string per page would sit in the large-object space until a full collection.
        const sql = `SELECT string_agg(line, chr(10) ORDER BY rn), count(*), last(tsu ORDER BY rn), last(seq ORDER BY rn)
          FROM (SELECT ${line} AS line, epoch_us(ts) AS tsu, seq, row_number() OVER (ORDER BY ts ${dir}, seq ${dir}) AS rn
                FROM (${page}) AS page) AS numbered
          GROUP BY (rn - 1) // ${PIECE_ROWS} ORDER BY min(rn)`;
        const result = await this.readers.with(async (conn) => {
          // A client that goes away stops the page query under way, not just the next one.
          const stop = () => conn.interrupt();
          signal?.addEventListener('abort', stop, { once: true });
          try {
            return await this.timed(conn, () => conn.runAndReadAll(sql, where.params, bindTypes(where.params)));
          } catch (e) {
            if (signal?.aborted) return null;
            throw e;
          } finally {
            signal?.removeEventListener('abort', stop);
          }
        });
        if (result === null) return;
        let rows = 0;
        let lastTs = 0n;
        let lastSeq = 0n;
        for (const [text, count, ts, seq] of result.getRows() as [string, bigint, bigint, bigint][]) {
          const n = Number(count);
          rows += n;
          lastTs = ts;
          lastSeq = seq;
          yield { text: `${text}\n`, rows: n };
        }
        if (rows < chunkRows) break;
        after = { ts: lastTs, seq: lastSeq };
      }
    }
  }

  /** Consecutive time ranges covering every matching row, each holding about `cap` rows at most. */
  private async exportSlices(req: ExportRequest, source: string, maxSeq: bigint, cap: number): Promise<{ from: bigint; to: bigint }[]> {
    const where = new WhereBuilder(req);
    where.add(`seq <= ${where.param(maxSeq)}`);
    where.addQuery(req.query);
    const extent = await this.run(`SELECT count(*), epoch_us(min(ts)), epoch_us(max(ts)) FROM ${source}${where.sql()}`, where.params);
    const [count, lo, hi] = extent[0]! as [bigint, bigint | null, bigint | null];
    if (lo === null || hi === null || count === 0n) return [];
    const end = hi + 1n;
    if (Number(count) <= cap) return [{ from: lo, to: end }];
    // A histogram with several buckets per slice, then greedy merging of neighbouring buckets.
    const buckets = BigInt(Math.min(100_000, Math.ceil(Number(count) / cap) * 8));
    const span = end - lo;
    const step = span / buckets + 1n;
    const origin = where.param(lo);
    const width = where.param(step);
    const hist = await this.run(
      `SELECT (epoch_us(ts) - ${origin}) // ${width} AS b, count(*) FROM ${source}${where.sql()} GROUP BY b ORDER BY b`,
      where.params,
    );
    const slices: { from: bigint; to: bigint }[] = [];
    let from: bigint | null = null;
    let rows = 0;
    let to = lo;
    for (const [b, n] of hist as [bigint, bigint][]) {
      const bFrom = lo + b * step;
      const bTo = bFrom + step < end ? bFrom + step : end;
      if (from !== null && rows + Number(n) > cap) {
        slices.push({ from, to });
        from = null;
        rows = 0;
      }
      from ??= bFrom;
      rows += Number(n);
      to = bTo;
    }
    if (from !== null) slices.push({ from, to });
    return slices;
  }

  /**
   * Counts per key over `logs` (or the blocks the index leaves) and the staged rows. The staged
   * rows live in the hot tier's own engine: both sides are counted there and summed here. Top
   * values take from `logs` the top `limit` keys (all keys tied with the last) and the counts of
   * every key seen among the staged rows, which is all a sum can need.
   */
  private async aggregate(sel: Selection, key: (w: WhereBuilder) => string, top: number | null): Promise<[DuckDBValue, number][]> {
    const snap = await this.snapshot(true);
    try {
      const source = this.loadedSource(sel, snap.loadedSeq);
      const staged = snap.hot.parts.length > 0;
      /** One grouped SELECT over `from`, its parameters its own (every one must appear). */
      const grouped = (from: string, tenantImplied: boolean, tail: (w: WhereBuilder, k: string) => string) => {
        const where = new WhereBuilder(sel, tenantImplied);
        const k = key(where);
        where.addQuery(sel.query);
        const agg = `SELECT ${k} AS k, count(*) AS n FROM ${from}${where.sql()} GROUP BY k`;
        return { sql: tail(where, agg), params: where.params };
      };
      // The bound on the table only matters beside staged rows (a load committed meanwhile would
      // count them twice); alone, rows loaded since are simply newer acknowledged rows.
      const loadedFrom = `${source.from}${staged ? `seq <= ${snap.loadedSeq} AND ` : ''}`;
      const order = (w: WhereBuilder) => (top === null ? 'ORDER BY k' : `ORDER BY n DESC, k NULLS LAST LIMIT ${w.param(BigInt(top))}`);
      if (!staged) {
        const q = grouped(loadedFrom, source.tenantImplied, (w, agg) => `SELECT k, n FROM (${agg}) AS a ${order(w)}`);
        return (await this.run(q.sql, q.params)).map((r) => [r[0]!, Number(r[1])]);
      }
      const pieces = snap.hot.parts.map((p) => `SELECT * FROM ${p.table} WHERE seq > ${snap.loadedSeq}`).join(' UNION ALL ');
      const h = grouped(`(${pieces}) AS h WHERE `, false, (_w, agg) => agg);
      const hot = await this.runHot(h.sql, h.params);
      let loaded: DuckDBValue[][];
      if (top === null) {
        const q = grouped(loadedFrom, source.tenantImplied, (_w, agg) => agg);
        loaded = await this.run(q.sql, q.params);
      } else {
        const q = grouped(loadedFrom, source.tenantImplied, (w, agg) => {
          const keys = hot.map((r) => r[0]).filter((v): v is string => v !== null);
          const inHot = keys.length === 0 ? 'false' : `k IN (${keys.map((v) => w.param(v)).join(', ')})`;
          const nullHot = hot.some((r) => r[0] === null) ? ' OR k IS NULL' : '';
          const limit = w.param(BigInt(top));
          return `WITH agg AS (${agg}), edge AS (SELECT min(n) AS m FROM (SELECT n FROM agg ORDER BY n DESC LIMIT ${limit}))
            SELECT k, n FROM agg WHERE n >= (SELECT m FROM edge) OR ${inHot}${nullHot}`;
        });
        loaded = await this.run(q.sql, q.params);
      }
      const sums = new Map<DuckDBValue, number>();
      for (const r of [...loaded, ...hot]) sums.set(r[0]!, (sums.get(r[0]!) ?? 0) + Number(r[1]));
      const out = [...sums];
      if (top === null) return out.sort((a, b) => ((a[0] as bigint) < (b[0] as bigint) ? -1 : 1));
      // The engine's order: most first, then by key (bytes of UTF-8), NULL last.
      out.sort((a, b) => b[1] - a[1] || compareKeys(a[0] as string | null, b[0] as string | null));
      return out.slice(0, top);
    } finally {
      snap.hot.release();
    }
  }

  async histogram(req: HistogramRequest): Promise<HistogramBucket[]> {
    const rows = await this.aggregate(
      req,
      (w) => {
        const step = w.param(req.stepMicros);
        const bucket = `(epoch_us(ts) // ${step}) * ${step}`;
        return req.byLevel === true ? `${bucket} * 8 + ${LEVEL_KEY_SQL}` : bucket;
      },
      null,
    );
    return rows.map(([k, n]) => (req.byLevel === true ? bucketOfLevelKey(k as bigint, n) : { ts: k as bigint, count: n }));
  }

  async topValues(req: TopRequest): Promise<TopValue[]> {
    const rows = await this.aggregate(
      req,
      (w) => {
        // Already text (fieldSql); grouping the bare column lets the engine group by its dictionary.
        const field = fieldSql(req.field, 'duckdb', w.nextParam());
        w.params.push(...(field.params as DuckDBValue[]));
        return field.sql;
      },
      req.limit,
    );
    return rows.map(([k, n]) => ({ value: k as string | null, count: n }));
  }

  /**
   * From the catalog, which records every load's extent: no query, so /metrics and the status
   * page never wait behind the engine.
   */
  async stats(): Promise<StoreStats> {
    this.assertOpen();
    let oldest: bigint | null = null;
    let newest: bigint | null = null;
    for (const s of this.catalog.all()) {
      if (oldest === null || s.minTs < oldest) oldest = s.minTs;
      if (newest === null || s.maxTs > newest) newest = s.maxTs;
    }
    return { rows: this.catalog.rows, maxSeq: this.lastSeq, oldestTs: oldest, newestTs: newest, bytes: this.fileBytes() };
  }

  indexStatus(): IndexStatus {
    const segments = this.catalog.size;
    const pending = this.index?.pending ?? 0;
    return { segments, indexedSegments: segments - this.catalog.unindexed().length, pendingSegments: pending };
  }

  /** Resolves once the index has caught up (tests, benchmarks). */
  indexIdle(): Promise<void> {
    return this.index?.idle() ?? Promise.resolve();
  }

  /**
   * On the writer's turn, between loads: a read beside a load takes memory the load's commit may
   * then not find (DuckDB invalidates the whole database when a commit fails that way). Read in
   * pages of FILE_PAGE_ROWS, each small in the engine's memory, all in the one turn.
   */
  readForFiles(afterSeq: bigint, limit: number): Promise<{ rows: FileRow[]; through: bigint }> {
    return this.serialised(async () => {
      this.assertOpen();
      const rows: FileRow[] = [];
      let after = afterSeq;
      // Sequence numbers are dense: a page is a range of them, which the zone maps find at once
      // (an open range with LIMIT would render and sort every row after it, page after page).
      while (rows.length < limit && after < this.lastSeq) {
        const step = BigInt(Math.min(FILE_PAGE_ROWS, limit - rows.length));
        const upTo = after + step < this.lastSeq ? after + step : this.lastSeq;
        const r = await this.writer.runAndReadAll(
          `SELECT seq, category, strftime(ts, '%Y-%m-%d'), level, ${JSON_LINE_SQL} FROM logs WHERE seq > $1 AND seq <= $2 ORDER BY seq`,
          [after, upTo],
          [BIGINT, BIGINT],
        );
        for (const row of r.getRows()) rows.push({ seq: row[0] as bigint, category: row[1] as string | null, day: row[2] as string, level: row[3] as string | null, json: row[4] as string });
        after = upTo;
      }
      return { rows, through: after };
    });
  }

  loadedSeq(): bigint {
    return this.lastSeq;
  }

  async dayCounts(): Promise<DayCount[]> {
    const rows = await this.run(`SELECT tenant, strftime(ts, '%Y-%m-%d') AS day, count(*), max(seq) FROM logs WHERE seq <= $1 GROUP BY ALL ORDER BY day, tenant`, [this.lastSeq]);
    return rows.map((r) => ({ tenant: r[0] as string, day: r[1] as string, rows: Number(r[2]), maxSeq: r[3] as bigint }));
  }

  /**
   * On the writer's turn: a checkpoint (the WAL folded into the file, freed blocks reusable), the
   * file rewritten when `rewrite` asks (always, or 'auto': when a fifth of it or more is free
   * space), and fresh statistics.
   */
  optimize(opts: { rewrite?: boolean | 'auto' } = {}): Promise<OptimizeResult> {
    return this.serialised(async () => {
      this.assertOpen();
      const started = performance.now();
      const before = this.fileBytes();
      await this.writer.run('CHECKPOINT');
      const rewrite = opts.rewrite ?? 'auto';
      let rewritten = false;
      if (this.options.file !== ':memory:' && (rewrite === true || (rewrite === 'auto' && (await this.rewriteWorthwhile())))) {
        await this.rewriteFile();
        rewritten = true;
      }
      await this.writer.run('ANALYZE');
      return { bytes_before: before, bytes_after: this.fileBytes(), rewritten, ms: Math.round(performance.now() - started) };
    }).catch((e: unknown) => Promise.reject(storeError('optimize', e)));
  }

  /** Whether a rewrite would give back space: a fifth of the file or more is free. */
  private async rewriteWorthwhile(): Promise<boolean> {
    const [free, total] = (await this.writer.runAndReadAll('SELECT free_blocks, total_blocks FROM pragma_database_size() WHERE database_name = current_database()')).getRows()[0] as [bigint, bigint];
    return total > 0n && free * 5n >= total;
  }

  /**
   * On the writer's turn (loads wait, the spool holds what arrives): every table copied into a
   * new database file, `logs` as LOGS_DDL lays it out and in sequence order, and that
   * file put in the old one's place. The space deleted rows left goes back to the file system
   * (DuckDB reuses it but never gives it back). Reads go on during the copy; they wait only while
   * the files are swapped, and the keys, which reads may write, are copied then.
   * A crash before the swap leaves the old file as it was (open() removes the new one); the
   * swap itself is a rename.
   */
  private async rewriteFile(): Promise<void> {
    const file = path.resolve(this.options.file);
    const target = rewriteTarget(file);
    for (const f of [target, `${target}.wal`]) fs.rmSync(f, { force: true });
    const db = (await this.writer.runAndReadAll('SELECT current_database()')).getRows()[0]![0] as string;
    const main = quoteIdent(db);
    await this.writer.run(`ATTACH ${sqlString(target)} AS lh_rewrite`);
    let attached = true;
    try {
      await this.writer.run(`COPY FROM DATABASE ${main} TO lh_rewrite (SCHEMA)`);
      await this.writer.run('DROP TABLE lh_rewrite.logs');
      await this.writer.run(LOGS_DDL.replace(/^CREATE TABLE logs\b/, 'CREATE TABLE lh_rewrite.logs'));
      const tables = (await this.writer.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = $1 ORDER BY table_name`, [db])).getRows().map((r) => r[0] as string);
      const copy = (t: string) => this.writer.run(`INSERT INTO lh_rewrite.${quoteIdent(t)} SELECT * FROM ${main}.${quoteIdent(t)}${t === 'logs' ? ' ORDER BY seq' : ''}`);
      await this.withMemoryHeadroom('rewrite', async () => {
        for (const t of tables) if (t !== 'api_keys') await copy(t);
      }, Infinity);
      // Reads may create and revoke keys: the pool is held while they are copied and the files swapped.
      await this.readers.pause(this.options.queryTimeoutMs ?? 30_000);
      let instance = this.instance;
      let swapped: (() => void) | null = null;
      try {
        if (tables.includes('api_keys')) await copy('api_keys');
        await this.writer.run('CHECKPOINT lh_rewrite');
        await this.writer.run('DETACH lh_rewrite');
        attached = false;
        await this.limitChange;
        await this.probeChain;
        // Probes and changes of the memory limit asked for meanwhile wait for the new connections.
        let reopened!: () => void;
        this.probeChain = this.limitChange = new Promise<void>((resolve) => (reopened = resolve));
        swapped = reopened;
        await this.writer.run('CHECKPOINT');
        this.probe.closeSync();
        this.control.closeSync();
        this.writer.closeSync();
        this.readers.closeIdle();
        this.instance.closeSync();
        let swapError: unknown = null;
        try {
          fs.rmSync(`${file}.wal`, { force: true });
          fs.renameSync(target, file);
        } catch (e) {
          swapError = e;
        }
        // The old file when the swap failed: the store goes on as it was.
        instance = this.instance = await openInstance(this.options);
        this.writer = await instance.connect();
        this.control = await instance.connect();
        this.probe = await instance.connect();
        if (swapError !== null) throw swapError;
      } finally {
        swapped?.();
        this.readers.resume(instance);
      }
    } catch (e) {
      if (attached) await this.writer.run('DETACH lh_rewrite').catch(() => undefined);
      for (const f of [target, `${target}.wal`]) fs.rmSync(f, { force: true });
      throw e;
    }
  }

  async expiryCandidates(plan: ExpiryPlan): Promise<DayCount[]> {
    const cond = expiryCondition(plan);
    if (cond === null) return [];
    const rows = await this.run(`SELECT tenant, strftime(ts, '%Y-%m-%d') AS day, count(*), max(seq) FROM logs WHERE seq <= $1 AND ${cond} GROUP BY ALL ORDER BY day, tenant`, [this.lastSeq]);
    return rows.map((r) => ({ tenant: r[0] as string, day: r[1] as string, rows: Number(r[2]), maxSeq: r[3] as bigint }));
  }

  /**
   * On the writer's turn, in one transaction: each tenant day's expiring rows (its time range
   * lets the zone maps skip every other row group), their access rows; then the segments they
   * emptied leave the catalog and the index, and the access aggregates are rebuilt if access
   * rows went.
   */
  async expire(plan: ExpiryPlan, days: { tenant: string; day: string }[]): Promise<number> {
    const cond = expiryCondition(plan);
    if (cond === null || days.length === 0) return 0;
    const { deleted, accessDeleted } = await this.serialised(async () => {
      this.assertOpen();
      let deleted = 0;
      let accessDeleted = 0;
      let earliest: bigint | null = null;
      let latest: bigint | null = null;
      // Deletes of whole days are tracked in memory until the commit: the raised limit from the
      // start (as a load larger than the limit gets it).
      const remove = () => this.inTransaction(async () => {
        for (const d of days) {
          const from = dayStartMicros(d.day);
          const to = from + DAY_MICROS;
          if (earliest === null || from < earliest) earliest = from;
          if (latest === null || to > latest) latest = to;
          const dayRows = `tenant = $1 AND ts >= make_timestamp(${from}) AND ts < make_timestamp(${to})`;
          const r = await this.writer.runAndReadAll(`DELETE FROM logs WHERE ${dayRows} AND seq <= ${this.lastSeq} AND ${cond}`, [d.tenant]);
          deleted += Number(r.getRows()[0]?.[0] ?? 0);
          const a = await this.writer.runAndReadAll(
            `DELETE FROM access_logs WHERE ${dayRows} AND seq NOT IN (SELECT seq FROM logs WHERE ${dayRows})`,
            [d.tenant],
          );
          accessDeleted += Number(a.getRows()[0]?.[0] ?? 0);
        }
        if (deleted === 0) return;
        // The segments holding rows of those days: counted again; the emptied leave the catalog.
        for (const seg of this.catalog.all().filter((s) => s.minTs < latest! && s.maxTs >= earliest!)) seg.rows = await this.recountSegment(seg);
      });
      await this.withMemoryHeadroom('expire', remove, Infinity);
      for (const seg of this.catalog.all().filter((s) => s.rows === 0)) {
        this.catalog.remove(seg.firstSeq);
        this.index?.forget(seg.firstSeq);
      }
      // Freed blocks are reused by later loads once checkpointed (the file itself does not shrink).
      await this.writer.run('CHECKPOINT').catch(() => undefined);
      return { deleted, accessDeleted };
    }).catch((e: unknown) => Promise.reject(storeError('expire', e)));
    // After the writer's turn: the rebuild takes a turn of its own.
    if (accessDeleted > 0) await this.access.rebuildAggregates();
    return deleted;
  }

  async restoreDay(req: DayParquetRequest): Promise<{ restored: number; present: number }> {
    const done = await this.serialised(async () => {
      this.assertOpen();
      const src = `read_parquet(${sqlString(req.file)})`;
      const [outside, rows, minSeq, maxSeq] = (
        await this.writer.runAndReadAll(
          `SELECT count(*) FILTER (WHERE tenant <> $1 OR ts < make_timestamp(${req.from}) OR ts >= make_timestamp(${req.to})), count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM ${src}`,
          [req.tenant],
        )
      ).getRows()[0] as [bigint, bigint, bigint, bigint];
      if (outside > 0n) throw new LhError('LH_ERR_BAD_PARAM', `${req.file} holds ${outside} rows of another tenant or day: not this day's archive`);
      if (rows === 0n) return { restored: 0, present: 0, accessRows: 0 };
      if (maxSeq > this.lastSeq) throw new LhError('LH_ERR_BAD_PARAM', `${req.file} holds sequence numbers this store never gave (up to ${maxSeq}, the store's highest is ${this.lastSeq}): an archive of another store`);
      const range = `seq BETWEEN ${minSeq} AND ${maxSeq}`;
      const [others, present] = (
        await this.writer.runAndReadAll(
          `SELECT count(*) FILTER (WHERE l.tenant <> p.tenant OR l.ts <> p.ts), count(*) FROM ${src} p JOIN (SELECT seq, tenant, ts FROM logs WHERE ${range}) l USING (seq)`,
        )
      ).getRows()[0] as [bigint, bigint];
      if (others > 0n) throw new LhError('LH_ERR_BAD_PARAM', `${others} sequence numbers of ${req.file} belong to other rows in this store: an archive of another store`);
      let restored = 0;
      let accessRows = 0;
      const readded: SegmentExtent[] = [];
      const insert = () =>
        this.inTransaction(async () => {
          const r = await this.writer.runAndReadAll(`INSERT INTO logs BY NAME SELECT p.* FROM ${src} p WHERE p.seq NOT IN (SELECT seq FROM logs WHERE ${range})`);
          restored = Number(r.getRows()[0]?.[0] ?? 0);
          const a = await this.writer.runAndReadAll(
            `INSERT INTO access_logs ${typedRowsSql(`${range} AND seq NOT IN (SELECT seq FROM access_logs WHERE ${range})`)}`,
          );
          accessRows = Number(a.getRows()[0]?.[0] ?? 0);
          // Every segment the day's rows came from: counted again, and back in the catalog if retention had emptied it.
          const segs = await this.writer.runAndReadAll(
            `SELECT first_seq, last_seq, rows, epoch_us(min_ts), epoch_us(max_ts) FROM segments WHERE last_seq >= ${minSeq} AND first_seq <= ${maxSeq}`,
          );
          for (const row of segs.getRows()) {
            const e = extentOf(row);
            const n = await this.recountSegment(e);
            if (n === e.rows) continue;
            const known = this.catalog.get(e.firstSeq);
            if (known !== undefined) known.rows = n;
            else readded.push({ ...e, rows: n });
          }
        });
      await this.withMemoryHeadroom('restore', insert, Infinity);
      for (const e of readded) this.index?.summarise(this.catalog.add(e));
      return { restored, present: Number(present), accessRows };
    }).catch((e: unknown) => Promise.reject(storeError('restore', e)));
    // After the writer's turn: the rebuild takes a turn of its own.
    if (done.accessRows > 0) await this.access.rebuildAggregates();
    return { restored: done.restored, present: done.present };
  }

  /** A segment's rows counted again (retention or a restore changed them), and recorded when they did; in the caller's transaction. */
  private async recountSegment(e: SegmentExtent): Promise<number> {
    const n = Number((await this.writer.runAndReadAll(`SELECT count(*) FROM logs WHERE seq BETWEEN ${e.firstSeq} AND ${e.lastSeq}`)).getRows()[0]![0]);
    if (n !== e.rows) await this.writer.run(`UPDATE segments SET rows = ${n} WHERE first_seq = ${e.firstSeq}`);
    return n;
  }

  /**
   * On the writer's turn, like readForFiles: the sort of a whole day takes memory that a load's
   * commit beside it could then not find. Loads wait meanwhile; ingest does not (the spool holds).
   */
  writeDayParquet(req: DayParquetRequest): Promise<number> {
    return this.serialised(async () => {
      this.assertOpen();
      const tenant = sqlString(req.tenant);
      const file = sqlString(req.file);
      // A whole day sorted, and a row group of it held by the Parquet writer: more than the
      // limit kept for loads, so the raised limit from the start.
      const copy = () => this.writer.runAndReadAll(
        `COPY (SELECT * FROM logs WHERE tenant = ${tenant} AND ts >= make_timestamp(${req.from}) AND ts < make_timestamp(${req.to})
            AND seq <= ${this.lastSeq} ORDER BY category NULLS FIRST, ts, seq)
          TO ${file} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ARCHIVE_ROW_GROUP_ROWS})`,
      );
      const r = await this.withMemoryHeadroom('archive', copy, Infinity);
      return Number(r.getRows()[0]?.[0] ?? 0);
    }).catch((e: unknown) => Promise.reject(storeError('archive', e)));
  }

  maxSeq(): Promise<bigint> {
    this.assertOpen();
    const staged = this.hot?.maxSeq ?? 0n;
    return Promise.resolve(staged > this.lastSeq ? staged : this.lastSeq);
  }

  /** On the readers' connections: a key is read once per refresh, written on create and revoke. */
  readonly keys: KeyTable = new DuckDbKeyTable((fn) => {
    this.assertOpen();
    // With the query timeout and the memory retry: a load may hold most of the engine's memory.
    return this.readers.with((conn) => this.timed(conn, () => fn(conn))).catch((e: unknown) => Promise.reject(storeError('keys', e)));
  });

  /** Access-log analytics: reads on the readers' connections, rebuilds serialised with the loads. */
  readonly access: AccessAnalytics = new DuckDbAccessAnalytics({
    read: (sql, params) => this.run(sql, params),
    withConnection: (fn) =>
      this.readers.with((conn) =>
        this.timed(conn, () => {
          // The timeout interrupts the statement running when it strikes; one that would start
          // after it is refused (cleanup, DROP, excepted), so a series of statements stops too.
          const deadline = this.options.queryTimeoutMs ? performance.now() + this.options.queryTimeoutMs : Infinity;
          return fn(async (sql, params) => {
            if (performance.now() > deadline && !sql.startsWith('DROP ')) throw new LhError('LH_ERR_QUERY_TIMEOUT', `query ran longer than ${this.options.queryTimeoutMs} ms`);
            return (await conn.runAndReadAll(sql, params, bindTypes(params))).getRows();
          });
        }),
      ),
    write: (fn) =>
      this.serialised(() => {
        this.assertOpen();
        return this.inTransaction(() => fn(async (sql, params) => (await this.writer.runAndReadAll(sql, params, bindTypes(params))).getRows()));
      }).catch((e: unknown) => Promise.reject(storeError('maintain', e))),
  });

  /** On a connection of its own: readiness probes never queue behind the readers' queries. */
  async ping(): Promise<void> {
    this.assertOpen();
    const run = this.probeChain.then(() => this.probe.run('SELECT 1'));
    this.probeChain = run.catch(() => undefined);
    await run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    await this.index?.close();
    const readersClosed = await this.readers.close();
    await this.hot?.close().catch(() => undefined);
    try {
      // A checkpoint folds the WAL into the database file so the next start opens quickly.
      if (this.options.file !== ':memory:') await this.writer.run('CHECKPOINT');
    } catch {
      // The WAL is still there and is replayed at the next start.
    }
    await this.limitChange;
    await this.probeChain;
    this.probe.closeSync();
    this.control.closeSync();
    this.writer.closeSync();
    // With a query that would not stop, closing the instance would block until it did; the
    // process is on its way out, and the data is committed.
    if (readersClosed) this.instance.closeSync();
  }

  private fileBytes(): number {
    if (this.options.file === ':memory:') return 0;
    let total = 0;
    for (const f of [this.options.file, `${this.options.file}.wal`]) {
      try {
        total += fs.statSync(f).size;
      } catch {
        // no WAL right after a checkpoint
      }
    }
    return total;
  }

  private assertOpen(): void {
    if (this.closed) throw new LhError('LH_ERR_STORE_CLOSED');
  }

  /** Runs a read with the configured timeout: the engine is interrupted when it runs over. */
  private async timed<T>(conn: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const ms = this.options.queryTimeoutMs;
    if (!ms) return this.withMemoryHeadroom('query', fn).catch((e) => Promise.reject(storeError('query', e)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
    }, ms);
    try {
      return await this.withMemoryHeadroom('query', fn);
    } catch (e) {
      if (timedOut) throw new LhError('LH_ERR_QUERY_TIMEOUT', `query ran longer than ${ms} ms`);
      throw storeError('query', e);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Keys as the engine orders VARCHARs: by UTF-8 bytes, NULL last. */
function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function openInstance(options: DuckDbStoreOptions): Promise<DuckDBInstance> {
  try {
    return await DuckDBInstance.create(options.file, {
      threads: String(options.threads),
      memory_limit: options.memoryLimit,
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      // New database files use the current storage format, which can compress attrs with
      // zstd (a file made by an older format keeps its own).
      storage_compatibility_version: 'latest',
      // DuckDB's allocator keeps freed pages for reuse and by default returns them only past
      // 128 MiB (512 MiB after a bulk free): under a steady load that is hundreds of MB of
      // resident memory doing nothing. Returning them sooner costs loads about 10 %.
      allocator_flush_threshold: '8MB',
      allocator_bulk_deallocation_flush_threshold: '8MB',
    });
  } catch (e) {
    throw new LhError('LH_ERR_STORE', `cannot open DuckDB database ${options.file}: ${errorText(e)}`, undefined, { cause: e });
  }
}

/** A name as a quoted SQL identifier. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Where rewriteFile() writes the new database file before it takes the old one's place. */
function rewriteTarget(file: string): string {
  return `${path.resolve(file)}.rewrite`;
}

function extentOf(r: DuckDBValue[]): SegmentExtent {
  return { firstSeq: r[0] as bigint, lastSeq: r[1] as bigint, rows: Number(r[2]), minTs: r[3] as bigint, maxTs: r[4] as bigint };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Engine errors become coded errors; a full disk gets its own code so ingest can answer 507. */
/**
 * The SQL condition of the rows `plan` expires, or null when it keeps everything: only rows
 * before the latest cutoff are looked at (the zone maps skip the rest), each judged by the first
 * rule matching it.
 */
function expiryCondition(plan: ExpiryPlan): string | null {
  const cutoffs = [...plan.rules.map((r) => r.before), plan.defaultBefore].filter((b): b is bigint => b !== null);
  if (cutoffs.length === 0) return null;
  const latest = cutoffs.reduce((a, b) => (a > b ? a : b));
  const before = (b: bigint | null) => (b === null ? 'false' : `ts < make_timestamp(${b})`);
  const matches = (m: ExpiryPlan['rules'][number]['match']) =>
    Object.entries(m)
      .map(([field, re]) => `coalesce(regexp_full_match(${field}, ${sqlString(re)}), false)`)
      .join(' AND ') || 'true';
  const judged = plan.rules.length === 0 ? before(plan.defaultBefore) : `CASE ${plan.rules.map((r) => `WHEN ${matches(r.match)} THEN ${before(r.before)}`).join(' ')} ELSE ${before(plan.defaultBefore)} END`;
  return `ts < make_timestamp(${latest}) AND (${judged})`;
}

function storeError(op: string, e: unknown): LhError {
  if (e instanceof LhError) return e;
  const text = errorText(e);
  if (/No space left on device|ENOSPC|disk is full/i.test(text)) {
    return new LhError('LH_ERR_DISK_FULL', text, undefined, { cause: e });
  }
  if (/INTERRUPT/i.test(text)) return new LhError('LH_ERR_QUERY_TIMEOUT', text, undefined, { cause: e });
  // Still out of memory under the raised limit (withMemoryHeadroom retried already).
  if (op === 'query' && /Out of Memory/i.test(text)) {
    return new LhError('LH_ERR_QUERY_MEMORY', `the query needs more memory than store.duckdb.max_memory_limit allows; narrow it (time range, query) or raise the limit`, {
      setting: 'store.duckdb.max_memory_limit',
    }, { cause: e });
  }
  return new LhError('LH_ERR_STORE', `${op}: ${text}`, undefined, { cause: e });
}

/** Access records (access-tables.ts) in the row format: `…\taccess\talb\t…`. */
const ACCESS_ROW = new RegExp(`\taccess\t(${ACCESS_SOURCES.join('|')})\t`);
/** Access rows take about four times their bytes while typed and aggregated in the load. */
const ACCESS_MEMORY_FACTOR = 4;

/**
 * The memory a segment's load needs, in the bytes withMemoryHeadroom compares with the limit: its
 * size, or four times that when its first rows are access records (typed into access_logs in
 * the same transaction). 0 when the file cannot be read (the load then reports why).
 */
function headroomBytes(file: string): number {
  try {
    const size = fs.statSync(file).size;
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    return ACCESS_ROW.test(head.toString('utf8')) ? size * ACCESS_MEMORY_FACTOR : size;
  } catch {
    return 0;
  }
}
