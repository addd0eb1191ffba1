// Every loaded segment of the store, in sequence order: its extent (sequence and time range, row
// count), recorded when it was loaded, and its summary once the index worker has built it. The
// planner picks from here the segments a query must read, and in which order.

import type { BlockTable, SegmentSummary } from './segment-summary.js';
import type { SegmentInfo, SegmentTest } from './segment-filter.js';

export interface SegmentExtent {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  minTs: bigint;
  maxTs: bigint;
}

/** A range of rows a read may name: a block of an indexed segment, or a whole unindexed one. */
export interface ReadUnit {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  minTs: bigint;
  maxTs: bigint;
  /** A block's tenants (none for a whole segment not indexed yet). */
  tenants?: readonly string[] | null;
}

/** Whether every unit is known to hold rows of `tenant` only (a WHERE on it would be idle work). */
export function onlyTenant(units: readonly ReadUnit[], tenant: string): boolean {
  return units.every((u) => u.tenants != null && u.tenants.length === 1 && u.tenants[0] === tenant);
}

export interface CandidateQuery {
  /** Time window, µs, `to` exclusive. */
  from?: bigint;
  to?: bigint;
  /** Only segments starting at or below this sequence number. */
  maxSeq?: bigint;
  test: SegmentTest;
}

export class SegmentCatalog {
  /** Sorted by firstSeq; ranges never overlap. */
  private readonly segments: SegmentInfo[] = [];

  get size(): number {
    return this.segments.length;
  }

  /** Rows in every segment. */
  get rows(): number {
    let n = 0;
    for (const s of this.segments) n += s.rows;
    return n;
  }

  add(e: SegmentExtent): SegmentInfo {
    const info: SegmentInfo = { ...e, summary: null };
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.firstSeq < e.firstSeq) this.segments.push(info);
    else {
      const at = this.segments.findIndex((s) => s.firstSeq >= e.firstSeq);
      if (this.segments[at]!.firstSeq === e.firstSeq) this.segments[at] = info;
      else this.segments.splice(at, 0, info);
    }
    return info;
  }

  get(firstSeq: bigint): SegmentInfo | undefined {
    // Binary search: catalogs reach tens of thousands of segments.
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (s.firstSeq === firstSeq) return s;
      if (s.firstSeq < firstSeq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Attaches a summary to its segment; false when the segment is unknown (or its range changed). */
  attach(summary: SegmentSummary): boolean {
    const s = this.get(summary.firstSeq);
    if (s === undefined || s.lastSeq !== summary.lastSeq) return false;
    s.summary = summary;
    return true;
  }

  /** Forgets a segment (retention emptied it). */
  remove(firstSeq: bigint): void {
    const at = this.segments.findIndex((s) => s.firstSeq === firstSeq);
    if (at >= 0) this.segments.splice(at, 1);
  }

  all(): readonly SegmentInfo[] {
    return this.segments;
  }

  /** Whether every segment up to maxSeq is indexed and holds rows of `tenant` only. */
  onlyTenant(tenant: string, maxSeq: bigint): boolean {
    for (const s of this.segments) {
      if (s.firstSeq > maxSeq) break;
      if (s.summary === null || s.summary.soleTenant !== tenant) return false;
    }
    return true;
  }

  /** Blocks of every indexed segment and unindexed segments: how finely reads can be cut. */
  get units(): number {
    let n = 0;
    for (const s of this.segments) n += s.summary === null ? 1 : s.summary.blocks.count;
    return n;
  }

  unindexed(): SegmentInfo[] {
    return this.segments.filter((s) => s.summary === null);
  }

  /**
   * Rows of what candidates() would return, without making its units: a whole segment's rows
   * when it may match everywhere, block by block otherwise.
   */
  candidateRows(q: CandidateQuery): number {
    let n = 0;
    this.visit(
      q,
      (s) => (n += s.rows),
      (table, i) => (n += table.rows(i)),
    );
    return n;
  }

  /** The blocks (of indexed segments) and segments (not indexed yet) that may hold matching rows, in sequence order. */
  candidates(q: CandidateQuery): ReadUnit[] {
    const out: ReadUnit[] = [];
    // A whole segment is listed block by block all the same: reads are cut at blocks.
    this.visit(
      q,
      (s) => out.push(s),
      (table, i) => out.push(table.unit(i)),
      false,
    );
    return out;
  }

  /**
   * Calls `segment` for each unindexed candidate segment (and, when `wholeSegments`, each indexed
   * one that may match in all its blocks and lies inside the window), `block` for each candidate
   * block of the others, in sequence order.
   */
  private visit(
    q: CandidateQuery,
    segment: (s: SegmentInfo) => void,
    block: (table: BlockTable, i: number) => void,
    wholeSegments = true,
  ): void {
    for (const s of this.segments) {
      if (q.maxSeq !== undefined && s.firstSeq > q.maxSeq) break;
      if (!inWindow(s, q)) continue;
      const blocks = q.test(s);
      if (blocks === false) continue;
      const inside = (q.from === undefined || s.minTs >= q.from) && (q.to === undefined || s.maxTs < q.to) && (q.maxSeq === undefined || s.lastSeq <= q.maxSeq);
      if (s.summary === null || (wholeSegments && blocks === null && inside)) {
        segment(s);
        continue;
      }
      const table = s.summary.blocks;
      for (let i = 0; i < table.count; i++) {
        if (blocks !== null && blocks[i] !== 1) continue;
        if (q.from !== undefined && table.maxTs(i) < q.from) continue;
        if (q.to !== undefined && table.minTs(i) >= q.to) continue;
        if (q.maxSeq !== undefined && table.firstSeq(i) > q.maxSeq) break;
        block(table, i);
      }
    }
  }
}

function inWindow(u: { minTs: bigint; maxTs: bigint }, q: CandidateQuery): boolean {
  return (q.from === undefined || u.maxTs >= q.from) && (q.to === undefined || u.minTs < q.to);
}
