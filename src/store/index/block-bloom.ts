// Split-block Bloom filters (the layout Parquet and Impala use): the high half of a token's hash
// picks one 32-byte filter block, and the low half sets one bit in each of its eight 32-bit
// words, so a lookup reads one small piece. A segment's block filters all have `size` filter
// blocks and are stored interleaved (segment-summary.ts): filter block i of block 0, of block 1,
// …, then filter block i + 1. Present tokens always match; absent ones do well under 1 % of the
// time at the sizes segment-indexer.ts chooses (about 0.3 %).

/** The eight odd constants of the split-block filter: one per word of a filter block. */
const SALT = new Uint32Array([0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31]);

/** Filter blocks for `tokens` distinct tokens at `bitsPerToken` bits each (at least one). */
export function filterSize(tokens: number, bitsPerToken: number): number {
  return Math.max(1, Math.ceil((tokens * bitsPerToken) / 256));
}

/** Which filter block a token's high half picks: hi * size / 2^32, exact in a double. */
export function filterIndex(hi: number, size: number): number {
  return Math.floor((hi * size) / 4294967296);
}

/**
 * Given filter block `filterIndex(hi)` of every block (blocks × 8 words, as FilterSource reads
 * them), marks in `out` the blocks whose filter may hold the token with low half `lo`.
 */
export function matchBlocks(piece: Uint32Array, blocks: number, lo: number, out: Uint8Array): void {
  for (let b = 0; b < blocks; b++) {
    const base = b * 8;
    let hit = 1;
    for (let i = 0; i < 8; i++) {
      if ((piece[base + i]! & (1 << (Math.imul(lo, SALT[i]!) >>> 27))) === 0) {
        hit = 0;
        break;
      }
    }
    out[b] = hit;
  }
}

/** The distinct 64-bit hashes of a block's tokens (open addressing): counted, then added to its filter. */
export class HashSet64 {
  private keys: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 1;
    while (cap < initialCapacity * 2) cap <<= 1;
    this.keys = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Adds (hi, lo); (0, 0) is stored as (0, 1), which only merges two tokens in one filter. */
  add(hi: number, lo: number): void {
    if (hi === 0 && lo === 0) lo = 1;
    const keys = this.keys;
    let slot = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = slot << 1;
      const h = keys[k]!;
      const l = keys[k + 1]!;
      if (h === 0 && l === 0) {
        keys[k] = hi;
        keys[k + 1] = lo;
        if (++this.size * 2 > this.mask + 1) this.grow();
        return;
      }
      if (h === hi && l === lo) return;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Empties the set, keeping its room. */
  clear(): void {
    this.keys.fill(0);
    this.size = 0;
  }

  /** Adds every hash to the one filter of `size` filter blocks that starts at word `at`. */
  addAllToFilter(words: Uint32Array, at: number, size: number): void {
    const keys = this.keys;
    for (let k = 0; k < keys.length; k += 2) {
      const hi = keys[k]!;
      const lo = keys[k + 1]!;
      if (hi === 0 && lo === 0) continue;
      const base = at + filterIndex(hi, size) * 8;
      for (let i = 0; i < 8; i++) words[base + i]! |= 1 << (Math.imul(lo, SALT[i]!) >>> 27);
    }
  }

  private grow(): void {
    const old = this.keys;
    this.keys = new Uint32Array(old.length * 2);
    this.mask = (this.keys.length >>> 1) - 1;
    this.size = 0;
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] !== 0 || old[k + 1] !== 0) this.add(old[k]!, old[k + 1]!);
    }
  }
}
