// Keeps the token index of the store current, off the ingest path: each loaded segment's row file
// (the spool segment it came from) is moved into DATA/index/pending/ and summarised by a worker
// thread running at the lowest CPU priority, so indexing only uses CPU that ingest and queries
// leave idle; the summary is written to DATA/index/<firstSeq>.idx and attached to the catalog.
// Summaries are derived data: a missing or unreadable one is rebuilt from the store's rows, and
// until it exists the segment is simply read in full. This module is both sides: imported, it
// manages the worker; run as the worker, it indexes.

import fs from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SegmentCatalog, SegmentExtent } from './segment-catalog.js';
import type { SegmentInfo } from './segment-filter.js';
import { SegmentIndexer, type BuiltSummary } from './segment-indexer.js';
import { closeSummaryFile, readSummary, writeSummary } from './segment-summary.js';
import { lowerThreadPriority, startModuleWorker } from '../../worker-thread.js';

const ROLE = 'loghaven-segment-index';
const READ_CHUNK = 1 << 20;
const WORKER_YOUNG_GENERATION_MB = 4;

interface Job {
  id: number;
  file: string;
  out: string;
  firstSeq: string;
  lastSeq: string;
}

type Answer = { id: number; ok: true } | { id: number; ok: false; message: string };

const serving = globalThis as { loghavenIndexWorker?: boolean };
// Once per thread: under the test runner's loader the module can be evaluated twice.
if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE && !serving.loghavenIndexWorker) {
  serving.loghavenIndexWorker = true;
  // The lowest CPU priority: nice 19 alone still let it hold a core long enough to raise the
  // ingest p99 at 50,000 lines/s from ~8 ms to 10–30 ms (BENCHMARKS.md).
  lowerThreadPriority(19, { idle: true });
  const port = parentPort!;
  port.on('message', (job: Job) => {
    let answer: Answer;
    try {
      const built = indexFile(job.file, BigInt(job.firstSeq), BigInt(job.lastSeq));
      const tmp = `${job.out}.tmp`;
      writeSummary(tmp, built.summary, built.words);
      fs.renameSync(tmp, job.out);
      fs.rmSync(job.file, { force: true });
      answer = { id: job.id, ok: true };
    } catch (e) {
      answer = { id: job.id, ok: false, message: (e as Error).message };
    }
    port.postMessage(answer);
  });
}

/**
 * The worker's read buffer and indexer, reused for every segment: chunks are indexed as they are
 * read, and the indexer keeps its working space, so a segment leaves next to no garbage behind.
 */
let readBuffer: Buffer | undefined;
let reusable: SegmentIndexer | undefined;

/** Summarises a file of rows (row-format.ts); the summary's words are valid until the next call. */
export function indexFile(file: string, firstSeq: bigint, lastSeq: bigint): BuiltSummary {
  const indexer = reusable ?? new SegmentIndexer();
  // Taken while in use: a failure leaves it half-filled, and the next segment gets a new one.
  reusable = undefined;
  const fd = fs.openSync(file, 'r');
  try {
    const buf = (readBuffer ??= Buffer.allocUnsafe(READ_CHUNK));
    for (;;) {
      const n = fs.readSync(fd, buf, 0, READ_CHUNK, null);
      if (n === 0) break;
      indexer.push(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  const built = indexer.finish(firstSeq, lastSeq);
  reusable = indexer;
  return built;
}

export interface SegmentIndexLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SegmentIndexOptions {
  /** DATA/index */
  dir: string;
  catalog: SegmentCatalog;
  /** Writes a segment's rows in the row format to `file`, for a summary to be rebuilt. */
  exportRows: (extent: SegmentExtent, file: string) => Promise<void>;
  log: SegmentIndexLog;
}

interface Pending {
  info: SegmentInfo;
  /** The row file, or null when it must first be exported from the store. */
  file: string | null;
  /** Size of a kept row file (counted in pendingBytes until it is indexed). */
  bytes: number;
}

/** Most bytes of row files kept waiting for the worker. */
const MAX_PENDING_BYTES = 2 * 2 ** 30;

const pad = (seq: bigint) => seq.toString().padStart(20, '0');

export class SegmentIndex {
  private worker: Worker | null = null;
  private readonly queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private readonly waiters = new Map<number, (a: Answer) => void>();
  private nextId = 1;
  private closed = false;
  /** Segments whose summary failed to build: read in full, not retried until the next start. */
  private readonly failed = new Set<bigint>();
  private idleWaiters: (() => void)[] = [];
  /** Bytes of the row files kept in the pending folder. */
  private pendingBytes = 0;

  private constructor(private readonly options: SegmentIndexOptions) {}

  /**
   * Reads the summaries on disk into the catalog and queues every segment without one: from its
   * pending row file when there is one, otherwise exported from the store.
   */
  static open(options: SegmentIndexOptions): SegmentIndex {
    const index = new SegmentIndex(options);
    fs.mkdirSync(index.pendingDir, { recursive: true });
    const known = new Set<string>();
    for (const s of options.catalog.all()) {
      known.add(pad(s.firstSeq));
      const file = index.summaryFile(s.firstSeq);
      if (fs.existsSync(file)) {
        try {
          if (options.catalog.attach(readSummary(file))) continue;
        } catch (e) {
          options.log.error({ err: e, file }, 'cannot read a segment summary; rebuilding it');
        }
      }
      const rows = index.pendingFile(s.firstSeq);
      const bytes = fs.existsSync(rows) ? fs.statSync(rows).size : 0;
      index.pendingBytes += bytes;
      index.queue.push({ info: s, file: bytes > 0 ? rows : null, bytes });
    }
    // Leftovers of segments that are gone (or of a crash mid-write).
    for (const name of fs.readdirSync(options.dir)) {
      const m = /^(\d{20})\.idx$/.exec(name);
      if ((m && !known.has(m[1]!)) || name.endsWith('.tmp')) fs.rmSync(path.join(options.dir, name), { force: true });
    }
    for (const name of fs.readdirSync(index.pendingDir)) {
      const m = /^(\d{20})\.tsv$/.exec(name);
      if (!m || !known.has(m[1]!)) fs.rmSync(path.join(index.pendingDir, name), { force: true });
    }
    // Segments with their row files first: the exports read the store.
    index.queue.sort((a, b) => Number(a.file === null) - Number(b.file === null));
    if (index.queue.length > 0) index.kick();
    return index;
  }

  private get pendingDir(): string {
    return path.join(this.options.dir, 'pending');
  }

  private summaryFile(firstSeq: bigint): string {
    return path.join(this.options.dir, `${pad(firstSeq)}.idx`);
  }

  private pendingFile(firstSeq: bigint): string {
    return path.join(this.pendingDir, `${pad(firstSeq)}.tsv`);
  }

  /** Summarises a segment again from the store (retention had emptied it, a restore filled it). */
  summarise(info: SegmentInfo): void {
    if (this.closed) return;
    this.queue.push({ info, file: null, bytes: 0 });
    this.kick();
  }

  /** Drops a segment's summary (retention emptied it); one being built is dropped when it attaches to nothing. */
  forget(firstSeq: bigint): void {
    const at = this.queue.findIndex((p) => p.info.firstSeq === firstSeq);
    if (at >= 0) {
      const [p] = this.queue.splice(at, 1);
      if (p!.file !== null) fs.rmSync(p!.file, { force: true });
      this.pendingBytes -= p!.bytes;
    }
    fs.rmSync(this.summaryFile(firstSeq), { force: true });
  }

  /** Segments waiting for their summary (queued or being built). */
  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /**
   * Takes a loaded segment's row file: it is moved into the pending folder (the caller must not
   * touch it again) and summarised when the worker gets to it.
   */
  take(file: string, info: SegmentInfo): void {
    if (this.closed) {
      fs.rmSync(file, { force: true });
      return;
    }
    // Under a long overload the worker (lowest priority) falls behind: past a bound the files are
    // not kept, and those segments are summarised later from the store instead.
    const bytes = fs.statSync(file).size;
    if (this.pendingBytes + bytes > MAX_PENDING_BYTES) {
      fs.rmSync(file, { force: true });
      this.queue.push({ info, file: null, bytes: 0 });
      this.kick();
      return;
    }
    const target = this.pendingFile(info.firstSeq);
    fs.renameSync(file, target);
    this.pendingBytes += bytes;
    // Fresh segments go before rebuilds, which read the store.
    const at = this.queue.findIndex((p) => p.file === null);
    this.queue.splice(at === -1 ? this.queue.length : at, 0, { info, file: target, bytes });
    this.kick();
  }

  /** Resolves once nothing is waiting to be indexed (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    await this.running?.catch(() => undefined);
    await this.worker?.terminate();
    this.worker = null;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private kick(): void {
    if (this.running || this.closed) return;
    const next = this.queue.shift();
    if (next === undefined) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.running = this.build(next).finally(() => {
      this.running = null;
      this.kick();
    });
  }

  private async build(p: Pending): Promise<void> {
    try {
      await this.buildSummary(p);
    } finally {
      this.pendingBytes -= p.bytes;
    }
  }

  private async buildSummary(p: Pending): Promise<void> {
    const { info } = p;
    if (this.failed.has(info.firstSeq) || info.summary !== null) return;
    let file = p.file;
    try {
      if (file === null) {
        file = this.pendingFile(info.firstSeq);
        await this.options.exportRows(info, file);
      }
      const answer = await this.ask({
        id: this.nextId++,
        file,
        out: this.summaryFile(info.firstSeq),
        firstSeq: info.firstSeq.toString(),
        lastSeq: info.lastSeq.toString(),
      });
      if (!answer.ok) throw new Error(answer.message);
      const out = this.summaryFile(info.firstSeq);
      closeSummaryFile(out);
      this.options.catalog.attach(readSummary(out));
    } catch (e) {
      if (this.closed) return;
      this.failed.add(info.firstSeq);
      if (file !== null) fs.rmSync(file, { force: true });
      this.options.log.error(
        { err: e, first_seq: String(info.firstSeq), last_seq: String(info.lastSeq) },
        'cannot index a segment; searches read it in full',
      );
    }
  }

  private ask(job: Job): Promise<Answer> {
    const worker = this.started();
    return new Promise((resolve) => {
      this.waiters.set(job.id, resolve);
      worker.postMessage(job);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startIndexWorker();
    worker.unref();
    worker.on('message', (a: Answer) => {
      const w = this.waiters.get(a.id);
      this.waiters.delete(a.id);
      w?.(a);
    });
    const fail = (message: string) => {
      this.worker = null;
      for (const [id, w] of this.waiters) w({ id, ok: false, message });
      this.waiters.clear();
    };
    worker.on('error', (e) => fail(`index worker failed: ${e.message}`));
    worker.on('exit', (code) => fail(`index worker exited with code ${code}`));
    this.worker = worker;
    return worker;
  }
}

/** A worker thread that indexes (this module, run as the worker). */
function startIndexWorker(): Worker {
  // Its working space is reused from one segment to the next (indexFile): a small young
  // generation is collected often and keeps the thread's memory to a few MB.
  return startModuleWorker(import.meta.url, { workerData: { role: ROLE }, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
}

/**
 * Summarises a file of `rows` rows (row-format.ts) into `out` on a worker thread of its own, at
 * the lowest priority, and deletes the file: the token summary of an archived day (its blocks
 * numbered from 1 in the file's row order). Rejects with the worker's error.
 */
export async function summariseRowFile(file: string, out: string, rows: number): Promise<void> {
  const worker = startIndexWorker();
  try {
    const answer = await new Promise<Answer>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`index worker exited with code ${code}`)));
      worker.postMessage({ id: 1, file, out, firstSeq: '1', lastSeq: String(rows) } satisfies Job);
    });
    if (!answer.ok) throw new Error(answer.message);
  } finally {
    await worker.terminate();
  }
}
