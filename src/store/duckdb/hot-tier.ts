// Acknowledged rows that are not in `logs` yet, queryable at once. The loader moves whole spool
// segments into `logs` (one row group each, which is what keeps loads cheap and storage small), so
// the newest rows wait up to a second there; a search or a tail that must see them stages them
// here instead: copied into an in-memory table of their spool segment (`hot.s<id>`), with the
// sequence numbers they will have in `logs`. When the segment is loaded its hot table is dropped,
// as soon as no query that began before the load still reads it.

import fs from 'node:fs';
import path from 'node:path';
import { BIGINT, VARCHAR, type DuckDBConnection, type DuckDBInstance } from '@duckdb/node-api';

export interface HotPart {
  /** hot.s<segment id> */
  table: string;
  segmentId: bigint;
  /** Sequence numbers staged so far: firstSeq .. lastSeq (lastSeq < firstSeq while empty). */
  firstSeq: bigint;
  lastSeq: bigint;
}

interface PartState extends HotPart {
  rows: number;
  bytes: number;
  loaded: boolean;
  readers: number;
}

export interface HotSnapshot {
  /** Parts not loaded into `logs` when the snapshot was taken, with rows staged. */
  parts: HotPart[];
  /** Highest sequence number staged in them (0n when none). */
  maxSeq: bigint;
  release(): void;
}

/** SELECT of a file of rows (row-format.ts) as `logs` rows numbered from $2 + 1. */
export type RowsSelect = (fileParam: string, seqParam: string) => string;

export class HotTier {
  private readonly parts = new Map<bigint, PartState>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly tmpDir: string,
    private readonly rowsSelect: RowsSelect,
  ) {}

  static async open(instance: DuckDBInstance, tmpDir: string, rowsSelect: RowsSelect): Promise<HotTier> {
    const conn = await instance.connect();
    await conn.run(`ATTACH ':memory:' AS hot`);
    return new HotTier(conn, tmpDir, rowsSelect);
  }

  /** Rows staged and not yet loaded, in every part. */
  get rows(): number {
    let n = 0;
    for (const p of this.parts.values()) if (!p.loaded) n += p.rows;
    return n;
  }

  /** Bytes (in the row format) staged and not yet loaded. */
  get bytes(): number {
    let n = 0;
    for (const p of this.parts.values()) if (!p.loaded) n += p.bytes;
    return n;
  }

  /** Rows of segment `segmentId` already staged (they are its first rows). */
  staged(segmentId: bigint): number {
    return this.parts.get(segmentId)?.rows ?? 0;
  }

  /**
   * Stages the rows in bytes [fromByte, toByte) of the segment's file: `rows` rows that follow the
   * ones staged before, the first of them numbered `firstSeq`. Stages run one after another.
   */
  stage(segmentId: bigint, file: string, fromByte: number, toByte: number, firstSeq: bigint, rows: number): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.closed || rows === 0) return;
      let part = this.parts.get(segmentId);
      if (part?.loaded) return;
      if (part && part.lastSeq + 1n !== firstSeq) {
        throw new Error(`hot tier: segment ${segmentId} staged up to ${part.lastSeq}, next rows start at ${firstSeq}`);
      }
      // The engine reads files, not byte ranges: the new rows go through a file of their own.
      const tmp = path.join(this.tmpDir, `hot-${segmentId}-${fromByte}.tsv`);
      const fd = fs.openSync(file, 'r');
      try {
        const buf = Buffer.allocUnsafe(toByte - fromByte);
        let got = 0;
        while (got < buf.length) {
          const n = fs.readSync(fd, buf, got, buf.length - got, fromByte + got);
          if (n === 0) throw new Error(`hot tier: ${file} ends before byte ${toByte}`);
          got += n;
        }
        fs.writeFileSync(tmp, buf);
      } finally {
        fs.closeSync(fd);
      }
      try {
        const table = `hot.s${segmentId}`;
        if (!part) {
          await this.conn.run(`CREATE TABLE ${table} AS SELECT * FROM main.logs LIMIT 0`);
          part = { table, segmentId, firstSeq, lastSeq: firstSeq - 1n, rows: 0, bytes: 0, loaded: false, readers: 0 };
          this.parts.set(segmentId, part);
        }
        await this.conn.run(`INSERT INTO ${table} ${this.rowsSelect('$1', '$2')}`, [tmp, firstSeq - 1n], [VARCHAR, BIGINT]);
        part.lastSeq = firstSeq + BigInt(rows) - 1n;
        part.rows += rows;
        part.bytes += toByte - fromByte;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The segment is in `logs` now: its part is dropped once no query reads it. */
  markLoaded(segmentId: bigint): void {
    const part = this.parts.get(segmentId);
    if (!part) return;
    part.loaded = true;
    this.dropIfUnused(part);
  }

  /** The parts a query must read besides `logs`; release() when the query is done. */
  snapshot(): HotSnapshot {
    const parts: PartState[] = [];
    let maxSeq = 0n;
    for (const p of this.parts.values()) {
      if (p.loaded || p.rows === 0) continue;
      p.readers++;
      parts.push(p);
      if (p.lastSeq > maxSeq) maxSeq = p.lastSeq;
    }
    let released = false;
    return {
      parts: parts.map((p) => ({ table: p.table, segmentId: p.segmentId, firstSeq: p.firstSeq, lastSeq: p.lastSeq })),
      maxSeq,
      release: () => {
        if (released) return;
        released = true;
        for (const p of parts) {
          p.readers--;
          this.dropIfUnused(p);
        }
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    this.conn.closeSync();
  }

  private dropIfUnused(part: PartState): void {
    if (!part.loaded || part.readers > 0 || this.parts.get(part.segmentId) !== part) return;
    this.parts.delete(part.segmentId);
    const run = this.chain.then(() => (this.closed ? undefined : this.conn.run(`DROP TABLE IF EXISTS ${part.table}`)));
    this.chain = run.catch(() => undefined);
  }
}
