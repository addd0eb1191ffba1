// Overload: past the queue and spool bounds ingest answers 429 with Retry-After instead of
// buffering without limit, memory stays bounded, nothing acknowledged is lost, and the server
// takes requests again once the load drops.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rssOf, startChild, stopChild } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('backpressure', () => {
  it('refuses with 429 and Retry-After past the bounds, loses nothing acknowledged, recovers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bp-'));
    dirs.push(dir);
    const server = await startChild(dir, {
      env: { LOGHAVEN_INGEST_QUEUE_MAX_BYTES: '1MiB', LOGHAVEN_INGEST_SPOOL_MAX_BYTES: '1MiB' },
    });
    try {
      const bodies = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 2000 }, (_, i) => logLine(b * 2000 + i, 'bp').text).join('\n'),
      );
      const acked = new Set<number>();
      let refused = 0;
      let retryAfter: string | null = null;
      let peakRss = 0;
      // 32 clients at once, far more than a 1 MiB bound admits.
      await Promise.all(
        Array.from({ length: 32 }, async (_, c) => {
          for (let round = 0; round < 6; round++) {
            const b = (c + round) % bodies.length;
            const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: bodies[b] });
            const answer = await r.text();
            peakRss = Math.max(peakRss, rssOf(server.proc.pid!));
            if (r.status === 200) acked.add(b);
            else {
              expect(r.status).toBe(429);
              // The answer names the bound that was hit and its setting.
              expect((JSON.parse(answer) as { message: string }).message).toMatch(/ingest\.(queue|spool)_max_bytes\)$/);
              refused++;
              retryAfter = r.headers.get('retry-after');
            }
          }
        }),
      );
      expect(refused).toBeGreaterThan(0);
      expect(retryAfter).toBe('1');
      expect(peakRss).toBeLessThan(512 * 2 ** 20);
      // Load is gone: the next request is taken again, once the backlog has drained.
      let status = 0;
      while (status !== 200) {
        const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: logLine(1, 'after').text });
        status = r.status;
        await r.arrayBuffer();
        if (status !== 200) await new Promise((w) => setTimeout(w, 200));
      }
      // Every batch that was acknowledged at least once is fully stored.
      const r = await fetch(`${server.url}/api/v1/logs/export?q=${encodeURIComponent('id:bp-*')}&format=ndjson`);
      const ids = new Set((await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l).attrs.id as string));
      for (const b of acked) for (let i = 0; i < 2000; i++) expect(ids.has(`bp-${b * 2000 + i}`)).toBe(true);
    } finally {
      await stopChild(server);
    }
  });
});
