import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** loghaven_event_loop_delay_seconds by quantile, from one scrape. */
async function loopDelay(m: Metrics): Promise<Map<string, number>> {
  const text = await m.registry.getSingleMetricAsString('loghaven_event_loop_delay_seconds');
  return new Map([...text.matchAll(/^loghaven_event_loop_delay_seconds\{quantile="([^"]+)"\} (\S+)$/gm)].map((x) => [x[1]!, Number(x[2])]));
}

describe('loghaven_event_loop_delay_seconds', () => {
  it('reports how long the loop was held, without the sampling interval, and starts over at each scrape', async () => {
    const m = new Metrics();
    try {
      await sleep(50);
      await loopDelay(m); // the window starts here
      await sleep(30);
      const until = performance.now() + 300;
      while (performance.now() < until); // the loop held for 300 ms
      await sleep(30);
      const held = await loopDelay(m);
      expect([...held.keys()].sort()).toEqual(['0.5', '0.99', '0.999', '1']);
      // The timer due every 10 ms ran at least 300 - 10 ms late.
      expect(held.get('1')).toBeGreaterThanOrEqual(0.29);
      expect(held.get('0.5')).toBeLessThanOrEqual(held.get('0.99')!);
      expect(held.get('0.99')).toBeLessThanOrEqual(held.get('1')!);

      // The next window has no such stretch in it, and the interval itself (a tick every 10 ms) is
      // not delay: an idle loop's median is well under it.
      await sleep(200);
      const after = await loopDelay(m);
      expect(after.get('1')).toBeLessThan(0.29);
      expect(after.get('0.5')).toBeLessThan(0.01);
      for (const v of after.values()) expect(v).toBeGreaterThanOrEqual(0);
    } finally {
      m.close();
    }
  });
});
