// The decoder against an independent encoder (snappyjs), and against broken input.

import fc from 'fast-check';
import snappyjs from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { snappyDecompress } from './snappy.js';

describe('snappyDecompress', () => {
  it('inverts snappyjs on text, runs and random bytes', () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from('hello hello hello hello hello world'.repeat(50)),
      Buffer.alloc(100_000, 7),
      Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251)),
    ];
    for (const input of inputs) expect(snappyDecompress(snappyjs.compress(input), 1 << 24).equals(input)).toBe(true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 40 }), (bytes, repeat) => {
        const input = Buffer.concat(Array.from({ length: repeat }, () => Buffer.from(bytes)));
        expect(snappyDecompress(snappyjs.compress(input), 1 << 24).equals(input)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a declared length over the limit before allocating it', () => {
    const big = snappyjs.compress(Buffer.alloc(1000, 1));
    expect(() => snappyDecompress(big, 999)).toThrow(/exceeds 999 bytes/);
    expect(() => snappyDecompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1 << 20)).toThrow(/exceeds/);
  });

  it('never throws anything but a coded error on mutated input', () => {
    const good = snappyjs.compress(Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(20)));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), (at, byte, cut) => {
        const bad = Buffer.from(good);
        bad[at] = byte;
        try {
          snappyDecompress(cut ? bad.subarray(0, at) : bad, 1 << 20);
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/^LH_ERR_/);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
