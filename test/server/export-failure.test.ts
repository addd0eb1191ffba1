// An export that fails after its answer has begun cuts that answer short and is logged; the
// server stays up. (Before, the failure went unhandled through a gzip pipe and took the process
// down.) The failure: rows loaded first, then a restart with 16 MB for DuckDB that may not be
// raised, and export pages covering every row, so the first page query runs out of memory after
// the CSV header is out.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-export-fail-'));
  server = await startChild(dataDir);
  const body = Array.from({ length: 20_000 }, (_, i) => logLine(i, 'xf').text).join('\n');
  for (let k = 0; k < 5; k++) expect((await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body })).status).toBe(200);
  await stopChild(server);
  server = await startChild(dataDir, {
    env: {
      LOGHAVEN_STORE_DUCKDB_MEMORY_LIMIT: '16MB',
      LOGHAVEN_STORE_DUCKDB_MAX_MEMORY_LIMIT: '16MB',
      LOGHAVEN_QUERY_EXPORT_CHUNK_ROWS: '1000000',
    },
  });
});

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** GET that resolves with the status and the bytes that arrived, however the answer ended. */
function getRaw(url: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    req.on('error', reject);
  });
}

describe('an export that fails midway', () => {
  for (const gzip of [true, false]) {
    it(`is cut short and logged while the server stays up (${gzip ? 'gzip' : 'plain'})`, async () => {
      const r = await getRaw(`${server.url}/api/v1/logs/export?format=csv`, gzip ? { 'accept-encoding': 'gzip' } : {});
      expect(r.status).toBe(200);
      const text = gzip ? zlib.gunzipSync(r.body, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString() : r.body.toString();
      if (!gzip) expect(text).toMatch(/^ts,received_at,/); // it had begun (gzip holds back what it has)
      expect(text.split('\n').length).toBeLessThan(100_000); // not the whole export
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      // The log line is written when the failure reaches the stream; give it the time to land.
      for (let i = 0; i < 100 && !/export failed after the answer began/.test(server.output()); i++) await new Promise((w) => setTimeout(w, 50));
      expect(server.output()).toMatch(/export failed after the answer began/);
    });
  }
});
