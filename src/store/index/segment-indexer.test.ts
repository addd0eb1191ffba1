import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../model/record.js';
import { rowsOf } from '../row-format.js';
import { filterIndex, filterSize, matchBlocks } from './block-bloom.js';
import { SegmentIndexer } from './segment-indexer.js';
import { BLOCK_ROWS, FILTER_BITS_PER_TOKEN, TOKEN_WORD } from './segment-summary.js';
import { hashOut, hashTokenString } from './token-hash.js';

function record(i: number, message: string): LogRecord {
  return {
    ts: 1_764_000_000_000_000n + BigInt(i),
    receivedAt: 1_764_000_000_000_000n,
    tenant: 'default',
    level: 'info',
    severity: null,
    service: 'api',
    host: 'h1',
    category: null,
    source: null,
    message,
    traceId: null,
    spanId: null,
    attrs: '{}',
  };
}

/** Rows of `blocks` blocks: block b has `words(b)` distinct words, `w<b>_<k>`. */
function segment(blocks: number, words: (b: number) => number, from = 0): Buffer {
  const recs: LogRecord[] = [];
  for (let b = 0; b < blocks; b++) {
    for (let r = 0; r < BLOCK_ROWS; r++) recs.push(record(from + recs.length, `w${b}_${r % words(b)}`));
  }
  return rowsOf(recs).bytes;
}

/** Which blocks the summary's filter says may hold the word. */
function blocksWith(words: Uint32Array, size: number, blocks: number, word: string): number[] {
  hashTokenString(TOKEN_WORD, word);
  const [hi, lo] = [hashOut[0]!, hashOut[1]!];
  const i = filterIndex(hi, size);
  const out = new Uint8Array(blocks);
  matchBlocks(words.subarray(i * blocks * 8, (i + 1) * blocks * 8), blocks, lo, out);
  return [...out.keys()].filter((b) => out[b] === 1);
}

describe('segment indexer', () => {
  it('finds every word of a block with more tokens than the first, and sizes the next segment for it', () => {
    const indexer = new SegmentIndexer();
    // The first block has 10 words, the second 1,500: the filters are sized by the first.
    indexer.push(segment(2, (b) => (b === 0 ? 10 : 1500)));
    const first = indexer.finish(1n, BigInt(2 * BLOCK_ROWS));
    const size = first.summary.filterSize;
    expect(size).toBeLessThan(filterSize(1500, FILTER_BITS_PER_TOKEN));
    for (let k = 0; k < 1500; k++) expect(blocksWith(first.words, size, 2, `w1_${k}`)).toContain(1);
    for (let k = 0; k < 10; k++) expect(blocksWith(first.words, size, 2, `w0_${k}`)).toContain(0);
    const fullest = first.summary.blocks[1]!.tokens;

    // The next segment starts with a small block again: its filters take the room the fullest
    // block of the one before needed.
    indexer.push(segment(1, () => 10, 2 * BLOCK_ROWS));
    const next = indexer.finish(BigInt(2 * BLOCK_ROWS + 1), BigInt(3 * BLOCK_ROWS));
    expect(next.summary.filterSize).toBe(filterSize(fullest, FILTER_BITS_PER_TOKEN));
    for (let k = 0; k < 10; k++) expect(blocksWith(next.words, next.summary.filterSize, 1, `w0_${k}`)).toEqual([0]);
  });
});
