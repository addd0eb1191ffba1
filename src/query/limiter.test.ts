import { describe, expect, it } from 'vitest';
import { QueryLimiter } from './limiter.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('QueryLimiter', () => {
  it('runs up to maxConcurrent at once, queues up to queueSize in arrival order, refuses the rest', async () => {
    const limiter = new QueryLimiter({ maxConcurrent: 2, queueSize: 2, queueTimeoutMs: 10_000 });
    const release: (() => void)[] = [];
    const order: number[] = [];
    const job = (n: number) =>
      limiter.run(
        () =>
          new Promise<number>((resolve) => {
            order.push(n);
            release.push(() => resolve(n));
          }),
      );
    const runs = [job(1), job(2), job(3), job(4)];
    await tick();
    expect(order).toEqual([1, 2]);
    expect(limiter.stats).toMatchObject({ running: 2, queued: 2 });
    await expect(job(5)).rejects.toMatchObject({ code: 'LH_ERR_BUSY', details: { retry_after_s: 10 } });
    release.shift()!();
    await tick();
    expect(order).toEqual([1, 2, 3]);
    while (release.length > 0) {
      release.shift()!();
      await tick();
    }
    expect((await Promise.all(runs)).map((r) => r.value)).toEqual([1, 2, 3, 4]);
    expect(limiter.stats).toMatchObject({ running: 0, queued: 0, rejected: 1 });
  });

  it('gives up on a wait past queueTimeoutMs, and on a caller that went away', async () => {
    const limiter = new QueryLimiter({ maxConcurrent: 1, queueSize: 5, queueTimeoutMs: 30 });
    let done!: () => void;
    const busy = limiter.run(() => new Promise<void>((r) => (done = r)));
    await expect(limiter.run(async () => 1)).rejects.toMatchObject({ code: 'LH_ERR_BUSY' });
    const gone = new AbortController();
    const waiting = limiter.run(async () => 1, gone.signal);
    gone.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'LH_ERR_CLIENT_GONE' });
    done();
    await busy;
    expect(limiter.stats).toMatchObject({ running: 0, queued: 0, timedOut: 1 });
    expect((await limiter.run(async () => 7)).value).toBe(7);
  });

  it('frees the slot when the work fails', async () => {
    const limiter = new QueryLimiter({ maxConcurrent: 1, queueSize: 0, queueTimeoutMs: 100 });
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect((await limiter.run(async () => 'ok')).value).toBe('ok');
  });
});

describe('QueryLimiter yielding to ingest', () => {
  it('runs one query at a time while ingest is behind, and all of them again once it is not', async () => {
    let behind = true;
    const limiter = new QueryLimiter({ maxConcurrent: 2, queueSize: 10, queueTimeoutMs: 10_000, yieldTo: () => behind });
    let running = 0;
    let most = 0;
    const job = () =>
      limiter.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      });
    await Promise.all([job(), job(), job()]);
    expect(most).toBe(1);
    behind = false;
    most = 0;
    await Promise.all([job(), job(), job(), job()]);
    expect(most).toBe(2);
  });
});
