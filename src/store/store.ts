// The backend-neutral storage contract. The pipeline appends batches, the query layer reads pages,
// streams exports and aggregates. A backend knows nothing of protocols or HTTP; every backend runs
// the same conformance suite (test/store/conformance.ts).

import { LEVELS, type Level, type StoredRecord } from '../model/record.js';
import type { RowBatch } from './row-format.js';
import type { QueryNode } from '../query/ast.js';
import type { KeyTable } from '../auth/key-table.js';
import type { AccessAnalytics } from './access.js';

export interface AppendResult {
  /** Sequence numbers assigned to the batch: firstSeq .. firstSeq + count - 1. */
  firstSeq: bigint;
  count: number;
}

export type SortOrder = 'asc' | 'desc';

/** What every read shares: a tenant, a time window (µs, `to` exclusive) and an optional filter. */
export interface Selection {
  tenant: string;
  from?: bigint;
  to?: bigint;
  query?: QueryNode;
}

/** Position after the last row of a page; rows strictly beyond it in `order` come next. */
export interface PageAfter {
  ts: bigint;
  seq: bigint;
}

export interface PageRequest extends Selection {
  limit: number;
  order: SortOrder;
  after?: PageAfter;
  offset?: number;
  /** Only rows with seq <= maxSeq: pins a paging session to the rows that existed when it began. */
  maxSeq?: bigint;
}

export interface Page {
  items: StoredRecord[];
  rowsScanned: number;
}

export interface HistogramRequest extends Selection {
  stepMicros: bigint;
  /** Counts per level within each bucket (a bucket per level present, `level` set). */
  byLevel?: boolean;
}

export interface HistogramBucket {
  ts: bigint;
  count: number;
  /** With `byLevel`: the level counted (null: records without one). */
  level?: Level | null;
}

/**
 * A histogram by level groups by one key in every engine: the bucket's start times 8 plus the
 * level's number (LEVEL_KEY_SQL, 0 for none), taken apart again by bucketOfLevelKey.
 */
export const LEVEL_KEY_SQL = `CASE level ${LEVELS.map((l, i) => `WHEN '${l}' THEN ${i + 1}`).join(' ')} ELSE 0 END`;

export function bucketOfLevelKey(key: bigint, count: number): HistogramBucket {
  const code = ((key % 8n) + 8n) % 8n;
  return { ts: (key - code) / 8n, count, level: code === 0n ? null : LEVELS[Number(code) - 1]! };
}

export interface TopRequest extends Selection {
  /** A record field name or `attrs.a.b`. */
  field: string;
  limit: number;
}

export interface TopValue {
  value: string | null;
  count: number;
}

/** What loading a spool segment did. */
export interface LoadedSegment {
  /** Rows loaded (0 when the segment had been loaded before). */
  rows: number;
  /** Sequence number of its first row. */
  firstSeq: bigint;
  /** The store took the file (to index it) and deletes it itself; otherwise the caller does. */
  fileKept: boolean;
}

/** The token index's progress (store/index/). */
export interface IndexStatus {
  segments: number;
  indexedSegments: number;
  /** Segments waiting for their summary; 0 when the index has caught up. */
  pendingSegments: number;
}

/** A record in the JSON wire form of SPEC §1 (as search results and exports give it), and its position. */
export interface JsonRecord {
  seq: bigint;
  json: string;
}

/** A record as the category files hold it: its file's keys, and its JSON line (SPEC §1). */
export interface FileRow {
  seq: bigint;
  category: string | null;
  /** UTC day of its `ts`, `YYYY-MM-DD`. */
  day: string;
  level: string | null;
  json: string;
}

/** Rows after a sequence number, in sequence order: what a live tail reads. */
export interface TailRequest extends Selection {
  afterSeq: bigint;
  maxSeq: bigint;
  limit: number;
  /** asc (default): the first `limit` rows after afterSeq; desc: the last `limit` up to maxSeq, newest first. */
  order?: SortOrder;
}

export interface OptimizeResult {
  bytes_before: number;
  bytes_after: number;
  /** Whether the database file was rewritten. */
  rewritten: boolean;
  ms: number;
}

/** How many loaded rows a tenant has on one UTC day. */
export interface DayCount {
  tenant: string;
  /** `YYYY-MM-DD` */
  day: string;
  rows: number;
  /** The highest sequence number among them: rows loaded later for the day raise it. */
  maxSeq: bigint;
}

/**
 * What retention removes (lifecycle/retention.ts): each row is governed by the first rule that
 * matches it, else by the default; it expires when its ts is before that rule's `before`
 * (µs; null: kept for ever).
 */
export interface ExpiryPlan {
  rules: ExpiryRule[];
  defaultBefore: bigint | null;
}

export interface ExpiryRule {
  /** Anchored RE2 patterns on these record fields, all of which must match. */
  match: Partial<Record<'tenant' | 'level' | 'category' | 'service', string>>;
  before: bigint | null;
}

/** One tenant's rows of one time range, to be written to a Parquet file (the archives: lifecycle/). */
export interface DayParquetRequest {
  tenant: string;
  /** µs, inclusive */
  from: bigint;
  /** µs, exclusive */
  to: bigint;
  file: string;
}

export interface StoreStats {
  rows: number;
  bytes: number;
  maxSeq: bigint;
  oldestTs: bigint | null;
  newestTs: bigint | null;
}

/** `ndjson`: one record per line in the JSON wire form of SPEC §1; `csv`: CSV rows (no header). */
export type ExportFormat = 'ndjson' | 'csv';

export interface ExportChunk {
  /** Complete lines, each ending in a newline. */
  text: string;
  rows: number;
}

export interface ExportRequest extends Selection {
  order: SortOrder;
  format: ExportFormat;
  /** Rows per round trip to the engine; bounds memory. */
  chunkRows?: number;
  maxSeq?: bigint;
}

/**
 * The other instances sharing a backend (PostgreSQL), as one instance sees them: what makes a read
 * on any instance see what every instance acknowledged, and live tails hear of rows loaded
 * anywhere. A backend only one instance uses has none.
 */
export interface Peers {
  /** Joins the others: heartbeats, and answering their barriers. A command-line tool never starts. */
  start(): Promise<void>;
  /** Resolves once every other live instance has made readable the rows it acknowledged before the call. */
  barrier(): Promise<void>;
  /** What this instance does when another asks: make its acknowledged rows readable. */
  onBarrier(fn: () => Promise<void>): void;
  /** Calls `fn` when another instance has committed rows, up to sequence number `seq`. */
  onLoaded(fn: (seq: bigint) => void): void;
  /** Other instances heard of lately. */
  readonly others: number;
  /**
   * Runs `fn` while no other instance runs work of the same `name` (archives and retention run on
   * one instance at a time); LH_ERR_BUSY at once when another does.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Tells the others that the lifecycle (an archive run, retention, a restore) changed these
   * tenant days' tiers, so that they look at the archives again; null: any day may have changed.
   */
  tiersChanged(days: readonly { tenant: string; day: string }[] | null): Promise<void>;
  /** What this instance does when another changed days' tiers. */
  onTiersChanged(fn: (days: { tenant: string; day: string }[] | null) => Promise<void>): void;
}

export interface Store {
  readonly backend: string;
  /** Present when other instances may share the backend. */
  readonly peers?: Peers;
  /** Create or upgrade the schema; returns the versions applied now. */
  migrate(): Promise<number[]>;
  /**
   * Append rows (row-format.ts) atomically and durably, with the next sequence numbers: when the
   * promise resolves, the rows survive a crash.
   */
  append(batch: RowBatch): Promise<AppendResult>;
  queryPage(req: PageRequest): Promise<Page>;
  /**
   * Every matching row in (ts, seq) order, already encoded by the engine, a chunk at a time, with
   * memory bounded by the chunk size. Stops when `signal` aborts.
   */
  exportText(req: ExportRequest, signal?: AbortSignal): AsyncIterable<ExportChunk>;
  histogram(req: HistogramRequest): Promise<HistogramBucket[]>;
  topValues(req: TopRequest): Promise<TopValue[]>;
  stats(): Promise<StoreStats>;
  /**
   * Loads a spool segment — a file of rows (row-format.ts) — with the next sequence numbers,
   * atomically with a record that segment `id` is loaded, so a replay after a crash loads it
   * exactly once.
   */
  loadSegment(file: string, id: bigint): Promise<LoadedSegment>;
  /**
   * Optional: makes rows of spool segment `segmentId` (not loaded yet) readable at once: `rows`
   * rows in bytes [fromByte, toByte) of its file, numbered from `firstSeq` as they will be when
   * loaded, following the rows staged before. Without it, readers wait for loads.
   */
  stage?(segmentId: bigint, file: string, fromByte: number, toByte: number, firstSeq: bigint, rows: number): Promise<void>;
  /** Matching rows with afterSeq < seq <= maxSeq, in sequence order (`order`), at most `limit`. */
  readAfter(req: TailRequest): Promise<StoredRecord[]>;
  /** readAfter, each record already in its JSON wire form. */
  readAfterJson(req: TailRequest): Promise<JsonRecord[]>;
  /**
   * Loaded rows with seq > afterSeq, every tenant, in sequence order, about `limit` of them: what
   * the category file sink (sinks/category-files.ts) writes out; `through` is the highest
   * sequence number the read covered (the next read goes on after it).
   */
  readForFiles(afterSeq: bigint, limit: number): Promise<{ rows: FileRow[]; through: bigint }>;
  /** Loaded rows per tenant and UTC day. */
  dayCounts(): Promise<DayCount[]>;
  /**
   * Writes a tenant's loaded rows of a time range to one Parquet file (zstd), every column, sorted
   * by category, ts and seq; resolves with the rows written once the file is complete.
   */
  writeDayParquet(req: DayParquetRequest): Promise<number>;
  /** The rows `plan` would expire now, per tenant and day (maxSeq: of the expiring rows). */
  expiryCandidates(plan: ExpiryPlan): Promise<DayCount[]>;
  /**
   * Deletes the rows `plan` expires on the given tenant days (whole days, each read by its time
   * range alone), with their access-log rows and aggregates; resolves with the rows deleted.
   */
  expire(plan: ExpiryPlan, days: { tenant: string; day: string }[]): Promise<number>;
  /**
   * Brings a day back from its archive's Parquet file (writeDayParquet's): the rows the store no
   * longer has are inserted as they were, sequence numbers included. Refuses a file of another
   * tenant or day, or from another store (sequence numbers it never gave, or that it gave to
   * other rows).
   */
  restoreDay(req: DayParquetRequest): Promise<{ restored: number; present: number }>;
  /**
   * Writes everything committed into the database file and, when `rewrite` asks (true, or
   * 'auto': when it is worth it), rewrites that file so the space deleted rows left goes back to
   * the file system (`db optimize`, and retention's size bound).
   */
  optimize(opts?: { rewrite?: boolean | 'auto' }): Promise<OptimizeResult>;
  /** Highest sequence number loaded into the store itself (staged rows not counted). */
  loadedSeq(): bigint;
  /** The token index's progress. */
  indexStatus(): IndexStatus;
  /** Ids of the spool segments already loaded, among `ids`. */
  loadedSegments(ids: bigint[]): Promise<Set<bigint>>;
  /** Highest spool segment id ever loaded (0 when none). */
  maxSegmentId(): Promise<bigint>;
  /**
   * Highest sequence number readable now — loaded, or staged (0 when empty): the snapshot bound
   * of a paging session.
   */
  maxSeq(): Promise<bigint>;
  /** Cheap liveness probe of the engine. */
  ping(): Promise<void>;
  /** The API keys (src/auth), shared by every instance on this store. */
  readonly keys: KeyTable;
  /** Access-log analytics over the typed access table and its aggregates (store/access.ts). */
  readonly access: AccessAnalytics;
  close(): Promise<void>;
}
