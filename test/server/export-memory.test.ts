// Export streams with flat memory: a million rows out as CSV and as NDJSON while the server's
// resident set grows by less than 50 MB from the first tenth of the rows to the end. (The
// engine's working set for the export queries, about 50 MB, builds up over that first tenth; an
// export that held rows would grow by hundreds of MB after it.) Rows are loaded through the real
// ingest route first.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssOf, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';

const ROWS = 1_000_000;
const MB = 2 ** 20;
let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-export-'));
  server = await startChild(dataDir, { env: process.env.EXPORT_ENV ? JSON.parse(process.env.EXPORT_ENV) : {} });
  const batch = 10_000;
  // Ten distinct bodies reused: the rows need not be unique here, and building a million lines
  // in the test process would only compete with the server for the CPU.
  const bodies = Array.from({ length: 10 }, (_, b) =>
    Array.from({ length: batch }, (_, i) => logLine(b * batch + i, 'e').text).join('\n'),
  );
  let next = 0;
  const loadStart = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < ROWS) {
        const start = next;
        next += batch;
        const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: bodies[(start / batch) % 10] });
        expect(r.status).toBe(200);
      }
    }),
  );
  console.log(`loaded ${ROWS} rows in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  // What is measured is the export: the index worker summarising the new segments is done first.
  for (;;) {
    const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as { query_index: { pending_segments: number } };
    if (status.query_index.pending_segments === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 600_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function exportAndWatch(format: string): Promise<{ lines: number; growth: number }> {
  const idle = rssOf(server.proc.pid!);
  let start = 0; // RSS once a tenth of the rows are out
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(server.proc.pid!))), 20);
  let lines = 0;
  try {
    const r = await fetch(`${server.url}/api/v1/logs/export?format=${format}`);
    expect(r.status).toBe(200);
    const decoder = new TextDecoder();
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
      if (start === 0 && lines >= ROWS / 10) peak = start = rssOf(server.proc.pid!);
    }
  } finally {
    clearInterval(timer);
  }
  console.log(
    `export ${format}: ${lines} lines, RSS ${(idle / MB).toFixed(0)} MB idle, ${(start / MB).toFixed(0)} MB after a tenth, peak ${(peak / MB).toFixed(0)} MB`,
  );
  return { lines, growth: peak - start };
}

describe('export', () => {
  it('streams 1,000,000 rows as CSV with RSS growth under 50 MB', async () => {
    const { lines, growth } = await exportAndWatch('csv');
    expect(lines).toBe(ROWS + 1); // header
    expect(growth).toBeLessThan(50 * MB);
  });

  it('streams 1,000,000 rows as NDJSON with RSS growth under 50 MB', async () => {
    const { lines, growth } = await exportAndWatch('ndjson');
    expect(lines).toBe(ROWS);
    expect(growth).toBeLessThan(50 * MB);
  });

  it('stops producing when the client goes away', async () => {
    const cancelled = async () => {
      const m = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/loghaven_export_cancelled_total (\d+)/.exec(m)?.[1] ?? 0);
    };
    const before = await cancelled();
    const ac = new AbortController();
    const r = await fetch(`${server.url}/api/v1/logs/export?format=ndjson`, { signal: ac.signal });
    const reader = r.body!.getReader();
    await reader.read();
    ac.abort();
    while ((await cancelled()) === before) await new Promise((res) => setTimeout(res, 50));
    expect(await cancelled()).toBe(before + 1);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
