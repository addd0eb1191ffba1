// Acknowledged means durable: rows answered with 2xx survive kill -9 of the server, and a
// SIGTERM during ingest drains and commits everything acknowledged before the process exits.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startChild, stopChild } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-dur-'));
  dirs.push(d);
  return d;
}

async function countIds(url: string, prefix: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const r = await fetch(`${url}/api/v1/logs/export?q=${encodeURIComponent(`id:${prefix}-*`)}&format=ndjson`);
  expect(r.status).toBe(200);
  for (const line of (await r.text()).split('\n')) {
    if (!line) continue;
    const id = JSON.parse(line).attrs.id as string;
    expect(ids.has(id), `duplicate ${id}`).toBe(false);
    ids.add(id);
  }
  return ids;
}

/** Posts batches from several concurrent clients until stopped; returns the acknowledged ids. */
function ingestLoop(url: string, prefix: string, clients: number, batch: number) {
  const acked = new Set<string>();
  let stop = false;
  let next = 0;
  const runs = Array.from({ length: clients }, async () => {
    while (!stop) {
      const start = next;
      next += batch;
      const lines = Array.from({ length: batch }, (_, i) => logLine(start + i, prefix).text);
      try {
        const r = await fetch(`${url}/api/v1/logs`, { method: 'POST', body: lines.join('\n') });
        const body = (await r.json()) as { accepted: number };
        if (r.status === 200) {
          expect(body.accepted).toBe(batch);
          for (let i = 0; i < batch; i++) acked.add(`${prefix}-${start + i}`);
        }
      } catch {
        return; // the server went away
      }
    }
  });
  return { acked, stop: () => ((stop = true), Promise.all(runs)) };
}

describe('durability', () => {
  for (const durability of ['fsync', 'batch', 'none'] as const) {
    // The default mode gets the full 20 cycles; the weaker modes (same recovery path) a few.
    const cycles = durability === 'fsync' ? 20 : 3;
    // A cycle starts a server, loads it and kills it: about 6 s on a slow day, so the time allowed
    // grows with the cycles (20 did not fit the suite's default 120 s there).
    it(`keeps every acknowledged row, exactly once, across kill -9 (durability ${durability})`, { timeout: 60_000 + cycles * 15_000 }, async () => {
      const dir = tmp();
      const env = { LOGHAVEN_INGEST_DURABILITY: durability };
      const allAcked = new Set<string>();
      for (let cycle = 0; cycle < cycles; cycle++) {
        const server = await startChild(dir, { env });
        const load = ingestLoop(server.url, `k${cycle}`, 4, 200);
        // A random moment during full-speed ingest, once batches are being acknowledged (a
        // loaded machine can take longer than the old fixed 200 ms to answer the first).
        for (let t = 0; load.acked.size === 0 && t < 600; t++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, Math.random() * 800));
        server.proc.kill('SIGKILL');
        await server.exited;
        await load.stop();
        for (const id of load.acked) allAcked.add(id);
        expect(load.acked.size).toBeGreaterThan(0);
      }
      const server = await startChild(dir, { env });
      try {
        for (let cycle = 0; cycle < cycles; cycle++) {
          const stored = await countIds(server.url, `k${cycle}`);
          for (const id of allAcked) if (id.startsWith(`k${cycle}-`)) expect(stored.has(id), id).toBe(true);
        }
      } finally {
        await stopChild(server);
      }
    });
  }

  it('drains on SIGTERM: everything acknowledged is stored and the exit code is 0', async () => {
    const dir = tmp();
    const server = await startChild(dir);
    const load = ingestLoop(server.url, 't', 4, 500);
    await new Promise((r) => setTimeout(r, 500));
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    await load.stop();
    const again = await startChild(dir);
    try {
      const stored = await countIds(again.url, 't');
      for (const id of load.acked) expect(stored.has(id), id).toBe(true);
    } finally {
      await stopChild(again);
    }
  });
});
