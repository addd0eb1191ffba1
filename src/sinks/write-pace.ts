// The pace at which the category file writer writes out rows that arrive together. A loaded
// segment (122,880 rows, tens of MB of lines) rendered as fast as the CPU goes reached the disk in
// a third of a second; the spool's fsyncs, which acknowledgements wait for, share that disk (one
// without FUA flushes its whole cache for each), and were held for the length of the burst.
// Spread over SPREAD_MS, the same bytes meet each spool fsync a little at a time.

/**
 * Rows that are waiting are written within this long. The files follow the store this much later
 * at the most; under a load that loads more than that, the pace rises with the rows waiting, so
 * they never fall further behind.
 */
export const SPREAD_MS = 1000;

/** Below this pace (rows a millisecond: a few MB/s of lines) rows are written as fast as they render. */
export const UNPACED_ROWS_PER_MS = 20;

export class WritePace {
  /** Rows a millisecond; 0 when none are waiting. */
  private rowsPerMs = 0;

  /**
   * After a page of `rows` that took `tookMs`, with `left` rows still waiting: how long to wait
   * before the next page, in ms (0: go on). The pace is set when rows start waiting, so that all
   * of them are written within SPREAD_MS, rises when more arrive meanwhile, never falls while any
   * wait, and ends when none do.
   */
  after(rows: number, left: number, tookMs: number): number {
    if (left <= 0) {
      this.rowsPerMs = 0;
      return 0;
    }
    this.rowsPerMs = Math.max(this.rowsPerMs, (rows + left) / SPREAD_MS);
    if (this.rowsPerMs < UNPACED_ROWS_PER_MS) return 0;
    const wait = rows / this.rowsPerMs - tookMs;
    return wait < 1 ? 0 : wait;
  }
}
