// The embedded default backend: one DuckDB database file under the data directory. Rows arrive
// as files in the row format (spool segments, or an append's rows written to a file) and are
// loaded by DuckDB's own CSV reader through one writer connection, one transaction per file
// (DuckDB fsyncs its WAL at commit, so a resolved load is durable); reads use a small pool of
// their own connections.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBType, type DuckDBValue, BIGINT, VARCHAR } from '@duckdb/node-api';
import { LhError } from '../../errors.js';
import type { Level, StoredRecord } from '../../model/record.js';
import { compileWhere, fieldSql } from '../../query/sql.js';
import type {
  AppendResult,
  ExportChunk,
  ExportRequest,
  HistogramBucket,
  HistogramRequest,
  Page,
  PageAfter,
  PageRequest,
  Selection,
  Store,
  StoreStats,
  TopRequest,
  TopValue,
} from '../store.js';
import { MIGRATIONS, MIGRATIONS_TABLE } from './migrations.js';
import type { RowBatch } from '../row-format.js';
import { ConnectionPool } from './connection-pool.js';

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
}

const SELECT_COLUMNS = `seq, epoch_us(ts) AS ts, epoch_us(received_at) AS received_at, tenant, level, severity,
  service, host, category, source, message, trace_id, span_id, CAST(attrs AS VARCHAR) AS attrs`;

const RFC3339_MICROS = `'%Y-%m-%dT%H:%M:%S.%fZ'`;
const jsonText = (col: string) => `coalesce(to_json(${col})::VARCHAR, 'null')`;

/**
 * The JSON wire form of a record (SPEC §1), rendered by the engine for exports. It must stay
 * byte-identical to `recordToJson` (src/query/record-format.ts); the conformance suite checks it.
 */
const JSON_LINE_SQL = `concat('{"ts":"', strftime(ts, ${RFC3339_MICROS}), '","received_at":"', strftime(received_at, ${RFC3339_MICROS}),
  '","tenant":', ${jsonText('tenant')}, ',"level":', ${jsonText('level')}, ',"severity":', coalesce(CAST(severity AS VARCHAR), 'null'),
  ',"service":', ${jsonText('service')}, ',"host":', ${jsonText('host')}, ',"category":', ${jsonText('category')},
  ',"source":', ${jsonText('source')}, ',"message":', ${jsonText('message')}, ',"trace_id":', ${jsonText('trace_id')},
  ',"span_id":', ${jsonText('span_id')}, ',"attrs":', CAST(attrs AS VARCHAR), '}')`;

const csvText = (col: string) =>
  `CASE WHEN ${col} IS NULL THEN '' WHEN regexp_matches(${col}, '[",\r\n]') THEN concat('"', replace(${col}, '"', '""'), '"') ELSE ${col} END`;

/** A CSV row in the column order of CSV_HEADER; must match `recordToCsv`. */
const CSV_LINE_SQL = `concat_ws(',', strftime(ts, ${RFC3339_MICROS}), strftime(received_at, ${RFC3339_MICROS}), ${csvText('tenant')},
  coalesce(level, ''), coalesce(CAST(severity AS VARCHAR), ''), ${csvText('service')}, ${csvText('host')}, ${csvText('category')},
  ${csvText('source')}, ${csvText('message')}, ${csvText('trace_id')}, ${csvText('span_id')}, ${csvText('CAST(attrs AS VARCHAR)')})`;

const unescapeText = (col: string) =>
  `CASE WHEN contains(${col}, '\\') THEN json_extract_string(concat('"', ${col}, '"'), '$') ELSE ${col} END`;

/**
 * Reads a file of rows (row-format.ts) as table rows, numbered from $2 + 1. One reader thread: a
 * load shares the machine with ingest parsing, and one thread does the most rows per CPU second.
 * The line size limit is the longest row the pipeline accepts, so no acknowledged row is refused
 * here; the buffer is sized from it explicitly (DuckDB's default is 16 times the limit).
 */
const loadRowsSql = (maxRowBytes: number) => `SELECT $2 + row_number() OVER (), make_timestamp(ts), make_timestamp(received_at), ${unescapeText('tenant')}, level,
  severity, ${unescapeText('service')}, ${unescapeText('host')}, ${unescapeText('category')}, ${unescapeText('source')},
  ${unescapeText('message')}, ${unescapeText('trace_id')}, ${unescapeText('span_id')}, attrs
FROM read_csv($1, delim = '\t', quote = '', escape = '', header = false, nullstr = '\\N', auto_detect = false,
  parallel = false, max_line_size = ${maxRowBytes + 1}, buffer_size = ${Math.max(maxRowBytes + 2 ** 20, 8 * 2 ** 20)},
  columns = {ts: 'BIGINT', received_at: 'BIGINT', tenant: 'VARCHAR', level: 'VARCHAR', severity: 'UTINYINT',
    service: 'VARCHAR', host: 'VARCHAR', category: 'VARCHAR', source: 'VARCHAR', message: 'VARCHAR', trace_id: 'VARCHAR',
    span_id: 'VARCHAR', attrs: 'VARCHAR'})`;

/**
 * DuckDB stores rows in groups of this many; a load of whole groups is written once, where
 * partial groups are merged and rewritten by later checkpoints.
 */
export const DUCKDB_ROW_GROUP_ROWS = 122_880;

/** Keyset pages per export time slice: bounds how many rows one page query looks at. */
const SLICE_PAGES = 8;

/** Rows per exported string piece (a few tens of kilobytes). */
const PIECE_ROWS = 64;

export class DuckDbStore implements Store {
  readonly backend = 'duckdb';
  private closed = false;
  private writeChain: Promise<unknown> = Promise.resolve();
  /** Highest sequence number committed; only the writer connection changes it, after a commit. */
  private lastSeq = 0n;
  /** Loads and queries running with the raised memory limit, and the change of limit under way. */
  private boosted = 0;
  private limitChange: Promise<void> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    /** For instance-wide settings changed at run time (the memory limit). */
    private readonly control: DuckDBConnection,
    private readonly readers: ConnectionPool,
    private readonly options: DuckDbStoreOptions,
    private readonly loadDir: string,
  ) {}

  static async open(options: DuckDbStoreOptions): Promise<DuckDbStore> {
    if (options.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(options.file, {
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
    const writer = await instance.connect();
    const control = await instance.connect();
    const readers = new ConnectionPool(instance, options.readConnections ?? 4);
    const loadDir =
      options.file === ':memory:'
        ? fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-load-'))
        : path.join(path.dirname(path.resolve(options.file)), 'load');
    fs.mkdirSync(loadDir, { recursive: true });
    const store = new DuckDbStore(instance, writer, control, readers, options, loadDir);
    return store;
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
    const last = await this.writer.runAndReadAll('SELECT coalesce(max(seq), 0) FROM logs');
    this.lastSeq = last.getRows()[0]![0] as bigint;
    return applied;
  }

  append(batch: RowBatch): Promise<AppendResult> {
    // The rows go through a file so the engine's own CSV reader loads them: far cheaper than
    // converting every value through the JavaScript bindings.
    return this.serialised(async () => {
      this.assertOpen();
      const firstSeq = this.lastSeq + 1n;
      if (batch.count === 0) return { firstSeq, count: 0 };
      const file = path.join(this.loadDir, `append-${firstSeq}.tsv`);
      try {
        fs.writeFileSync(file, batch.bytes);
        await this.withMemoryHeadroom('append', () => this.inTransaction(() => this.loadRows(file)));
      } catch (e) {
        throw storeError('append', e);
      } finally {
        fs.rmSync(file, { force: true });
      }
      return this.committed(firstSeq, batch.count);
    });
  }

  loadSegment(file: string, id: bigint): Promise<number> {
    return this.serialised(async () => {
      this.assertOpen();
      const firstSeq = this.lastSeq + 1n;
      let rows: number;
      try {
        rows = await this.withMemoryHeadroom(`load of spool segment ${id}`, () =>
          this.inTransaction(async () => {
            const seen = await this.writer.runAndReadAll('SELECT count(*) FROM spool_segments WHERE id = $1', [id], [BIGINT]);
            if (Number(seen.getRows()[0]![0]) > 0) return 0;
            const n = await this.loadRows(file);
            await this.writer.run('INSERT INTO spool_segments VALUES ($1, $2, now())', [id, BigInt(n)], [BIGINT, BIGINT]);
            return n;
          }),
        );
      } catch (e) {
        throw storeError('load segment', e);
      }
      return this.committed(firstSeq, rows).count;
    });
  }

  /** Inserts the rows of a file with the sequence numbers after lastSeq; returns how many. */
  private async loadRows(file: string): Promise<number> {
    const sql = `INSERT INTO logs ${loadRowsSql(this.options.maxRowBytes ?? 2 ** 20)}`;
    const loaded = await this.writer.runAndReadAll(sql, [file, this.lastSeq], [VARCHAR, BIGINT]);
    return Number(loaded.getRows()[0]![0]);
  }

  /**
   * Runs `fn`; when the engine runs out of memory, raises the (instance-wide) memory limit to
   * maxMemoryLimit and runs `fn` once more, then lowers it again when no other work needs it.
   * The usual limit stays small, and the rare wide batch still gets through: a segment that could
   * never load would stop every load after it.
   */
  private async withMemoryHeadroom<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const max = this.options.maxMemoryLimit;
      if (max === undefined || !/Out of Memory/i.test(errorText(e))) throw e;
      this.options.onMemoryBoost?.(what);
      if (this.boosted++ === 0) this.setMemoryLimit(max);
      try {
        await this.limitChange;
        return await fn();
      } finally {
        if (--this.boosted === 0) this.setMemoryLimit(this.options.memoryLimit);
      }
    }
  }

  /** Changes the instance-wide limit on a connection of its own, one change after another. */
  private setMemoryLimit(limit: string): void {
    this.limitChange = this.limitChange.then(() => this.control.run(`SET memory_limit = '${limit.replace(/'/g, '')}'`)).then(
      () => undefined,
      () => undefined,
    );
  }

  private committed(firstSeq: bigint, count: number): AppendResult {
    this.lastSeq = firstSeq + BigInt(count) - 1n;
    return { firstSeq, count };
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

  async queryPage(req: PageRequest): Promise<Page> {
    const q = pageSql(req);
    return this.readers.with(async (conn) => {
      const rows = await this.timed(conn, () => conn.runAndReadAll(q.sql, q.params, bindTypes(q.params)));
      const scanned = await this.timed(conn, () =>
        conn.runAndReadAll(`SELECT count(*) FROM logs WHERE ${q.windowSql}`, q.windowParams, bindTypes(q.windowParams)),
      );
      return { items: rows.getRows().map(toStoredRecord), rowsScanned: Number(scanned.getRows()[0]![0]) };
    });
  }

  async *exportText(req: ExportRequest, signal?: AbortSignal): AsyncIterable<ExportChunk> {
    // Neither one big ORDER BY (the engine would sort everything in memory) nor plain keyset
    // pages (each page would rescan every later row): the matching rows are cut into time
    // slices of bounded size, and each slice is read in keyset pages. The engine renders each
    // page into one string, so the JavaScript side handles one value per page, not per field.
    const chunkRows = req.chunkRows ?? 5000;
    const maxSeq = req.maxSeq ?? (await this.maxSeq());
    const slices = await this.exportSlices(req, maxSeq, chunkRows * SLICE_PAGES);
    if (req.order === 'desc') slices.reverse();
    const line = req.format === 'csv' ? CSV_LINE_SQL : JSON_LINE_SQL;
    const dir = req.order === 'desc' ? 'DESC' : 'ASC';
    for (const slice of slices) {
      let after: PageAfter | undefined;
      for (;;) {
        if (signal?.aborted) return;
        const q = pageSql({ ...req, ...slice, limit: chunkRows, after, maxSeq }, '*');
        // Pieces of PIECE_ROWS lines: small strings die young in V8, where one multi-megabyte
        // string per page would sit in the large-object space until a full collection.
        const sql = `SELECT string_agg(line, chr(10) ORDER BY rn), count(*), last(tsu ORDER BY rn), last(seq ORDER BY rn)
          FROM (SELECT ${line} AS line, epoch_us(ts) AS tsu, seq, row_number() OVER (ORDER BY ts ${dir}, seq ${dir}) AS rn
                FROM (${q.sql}) AS page) AS numbered
          GROUP BY (rn - 1) // ${PIECE_ROWS} ORDER BY min(rn)`;
        const result = await this.readers.with(async (conn) => {
          // A client that goes away stops the page query under way, not just the next one.
          const stop = () => conn.interrupt();
          signal?.addEventListener('abort', stop, { once: true });
          try {
            return await this.timed(conn, () => conn.runAndReadAll(sql, q.params, bindTypes(q.params)));
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
  private async exportSlices(req: ExportRequest, maxSeq: bigint, cap: number): Promise<{ from: bigint; to: bigint }[]> {
    const where = new WhereBuilder(req);
    where.add(`seq <= ${where.param(maxSeq)}`);
    where.addQuery(req.query);
    const extent = await this.readers.with((conn) =>
      this.timed(conn, () =>
        conn.runAndReadAll(
          `SELECT count(*), epoch_us(min(ts)), epoch_us(max(ts)) FROM logs WHERE ${where.sql()}`,
          where.params,
          bindTypes(where.params),
        ),
      ),
    );
    const [count, lo, hi] = extent.getRows()[0]! as [bigint, bigint | null, bigint | null];
    if (lo === null || hi === null || count === 0n) return [];
    const end = hi + 1n;
    if (Number(count) <= cap) return [{ from: lo, to: end }];
    // A histogram with several buckets per slice, then greedy merging of neighbouring buckets.
    const buckets = BigInt(Math.min(100_000, Math.ceil(Number(count) / cap) * 8));
    const span = end - lo;
    const step = span / buckets + 1n;
    const origin = where.param(lo);
    const width = where.param(step);
    const hist = await this.readers.with((conn) =>
      this.timed(conn, () =>
        conn.runAndReadAll(
          `SELECT (epoch_us(ts) - ${origin}) // ${width} AS b, count(*) FROM logs WHERE ${where.sql()} GROUP BY b ORDER BY b`,
          where.params,
          bindTypes(where.params),
        ),
      ),
    );
    const slices: { from: bigint; to: bigint }[] = [];
    let from: bigint | null = null;
    let rows = 0;
    let to = lo;
    for (const [b, n] of hist.getRows() as [bigint, bigint][]) {
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

  async histogram(req: HistogramRequest): Promise<HistogramBucket[]> {
    const where = new WhereBuilder(req);
    where.addQuery(req.query);
    const step = where.param(req.stepMicros);
    const sql = `SELECT (epoch_us(ts) // ${step}) * ${step} AS bucket, count(*) AS n FROM logs
      WHERE ${where.sql()} GROUP BY bucket ORDER BY bucket`;
    return this.readers.with(async (conn) => {
      const rows = await this.timed(conn, () => conn.runAndReadAll(sql, where.params, bindTypes(where.params)));
      return rows.getRows().map((r) => ({ ts: r[0] as bigint, count: Number(r[1]) }));
    });
  }

  async topValues(req: TopRequest): Promise<TopValue[]> {
    const where = new WhereBuilder(req);
    const field = fieldSql(req.field, 'duckdb', where.nextParam());
    where.params.push(...(field.params as DuckDBValue[]));
    where.addQuery(req.query);
    const limit = where.param(BigInt(req.limit));
    const sql = `SELECT CAST(${field.sql} AS VARCHAR) AS v, count(*) AS n FROM logs WHERE ${where.sql()}
      GROUP BY v ORDER BY n DESC, v NULLS LAST LIMIT ${limit}`;
    return this.readers.with(async (conn) => {
      const rows = await this.timed(conn, () => conn.runAndReadAll(sql, where.params, bindTypes(where.params)));
      return rows.getRows().map((r) => ({ value: r[0] as string | null, count: Number(r[1]) }));
    });
  }

  async stats(): Promise<StoreStats> {
    return this.readers.with(async (conn) => {
      const r = await conn.runAndReadAll(
        'SELECT count(*), coalesce(max(seq), 0), epoch_us(min(ts)), epoch_us(max(ts)) FROM logs',
      );
      const row = r.getRows()[0]!;
      return {
        rows: Number(row[0]),
        maxSeq: row[1] as bigint,
        oldestTs: (row[2] as bigint | null) ?? null,
        newestTs: (row[3] as bigint | null) ?? null,
        bytes: this.fileBytes(),
      };
    });
  }

  maxSeq(): Promise<bigint> {
    return Promise.resolve(this.lastSeq);
  }

  async ping(): Promise<void> {
    await this.readers.with((conn) => conn.run('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    const readersClosed = await this.readers.close();
    try {
      // A checkpoint folds the WAL into the database file so the next start opens quickly.
      if (this.options.file !== ':memory:') await this.writer.run('CHECKPOINT');
    } catch {
      // The WAL is still there and is replayed at the next start.
    }
    await this.limitChange;
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

/** Accumulates the shared tenant/time/query conditions with positional parameters. */
class WhereBuilder {
  readonly params: DuckDBValue[] = [];
  private readonly parts: string[] = [];

  constructor(sel: Selection) {
    this.add(`tenant = ${this.param(sel.tenant)}`);
    if (sel.from !== undefined) this.add(`ts >= make_timestamp(${this.param(sel.from)})`);
    if (sel.to !== undefined) this.add(`ts < make_timestamp(${this.param(sel.to)})`);
  }

  param(v: DuckDBValue): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }

  nextParam(): number {
    return this.params.length + 1;
  }

  add(cond: string): void {
    this.parts.push(cond);
  }

  addQuery(q: Selection['query']): void {
    if (q === undefined) return;
    const c = compileWhere(q, 'duckdb', this.nextParam());
    this.params.push(...(c.params as DuckDBValue[]));
    this.parts.push(c.sql);
  }

  sql(): string {
    return this.parts.join(' AND ');
  }
}

/**
 * One page in (ts, seq) order after an optional keyset position. Also returns the bare window
 * (tenant, time, snapshot) so the caller can report how many rows the filter was evaluated on.
 */
function pageSql(req: PageRequest, columns = SELECT_COLUMNS): { sql: string; params: DuckDBValue[]; windowSql: string; windowParams: DuckDBValue[] } {
  const where = new WhereBuilder(req);
  if (req.maxSeq !== undefined) where.add(`seq <= ${where.param(req.maxSeq)}`);
  const windowSql = where.sql();
  const windowParams = [...where.params];
  if (req.after !== undefined) {
    // `ts >= x` alone can use the zone maps; the OR only refines within equal timestamps.
    const t = where.param(req.after.ts);
    const s = where.param(req.after.seq);
    if (req.order === 'desc') where.add(`ts <= make_timestamp(${t}) AND (ts < make_timestamp(${t}) OR seq < ${s})`);
    else where.add(`ts >= make_timestamp(${t}) AND (ts > make_timestamp(${t}) OR seq > ${s})`);
  }
  where.addQuery(req.query);
  const dir = req.order === 'desc' ? 'DESC' : 'ASC';
  const limit = where.param(BigInt(req.limit));
  const offset = req.offset ? ` OFFSET ${where.param(BigInt(req.offset))}` : '';
  const sql = `SELECT ${columns} FROM logs WHERE ${where.sql()} ORDER BY ts ${dir}, seq ${dir} LIMIT ${limit}${offset}`;
  return { sql, params: where.params, windowSql, windowParams };
}

function toStoredRecord(r: DuckDBValue[]): StoredRecord {
  return {
    seq: r[0] as bigint,
    ts: r[1] as bigint,
    receivedAt: r[2] as bigint,
    tenant: r[3] as string,
    level: r[4] as Level | null,
    severity: r[5] === null ? null : Number(r[5]),
    service: r[6] as string | null,
    host: r[7] as string | null,
    category: r[8] as string | null,
    source: r[9] as string | null,
    message: r[10] as string | null,
    traceId: r[11] as string | null,
    spanId: r[12] as string | null,
    attrs: r[13] as string,
  };
}

/** Bigints bind as BIGINT (the default would be HUGEINT, which make_timestamp does not take). */
function bindTypes(params: DuckDBValue[]): DuckDBType[] {
  // An undefined entry lets the engine infer that parameter's type.
  return params.map((p) => (typeof p === 'bigint' ? BIGINT : undefined)) as DuckDBType[];
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Engine errors become coded errors; a full disk gets its own code so ingest can answer 507. */
function storeError(op: string, e: unknown): LhError {
  if (e instanceof LhError) return e;
  const text = errorText(e);
  if (/No space left on device|ENOSPC|disk is full/i.test(text)) {
    return new LhError('LH_ERR_DISK_FULL', text, undefined, { cause: e });
  }
  if (/INTERRUPT/i.test(text)) return new LhError('LH_ERR_QUERY_TIMEOUT', text, undefined, { cause: e });
  return new LhError('LH_ERR_STORE', `${op}: ${text}`, undefined, { cause: e });
}
