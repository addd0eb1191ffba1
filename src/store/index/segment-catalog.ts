// Every loaded segment of the store, in sequence order: its extent (sequence and time range, row
// count), recorded when it was loaded, and its summary once the index worker has built it. The
// planner picks from here the segments a query must read, and in which order.

import type { SegmentSummary } from './segment-summary.js';
import type { SegmentInfo, SegmentTest } from './segment-filter.js';

export interface SegmentExtent {
  firstSeq: bigint;
  lastSeq: bigint;
  rows: number;
  minTs: bigint;
  maxTs: bigint;
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

  all(): readonly SegmentInfo[] {
    return this.segments;
  }

  unindexed(): SegmentInfo[] {
    return this.segments.filter((s) => s.summary === null);
  }

  /** The segments that may hold matching rows, in sequence order. */
  candidates(q: CandidateQuery): SegmentInfo[] {
    const out: SegmentInfo[] = [];
    for (const s of this.segments) {
      if (q.maxSeq !== undefined && s.firstSeq > q.maxSeq) break;
      if (q.from !== undefined && s.maxTs < q.from) continue;
      if (q.to !== undefined && s.minTs >= q.to) continue;
      if (!q.test(s)) continue;
      out.push(s);
    }
    return out;
  }
}
