// Acknowledged rows that are not in `logs` yet, queryable at once. The loader moves whole spool
// segments into `logs` (one row group each, which is what keeps loads cheap and storage small), so
// the newest rows wait up to a second there; a search or a tail that must see them stages them
// here instead. Staging reads the new rows' bytes into memory and indexes them (fresh-rows.ts):
// that is all a page with no query needs, and it costs next to nothing. A read that needs the
// engine (a query, a count, a tail) has the staged rows copied on demand into small tables
// (`s<segment>_<n>`, a new one every PIECE_ROWS rows) with the sequence numbers they will have in
// `logs` and the time range they cover, so that a read of the latest rows reads the newest
// piece, not the whole second. When the segment is loaded its rows are dropped, and its pieces
// as soon as no query that began before the load still reads them.
//
// The pieces live in an in-memory DuckDB instance of their own, with its own memory limit and
// one thread, opened by the first read that needs it: staged rows never take memory that loads
// and queries of the store need.

import fs from 'node:fs';
import path from 'node:path';
import { BIGINT, DuckDBInstance, VARCHAR, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { ConnectionPool } from './connection-pool.js';
import { FreshChunk } from './fresh-rows.js';

/** One staged piece: a table of consecutive rows of one spool segment. */
export interface HotPart {
  table: string;
  segmentId: bigint;
  /** Sequence numbers staged in it so far: firstSeq .. lastSeq. */
  firstSeq: bigint;
  lastSeq: bigint;
  /** Bounds of its rows' times (a little wide), so reads can order and skip it. */
  minTs: bigint;
  maxTs: bigint;
}

/** Rows a piece takes before the next copy starts a new one. */
const PIECE_ROWS = 2048;

/** Piece time bounds are this much wider than the rows' (µs): they were read as doubles. */
const TS_MARGIN = 64n;

interface SegmentState {
  segmentId: bigint;
  /** The staged rows, in sequence order. */
  chunks: FreshChunk[];
  /** Chunks copied into pieces so far (a prefix of `chunks`). */
  copied: number;
  pieces: (HotPart & { rows: number })[];
  bytes: number;
  loaded: boolean;
  readers: number;
}

export interface HotSnapshot {
  /** Pieces of segments not loaded into `logs` when the snapshot was taken. */
  parts: HotPart[];
  /** Every staged row of those segments, in sequence order (a superset of the pieces' rows). */
  fresh: FreshChunk[];
  /** Highest sequence number in `parts` (0n when none). */
  partsMaxSeq: bigint;
  /** Highest sequence number in `fresh` (0n when none). */
  maxSeq: bigint;
  release(): void;
}

/** SELECT of a file of rows (row-format.ts), of `fileBytes` bytes, as `logs` rows numbered from $2 + 1. */
export type RowsSelect = (fileParam: string, seqParam: string, fileBytes?: number) => string;

export interface HotTierOptions {
  tmpDir: string;
  rowsSelect: RowsSelect;
  /** CREATE TABLE of `logs`, for the pieces. */
  tableDdl: string;
  memoryLimit: string;
}

/** The hot tier's own engine: an in-memory instance, its writer and its readers. */
interface Engine {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
  readers: ConnectionPool;
}

export class HotTier {
  private readonly segments = new Map<bigint, SegmentState>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private nextTable = 0;
  /** Opened by the first read that needs it: a server that only ingests never pays for it. */
  private engine: Promise<Engine> | null = null;

  constructor(private readonly options: HotTierOptions) {}

  private openEngine(): Promise<Engine> {
    if (this.closed) return Promise.reject(new Error('hot tier: closed'));
    if (this.engine === null) {
      const opening = (async () => {
        const instance = await DuckDBInstance.create(':memory:', {
          threads: '1',
          memory_limit: this.options.memoryLimit,
          autoinstall_known_extensions: 'false',
          autoload_known_extensions: 'false',
        });
        return { instance, conn: await instance.connect(), readers: new ConnectionPool(instance, 2) };
      })();
      this.engine = opening;
      // A failed open is tried again by the next read.
      opening.catch(() => {
        if (this.engine === opening) this.engine = null;
      });
    }
    return this.engine;
  }

  /** Runs a read of the pieces. */
  async run(sql: string, params: DuckDBValue[], types: Parameters<DuckDBConnection['runAndReadAll']>[2]): Promise<DuckDBValue[][]> {
    const { readers } = await this.openEngine();
    return readers.with(async (conn) => (await conn.runAndReadAll(sql, params, types)).getRows());
  }

  /** Highest sequence number staged in a segment not loaded yet (0n when none). */
  get maxSeq(): bigint {
    let max = 0n;
    for (const s of this.segments.values()) {
      const last = s.chunks[s.chunks.length - 1];
      if (!s.loaded && last !== undefined && last.lastSeq > max) max = last.lastSeq;
    }
    return max;
  }

  /** Bytes (in the row format) staged and not yet loaded. */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments.values()) if (!s.loaded) n += s.bytes;
    return n;
  }

  /**
   * Stages the rows in bytes [fromByte, toByte) of the segment's file: `rows` rows that follow the
   * ones staged before, the first of them numbered `firstSeq`. They are readable once this
   * returns; the engine gets its copy when a read asks for it (copyToEngine).
   */
  stage(segmentId: bigint, file: string, fromByte: number, toByte: number, firstSeq: bigint, rows: number): void {
    if (this.closed || rows === 0) return;
    let seg = this.segments.get(segmentId);
    if (seg?.loaded) return;
    const last = seg?.chunks[seg.chunks.length - 1];
    if (last && last.lastSeq + 1n !== firstSeq) {
      throw new Error(`hot tier: segment ${segmentId} staged up to ${last.lastSeq}, next rows start at ${firstSeq}`);
    }
    const buf = Buffer.allocUnsafeSlow(toByte - fromByte);
    const fd = fs.openSync(file, 'r');
    try {
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, fromByte + got);
        if (n === 0) throw new Error(`hot tier: ${file} ends before byte ${toByte}`);
        got += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    const chunk = FreshChunk.of(buf, firstSeq, rows);
    if (!seg) {
      seg = { segmentId, chunks: [], copied: 0, pieces: [], bytes: 0, loaded: false, readers: 0 };
      this.segments.set(segmentId, seg);
    }
    seg.chunks.push(chunk);
    seg.bytes += buf.length;
  }

  /**
   * Copies every row staged before the call into the engine's pieces; resolves when they are
   * there. Copies run one after another; each takes what the ones before left.
   */
  copyToEngine(): Promise<void> {
    const wanted = new Map<SegmentState, number>();
    for (const s of this.segments.values()) if (!s.loaded && s.copied < s.chunks.length) wanted.set(s, s.chunks.length);
    if (wanted.size === 0) return this.chain.then(() => undefined);
    const run = this.chain.then(async () => {
      for (const [seg, upTo] of wanted) {
        if (this.closed || seg.loaded || seg.copied >= upTo) continue;
        await this.copy(seg, seg.chunks.slice(seg.copied, upTo));
        seg.copied = upTo;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** One INSERT of consecutive chunks of a segment into its last piece, or a new one when that is full. */
  private async copy(seg: SegmentState, chunks: FreshChunk[]): Promise<void> {
    const first = chunks[0]!;
    const rows = chunks.reduce((n, c) => n + c.rows, 0);
    let minTs = Infinity;
    let maxTs = -Infinity;
    for (const c of chunks) {
      if (c.minTs < minTs) minTs = c.minTs;
      if (c.maxTs > maxTs) maxTs = c.maxTs;
    }
    const { conn } = await this.openEngine();
    // The engine reads files, not memory: the rows go through a file of their own.
    const bytes = chunks.length === 1 ? first.bytes : Buffer.concat(chunks.map((c) => c.bytes));
    const tmp = path.join(this.options.tmpDir, `hot-${seg.segmentId}-${first.firstSeq}.tsv`);
    fs.writeFileSync(tmp, bytes);
    try {
      let piece = seg.pieces[seg.pieces.length - 1];
      // A new piece when the last is full. (Readers of the last piece do not see rows added
      // to it: they read up to the sequence number of their snapshot.)
      if (piece === undefined || piece.rows >= PIECE_ROWS) {
        const table = `s${seg.segmentId}_${this.nextTable++}`;
        await conn.run(this.options.tableDdl.replace(/CREATE TABLE logs\b/, `CREATE TABLE ${table}`));
        piece = { table, segmentId: seg.segmentId, firstSeq: first.firstSeq, lastSeq: first.firstSeq - 1n, minTs: 0n, maxTs: 0n, rows: 0 };
        seg.pieces.push(piece);
      }
      await conn.run(`INSERT INTO ${piece.table} ${this.options.rowsSelect('$1', '$2', bytes.length)}`, [tmp, first.firstSeq - 1n], [VARCHAR, BIGINT]);
      const from = BigInt(Math.floor(minTs)) - TS_MARGIN;
      const to = BigInt(Math.ceil(maxTs)) + TS_MARGIN;
      if (piece.rows === 0 || from < piece.minTs) piece.minTs = from;
      if (piece.rows === 0 || to > piece.maxTs) piece.maxTs = to;
      piece.lastSeq = first.firstSeq + BigInt(rows) - 1n;
      piece.rows += rows;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** The segment is in `logs` now: its pieces are dropped once no query reads them. */
  markLoaded(segmentId: bigint): void {
    const seg = this.segments.get(segmentId);
    if (!seg) return;
    seg.loaded = true;
    this.dropIfUnused(seg);
  }

  /** The rows a query must read besides `logs`; release() when the query is done. */
  snapshot(): HotSnapshot {
    const held: SegmentState[] = [];
    const parts: HotPart[] = [];
    const fresh: FreshChunk[] = [];
    let partsMaxSeq = 0n;
    let maxSeq = 0n;
    // Segments in id order, which is sequence order.
    for (const s of [...this.segments.values()].sort((a, b) => (a.segmentId < b.segmentId ? -1 : 1))) {
      if (s.loaded || s.chunks.length === 0) continue;
      fresh.push(...s.chunks);
      const last = s.chunks[s.chunks.length - 1]!.lastSeq;
      if (last > maxSeq) maxSeq = last;
      const pieces = s.pieces.filter((p) => p.rows > 0);
      if (pieces.length === 0) continue;
      s.readers++;
      held.push(s);
      for (const p of pieces) {
        parts.push({ table: p.table, segmentId: p.segmentId, firstSeq: p.firstSeq, lastSeq: p.lastSeq, minTs: p.minTs, maxTs: p.maxTs });
        if (p.lastSeq > partsMaxSeq) partsMaxSeq = p.lastSeq;
      }
    }
    let released = false;
    return {
      parts,
      fresh,
      partsMaxSeq,
      maxSeq,
      release: () => {
        if (released) return;
        released = true;
        for (const s of held) {
          s.readers--;
          this.dropIfUnused(s);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    const engine = await this.engine?.catch(() => null);
    if (!engine) return;
    const back = await engine.readers.close();
    engine.conn.closeSync();
    if (back) engine.instance.closeSync();
  }

  private dropIfUnused(seg: SegmentState): void {
    if (!seg.loaded || seg.readers > 0 || this.segments.get(seg.segmentId) !== seg) return;
    this.segments.delete(seg.segmentId);
    const tables = seg.pieces.map((p) => p.table);
    if (tables.length === 0) return;
    const run = this.chain.then(async () => {
      if (this.closed) return;
      const { conn } = await this.openEngine();
      for (const t of tables) await conn.run(`DROP TABLE IF EXISTS ${t}`);
    });
    this.chain = run.catch(() => undefined);
  }
}
