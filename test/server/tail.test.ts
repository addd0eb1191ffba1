// The live tail against a real server: every acknowledged record delivered once and in order at
// 50,000 lines/s, a dropped connection resumed with Last-Event-ID without a gap or a repeat, a
// backfill, a filter, and a reader too slow to keep up told what it missed while ingest goes on.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';
import { SseReader } from '../helpers/sse.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-tail-'));
  server = await startChild(dataDir);
}, 120_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function post(lines: string[]): Promise<void> {
  const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body: lines.join('\n') });
  expect(r.status).toBe(200);
}

/** Posts `total` lines with ids `prefix-i` at about `rate` lines/s in batches of `batch`. */
async function ingestAtRate(prefix: string, total: number, rate: number, batch: number): Promise<void> {
  const started = performance.now();
  for (let sent = 0; sent < total; sent += batch) {
    const lines = Array.from({ length: Math.min(batch, total - sent) }, (_, i) => logLine(sent + i, prefix).text);
    await post(lines);
    const due = started + ((sent + batch) / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/** Reads events until `want` records with ids of `prefix` arrived (or the stream ends). */
async function collect(reader: SseReader, prefix: string, want: number, seen: { seq: bigint; id: string }[]): Promise<void> {
  let mine = 0;
  while (mine < want) {
    const e = await reader.next();
    if (e === null) return;
    if (e.event !== 'message') continue;
    const rec = JSON.parse(e.data) as { attrs: { id?: string } };
    const id = rec.attrs.id ?? '';
    seen.push({ seq: BigInt(e.id!), id });
    if (id.startsWith(`${prefix}-`)) mine++;
  }
}

function expectOnceInOrder(seen: { seq: bigint; id: string }[], prefix: string, total: number): void {
  for (let i = 1; i < seen.length; i++) expect(seen[i]!.seq > seen[i - 1]!.seq, `position ${seen[i]!.seq} after ${seen[i - 1]!.seq}`).toBe(true);
  const ids = seen.filter((s) => s.id.startsWith(`${prefix}-`)).map((s) => s.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(total);
  // Acknowledged in order, delivered in order: ids follow the order they were sent in.
  expect(ids).toEqual(Array.from({ length: total }, (_, i) => `${prefix}-${i}`));
}

describe('live tail (SSE)', () => {
  it('delivers 10,000 records sent at 50,000 lines/s, each once and in order', async () => {
    const reader = await SseReader.open(`${server.url}/api/v1/logs/tail`);
    expect(reader.status).toBe(200);
    const seen: { seq: bigint; id: string }[] = [];
    const reading = collect(reader, 'fast', 10_000, seen);
    await ingestAtRate('fast', 10_000, 50_000, 500);
    await reading;
    reader.close();
    expectOnceInOrder(seen, 'fast', 10_000);
  });

  it('resumes a dropped connection after its Last-Event-ID with nothing missed and nothing repeated', async () => {
    let reader = await SseReader.open(`${server.url}/api/v1/logs/tail`);
    const seen: { seq: bigint; id: string }[] = [];
    const sending = ingestAtRate('resume', 6000, 20_000, 200);
    await collect(reader, 'resume', 1500, seen);
    reader.close();
    // Records keep arriving while nobody listens.
    await new Promise((r) => setTimeout(r, 100));
    const last = seen[seen.length - 1]!.seq;
    reader = await SseReader.open(`${server.url}/api/v1/logs/tail`, { 'last-event-id': String(last) });
    const after = seen.length;
    await sending;
    await collect(reader, 'resume', 6000 - seen.filter((s) => s.id.startsWith('resume-')).length, seen);
    reader.close();
    expect(seen[after]!.seq > last).toBe(true);
    expectOnceInOrder(seen, 'resume', 6000);
  });

  it('sends the last N matching records first, then only records that match', async () => {
    await post(Array.from({ length: 50 }, (_, i) => logLine(i, 'bf').text));
    const reader = await SseReader.open(`${server.url}/api/v1/logs/tail?backfill=5&q=${encodeURIComponent('id:bf-*')}`);
    const seen: { seq: bigint; id: string }[] = [];
    await collect(reader, 'bf', 5, seen);
    expect(seen.map((s) => s.id)).toEqual(['bf-45', 'bf-46', 'bf-47', 'bf-48', 'bf-49']);
    await post([logLine(1, 'other').text, logLine(50, 'bf').text]);
    await collect(reader, 'bf', 1, seen);
    reader.close();
    expect(seen.map((s) => s.id).slice(5)).toEqual(['bf-50']);
  });

  it('tells a reader too slow to keep up how many records it missed, and never holds up ingest', async () => {
    const slow = await SseReader.open(`${server.url}/api/v1/logs/tail?q=${encodeURIComponent('id:slow-*')}`);
    // Nobody reads `slow` while 60,000 records (about 25 MB of events) go by.
    await ingestAtRate('slow', 60_000, 200_000, 2000);
    // A fresh reader is not affected by the slow one.
    const fresh = await SseReader.open(`${server.url}/api/v1/logs/tail`);
    const freshSeen: { seq: bigint; id: string }[] = [];
    const freshReading = collect(fresh, 'after', 100, freshSeen);
    await post(Array.from({ length: 100 }, (_, i) => logLine(i, 'after').text));
    await freshReading;
    fresh.close();
    expect(freshSeen.filter((s) => s.id.startsWith('after-')).length).toBe(100);
    let delivered = 0;
    let dropped = 0;
    while (delivered + dropped < 60_000) {
      const e = await slow.next();
      if (e === null) break;
      if (e.event === 'dropped') dropped += (JSON.parse(e.data) as { count: number }).count;
      else delivered++;
    }
    slow.close();
    expect(dropped).toBeGreaterThan(0);
    expect(delivered + dropped).toBe(60_000);
  });

  it('loghaven tail prints matching records as they arrive', async () => {
    await post(Array.from({ length: 3 }, (_, i) => logLine(i, 'cli').text));
    const cli = spawn(process.execPath, [CLI, 'tail', 'id:cli-*', '--format', 'ndjson', '--backfill', '2', '--url', server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout!.on('data', (d) => (out += d));
    try {
      // Started after the first three: the backfill brings the last two, then the live ones follow.
      const lines = () => out.split('\n').filter((l) => l !== '');
      while (lines().length < 2) await new Promise((r) => setTimeout(r, 50));
      await post([logLine(3, 'cli').text, logLine(0, 'not-cli').text, logLine(4, 'cli').text]);
      while (lines().length < 4) await new Promise((r) => setTimeout(r, 50));
      expect(lines().map((l) => (JSON.parse(l) as { attrs: { id: string } }).attrs.id)).toEqual(['cli-1', 'cli-2', 'cli-3', 'cli-4']);
    } finally {
      cli.kill('SIGINT');
    }
  });

  it('refuses a bad query and a bad Last-Event-ID with coded errors', async () => {
    const bad = await fetch(`${server.url}/api/v1/logs/tail?q=${encodeURIComponent('level:loud')}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('LH_ERR_QUERY_SYNTAX');
    const id = await fetch(`${server.url}/api/v1/logs/tail`, { headers: { 'last-event-id': 'abc' } });
    expect(id.status).toBe(400);
    expect(((await id.json()) as { error: string }).error).toBe('LH_ERR_BAD_PARAM');
  });
});
