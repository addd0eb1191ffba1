import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  it('hands out buffers of a size class at least as big as asked, and reuses those given back', () => {
    const pool = new BufferPool();
    expect(pool.take(100_000).length).toBe(128 * 1024);
    expect(pool.take(200 * 1024).length).toBe(256 * 1024);
    expect(pool.take(250_000).length).toBe(256 * 1024);
    expect(pool.take(300 * 1024).length).toBe(384 * 1024);
    const a = pool.take(128 * 1024);
    pool.give(a);
    expect(pool.take(70_000) === a).toBe(false); // another class
    expect(pool.take(128 * 1024) === a).toBe(true);
    expect(pool.take(128 * 1024) === a).toBe(false); // taken already
  });

  it('does not pool what it did not make, nor more than its bound', () => {
    const pool = new BufferPool(256 * 1024);
    const foreign = Buffer.alloc(128 * 1024).subarray(0, 64 * 1024);
    pool.give(foreign);
    expect(pool.take(64 * 1024) === foreign).toBe(false);
    expect(pool.take(32 * 2 ** 20).length).toBe(32 * 2 ** 20);
    const [x, y, z] = [pool.take(128 * 1024), pool.take(128 * 1024), pool.take(128 * 1024)];
    pool.give(x);
    pool.give(y);
    pool.give(z); // over the 256 KiB bound: dropped
    const back = [pool.take(128 * 1024), pool.take(128 * 1024), pool.take(128 * 1024)];
    expect(back.filter((b) => b === x || b === y || b === z).length).toBe(2);
  });
});
