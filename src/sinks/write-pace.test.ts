// The category file writer's pace: a loaded segment's rows are spread over SPREAD_MS, a small
// batch is not held back, and the pace only rises while rows wait.

import { describe, expect, it } from 'vitest';
import { SPREAD_MS, UNPACED_ROWS_PER_MS, WritePace } from './write-pace.js';

describe('WritePace', () => {
  it('spreads a segment of rows over SPREAD_MS, page by page, less the time each page took', () => {
    const pace = new WritePace();
    const segment = 122_880;
    const page = 4096;
    let left = segment;
    let waited = 0;
    let tookInAll = 0;
    while (left > 0) {
      const rows = Math.min(page, left);
      left -= rows;
      const took = 3;
      tookInAll += took;
      waited += pace.after(rows, left, took);
    }
    // The last page does not wait: nothing is left to spread.
    const lastPage = segment % page || page;
    expect(waited + tookInAll).toBeCloseTo(SPREAD_MS - (lastPage / segment) * SPREAD_MS + 3, 6);
    expect(pace.after(page, 0, 3)).toBe(0);
  });

  it('does not hold back a batch too small to matter, nor a page slower than its share', () => {
    const pace = new WritePace();
    const small = UNPACED_ROWS_PER_MS * SPREAD_MS - 1;
    expect(pace.after(1000, small - 1000, 0)).toBe(0);
    expect(new WritePace().after(4096, 200_000, 1000)).toBe(0);
  });

  it('raises the pace when more rows arrive while some wait, never lowers it, and starts over once none wait', () => {
    const pace = new WritePace();
    // 100,000 rows waiting: 100 rows a ms.
    expect(pace.after(4096, 100_000 - 4096, 0)).toBeCloseTo(40.96, 6);
    // Another segment loaded meanwhile: 300,000 waiting, 300 rows a ms.
    expect(pace.after(4096, 300_000 - 4096, 0)).toBeCloseTo(4096 / 300, 6);
    // Fewer waiting now: the pace stays.
    expect(pace.after(4096, 50_000, 0)).toBeCloseTo(4096 / 300, 6);
    expect(pace.after(4096, 0, 0)).toBe(0);
    // A new burst is paced on its own.
    expect(pace.after(4096, 100_000 - 4096, 0)).toBeCloseTo(40.96, 6);
  });
});
