// The one path from every protocol to the store. Requests queue (bounded in bytes); a writer
// appends each group of queued requests to the spool — the write-ahead log — and acknowledges
// them once durable per the durability mode (one fsync covers the whole group); a loader
// bulk-loads closed spool segments into the store, exactly once, and deletes them. Queries call
// `visible()` first, so a search after an acknowledgement sees the acknowledged rows.

import fs from 'node:fs';
import { LhError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { AppendResult, RecordBatch, Store } from '../store/store.js';
import { encodeSeqLines } from '../store/row-format.js';
import { Spool, type SegmentInfo } from './spool.js';

export type Durability = 'fsync' | 'batch' | 'none';

export interface IngestPipelineOptions {
  spoolDir: string;
  /** fsync: acknowledged = fsynced; batch: fsync every fsyncIntervalMs; none: left to the OS. */
  durability: Durability;
  fsyncIntervalMs: number;
  /** Bound on the bytes of requests waiting to be written; past it, submissions get 429. */
  queueMaxBytes: number;
  /** Bound on spooled bytes not yet loaded into the store (the loader's backlog). */
  spoolMaxBytes: number;
  /** Most rows written to the spool in one group. */
  maxBatchRows: number;
  /** How long the writer waits for more requests before writing a small group. */
  flushIntervalMs: number;
  /** A segment is closed and loaded when it holds this many rows ... */
  segmentRows: number;
  /** ... or when it is this old. */
  loadIntervalMs: number;
}

export interface PipelineLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Pending {
  batch: RecordBatch;
  bytes: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

interface ClosedSegment extends SegmentInfo {
  lastSeq: bigint;
}

/** After a failed load (a full disk, say) the loader tries again after this long. */
const LOAD_RETRY_MS = 1000;

/** Longest a query waits for acknowledged rows to become visible. */
const VISIBLE_WAIT_MS = 30_000;

/** Longest a shutdown waits for the spool to load before leaving the rest for replay. */
const DRAIN_LOAD_MS = 30_000;

export class IngestPipeline {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private queuedRecords = 0;
  private writing: Promise<void> | null = null;
  private closing = false;
  private nextSeq: bigint;
  /** Highest sequence number written to the spool / loaded into the store. */
  private writtenSeq: bigint;
  private loadedSeq: bigint;
  private segmentFirstWrite = 0;
  private readonly toLoad: ClosedSegment[] = [];
  private loading: Promise<void> | null = null;
  private unloadedBytes = 0;
  private syncing: Promise<void> | null = null;
  private readonly waiters: { seq: bigint; resolve: () => void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private lastLoadError: string | null = null;
  /** Set by drain(): the loader stops before its next segment. */
  private stopped = false;

  private constructor(
    private readonly store: Store,
    private readonly spool: Spool,
    private readonly options: IngestPipelineOptions,
    private readonly metrics: Metrics,
    private readonly log: PipelineLog,
    maxSeq: bigint,
  ) {
    this.nextSeq = maxSeq + 1n;
    this.writtenSeq = maxSeq;
    this.loadedSeq = maxSeq;
    this.timers.push(setInterval(() => this.rotateIfDue(), Math.max(10, options.loadIntervalMs)));
    if (options.durability === 'batch') {
      this.timers.push(setInterval(() => void this.syncNow().catch(() => undefined), Math.max(1, options.fsyncIntervalMs)));
    }
    for (const t of this.timers) t.unref();
  }

  /** Replays what an earlier run spooled but did not load, then opens a new spool. */
  static async open(store: Store, options: IngestPipelineOptions, metrics: Metrics, log: PipelineLog): Promise<IngestPipeline> {
    const started = Date.now();
    const leftovers = Spool.leftovers(options.spoolDir);
    const loaded = await store.loadedSegments(leftovers.map((s) => s.id));
    let replayed = 0;
    for (const seg of leftovers) {
      if (!loaded.has(seg.id) && seg.bytes > 0) replayed += await store.loadSegment(seg.file, seg.id);
      fs.rmSync(seg.file, { force: true });
    }
    metrics.recoveryRows.inc(replayed);
    if (leftovers.length > 0) {
      log.info({ segments: leftovers.length, rows: replayed, ms: Date.now() - started }, 'spool replayed');
    }
    const lastId = leftovers.reduce((m, s) => (s.id > m ? s.id : m), await store.maxSegmentId());
    const spool = new Spool(options.spoolDir, lastId + 1n);
    return new IngestPipeline(store, spool, options, metrics, log, await store.maxSeq());
  }

  get queueBytes(): number {
    return this.queuedBytes;
  }

  get queueRecords(): number {
    return this.queuedRecords;
  }

  /** Spooled bytes the store has not loaded yet. */
  get backlogBytes(): number {
    return this.unloadedBytes + this.spool.currentBytes;
  }

  get loadError(): string | null {
    return this.lastLoadError;
  }

  /** True when a new request of `bytes` would be refused. */
  isFull(bytes = 0): boolean {
    if (this.backlogBytes > this.options.spoolMaxBytes) return true;
    return this.queuedBytes > 0 && this.queuedBytes + bytes > this.options.queueMaxBytes;
  }

  /** Queues a batch; resolves once every row in it is durable (per the durability mode). */
  submit(batch: RecordBatch, bytes: number): Promise<AppendResult> {
    if (this.closing) return Promise.reject(new LhError('LH_ERR_SHUTTING_DOWN'));
    if (batch.rows.length === 0) return Promise.resolve({ firstSeq: 0n, count: 0 });
    if (this.isFull(bytes)) {
      this.metrics.overloaded.inc();
      return Promise.reject(
        new LhError(
          'LH_ERR_OVERLOADED',
          `${this.queuedBytes} bytes queued (limit ${this.options.queueMaxBytes}), ${this.backlogBytes} bytes not yet loaded (limit ${this.options.spoolMaxBytes})`,
        ),
      );
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ batch, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.queuedRecords += batch.rows.length;
      this.updateGauges();
      this.writing ??= this.writeLoop().finally(() => {
        this.writing = null;
      });
    });
  }

  /**
   * Resolves once every row acknowledged before the call is loaded into the store. A failing
   * loader (a full disk) does not hold queries: they answer from what is loaded, at once while
   * loads fail, and after VISIBLE_WAIT_MS at the most.
   */
  visible(): Promise<void> {
    const target = this.writtenSeq;
    if (this.loadedSeq >= target || this.lastLoadError !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { seq: target, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        resolve();
      }, VISIBLE_WAIT_MS);
      this.waiters.push(waiter);
      this.rotateIfDue(true);
    });
  }

  /**
   * Refuses new submissions, writes everything accepted, and loads the spool into the store —
   * unless loading fails or takes longer than DRAIN_LOAD_MS: what is left stays in the spool
   * (acknowledged and durable) and is replayed at the next start.
   */
  async drain(): Promise<void> {
    this.closing = true;
    while (this.writing) await this.writing;
    await this.syncing;
    this.closeSegment();
    const deadline = Date.now() + DRAIN_LOAD_MS;
    while (this.loading && this.lastLoadError === null && Date.now() < deadline) {
      await Promise.race([this.loading, new Promise((r) => setTimeout(r, 100))]);
    }
    if (this.toLoad.length > 0) {
      this.log.error(
        { segments: this.toLoad.length, bytes: this.unloadedBytes, error: this.lastLoadError },
        'stopping with spool segments not loaded; they are replayed at the next start',
      );
    }
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.spool.close();
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.options.flushIntervalMs > 0 && this.queuedRecords < this.options.maxBatchRows && !this.closing) {
        await new Promise((r) => setTimeout(r, this.options.flushIntervalMs));
      }
      const group = this.takeGroup();
      const rows: string[] = [];
      for (const p of group) for (const row of p.batch.rows) rows.push(row);
      const firstSeq = this.nextSeq;
      const started = process.hrtime.bigint();
      try {
        if (this.spool.currentRows === 0) this.segmentFirstWrite = Date.now();
        this.spool.write(encodeSeqLines(rows, firstSeq), rows.length);
        this.nextSeq += BigInt(rows.length);
        this.writtenSeq = this.nextSeq - 1n;
        if (this.options.durability === 'fsync') await this.syncNow();
      } catch (e) {
        const err = spoolError(e);
        for (const p of group) p.reject(err);
        continue;
      }
      this.metrics.flushSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.metrics.ingestBatches.inc();
      this.metrics.batchRows.observe(rows.length);
      let seq = firstSeq;
      for (const p of group) {
        p.resolve({ firstSeq: seq, count: p.batch.rows.length });
        seq += BigInt(p.batch.rows.length);
      }
      this.updateGauges();
      this.rotateIfDue();
    }
  }

  private syncNow(): Promise<void> {
    const started = process.hrtime.bigint();
    // Concurrent callers share one fdatasync; a call made after it began waits for the next.
    const run = (this.syncing ?? Promise.resolve()).then(() => this.spool.sync());
    const tracked = run.finally(() => {
      if (this.syncing === tracked) this.syncing = null;
      this.metrics.fsyncSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
    this.syncing = tracked;
    return tracked;
  }

  /** Closes the open segment for loading when it is big or old enough, or when `force`d. */
  private rotateIfDue(force = false): void {
    const rows = this.spool.currentRows;
    if (rows === 0) return;
    const due =
      force ||
      this.waiters.length > 0 ||
      rows >= this.options.segmentRows ||
      Date.now() - this.segmentFirstWrite >= this.options.loadIntervalMs;
    // Never while a write group is between its write and its fsync: that fd is still in use.
    if (!due || this.syncing) {
      if (due && this.syncing) void this.syncing.then(() => this.rotateIfDue(force));
      return;
    }
    this.closeSegment();
  }

  private closeSegment(): void {
    const seg = this.spool.rotate();
    if (seg === null) return;
    this.toLoad.push({ ...seg, lastSeq: this.writtenSeq });
    this.unloadedBytes += seg.bytes;
    this.loading ??= this.loadLoop().finally(() => {
      this.loading = null;
    });
  }

  private async loadLoop(): Promise<void> {
    while (this.toLoad.length > 0 && !this.stopped) {
      const seg = this.toLoad[0]!;
      try {
        await this.store.loadSegment(seg.file, seg.id);
        this.lastLoadError = null;
      } catch (e) {
        // The rows are safe in the spool: say so, and try again (a full disk may be freed).
        this.lastLoadError = (e as Error).message;
        this.log.error({ err: e, segment: String(seg.id) }, 'loading a spool segment failed; will retry');
        for (const w of this.waiters.splice(0)) w.resolve();
        if (this.closing) return;
        await new Promise((r) => setTimeout(r, LOAD_RETRY_MS));
        continue;
      }
      fs.rmSync(seg.file, { force: true });
      this.toLoad.shift();
      this.unloadedBytes -= seg.bytes;
      this.loadedSeq = seg.lastSeq;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.seq <= this.loadedSeq) this.waiters.splice(i, 1)[0]!.resolve();
      }
      this.updateGauges();
    }
  }

  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (group.length > 0 && rows + next.batch.rows.length > this.options.maxBatchRows) break;
      this.queue.shift();
      group.push(next);
      rows += next.batch.rows.length;
      this.queuedBytes -= next.bytes;
      this.queuedRecords -= next.batch.rows.length;
    }
    return group;
  }

  private updateGauges(): void {
    this.metrics.queueBytes.set(this.queuedBytes);
    this.metrics.queueRecords.set(this.queuedRecords);
    this.metrics.spoolBacklogBytes.set(this.backlogBytes);
  }
}

function spoolError(e: unknown): LhError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
    return new LhError('LH_ERR_DISK_FULL', 'no space left to spool the records; nothing from this request was kept', undefined, { cause: e });
  }
  return new LhError('LH_ERR_STORE', `writing the spool failed: ${err.message}`, undefined, { cause: e });
}
