// The category file sink through a real server: a thousand categories over two UTC days under
// `ulimit -n 256`, each file holding exactly its records and error.jsonl / warning.jsonl exactly
// those levels; and kill -9 in the middle of a load, then a restart: every acknowledged record in
// its files exactly once.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';

let dir: string;
let server: ChildServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-files-'));
});

afterEach(async () => {
  if (server !== undefined && server.proc.exitCode === null && server.proc.signalCode === null) await stopChild(server);
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const LEVELS = ['info', 'warn', 'error', 'debug', 'fatal'] as const;
const DAYS = ['2026-11-29', '2026-11-30'];

interface Sent {
  id: string;
  day: string;
  category: string;
  level: string;
}

/** Every line of every file, by path relative to DATA/files (`day/name.jsonl`). */
function readFiles(dataDir: string): Map<string, { message: string; category: string; level: string | null }[]> {
  const root = path.join(dataDir, 'files');
  const out = new Map<string, { message: string; category: string; level: string | null }[]>();
  if (!fs.existsSync(root)) return out;
  for (const day of fs.readdirSync(root)) {
    const d = path.join(root, day);
    if (day.startsWith('.') || !fs.statSync(d).isDirectory()) continue;
    for (const f of fs.readdirSync(d)) {
      // Whole lines only: the sink may be writing the file right now.
      const text = fs.readFileSync(path.join(d, f), 'utf8');
      const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
      out.set(`${day}/${f}`, lines.map((l) => JSON.parse(l) as { message: string; category: string; level: string | null }));
    }
  }
  return out;
}

/** Waits until the category files (level copies aside) hold `n` lines in all. */
async function untilFilesHold(dataDir: string, n: number): Promise<Map<string, { message: string; category: string; level: string | null }[]>> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const files = readFiles(dataDir);
    let lines = 0;
    for (const [f, rows] of files) if (!/\/(error|warning)\.jsonl$/.test(f)) lines += rows.length;
    if (lines >= n || Date.now() > deadline) return files;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function send(url: string, records: object[]): Promise<boolean> {
  const r = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: records.map((x) => JSON.stringify(x)).join('\n') });
  await r.text();
  return r.status === 200;
}

function record(s: Sent): object {
  return { ts: `${s.day}T12:00:00Z`, message: s.id, category: s.category, level: s.level };
}

function expectExactly(files: Map<string, { message: string; category: string; level: string | null }[]>, sent: Sent[]): void {
  const want = new Map<string, string[]>();
  const add = (f: string, id: string) => {
    const list = want.get(f) ?? [];
    list.push(id);
    want.set(f, list);
  };
  for (const s of sent) {
    add(`${s.day}/${s.category}.jsonl`, s.id);
    if (s.level === 'error' || s.level === 'fatal') add(`${s.day}/error.jsonl`, s.id);
    if (s.level === 'warn') add(`${s.day}/warning.jsonl`, s.id);
  }
  expect([...files.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [f, ids] of want) {
    const got = files.get(f)!.map((r) => r.message);
    expect(got.length, f).toBe(ids.length);
    expect(new Set(got), f).toEqual(new Set(ids));
  }
}

describe('category files', () => {
  it('writes a thousand categories over two days under ulimit -n 256, each file exactly its records', { timeout: 180_000 }, async () => {
    server = await startChild(dir, { maxOpenFiles: 256 });
    const sent: Sent[] = [];
    for (let i = 0; i < 6000; i++) sent.push({ id: `r${i}`, day: DAYS[i % 2]!, category: `cat-${String(Math.floor(i / 2) % 1000).padStart(4, '0')}`, level: LEVELS[i % LEVELS.length]! });
    for (let i = 0; i < sent.length; i += 500) expect(await send(server.url, sent.slice(i, i + 500).map(record))).toBe(true);
    const files = await untilFilesHold(dir, sent.length);
    expectExactly(files, sent);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^loghaven_files_created_total 2004$/m);
    expect(metrics).toMatch(/^loghaven_files_write_failures_total 0$/m);
    expect(Number(/^loghaven_files_open_handles (\d+)/m.exec(metrics)![1])).toBeLessThanOrEqual(64);
    expect(server.output()).not.toMatch(/EMFILE|too many open files/i);
  });

  it('holds every acknowledged record exactly once after kill -9 in the middle of a load and a restart', { timeout: 180_000 }, async () => {
    server = await startChild(dir, { maxOpenFiles: 256 });
    const acknowledged: Sent[] = [];
    const inFlight: Sent[] = [];
    let n = 0;
    const batch = (): Sent[] => Array.from({ length: 400 }, () => ({ id: `k${n}`, day: DAYS[n % 2]!, category: `c${n++ % 300}`, level: LEVELS[n % LEVELS.length]! }));
    // Send until the sink has checkpointed a few rounds, then kill the server while batches go on.
    const started = Date.now();
    for (;;) {
      const b = batch();
      if (!(await send(server.url, b.map(record)))) throw new Error('a batch was refused');
      acknowledged.push(...b);
      const checkpoints = path.join(dir, 'files', '.checkpoints');
      if (fs.existsSync(checkpoints) && fs.readFileSync(checkpoints, 'utf8').split('\n').length > 3 && acknowledged.length >= 20_000) break;
      if (Date.now() - started > 60_000) throw new Error('the sink never checkpointed');
    }
    const last = batch();
    inFlight.push(...last);
    const pending = send(server.url, last.map(record)).catch(() => false);
    server.proc.kill('SIGKILL');
    await server.exited;
    await pending;
    server = await startChild(dir, { maxOpenFiles: 256 });
    const files = await untilFilesHold(dir, acknowledged.length);
    // The batch in flight at the kill may or may not have been acknowledged (durable): if it is
    // in the store, it is in the files once too.
    const ids = new Set([...files.values()].flat().map((r) => r.message));
    const extra = inFlight.filter((s) => ids.has(s.id));
    expect(extra.length === 0 || extra.length === inFlight.length).toBe(true);
    expectExactly(await untilFilesHold(dir, acknowledged.length + extra.length), [...acknowledged, ...extra]);
  });
});
