// A split-block Bloom filter (the layout Parquet and Impala use): the high half of a token's hash
// picks one 256-bit block, and the low half sets one bit in each of the block's eight 32-bit
// words, so a lookup reads one cache line. At 12 bits per distinct token about 0.5 % of the
// absent tokens look present; present tokens always do.

import { hashOut } from './token-hash.js';

/** The eight odd constants of the split-block filter: one per word of a block. */
const SALT = new Uint32Array([0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31]);

export const BLOOM_BITS_PER_TOKEN = 12;

export class BlockBloom {
  constructor(readonly words: Uint32Array) {}

  /** A filter sized for `distinct` tokens. */
  static forTokens(distinct: number, bitsPerToken = BLOOM_BITS_PER_TOKEN): BlockBloom {
    const blocks = Math.max(1, Math.ceil((distinct * bitsPerToken) / 256));
    return new BlockBloom(new Uint32Array(blocks * 8));
  }

  get blocks(): number {
    return this.words.length >>> 3;
  }

  /** Adds the token whose hash is (hi, lo). */
  add(hi: number, lo: number): void {
    const base = this.block(hi);
    const w = this.words;
    for (let i = 0; i < 8; i++) w[base + i]! |= 1 << (Math.imul(lo, SALT[i]!) >>> 27);
  }

  has(hi: number, lo: number): boolean {
    const base = this.block(hi);
    const w = this.words;
    for (let i = 0; i < 8; i++) {
      if ((w[base + i]! & (1 << (Math.imul(lo, SALT[i]!) >>> 27))) === 0) return false;
    }
    return true;
  }

  /** has() of the hash that hashToken last left in hashOut. */
  hasLast(): boolean {
    return this.has(hashOut[0]!, hashOut[1]!);
  }

  private block(hi: number): number {
    // hi * blocks / 2^32, exact in a double for any realistic number of blocks.
    return Math.floor((hi * this.blocks) / 4294967296) << 3;
  }
}

/** The distinct 64-bit hashes of a segment's tokens (open addressing), to size its filter exactly. */
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

  /** Calls fn for every hash in the set. */
  forEach(fn: (hi: number, lo: number) => void): void {
    const keys = this.keys;
    for (let k = 0; k < keys.length; k += 2) {
      if (keys[k] !== 0 || keys[k + 1] !== 0) fn(keys[k]!, keys[k + 1]!);
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
