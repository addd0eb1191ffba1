// The category file sink over a real DuckDB store: files per day and category with the level
// copies, file names that cannot escape or collide, and recovery from a crash between writing
// lines and checkpointing them (lines past the checkpoint, a torn tail, a file the checkpoints
// never named): every record ends up in its files exactly once. The writer runs on its own
// thread: rows of kept segments are read there from their files, the others from the store
// through the main thread; a writer thread that dies mid-write is started again and neither
// loses nor repeats a line.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../model/record.js';
import { DuckDbStore } from '../store/duckdb/duckdb-store.js';
import { rowsOf } from '../store/row-format.js';
import { CategoryFileSink, categoryFileName, type CategoryFileMetrics } from './category-files.js';

const NO_METRICS: CategoryFileMetrics = {
  openHandles: () => undefined,
  bufferedBytes: () => undefined,
  flushed: () => undefined,
  emfileRecovered: () => undefined,
  fileCreated: () => undefined,
  written: () => undefined,
  failed: () => undefined,
};
const NO_LOG = { info: () => undefined, error: () => undefined };

let dir: string;
let store: DuckDbStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-sink-'));
  store = await DuckDbStore.open({ file: path.join(dir, 'db.duckdb'), threads: 1, memoryLimit: '256MB', indexDir: path.join(dir, 'index'), loadDir: path.join(dir, 'load') });
  await store.migrate();
});

afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const DAY_US = 86_400_000_000n;
const T0 = BigInt(Date.parse('2026-11-29T12:00:00Z')) * 1000n;

function records(from: number, n: number): LogRecord[] {
  const levels = ['info', 'warn', 'error', 'fatal', 'debug'] as const;
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { ts: T0 + BigInt(i % 2) * DAY_US, receivedAt: 0n, tenant: 'default', level: levels[i % 5]!, severity: null, service: null, host: null, category: `c${i % 7}`, source: null, message: `m${i}`, traceId: null, spanId: null, attrs: '{}' };
  });
}

function open(opts: { segmentsDir?: string; metrics?: CategoryFileMetrics; log?: typeof NO_LOG; bufferBytes?: number } = {}): CategoryFileSink {
  return CategoryFileSink.open(
    store,
    { dir: path.join(dir, 'files'), segmentsDir: opts.segmentsDir, bufferBytes: opts.bufferBytes ?? 64 * 1024, maxOpenFiles: 4, idleCloseMs: 1000 },
    opts.metrics ?? NO_METRICS,
    opts.log ?? NO_LOG,
  );
}

/** Keeps rows as the pipeline does once it has loaded them: their spool segment as `<firstSeq>-<rows>.tsv`. */
function keep(segmentsDir: string, firstSeq: bigint, rows: LogRecord[]): void {
  fs.mkdirSync(segmentsDir, { recursive: true });
  fs.writeFileSync(path.join(segmentsDir, `${firstSeq}-${rows.length}.tsv`), rowsOf(rows).bytes);
}

/** Messages per file (relative path), as the files hold them. */
function contents(): Record<string, string[]> {
  const root = path.join(dir, 'files');
  const out: Record<string, string[]> = {};
  for (const day of fs.readdirSync(root)) {
    if (day.startsWith('.') || !fs.statSync(path.join(root, day)).isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(root, day))) {
      out[`${day}/${f}`] = fs
        .readFileSync(path.join(root, day, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { message: string }).message);
    }
  }
  return out;
}

function expected(all: LogRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (f: string, m: string) => (out[f] ??= []).push(m);
  for (const r of all) {
    const day = new Date(Number(r.ts / 1000n)).toISOString().slice(0, 10);
    add(`${day}/${r.category}.jsonl`, r.message!);
    if (r.level === 'error' || r.level === 'fatal') add(`${day}/error.jsonl`, r.message!);
    if (r.level === 'warn') add(`${day}/warning.jsonl`, r.message!);
  }
  return out;
}

describe('category file names', () => {
  it('keep safe names, escape the rest, and leave error.jsonl and warning.jsonl to the levels', () => {
    expect(categoryFileName('payments')).toBe('payments.jsonl');
    expect(categoryFileName('a.b-c_D9')).toBe('a.b-c_D9.jsonl');
    expect(categoryFileName('../etc/passwd')).toBe('%2E.%2Fetc%2Fpasswd.jsonl');
    expect(categoryFileName('a/b')).not.toBe(categoryFileName('a_b'));
    expect(categoryFileName('a%2Fb')).not.toBe(categoryFileName('a/b'));
    expect(categoryFileName('café')).toBe('caf%C3%A9.jsonl');
    expect(categoryFileName('error')).toBe('%65rror.jsonl');
    expect(categoryFileName('warning')).toBe('%77arning.jsonl');
    expect(categoryFileName('')).toBe('%.jsonl');
  });
});

describe('CategoryFileSink', () => {
  it('writes every loaded record to its day and category, and error/fatal and warn copies', async () => {
    const all = records(0, 3000);
    await store.append(rowsOf(all));
    const sink = open();
    await sink.caughtUp();
    await sink.close();
    expect(contents()).toEqual(expected(all));
  });

  it('after a crash between writing lines and checkpointing them, cuts the files back and writes each record once', async () => {
    const first = records(0, 1000);
    await store.append(rowsOf(first));
    let sink = open();
    await sink.caughtUp();
    await sink.close();
    // More rows arrive; a sink wrote some of their lines (and half a line) but crashed before its
    // checkpoint, and had begun a file the checkpoints never named.
    const second = records(1000, 1000);
    await store.append(rowsOf(second));
    const root = path.join(dir, 'files');
    const written = expected([...first, ...second.slice(0, 400)]);
    for (const [f, ms] of Object.entries(written)) {
      const now = fs.existsSync(path.join(root, f)) ? fs.readFileSync(path.join(root, f), 'utf8').split('\n').filter(Boolean).length : 0;
      const lines = ms.slice(now).map((m) => `${JSON.stringify({ message: m })}\n`).join('');
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.appendFileSync(path.join(root, f), `${lines}{"message":"m14`);
    }
    fs.writeFileSync(path.join(root, '2026-11-29', 'never-checkpointed.jsonl'), '{"message":"x"}\n');
    sink = open();
    await sink.caughtUp();
    await sink.close();
    expect(contents()).toEqual({ ...expected([...first, ...second]), '2026-11-29/never-checkpointed.jsonl': [] });
  });

  it('goes on after a restart from where it stopped, with nothing written twice', async () => {
    const a = records(0, 500);
    await store.append(rowsOf(a));
    let sink = open();
    await sink.caughtUp();
    await sink.close();
    const b = records(500, 500);
    await store.append(rowsOf(b));
    sink = open();
    await sink.caughtUp();
    await sink.close();
    expect(contents()).toEqual(expected([...a, ...b]));
  });

  it('writes a file out between lines once its buffer holds a MiB, well under the cap, each line once and in order', async () => {
    // One category, 4 MB of lines in one kept segment, a cap of 64 MiB: the file is written
    // as its buffer fills, not held whole until the round ends.
    const segmentsDir = path.join(dir, 'files', '.segments');
    const rows = records(0, 12_000).map((r, i) => ({ ...r, category: 'one', message: `${'x'.repeat(300)} ${i}` }));
    await store.append(rowsOf(rows));
    keep(segmentsDir, 1n, rows);
    let flushes = 0;
    const sink = open({ segmentsDir, bufferBytes: 64 * 2 ** 20, metrics: { ...NO_METRICS, flushed: (n) => void (flushes += n) } });
    await sink.caughtUp();
    await sink.close();
    expect(contents()).toEqual(expected(rows));
    // Two days' files of about 2 MB each (and their level copies): at least one write between lines in each.
    expect(flushes).toBeGreaterThanOrEqual(2 + 4 + 2);
  });

  it('writes a burst of rows at a pace, and, closed in the middle of it, goes on after a restart with each line once', async () => {
    // 30,000 rows loaded together: more than the writer writes unpaced (write-pace.ts), so they
    // are spread over about a second. The sink is closed as soon as it has written some, without
    // waiting for the rest (caughtUp would lift the pace).
    const segmentsDir = path.join(dir, 'files', '.segments');
    const rows = records(0, 30_000);
    await store.append(rowsOf(rows));
    keep(segmentsDir, 1n, rows);
    let firstWrite!: () => void;
    const wrote = new Promise<void>((resolve) => (firstWrite = resolve));
    let sink = open({ segmentsDir, metrics: { ...NO_METRICS, written: () => firstWrite() } });
    await wrote;
    await sink.close(0);
    const through = sink.writtenThrough;
    expect(through).toBeGreaterThan(0n);
    sink = open({ segmentsDir });
    await sink.caughtUp();
    await sink.close();
    expect(contents()).toEqual(expected(rows));
    expect(sink.writtenThrough).toBe(30_000n);
  });

  it('reads the rows of kept segments from their files, and the others from the store through the main thread', async () => {
    const segmentsDir = path.join(dir, 'files', '.segments');
    const a = records(0, 1000);
    const b = records(1000, 1000);
    const c = records(2000, 1000);
    for (const part of [a, b, c]) await store.append(rowsOf(part));
    // The kept segment of the middle rows says other messages than the store: what the files get
    // shows where each row was read. A segment file that does not hold the rows its name says is
    // left for the store. The kept rows are long, so that their file is read through more than
    // one window.
    const keptB = b.map((r) => ({ ...r, message: `kept-${r.message} ${'k'.repeat(1500)}` }));
    keep(segmentsDir, 1001n, keptB);
    keep(segmentsDir, 2001n, c.slice(0, 999).map((r) => ({ ...r, message: `torn-${r.message}` })));
    fs.renameSync(path.join(segmentsDir, '2001-999.tsv'), path.join(segmentsDir, '2001-1000.tsv'));
    const sink = open({ segmentsDir });
    await sink.caughtUp();
    await sink.close();
    expect(contents()).toEqual(expected([...a, ...keptB, ...c]));
    expect(sink.writtenThrough).toBe(3000n);
    // Written and checkpointed: the kept files are let go.
    expect(fs.readdirSync(segmentsDir)).toEqual([]);
  });

  it('starts a writer thread that died in the middle of writing again, and neither loses nor repeats a line', async () => {
    const segmentsDir = path.join(dir, 'files', '.segments');
    const all = records(0, 40_000);
    for (let i = 0; i < all.length; i += 10_000) {
      const part = all.slice(i, i + 10_000);
      await store.append(rowsOf(part));
      // Half the rows from kept segments, half from the store.
      if (i % 20_000 === 0) keep(segmentsDir, BigInt(i + 1), part);
    }
    const errors: string[] = [];
    let failures = 0;
    let crash: Promise<void> | null = null;
    let atCrash: { writtenThrough: bigint; lines: number } | null = null;
    const sink: CategoryFileSink = open({
      segmentsDir,
      metrics: {
        ...NO_METRICS,
        failed: () => failures++,
        // The first lines out: the round they belong to is not checkpointed yet.
        written: () => {
          if (crash !== null) return;
          atCrash = { writtenThrough: sink.writtenThrough, lines: Object.values(contents()).flat().length };
          crash = sink.crashWorker();
        },
      },
      log: { info: () => undefined, error: (_obj, msg) => errors.push(msg) },
    });
    await sink.caughtUp();
    await sink.close();
    await crash;
    // It did die with lines in the files that its checkpoints did not cover.
    expect(atCrash!.writtenThrough).toBe(0n);
    expect(atCrash!.lines).toBeGreaterThan(0);
    expect(errors).toContain('the category file worker stopped; starting it again');
    expect(failures).toBe(1);
    expect(sink.error).toBeNull();
    expect(contents()).toEqual(expected(all));
  });
});
