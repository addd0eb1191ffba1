// The 64-bit hash of an index token, as two 32-bit halves, over its UTF-8 bytes. The indexer
// hashes tokens straight from the row bytes and the planner hashes the tokens of a query; both
// call this one function, so equal tokens always meet. Two independent multiply-rotate lanes
// over 4-byte words (murmur3's mixing), each finished with murmur3's avalanche step.

/** Where hashToken leaves its result: [0] high half (picks the filter block), [1] low half. */
export const hashOut = new Uint32Array(2);

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED_A = 0x9747b28c;
const SEED_B = 0x5bd1e995;

/** Hashes bytes[start, end) preceded by one `kind` byte (which namespace the token is in). */
export function hashToken(kind: number, bytes: Uint8Array, start: number, end: number): void {
  let a = mixIn(SEED_A, kind);
  let b = mixIn(SEED_B, kind ^ 0x5a);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    a = mixIn(a, k);
    b = mixIn(b, k ^ 0x2f6e2b1);
  }
  let k = 0;
  switch (end - i) {
    case 3:
      k ^= bytes[i + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[i + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[i]!;
      a = mixIn(a, k);
      b = mixIn(b, k ^ 0x2f6e2b1);
  }
  const len = end - start;
  hashOut[0] = fmix(a ^ len);
  hashOut[1] = fmix(b ^ len ^ a);
}

const encoder = new TextEncoder();

/** hashToken of a string's UTF-8 bytes. */
export function hashTokenString(kind: number, s: string): void {
  const bytes = encoder.encode(s);
  hashToken(kind, bytes, 0, bytes.length);
}

function mixIn(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
