// The PostgreSQL backend (`store.backend = "postgres"`): what several stateless instances share.
// Rows arrive as spool segments in the row format and go in with COPY (copy-rows.ts turns the
// lines into COPY's text format without decoding them) into one partition per UTC day. Sequence
// numbers come from one counter row that a load holds until it commits, so loads from every
// instance commit in the order of their numbers and the committed counter is a snapshot bound
// every instance agrees on. The other instances are reached through LISTEN/NOTIFY (peers.ts).

import fs from 'node:fs';
import path from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DuckDBInstance } from '@duckdb/node-api';
import { LhError } from '../../errors.js';
import { DAY_MICROS, formatMicros, type Level, type StoredRecord } from '../../model/record.js';
import { compileWhere, fieldSql } from '../../query/sql.js';
import { recordToCsv, recordToJson } from '../../query/record-format.js';
import { keyTimeMicros as micros, keyTimeOf as date, type KeyRecord, type KeyTable } from '../../auth/key-table.js';
import type { Scope } from '../../auth/api-key.js';
import type { AccessAnalytics } from '../access.js';
import type { QueryNode } from '../../query/ast.js';
import { RowBatchBuilder, type RowBatch } from '../row-format.js';
import type {
  AppendResult,
  DayCount,
  DayParquetRequest,
  ExpiryPlan,
  ExportChunk,
  ExportRequest,
  FileRow,
  HistogramBucket,
  HistogramRequest,
  IndexStatus,
  JsonRecord,
  LoadedSegment,
  OptimizeResult,
  Page,
  PageRequest,
  Selection,
  Store,
  StoreStats,
  TailRequest,
  TopRequest,
  TopValue,
} from '../store.js';
import { LEVEL_KEY_SQL, bucketOfLevelKey } from '../store.js';
import { numberedChunk, toCopyRows, type CopyRows } from './copy-rows.js';
import { MIGRATION_LOCK, MIGRATIONS_TABLE, PG_MIGRATIONS } from './migrations.js';
import { expireAccessDay, holdLoadsForAccessDays, loadAccessRows, mayHoldAccessRecords, restoreAccessDay } from './access-tables.js';
import { PgAccessAnalytics } from './access-analytics.js';
import { PgPeers, type PeersLog } from './peers.js';
import { SegmentCatalog, type SegmentExtent } from '../index/segment-catalog.js';
import { segmentTest } from '../index/segment-filter.js';
import { SegmentIndex } from '../index/segment-index.js';
import { mergeRanges } from '../duckdb/read-sql.js';

export interface PostgresStoreOptions {
  url: string;
  /** This instance's name among those sharing the database (its spool segments are its own). */
  instance: string;
  poolMax: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** Longest a request waits for a free connection before it is refused as busy. */
  acquireTimeoutMs: number;
  queryTimeoutMs?: number;
  /** Schema holding the tables (tests use one each); `public` by default. */
  schema?: string;
  /**
   * Where this instance keeps the token summaries of the segments (store/index/); without it,
   * searches for words and attributes read every row of their window.
   */
  indexDir?: string;
  log?: PeersLog;
}

const MAX_BIGINT = 2n ** 63n - 1n;

/** Below this share of all rows, a search names the ranges the token index leaves. */
const PRUNED_SHARE = 0.25;

/** Spool segment records kept per instance (see load). */
const KEPT_SEGMENTS = 10_000n;

/** Rows per COPY message: big enough to amortise, small enough to stream. */
const COPY_CHUNK_ROWS = 4096;
/** Rows per round trip of an export, and of a read for the category files. */
const EXPORT_CHUNK_ROWS = 5000;

const COLUMNS = 'seq, ts, received_at, tenant, level, severity, service, host, category, source, message, trace_id, span_id, attrs::text AS attrs';
const COPY_COLUMNS = 'seq, ts, received_at, tenant, level, severity, service, host, category, source, message, trace_id, span_id, attrs';

const NULL_LOG: PeersLog = { info: () => undefined, warn: () => undefined };

/** int8 comes back as bigint (sequence numbers and µs timestamps pass 2^53). */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

interface Row {
  seq: bigint;
  ts: bigint;
  received_at: bigint;
  tenant: string;
  level: string | null;
  severity: number | null;
  service: string | null;
  host: string | null;
  category: string | null;
  source: string | null;
  message: string | null;
  trace_id: string | null;
  span_id: string | null;
  attrs: string;
}

function toRecord(r: Row): StoredRecord {
  return {
    seq: r.seq,
    ts: r.ts,
    receivedAt: r.received_at,
    tenant: r.tenant,
    level: r.level as Level | null,
    severity: r.severity,
    service: r.service,
    host: r.host,
    category: r.category,
    source: r.source,
    message: r.message,
    traceId: r.trace_id,
    spanId: r.span_id,
    attrs: r.attrs,
  };
}

/** Positional parameters and AND-ed conditions, as the query compiler numbers them. */
class Where {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  constructor(sel?: Selection) {
    if (sel === undefined) return;
    this.add(`tenant = ${this.param(sel.tenant)}`);
    if (sel.from !== undefined) this.add(`ts >= ${this.param(sel.from)}::bigint`);
    if (sel.to !== undefined) this.add(`ts < ${this.param(sel.to)}::bigint`);
    if (sel.query !== undefined) {
      const c = compileWhere(sel.query, 'postgres', this.params.length + 1);
      this.params.push(...c.params);
      this.add(c.sql);
    }
  }

  param(v: unknown): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }

  add(cond: string): void {
    this.parts.push(cond);
  }

  sql(): string {
    return this.parts.length === 0 ? 'true' : this.parts.join(' AND ');
  }
}

export class PostgresStore implements Store {
  readonly backend = 'postgres';
  readonly keys: KeyTable;
  readonly access: AccessAnalytics;
  readonly peers: PgPeers;
  private closed = false;
  /** Highest sequence number known committed (this instance's loads, and what others announced). */
  private lastSeq = 0n;
  /** One load at a time from this instance (they would only queue on the counter row). */
  private loadChain: Promise<unknown> = Promise.resolve();
  private readonly schema: string;
  /** Every segment loaded (by any instance) that this instance knows of, and their token summaries. */
  private readonly catalog = new SegmentCatalog();
  private index: SegmentIndex | null = null;
  /** Highest first sequence number of a segment read from the `segments` table. */
  private catalogSeq = 0n;
  private refreshing: Promise<void> | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    private readonly options: PostgresStoreOptions,
  ) {
    this.schema = options.schema ?? 'public';
    this.keys = new PgKeyTable((text, params) => this.query(text, params));
    this.access = new PgAccessAnalytics((fn) => this.transaction(fn, 'access analytics'));
    const channel = (what: string) => `loghaven_${this.schema}_${what}`.slice(0, 63);
    this.peers = new PgPeers(pool, clientConfig, options.instance, { visible: channel('visible'), loaded: channel('loaded') }, options.log ?? NULL_LOG);
    this.peers.onLoaded((seq) => {
      if (seq > this.lastSeq) this.lastSeq = seq;
    });
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'public';
    const clientConfig: pg.ClientConfig = {
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs,
      types: TYPES,
      // Every statement of a request is bounded; loads and maintenance lift it (SET LOCAL).
      ...(options.queryTimeoutMs === undefined ? {} : { statement_timeout: options.queryTimeoutMs }),
      // JIT compilation costs seconds on a scan of millions of rows and seldom wins it back here.
      options: `-c search_path=${schema} -c jit=off`,
    };
    const pool = new pg.Pool({ ...clientConfig, max: options.poolMax, idleTimeoutMillis: options.idleTimeoutMs });
    // A connection that breaks while idle must not take the process down.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, clientConfig, options);
    try {
      await store.query('SELECT 1');
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new LhError('LH_ERR_STORE', `cannot reach PostgreSQL at ${redactUrl(options.url)}: ${(e as Error).message}`, undefined, { cause: e });
    }
    return store;
  }

  /** A pooled connection within acquireTimeoutMs, or LH_ERR_BUSY. */
  private async acquire(): Promise<pg.PoolClient> {
    if (this.closed) throw new LhError('LH_ERR_STORE_CLOSED');
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const connecting = this.pool.connect();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new LhError('LH_ERR_BUSY', `no PostgreSQL connection free within ${this.options.acquireTimeoutMs} ms (store.postgres.pool_max = ${this.options.poolMax})`, { retry_after_s: 1 }));
      }, this.options.acquireTimeoutMs);
    });
    // One that comes after the wait gave up goes straight back.
    connecting.then((c) => timedOut && c.release(), () => undefined);
    try {
      return await Promise.race([connecting, timeout]);
    } catch (e) {
      if (e instanceof LhError) throw e;
      throw storeError('connect', e);
    } finally {
      clearTimeout(timer);
    }
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    const client = await this.acquire();
    try {
      return await client.query<R>(text, params);
    } catch (e) {
      throw storeError('query', e);
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in a transaction on one connection. */
  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>, op: string): Promise<T> {
    const client = await this.acquire();
    let broken = false;
    try {
      await client.query('BEGIN');
      const r = await fn(client);
      await client.query('COMMIT');
      return r;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw storeError(op, e);
    } finally {
      client.release(broken);
    }
  }

  async migrate(): Promise<number[]> {
    const applied: number[] = [];
    const client = await this.acquire();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.schema)}`);
      // Instances starting together: one migrates, the others wait here and find it done.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('SET statement_timeout = 0');
        await client.query(MIGRATIONS_TABLE);
        const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
        for (const m of PG_MIGRATIONS) {
          if (done.has(m.version)) continue;
          try {
            await client.query('BEGIN');
            for (const sql of m.sql) await client.query(sql);
            await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
            await client.query('COMMIT');
          } catch (e) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw new LhError('LH_ERR_MIGRATION', `PostgreSQL migration ${m.version} (${m.name}): ${(e as Error).message}`, undefined, { cause: e });
          }
          applied.push(m.version);
        }
        await client.query('RESET statement_timeout');
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
    this.lastSeq = await this.counter();
    if (this.options.indexDir !== undefined && this.index === null) {
      fs.mkdirSync(this.options.indexDir, { recursive: true });
      const r = await this.query<{ first_seq: bigint; last_seq: bigint; rows: bigint; min_ts: bigint; max_ts: bigint }>(
        'SELECT first_seq, last_seq, rows, min_ts, max_ts FROM segments ORDER BY first_seq',
      );
      for (const row of r.rows) {
        this.catalog.add({ firstSeq: row.first_seq, lastSeq: row.last_seq, rows: Number(row.rows), minTs: row.min_ts, maxTs: row.max_ts });
        if (row.first_seq > this.catalogSeq) this.catalogSeq = row.first_seq;
      }
      // Summaries on disk attach; the missing are built, the oldest first, at the lowest priority.
      this.index = SegmentIndex.open({
        dir: this.options.indexDir,
        catalog: this.catalog,
        exportRows: (e, file) => this.exportRows(e, file),
        log: { info: (o, m) => this.options.log?.info(o, m), error: (o, m) => this.options.log?.warn(o, m) },
      });
    }
    return applied;
  }

  private async counter(): Promise<bigint> {
    const r = await this.query<{ last: bigint }>('SELECT last FROM seq_counter WHERE id = 1');
    return r.rows[0]?.last ?? 0n;
  }

  append(batch: RowBatch): Promise<AppendResult> {
    return this.serialised(async () => {
      const rows = toCopyRows(batch.bytes);
      const firstSeq = await this.load(rows, null);
      return { firstSeq: firstSeq ?? this.lastSeq + 1n, count: rows.rows };
    });
  }

  loadSegment(file: string, id: bigint): Promise<LoadedSegment> {
    return this.serialised(async () => {
      const rows = toCopyRows(await fs.promises.readFile(file));
      const firstSeq = await this.load(rows, id);
      if (firstSeq === null) return { rows: 0, firstSeq: 0n, fileKept: false };
      return { rows: rows.rows, firstSeq, fileKept: rows.rows > 0 && this.indexLoaded(extentOf(rows, firstSeq), file) };
    });
  }

  /** After a commit: the segment joins the catalog and its file goes to the token index; whether it took the file. */
  private indexLoaded(extent: SegmentExtent, file: string): boolean {
    // A look at the catalog between the commit and here may have found the segment first and
    // queued its summary from the store: then the file is not needed.
    if (this.index === null || this.catalog.get(extent.firstSeq) !== undefined) return false;
    const info = this.catalog.add(extent);
    try {
      this.index.take(file, info);
      return true;
    } catch (e) {
      this.options.log?.warn({ err: e, file }, 'cannot hand a loaded segment to the index; it is summarised from the store');
      return false;
    }
  }

  /**
   * Segments other instances loaded since the last look join the catalog, and are summarised from
   * their rows in the store. One look at a time; cheap when nothing is new.
   */
  private refreshCatalog(): Promise<void> {
    if (this.index === null) return Promise.resolve();
    this.refreshing ??= (async () => {
      const r = await this.query<{ first_seq: bigint; last_seq: bigint; rows: bigint; min_ts: bigint; max_ts: bigint }>(
        'SELECT first_seq, last_seq, rows, min_ts, max_ts FROM segments WHERE first_seq > $1 ORDER BY first_seq',
        [this.catalogSeq],
      );
      for (const row of r.rows) {
        if (row.first_seq > this.catalogSeq) this.catalogSeq = row.first_seq;
        if (this.catalog.get(row.first_seq) !== undefined) continue;
        const info = this.catalog.add({ firstSeq: row.first_seq, lastSeq: row.last_seq, rows: Number(row.rows), minTs: row.min_ts, maxTs: row.max_ts });
        this.index?.summarise(info);
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** A segment's rows in the row format, for its summary to be built from the store. */
  private async exportRows(e: SegmentExtent, file: string): Promise<void> {
    const out = await fs.promises.open(file, 'w');
    try {
      for (let from = e.firstSeq; from <= e.lastSeq; from += BigInt(EXPORT_CHUNK_ROWS)) {
        const to = from + BigInt(EXPORT_CHUNK_ROWS) - 1n;
        const r = await this.query<Row>(`SELECT ${COLUMNS} FROM logs WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, [from, to < e.lastSeq ? to : e.lastSeq]);
        // A summary numbers rows from the segment's first number on: with any of them gone
        // (retention took one of its days), its blocks would name the wrong rows. Such a
        // segment is read in full instead.
        r.rows.forEach((row, i) => {
          if (row.seq !== from + BigInt(i)) throw new Error(`rows of segment ${e.firstSeq}–${e.lastSeq} are gone (retention); it is read in full`);
        });
        if (r.rows.length !== Number((to < e.lastSeq ? to : e.lastSeq) - from + 1n)) {
          throw new Error(`rows of segment ${e.firstSeq}–${e.lastSeq} are gone (retention); it is read in full`);
        }
        const b = new RowBatchBuilder();
        for (const row of r.rows) b.writeRecord(toRecord(row));
        await out.write(b.finish().bytes);
      }
    } finally {
      await out.close();
    }
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.loadChain.then(fn, fn);
    this.loadChain = run.catch(() => undefined);
    return run;
  }

  /**
   * One transaction: the segment's record (null when it was loaded before), its sequence numbers
   * from the counter row (held until the commit), the rows by COPY, the day counts, and the
   * notice to the other instances. Resolves with the first sequence number, or null.
   */
  private async load(rows: CopyRows, segment: bigint | null): Promise<bigint | null> {
    if (this.closed) throw new LhError('LH_ERR_STORE_CLOSED');
    await this.ensurePartitions(rows);
    const last = await this.transaction(async (c) => {
      await c.query('SET LOCAL statement_timeout = 0');
      if (segment !== null) {
        const had = await c.query('SELECT 1 FROM spool_segments WHERE instance = $1 AND id = $2', [this.options.instance, segment]);
        if (had.rowCount! > 0) return null;
      }
      const counted = await c.query<{ last: bigint }>('UPDATE seq_counter SET last = last + $1 WHERE id = 1 RETURNING last', [rows.rows]);
      const last = counted.rows[0]!.last;
      const first = last - BigInt(rows.rows) + 1n;
      if (rows.rows > 0) {
        const copy = c.query(copyFrom(`COPY logs (${COPY_COLUMNS}) FROM STDIN`));
        await streamPipeline(Readable.from(chunks(rows, first)), copy);
        await c.query(DAY_UPSERT, dayParams(rows, first));
        await c.query(HOUR_UPSERT, hourParams(rows));
        const e = extentOf(rows, first);
        await c.query('INSERT INTO segments VALUES ($1, $2, $3, $4, $5)', [e.firstSeq, e.lastSeq, e.rows, e.minTs, e.maxTs]);
        // Access records among them, typed into access_logs and its aggregates (access-tables.ts).
        if (mayHoldAccessRecords(rows)) await loadAccessRows(c, first, last, rows);
      }
      if (segment !== null) {
        await c.query('INSERT INTO spool_segments (instance, id, rows, first_seq) VALUES ($1, $2, $3, $4)', [this.options.instance, segment, rows.rows, first]);
        // A record matters only while its spool file may still exist (a crash between this commit
        // and the file's deletion): the instance's last KEPT_SEGMENTS are plenty, and the newest
        // is what numbers the next segments.
        if (segment % 100n === 0n) {
          await c.query('DELETE FROM spool_segments WHERE instance = $1 AND id < $2', [this.options.instance, segment - KEPT_SEGMENTS]);
        }
      }
      await c.query('SELECT pg_notify($1, $2)', [this.peers.channels.loaded, `${this.options.instance}:${last}`]);
      return last;
    }, 'load');
    if (last === null) return null;
    if (last > this.lastSeq) this.lastSeq = last;
    return last - BigInt(rows.rows) + 1n;
  }

  /**
   * Rows that already have their sequence numbers (`db migrate` from another store), in one
   * transaction: the counter is raised past them, so numbers given later follow on.
   */
  async importRows(rows: CopyRows, seqs: bigint[]): Promise<void> {
    if (rows.rows === 0) return;
    await this.ensurePartitions(rows);
    const last = seqs.reduce((m, s) => (s > m ? s : m), 0n);
    await this.transaction(async (c) => {
      await c.query('SET LOCAL statement_timeout = 0');
      await c.query('UPDATE seq_counter SET last = greatest(last, $1) WHERE id = 1', [last]);
      const copy = c.query(copyFrom(`COPY logs (${COPY_COLUMNS}) FROM STDIN`));
      await streamPipeline(Readable.from(seqChunks(rows, seqs)), copy);
      const d = rows.days;
      await c.query(DAY_UPSERT, [
        d.map((x) => x.tenant),
        d.map((x) => x.day),
        d.map((x) => x.rows),
        d.map((x) => String(seqs[x.lastRow]!)),
        d.map((x) => String(x.minTs)),
        d.map((x) => String(x.maxTs)),
      ]);
      await c.query(HOUR_UPSERT, hourParams(rows));
      // Each run of consecutive numbers is a segment, which the token index can summarise.
      let start = 0;
      for (let i = 1; i <= seqs.length; i++) {
        if (i < seqs.length && seqs[i] === seqs[i - 1]! + 1n) continue;
        await c.query(
          'INSERT INTO segments SELECT min(seq), max(seq), count(*), min(ts), max(ts) FROM logs WHERE seq BETWEEN $1 AND $2 HAVING count(*) > 0',
          [seqs[start]!, seqs[i - 1]!],
        );
        start = i;
      }
      if (mayHoldAccessRecords(rows)) await loadAccessRows(c, seqs.reduce((m, s) => (s < m ? s : m), last), last, rows);
    }, 'import');
    if (last > this.lastSeq) this.lastSeq = last;
  }

  /** The day partitions the rows need, each created once by whichever instance needs it first. */
  private async ensurePartitions(rows: Pick<CopyRows, 'days'>): Promise<void> {
    const days = [...new Set(rows.days.map((d) => d.day))];
    const missing = await this.query<{ day: number }>(
      `SELECT d AS day FROM unnest($1::integer[]) AS d WHERE to_regclass(${sqlLiteral(`${this.schema}.`)} || 'logs_' || d::text) IS NULL`,
      [days],
    );
    if (missing.rows.length === 0) return;
    await this.transaction(async (c) => {
      await c.query('SET LOCAL statement_timeout = 0');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK + 1]);
      for (const { day } of missing.rows) {
        const from = BigInt(day) * DAY_MICROS;
        await c.query(`CREATE TABLE IF NOT EXISTS logs_${day < 0 ? `m${-day}` : day} PARTITION OF logs FOR VALUES FROM (${from}) TO (${from + DAY_MICROS})`);
      }
    }, 'partition');
  }

  async queryPage(req: PageRequest): Promise<Page> {
    const w = new Where(req);
    if (req.maxSeq !== undefined) w.add(`seq <= ${w.param(req.maxSeq)}::bigint`);
    if (req.after !== undefined) {
      const t = w.param(req.after.ts);
      const s = w.param(req.after.seq);
      w.add(req.order === 'desc' ? `(ts, seq) < (${t}::bigint, ${s}::bigint)` : `(ts, seq) > (${t}::bigint, ${s}::bigint)`);
    }
    const dir = req.order === 'desc' ? 'DESC' : 'ASC';
    if (req.query !== undefined && scansRows(req.query)) {
      // Without a snapshot bound, rows loaded after this instance last heard are wanted too.
      const ranges = await this.candidateRanges(req, req.maxSeq ?? MAX_BIGINT);
      if (ranges !== null) {
        if (ranges.length === 0) return { items: [], rowsScanned: 0 };
        w.add(`(${ranges.map(([a, b]) => `seq BETWEEN ${a} AND ${b}`).join(' OR ')})`);
      }
    }
    // Words and attribute conditions are tested row by row, and PostgreSQL cannot tell how rare a
    // match is: walking the (tenant, ts, seq) index in order, one heap fetch per row, until the
    // page fills takes minutes for a rare word. Sorting the filtered rows instead (`ts + 0` is
    // not the index's key) lets it scan the window's partitions in parallel.
    const key = req.query !== undefined && scansRows(req.query) ? (c: string) => `${c} + 0` : (c: string) => c;
    const r = await this.query<Row>(
      `SELECT ${COLUMNS} FROM logs WHERE ${w.sql()} ORDER BY ${key('ts')} ${dir}, ${key('seq')} ${dir} LIMIT ${w.param(req.limit)} OFFSET ${w.param(req.offset ?? 0)}`,
      w.params,
    );
    const items = r.rows.map(toRecord);
    return { items, rowsScanned: items.length + (req.offset ?? 0) };
  }

  /**
   * The sequence ranges that may hold rows matching the selection, from the token summaries: the
   * candidate blocks of summarised segments, whole segments not summarised yet, and every number
   * no known segment covers (rows restored, migrated, or loaded a moment ago elsewhere). Null
   * when there is no index, or when it leaves too much to be worth naming.
   */
  private async candidateRanges(sel: Selection, maxSeq: bigint): Promise<[bigint, bigint][] | null> {
    if (this.index === null) return null;
    await this.refreshCatalog();
    const test = segmentTest(sel.tenant, sel.query);
    const units = this.catalog.candidates({ from: sel.from, to: sel.to, maxSeq, test });
    const ranges: [bigint, bigint][] = units.map((u) => [u.firstSeq, u.lastSeq < maxSeq ? u.lastSeq : maxSeq]);
    let rows = 0;
    for (const u of units) rows += u.rows;
    let next = 1n;
    for (const seg of this.catalog.all()) {
      if (seg.firstSeq > maxSeq) break;
      if (seg.firstSeq > next) ranges.push([next, seg.firstSeq - 1n]);
      if (seg.lastSeq + 1n > next) next = seg.lastSeq + 1n;
    }
    if (next <= maxSeq) ranges.push([next, maxSeq]);
    // Numbers past the last known segment count as rows only up to the highest one given.
    for (const [a, b] of ranges.slice(units.length)) {
      const upTo = b < this.lastSeq ? b : this.lastSeq;
      if (upTo >= a) rows += Number(upTo - a + 1n);
    }
    if (rows > this.catalog.rows * PRUNED_SHARE) return null;
    return mergeRanges(ranges);
  }

  async *exportText(req: ExportRequest, signal?: AbortSignal): AsyncIterable<ExportChunk> {
    const render = req.format === 'csv' ? recordToCsv : recordToJson;
    const chunk = req.chunkRows ?? EXPORT_CHUNK_ROWS;
    const maxSeq = req.maxSeq ?? (await this.maxSeq());
    let after: { ts: bigint; seq: bigint } | undefined;
    for (;;) {
      if (signal?.aborted) return;
      const page = await this.queryPage({ ...req, limit: chunk, after, maxSeq });
      if (page.items.length === 0) return;
      let text = '';
      for (const r of page.items) text += `${render(r)}\n`;
      yield { text, rows: page.items.length };
      if (page.items.length < chunk) return;
      const last = page.items[page.items.length - 1]!;
      after = { ts: last.ts, seq: last.seq };
    }
  }

  async histogram(req: HistogramRequest): Promise<HistogramBucket[]> {
    const w = new Where(req);
    const step = w.param(req.stepMicros);
    // Floor division: buckets of times before 1970 start before them too.
    const key = `(ts / ${step}::bigint - CASE WHEN ts % ${step}::bigint < 0 THEN 1 ELSE 0 END) * ${step}::bigint`;
    if (req.byLevel === true) {
      // The hourly counts have no levels: every row of the window is counted.
      const r = await this.query<{ k: bigint; n: bigint }>(`SELECT ${key} * 8 + ${LEVEL_KEY_SQL} AS k, count(*) AS n FROM logs WHERE ${w.sql()} GROUP BY 1 ORDER BY 1`, w.params);
      return r.rows.map((row) => bucketOfLevelKey(BigInt(row.k), Number(row.n)));
    }
    if (req.query !== undefined || req.stepMicros % HOUR_MICROS !== 0n) {
      const r = await this.query<{ k: bigint; n: bigint }>(`SELECT ${key} AS k, count(*) AS n FROM logs WHERE ${w.sql()} GROUP BY 1 ORDER BY 1`, w.params);
      return r.rows.map((row) => ({ ts: row.k, count: Number(row.n) }));
    }
    // Whole hours of the window from the hourly counts; the rows of the partial hours at its
    // edges counted themselves. One statement: one snapshot of both.
    const hourFrom = req.from === undefined ? null : ceilDiv(req.from, HOUR_MICROS);
    const hourTo = req.to === undefined ? null : floorDiv(req.to, HOUR_MICROS);
    const hw = new Where();
    hw.params.push(...w.params);
    hw.add(`tenant = $1`);
    if (hourFrom !== null) hw.add(`hour >= ${hw.param(hourFrom)}::integer`);
    if (hourTo !== null) hw.add(`hour < ${hw.param(hourTo)}::integer`);
    const edges: string[] = [];
    if (hourFrom !== null) edges.push(`ts < ${hw.param(hourFrom * HOUR_MICROS)}::bigint`);
    if (hourTo !== null) edges.push(`ts >= ${hw.param(hourTo * HOUR_MICROS)}::bigint`);
    const hourKey = `floor(hour::numeric * ${HOUR_MICROS} / ${step}::bigint)::bigint * ${step}::bigint`;
    const r = await this.query<{ k: bigint; n: bigint }>(
      `SELECT k, sum(n)::bigint AS n FROM (
         SELECT ${hourKey} AS k, rows AS n FROM log_hours WHERE ${hw.sql()} AND rows > 0
         ${edges.length === 0 ? '' : `UNION ALL SELECT ${key} AS k, count(*) AS n FROM logs WHERE ${w.sql()} AND (${edges.join(' OR ')}) GROUP BY 1`}
       ) AS t GROUP BY k ORDER BY k`,
      hw.params,
    );
    return r.rows.map((row) => ({ ts: row.k, count: Number(row.n) })).filter((b) => b.count > 0);
  }

  async topValues(req: TopRequest): Promise<TopValue[]> {
    const w = new Where(req);
    const field = fieldSql(req.field, 'postgres', w.params.length + 1);
    w.params.push(...field.params);
    // Most first, then by the key's bytes (the C collation), NULL last: the DuckDB store's order.
    const r = await this.query<{ k: string | null; n: bigint }>(
      `SELECT k, n FROM (SELECT ${field.sql} AS k, count(*) AS n FROM logs WHERE ${w.sql()} GROUP BY 1) AS t ORDER BY n DESC, k COLLATE "C" NULLS LAST LIMIT ${w.param(req.limit)}`,
      w.params,
    );
    return r.rows.map((row) => ({ value: row.k, count: Number(row.n) }));
  }

  async stats(): Promise<StoreStats> {
    const r = await this.query<{ rows: string | null; oldest: bigint | null; newest: bigint | null; bytes: bigint | null; last: bigint }>(
      `SELECT (SELECT sum(rows)::text FROM log_days) AS rows, (SELECT min(min_ts) FROM log_days WHERE rows > 0) AS oldest,
        (SELECT max(max_ts) FROM log_days WHERE rows > 0) AS newest, (SELECT last FROM seq_counter WHERE id = 1) AS last,
        (SELECT sum(pg_total_relation_size(inhrelid))::bigint FROM pg_inherits WHERE inhparent = 'logs'::regclass) AS bytes`,
    );
    const s = r.rows[0]!;
    if (s.last > this.lastSeq) this.lastSeq = s.last;
    return { rows: Number(s.rows ?? 0), bytes: Number(s.bytes ?? 0n), maxSeq: s.last, oldestTs: s.oldest, newestTs: s.newest };
  }

  readAfter(req: TailRequest): Promise<StoredRecord[]> {
    return this.readBySeq(req);
  }

  async readAfterJson(req: TailRequest): Promise<JsonRecord[]> {
    return (await this.readBySeq(req)).map((r) => ({ seq: r.seq, json: recordToJson(r) }));
  }

  private async readBySeq(req: TailRequest): Promise<StoredRecord[]> {
    const w = new Where(req);
    w.add(`seq > ${w.param(req.afterSeq)}::bigint AND seq <= ${w.param(req.maxSeq)}::bigint`);
    const dir = req.order === 'desc' ? 'DESC' : 'ASC';
    const r = await this.query<Row>(`SELECT ${COLUMNS} FROM logs WHERE ${w.sql()} ORDER BY seq ${dir} LIMIT ${w.param(req.limit)}`, w.params);
    return r.rows.map(toRecord);
  }

  async readForFiles(afterSeq: bigint, limit: number): Promise<{ rows: FileRow[]; through: bigint }> {
    const upTo = this.lastSeq;
    if (afterSeq >= upTo) return { rows: [], through: afterSeq };
    const r = await this.query<Row>(`SELECT ${COLUMNS} FROM logs WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, [afterSeq, upTo, limit]);
    const rows = r.rows.map((row) => {
      const rec = toRecord(row);
      return { seq: rec.seq, category: rec.category, day: formatMicros(rec.ts).slice(0, 10), level: rec.level, json: recordToJson(rec) };
    });
    return { rows, through: rows.length < limit ? upTo : rows[rows.length - 1]!.seq };
  }

  loadedSeq(): bigint {
    return this.lastSeq;
  }

  indexStatus(): IndexStatus {
    const segments = this.catalog.size;
    return { segments, indexedSegments: segments - this.catalog.unindexed().length, pendingSegments: this.index?.pending ?? 0 };
  }

  /** Resolves once the token index has caught up with the segments known (tests, benchmarks). */
  async indexIdle(): Promise<void> {
    await this.refreshCatalog();
    await this.index?.idle();
  }

  async dayCounts(): Promise<DayCount[]> {
    const r = await this.query<{ tenant: string; day: number; rows: bigint; max_seq: bigint }>(
      'SELECT tenant, day, rows, max_seq FROM log_days WHERE rows > 0 ORDER BY day, tenant COLLATE "C"',
    );
    return r.rows.map((row) => ({ tenant: row.tenant, day: dayName(row.day), rows: Number(row.rows), maxSeq: row.max_seq }));
  }

  async expiryCandidates(plan: ExpiryPlan): Promise<DayCount[]> {
    const cond = expiryCondition(plan);
    if (cond === null) return [];
    const r = await this.query<{ tenant: string; day: bigint; rows: bigint; max_seq: bigint }>(
      `SELECT * FROM (SELECT tenant, floor(ts::numeric / ${DAY_MICROS})::bigint AS day, count(*) AS rows, max(seq) AS max_seq FROM logs WHERE ${cond.sql} GROUP BY 1, 2) AS t
        ORDER BY day, tenant COLLATE "C"`,
      cond.params,
    );
    return r.rows.map((row) => ({ tenant: row.tenant, day: dayName(Number(row.day)), rows: Number(row.rows), maxSeq: row.max_seq }));
  }

  async expire(plan: ExpiryPlan, days: { tenant: string; day: string }[]): Promise<number> {
    const cond = expiryCondition(plan);
    if (cond === null || days.length === 0) return 0;
    return this.transaction(async (c) => {
      await c.query('SET LOCAL statement_timeout = 0');
      let deleted = 0;
      // Before any delete: loads wait while a day's access aggregates are rewritten (access-tables.ts).
      const access = await holdLoadsForAccessDays(c, days.map((d) => ({ tenant: d.tenant, from: BigInt(dayNumber(d.day)) * DAY_MICROS })));
      for (const d of days) {
        const day = dayNumber(d.day);
        const from = BigInt(day) * DAY_MICROS;
        const n = cond.params.length;
        const r = await c.query(
          `DELETE FROM logs WHERE tenant = $${n + 1} AND ts >= $${n + 2}::bigint AND ts < $${n + 3}::bigint AND ${cond.sql}`,
          [...cond.params, d.tenant, from, from + DAY_MICROS],
        );
        deleted += r.rowCount ?? 0;
        if (access && (r.rowCount ?? 0) > 0) await expireAccessDay(c, d.tenant, from, from + DAY_MICROS);
        await recountDay(c, d.tenant, day);
      }
      return deleted;
    }, 'expire');
  }

  async restoreDay(req: DayParquetRequest): Promise<{ restored: number; present: number }> {
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      const src = `read_parquet(${sqlLiteral(req.file)})`;
      const [outside, total, maxSeq] = (
        await duck.runAndReadAll(
          `SELECT count(*) FILTER (WHERE tenant <> $1 OR epoch_us(ts) < ${req.from} OR epoch_us(ts) >= ${req.to}), count(*), coalesce(max(seq), 0) FROM ${src}`,
          [req.tenant],
        )
      ).getRows()[0] as [bigint, bigint, bigint];
      if (outside > 0n) throw new LhError('LH_ERR_BAD_PARAM', `${req.file} holds ${outside} rows of another tenant or day: not this day's archive`);
      if (total === 0n) return { restored: 0, present: 0 };
      const last = await this.counter();
      if (maxSeq > last) throw new LhError('LH_ERR_BAD_PARAM', `${req.file} holds sequence numbers this store never gave (up to ${maxSeq}, the store's highest is ${last}): an archive of another store`);
      // The archive's rows in the row format, with their sequence numbers, in pieces.
      const day = Number(req.from / DAY_MICROS);
      const reader = await duck.runAndReadAll(
        `SELECT seq, epoch_us(ts), epoch_us(received_at), tenant, level, severity, service, host, category, source, message, trace_id, span_id, CAST(attrs AS VARCHAR) FROM ${src} ORDER BY seq`,
      );
      const all = reader.getRows();
      return await this.transaction(async (c) => {
        await c.query('SET LOCAL statement_timeout = 0');
        await c.query('CREATE TEMP TABLE restore_rows (LIKE logs) ON COMMIT DROP');
        for (let i = 0; i < all.length; i += COPY_CHUNK_ROWS * 4) {
          const b = new RowBatchBuilder();
          const seqs: bigint[] = [];
          for (const row of all.slice(i, i + COPY_CHUNK_ROWS * 4)) {
            seqs.push(row[0] as bigint);
            b.writeRecord({
              ts: row[1] as bigint,
              receivedAt: row[2] as bigint,
              tenant: row[3] as string,
              level: row[4] as Level | null,
              severity: row[5] === null ? null : Number(row[5]),
              service: row[6] as string | null,
              host: row[7] as string | null,
              category: row[8] as string | null,
              source: row[9] as string | null,
              message: row[10] as string | null,
              traceId: row[11] as string | null,
              spanId: row[12] as string | null,
              attrs: row[13] as string,
            });
          }
          const copyRows = toCopyRows(b.finish().bytes);
          const copy = c.query(copyFrom(`COPY restore_rows (${COPY_COLUMNS}) FROM STDIN`));
          await streamPipeline(Readable.from(seqChunks(copyRows, seqs)), copy);
        }
        const clash = await c.query<{ n: bigint }>(
          'SELECT count(*) AS n FROM restore_rows r JOIN logs l USING (seq) WHERE l.tenant <> r.tenant OR l.ts <> r.ts',
        );
        const others = clash.rows[0]!.n;
        if (others > 0n) throw new LhError('LH_ERR_BAD_PARAM', `${others} sequence numbers of ${req.file} belong to other rows in this store: an archive of another store`);
        await this.ensurePartitions({ days: [{ tenant: req.tenant, day, rows: 0, minTs: 0, maxTs: 0, lastRow: 0 }] });
        const ins = await c.query(
          `INSERT INTO logs SELECT r.* FROM restore_rows r WHERE NOT EXISTS (SELECT 1 FROM logs l WHERE l.seq = r.seq AND l.ts = r.ts AND l.tenant = r.tenant)`,
        );
        const restored = ins.rowCount ?? 0;
        if (restored > 0) await restoreAccessDay(c, req.tenant, req.from, req.to);
        await recountDay(c, req.tenant, day);
        return { restored, present: Number(total) - restored };
      }, 'restore');
    } finally {
      duck.closeSync();
    }
  }

  /**
   * The day's rows as Parquet, the same columns and order as the DuckDB store writes (archives
   * and the cold tier read either): rows read from PostgreSQL a page at a time, written by an
   * in-process DuckDB.
   */
  async writeDayParquet(req: DayParquetRequest): Promise<number> {
    const dir = fs.mkdtempSync(path.join(path.dirname(req.file), '.parquet-'));
    const tsv = path.join(dir, 'rows.tsv');
    const out = fs.openSync(tsv, 'w');
    let rows = 0;
    try {
      let after: { ts: bigint; seq: bigint } | undefined;
      const maxSeq = await this.maxSeq();
      for (;;) {
        const page = await this.queryPage({ tenant: req.tenant, from: req.from, to: req.to, order: 'asc', limit: EXPORT_CHUNK_ROWS, after, maxSeq });
        if (page.items.length === 0) break;
        const b = new RowBatchBuilder();
        for (const r of page.items) b.writeRecord(r);
        // seq in front of each row: the row format has no column for it.
        const lines = b.finish().bytes.toString('utf8').split('\n');
        let text = '';
        page.items.forEach((r, i) => (text += `${r.seq}\t${lines[i]}\n`));
        fs.writeSync(out, text);
        rows += page.items.length;
        if (page.items.length < EXPORT_CHUNK_ROWS) break;
        const last = page.items[page.items.length - 1]!;
        after = { ts: last.ts, seq: last.seq };
      }
      fs.closeSync(out);
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      try {
        const unescape = (col: string) => `CASE WHEN contains(${col}, '\\') THEN json_extract_string(concat('"', ${col}, '"'), '$') ELSE ${col} END`;
        await duck.run(`COPY (SELECT seq, make_timestamp(ts) AS ts, make_timestamp(received_at) AS received_at, ${unescape('tenant')} AS tenant, level,
            CAST(severity AS UTINYINT) AS severity, ${unescape('service')} AS service, ${unescape('host')} AS host, ${unescape('category')} AS category,
            ${unescape('source')} AS source, ${unescape('message')} AS message, ${unescape('trace_id')} AS trace_id, ${unescape('span_id')} AS span_id, CAST(attrs AS JSON) AS attrs
          FROM read_csv(${sqlLiteral(tsv)}, delim = '\t', quote = '', escape = '', header = false, nullstr = '\\N', auto_detect = false, max_line_size = 67108864,
            columns = {seq: 'BIGINT', ts: 'BIGINT', received_at: 'BIGINT', tenant: 'VARCHAR', level: 'VARCHAR', severity: 'INTEGER', service: 'VARCHAR',
              host: 'VARCHAR', category: 'VARCHAR', source: 'VARCHAR', message: 'VARCHAR', trace_id: 'VARCHAR', span_id: 'VARCHAR', attrs: 'VARCHAR'})
          ORDER BY category NULLS FIRST, ts, seq) TO ${sqlLiteral(req.file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)`);
      } finally {
        duck.closeSync();
      }
      return rows;
    } finally {
      try {
        fs.closeSync(out);
      } catch {
        // closed already
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** VACUUM ANALYZE (and VACUUM FULL when a rewrite is asked for): space of deleted rows is reused, or given back. */
  async optimize(opts: { rewrite?: boolean | 'auto' } = {}): Promise<OptimizeResult> {
    const started = performance.now();
    const before = await this.databaseBytes();
    const rewrite = opts.rewrite === true;
    const client = await this.acquire();
    try {
      await client.query('SET statement_timeout = 0');
      await client.query(rewrite ? 'VACUUM (FULL, ANALYZE)' : 'VACUUM (ANALYZE)');
      await client.query('RESET statement_timeout');
    } catch (e) {
      throw storeError('optimize', e);
    } finally {
      client.release();
    }
    return { bytes_before: before, bytes_after: await this.databaseBytes(), rewritten: rewrite, ms: Math.round(performance.now() - started) };
  }

  private async databaseBytes(): Promise<number> {
    const r = await this.query<{ n: bigint }>('SELECT pg_database_size(current_database())::bigint AS n');
    return Number(r.rows[0]!.n);
  }

  async loadedSegments(ids: bigint[]): Promise<Set<bigint>> {
    if (ids.length === 0) return new Set();
    const r = await this.query<{ id: bigint }>('SELECT id FROM spool_segments WHERE instance = $1 AND id = ANY($2::bigint[])', [this.options.instance, ids.map(String)]);
    return new Set(r.rows.map((row) => row.id));
  }

  async maxSegmentId(): Promise<bigint> {
    const r = await this.query<{ id: bigint | null }>('SELECT max(id) AS id FROM spool_segments WHERE instance = $1', [this.options.instance]);
    return r.rows[0]?.id ?? 0n;
  }

  async maxSeq(): Promise<bigint> {
    const last = await this.counter();
    if (last > this.lastSeq) this.lastSeq = last;
    return last;
  }

  /** Instances heard of in the last `ms` (their heartbeats), this one included if started. */
  async liveInstances(ms = 10_000): Promise<string[]> {
    const r = await this.query<{ id: string }>(`SELECT id FROM instances WHERE seen_at > now() - $1::bigint * interval '1 millisecond' ORDER BY id`, [ms]);
    return r.rows.map((row) => row.id);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.loadChain.catch(() => undefined);
    await this.peers.close();
    await this.index?.close();
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

/** Whether a query tests words or attributes (no index serves those). */
function scansRows(q: QueryNode): boolean {
  switch (q.kind) {
    case 'text':
      return true;
    case 'match':
      return q.field.kind === 'attr' || q.op === 'regex';
    case 'not':
      return scansRows(q.child);
    default:
      return q.children.some(scansRows);
  }
}

/** The extent of rows loaded from `first` on. */
function extentOf(rows: CopyRows, first: bigint): SegmentExtent {
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (const d of rows.days) {
    if (d.minTs < minTs) minTs = d.minTs;
    if (d.maxTs > maxTs) maxTs = d.maxTs;
  }
  return { firstSeq: first, lastSeq: first + BigInt(rows.rows) - 1n, rows: rows.rows, minTs: BigInt(minTs), maxTs: BigInt(maxTs) };
}

/** Upserts the per-day counts of one load: arrays of tenant, day, rows, max seq, min ts, max ts. */
const DAY_UPSERT = `INSERT INTO log_days (tenant, day, rows, max_seq, min_ts, max_ts)
  SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
  ON CONFLICT (tenant, day) DO UPDATE SET rows = log_days.rows + excluded.rows, max_seq = greatest(log_days.max_seq, excluded.max_seq),
    min_ts = least(log_days.min_ts, excluded.min_ts), max_ts = greatest(log_days.max_ts, excluded.max_ts)`;

/** Adds the per-hour counts of one load: arrays of tenant, hour, rows. */
const HOUR_UPSERT = `INSERT INTO log_hours (tenant, hour, rows) SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[])
  ON CONFLICT (tenant, hour) DO UPDATE SET rows = log_hours.rows + excluded.rows`;

function hourParams(rows: CopyRows): unknown[] {
  return [rows.hours.map((h) => h.tenant), rows.hours.map((h) => h.hour), rows.hours.map((h) => h.rows)];
}

const HOUR_MICROS = 3_600_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return -floorDiv(-a, b);
}

function dayParams(rows: CopyRows, first: bigint): unknown[] {
  const d = rows.days;
  return [
    d.map((x) => x.tenant),
    d.map((x) => x.day),
    d.map((x) => x.rows),
    d.map((x) => String(first + BigInt(x.lastRow))),
    d.map((x) => String(x.minTs)),
    d.map((x) => String(x.maxTs)),
  ];
}

/** A tenant day's counts taken again from its rows (after an expiry or a restore). */
async function recountDay(c: pg.PoolClient, tenant: string, day: number): Promise<void> {
  const from = BigInt(day) * DAY_MICROS;
  await c.query(
    `WITH r AS (SELECT count(*) AS n, max(seq) AS s, min(ts) AS lo, max(ts) AS hi FROM logs WHERE tenant = $1 AND ts >= $3::bigint AND ts < $4::bigint)
     INSERT INTO log_days (tenant, day, rows, max_seq, min_ts, max_ts) SELECT $1, $2, n, coalesce(s, 0), coalesce(lo, 0), coalesce(hi, 0) FROM r
     ON CONFLICT (tenant, day) DO UPDATE SET rows = excluded.rows, max_seq = excluded.max_seq, min_ts = excluded.min_ts, max_ts = excluded.max_ts`,
    [tenant, day, from, from + DAY_MICROS],
  );
  const firstHour = day * 24;
  await c.query('DELETE FROM log_hours WHERE tenant = $1 AND hour >= $2 AND hour < $3', [tenant, firstHour, firstHour + 24]);
  await c.query(
    `INSERT INTO log_hours (tenant, hour, rows) SELECT tenant, floor(ts::numeric / ${HOUR_MICROS})::integer, count(*) FROM logs
     WHERE tenant = $1 AND ts >= $2::bigint AND ts < $3::bigint GROUP BY 1, 2`,
    [tenant, from, from + DAY_MICROS],
  );
}

function* chunks(rows: CopyRows, first: bigint): Generator<Buffer> {
  // numberedChunk numbers each row `first` + its index among all the rows.
  for (let i = 0; i < rows.rows; i += COPY_CHUNK_ROWS) yield numberedChunk(rows, i, Math.min(rows.rows, i + COPY_CHUNK_ROWS), first);
}

/** COPY lines with given (not necessarily consecutive) sequence numbers, a few thousand rows a buffer. */
function* seqChunks(rows: CopyRows, seqs: bigint[]): Generator<Buffer> {
  for (let from = 0; from < rows.rows; from += COPY_CHUNK_ROWS) {
    const to = Math.min(rows.rows, from + COPY_CHUNK_ROWS);
    const start = from === 0 ? 0 : rows.ends[from - 1]!;
    const parts: Buffer[] = [];
    let at = start;
    for (let r = from; r < to; r++) {
      const end = rows.ends[r]!;
      parts.push(Buffer.from(`${seqs[r]}\t`, 'latin1'), rows.body.subarray(at, end));
      at = end;
    }
    yield Buffer.concat(parts);
  }
}

/** Days since the epoch as `YYYY-MM-DD`. */
function dayName(day: number): string {
  return formatMicros(BigInt(day) * DAY_MICROS).slice(0, 10);
}

function dayNumber(day: string): number {
  return Math.floor(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
}

/** The retention plan as a condition (RE2 patterns run as PostgreSQL regular expressions, anchored). */
function expiryCondition(plan: ExpiryPlan): { sql: string; params: unknown[] } | null {
  const cutoffs = [...plan.rules.map((r) => r.before), plan.defaultBefore].filter((b): b is bigint => b !== null);
  if (cutoffs.length === 0) return null;
  const params: unknown[] = [];
  const p = (v: unknown) => (params.push(v), `$${params.length}`);
  const latest = cutoffs.reduce((a, b) => (a > b ? a : b));
  const before = (b: bigint | null) => (b === null ? 'false' : `ts < ${p(b)}::bigint`);
  const matches = (m: ExpiryPlan['rules'][number]['match']) =>
    Object.entries(m)
      .map(([field, re]) => `coalesce(${field} ~ ${p(`^(?:${re})$`)}, false)`)
      .join(' AND ') || 'true';
  const judged = plan.rules.length === 0 ? before(plan.defaultBefore) : `CASE ${plan.rules.map((r) => `WHEN ${matches(r.match)} THEN ${before(r.before)}`).join(' ')} ELSE ${before(plan.defaultBefore)} END`;
  return { sql: `ts < ${p(latest)}::bigint AND (${judged})`, params };
}

const sqlLiteral = (s: string): string => `'${s.replaceAll("'", "''")}'`;

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function storeError(op: string, e: unknown): LhError {
  if (e instanceof LhError) return e;
  const err = e as { code?: string; message?: string };
  const text = err.message ?? String(e);
  // 57014: canceled by statement_timeout.
  if (err.code === '57014') return new LhError('LH_ERR_QUERY_TIMEOUT', text, undefined, { cause: e });
  // 53100: disk full; 53200: out of memory; 53300: too many connections.
  if (err.code === '53100') return new LhError('LH_ERR_DISK_FULL', text, undefined, { cause: e });
  if (err.code === '53300') return new LhError('LH_ERR_BUSY', `PostgreSQL refuses more connections: ${text}`, { retry_after_s: 1 }, { cause: e });
  return new LhError('LH_ERR_STORE', `${op}: ${text}`, undefined, { cause: e });
}

class PgKeyTable implements KeyTable {
  constructor(private readonly q: (text: string, params: unknown[]) => Promise<pg.QueryResult>) {}

  async insertKey(k: KeyRecord): Promise<void> {
    await this.q('INSERT INTO api_keys VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)', [
      k.id,
      k.name,
      k.tenant,
      k.scopes.join(','),
      k.secretHash,
      micros(k.createdAt),
      k.expiresAt === null ? null : micros(k.expiresAt),
      k.ingestBytesPerS,
      k.queriesPerS,
    ]);
  }

  async listKeys(): Promise<KeyRecord[]> {
    const r = await this.q('SELECT * FROM api_keys ORDER BY created_at, id', []);
    return r.rows.map((row) => ({
      id: row.id as string,
      name: row.name as string,
      tenant: row.tenant as string,
      scopes: (row.scopes as string).split(',') as Scope[],
      secretHash: row.secret_hash as string,
      createdAt: date(row.created_at as bigint),
      expiresAt: row.expires_at === null ? null : date(row.expires_at as bigint),
      revokedAt: row.revoked_at === null ? null : date(row.revoked_at as bigint),
      ingestBytesPerS: row.ingest_bytes_per_s === null ? null : Number(row.ingest_bytes_per_s),
      queriesPerS: row.queries_per_s as number | null,
    }));
  }

  async revokeKey(id: string, at: Date): Promise<boolean> {
    const r = await this.q('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [id, micros(at)]);
    return (r.rowCount ?? 0) > 0;
  }
}
