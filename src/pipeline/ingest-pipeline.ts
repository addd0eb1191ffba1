// The one path from every protocol to the store. Requests queue (bounded in bytes); a writer
// appends everything queued to the spool — the write-ahead log — as one group and acknowledges it
// once durable per the durability mode (one fsync covers the whole group; whatever arrives while
// it runs forms the next group, so groups grow with the load and nothing waits on a timer). The
// spool is cut into segments of the store's preferred load size; a loader bulk-loads closed
// segments into the store, exactly once, and deletes them (or hands them to the store's index).
// Queries call `visible()` first, so a search after an acknowledgement sees the acknowledged
// rows: staged in the store's hot tier when it has one (cheap, and the segment keeps growing to
// a whole row group), or else loaded at once. Rows get their sequence numbers in spool order, so
// the pipeline knows each acknowledged row's number before the store has loaded it.

import fs from 'node:fs';
import path from 'node:path';
import { LhError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RowBatch } from '../store/row-format.js';
import type { LoadedSegment, Store } from '../store/store.js';
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
  /** How long the writer waits for more requests before writing a group (0: never waits). */
  flushIntervalMs: number;
  /** Longest row the store can load; a batch with a longer one is refused before it is spooled. */
  maxRowBytes: number;
  /** A segment is closed and loaded when it holds exactly this many rows or this many bytes ... */
  segmentRows: number;
  segmentMaxBytes: number;
  /** ... or when its first row is this old. */
  loadIntervalMs: number;
  /** Gives rows without a category theirs (routing.ts), before anything else sees them. */
  route?: (batch: RowBatch) => RowBatch;
  /**
   * Where each segment's file is also kept, once loaded, as `<firstSeq>-<rows>.tsv` (a hard link,
   * for the category files to read rather than the store), while this folder holds less than
   * keepLoadedMaxBytes; the reader deletes them.
   */
  keepLoadedDir?: string;
  keepLoadedMaxBytes?: number;
}

export interface PipelineLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Pending {
  batch: RowBatch;
  bytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** An acknowledged group of rows, as told to onAcknowledged listeners. */
export interface Acknowledged {
  /** Sequence number of its last row; its rows are the `rows` before it. */
  lastSeq: bigint;
  rows: number;
  /** The group's rows (row-format.ts); valid only during the call. */
  batches: readonly RowBatch[];
}

interface ClosedSegment extends SegmentInfo {
  /** Rows written to the spool up to and including this segment (the `written` counter). */
  upTo: number;
}

/** After a failed load (a full disk, say) the loader tries again after this long. */
const LOAD_RETRY_MS = 1000;

/** Longest a query waits for acknowledged rows to become visible. */
const VISIBLE_WAIT_MS = 30_000;

/** Longest a shutdown waits for the spool to load before leaving the rest for replay. */
const DRAIN_LOAD_MS = 30_000;

/**
 * Most bytes of acknowledged rows waiting to load that reads stage in the store's hot tier (in
 * memory) rather than wait for; beyond it (the loader is far behind) readers wait for loads.
 */
const STAGE_MAX_BYTES = 48 * 2 ** 20;

/** `staged`: acknowledged rows readable, staged or loaded; `loaded`: in the store's table itself. */
export type Visibility = 'staged' | 'loaded';

/** The acknowledged part of the open segment. */
interface OpenAcked {
  id: bigint;
  file: string;
  rows: number;
  bytes: number;
  /** Sequence number of its first row. */
  firstSeq: bigint;
}

export class IngestPipeline {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private queuedRecords = 0;
  private writing: Promise<void> | null = null;
  private closing = false;
  /** Rows written to the spool since start, and rows of those loaded into the store. */
  private written = 0;
  private loaded = 0;
  /** Rows (of `written`) readable through the store's hot tier, or loaded. */
  private stagedUpTo = 0;
  private staging: Promise<void> | null = null;
  /** Rows already staged, per spool segment id, and the bytes they take in its file. */
  private readonly stagedRows = new Map<bigint, { rows: number; bytes: number }>();
  private openAcked: OpenAcked | null = null;
  /** The store numbered a segment otherwise than predicted (see loadLoop). */
  private seqDrift = false;
  /** Listeners told each time a segment is loaded into the store (the category file sink). */
  private readonly loadListeners = new Set<() => void>();
  /** Listeners told of each acknowledged group (live tails, the response cache). */
  private readonly ackListeners = new Set<(ack: Acknowledged) => void | Promise<void>>();
  /** What the listeners of the group just written still do; awaited before it is acknowledged. */
  private ackWork: Promise<unknown>[] = [];
  private segmentFirstWrite = 0;
  private readonly toLoad: ClosedSegment[] = [];
  private loading: Promise<void> | null = null;
  private unloadedBytes = 0;
  private syncing: Promise<void> | null = null;
  private readonly waiters: { upTo: number; resolve: () => void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private lastLoadError: string | null = null;
  /** A query asked for the open segment to be loaded while a group was being written. */
  private rotateWanted = false;
  /** When rows were last submitted (ms since the epoch). */
  lastSubmitAt = 0;
  /** Set by drain(): the loader stops before its next segment. */
  private stopped = false;

  private constructor(
    private readonly store: Store,
    /** Sequence number of the last row in the store when this run began. */
    private readonly seqBase: bigint,
    private readonly spool: Spool,
    private readonly options: IngestPipelineOptions,
    private readonly metrics: Metrics,
    private readonly log: PipelineLog,
  ) {
    this.timers.push(setInterval(() => this.rotateIfDue(), Math.max(10, Math.min(options.loadIntervalMs, 250))));
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
      let kept = false;
      if (!loaded.has(seg.id) && seg.bytes > 0) {
        const done = await store.loadSegment(seg.file, seg.id);
        replayed += done.rows;
        kept = done.fileKept;
      }
      if (!kept) fs.rmSync(seg.file, { force: true });
    }
    metrics.recoveryRows.inc(replayed);
    if (leftovers.length > 0) {
      log.info({ segments: leftovers.length, rows: replayed, ms: Date.now() - started }, 'spool replayed');
    }
    const lastId = leftovers.reduce((m, s) => (s.id > m ? s.id : m), await store.maxSegmentId());
    const spool = new Spool(options.spoolDir, lastId + 1n);
    return new IngestPipeline(store, await store.maxSeq(), spool, options, metrics, log);
  }

  get queueBytes(): number {
    return this.queuedBytes;
  }

  get queueRecords(): number {
    return this.queuedRecords;
  }

  /** Rows written to the spool since start, and how many of them the store has loaded. */
  get loadProgress(): { written: number; loaded: number } {
    return { written: this.written, loaded: this.loaded };
  }

  /** Spooled bytes the store has not loaded yet. */
  get backlogBytes(): number {
    return this.unloadedBytes + this.spool.currentBytes;
  }

  get loadError(): string | null {
    return this.lastLoadError;
  }

  /** Whether acknowledged rows not yet loaded are past ingest.spool_max_bytes: producers are refused until a load makes room. */
  private get overSpoolBound(): boolean {
    return this.backlogBytes > this.options.spoolMaxBytes;
  }

  /** True when a new request of `bytes` would be refused. */
  isFull(bytes = 0): boolean {
    return this.fullBecause(bytes) !== null;
  }

  /**
   * Why a new request of `bytes` would be refused, in words for the producer (which bound, what
   * holds it and the setting), or null when it would not.
   */
  fullBecause(bytes = 0): string | null {
    if (this.overSpoolBound) {
      return `the store is behind: ${this.backlogBytes} bytes acknowledged are not loaded yet (limit ${this.options.spoolMaxBytes}, ingest.spool_max_bytes)`;
    }
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.options.queueMaxBytes) {
      return `${this.queuedBytes} bytes of requests wait to be written to the spool (limit ${this.options.queueMaxBytes}, ingest.queue_max_bytes)`;
    }
    return null;
  }

  /** Queues rows; resolves once every one of them is durable (per the durability mode). */
  submit(rows: RowBatch, bytes: number): Promise<void> {
    this.lastSubmitAt = Date.now();
    const batch = this.options.route !== undefined && rows.count > 0 && !this.closing ? this.options.route(rows) : rows;
    const refused = this.refusal(batch, bytes);
    if (refused !== null || batch.count === 0) {
      batch.release();
      return refused === null ? Promise.resolve() : Promise.reject(refused);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.queuedRecords += batch.count;
      this.updateGauges();
      this.startWriter();
    });
  }

  private startWriter(): void {
    if (this.writing) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = null;
      // A request (or a query's wish to load the open segment) may have come in after the
      // loop's last look at the queue but before this point: it must not wait for the next one.
      if (this.queue.length > 0) this.startWriter();
      else if (this.rotateWanted) this.closeSegment();
    });
  }

  /** Why a batch cannot be queued now, or null. */
  private refusal(batch: RowBatch, bytes: number): LhError | null {
    if (this.closing) return new LhError('LH_ERR_SHUTTING_DOWN');
    if (batch.longestRow > this.options.maxRowBytes) {
      return new LhError('LH_ERR_BAD_BODY', `a record encodes to ${batch.longestRow} bytes, more than the ${this.options.maxRowBytes} the store takes`);
    }
    const full = this.fullBecause(bytes);
    return full === null ? null : new LhError('LH_ERR_OVERLOADED', full);
  }

  /**
   * True while the loader is behind: a segment waits while another loads. Queries then give way
   * (query/limiter.ts), since they share the store's engine with the loader.
   */
  get behind(): boolean {
    return this.toLoad.length >= 2;
  }

  /** Sequence number of the last acknowledged row. */
  get acknowledgedSeq(): bigint {
    return this.seqBase + BigInt(this.written);
  }

  /** Calls `fn` each time a segment has been loaded into the store; returns the function that stops it. */
  onLoaded(fn: () => void): () => void {
    this.loadListeners.add(fn);
    return () => this.loadListeners.delete(fn);
  }

  /**
   * Calls `fn` for each group once it is durable and before it is acknowledged (a promise it
   * returns is awaited first: the response cache records the change before anyone can read it);
   * returns the function that stops it.
   */
  onAcknowledged(fn: (ack: Acknowledged) => void | Promise<void>): () => void {
    this.ackListeners.add(fn);
    return () => this.ackListeners.delete(fn);
  }

  /**
   * Resolves once every row acknowledged before the call is readable: staged in the store's hot
   * tier (`staged`, when the store has one and the backlog is small) or loaded into the store. A
   * failing loader (a full disk) does not hold queries: they answer from what is loaded, at once
   * while loads fail, and after VISIBLE_WAIT_MS at the most.
   */
  visible(mode: Visibility = 'staged'): Promise<void> {
    const target = this.written;
    if (this.loaded >= target || this.lastLoadError !== null) return Promise.resolve();
    if (mode === 'staged' && this.store.stage !== undefined && !this.seqDrift && this.backlogBytes <= STAGE_MAX_BYTES) {
      if (this.stagedUpTo >= target) return Promise.resolve();
      return this.stageAcknowledged(target).catch((e: unknown) => {
        this.log.error({ err: e }, 'staging acknowledged rows failed; waiting for them to load');
        return this.visible('loaded');
      });
    }
    return new Promise((resolve) => {
      const waiter = { upTo: target, resolve: () => (clearTimeout(timer), resolve()) };
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
   * Stages every acknowledged row that is neither loaded nor staged yet, segment by segment;
   * resolves once the rows up to `target` are readable. One staging run at a time: a caller that
   * comes while one runs waits for it and, if it did not cover its rows, runs the next.
   */
  private async stageAcknowledged(target: number): Promise<void> {
    while (this.stagedUpTo < target && this.loaded < target) {
      if (this.staging === null) {
        this.staging = this.stageRun().finally(() => {
          this.staging = null;
        });
      }
      await this.staging;
    }
  }

  private async stageRun(): Promise<void> {
    const upTo = this.written;
    const open = this.openAcked;
    const segments: { id: bigint; file: string; rows: number; bytes: number; firstSeq: bigint }[] = [];
    for (const seg of this.toLoad) {
      segments.push({ id: seg.id, file: seg.file, rows: seg.rows, bytes: seg.bytes, firstSeq: this.seqBase + BigInt(seg.upTo - seg.rows) + 1n });
    }
    if (open !== null && !segments.some((s) => s.id === open.id)) segments.push(open);
    const stage = this.store.stage!.bind(this.store);
    for (const seg of segments) {
      const had = this.stagedRows.get(seg.id) ?? { rows: 0, bytes: 0 };
      if (had.rows >= seg.rows) continue;
      await stage(seg.id, seg.file, had.bytes, seg.bytes, seg.firstSeq + BigInt(had.rows), seg.rows - had.rows);
      this.stagedRows.set(seg.id, { rows: seg.rows, bytes: seg.bytes });
    }
    if (this.stagedUpTo < upTo) this.stagedUpTo = upTo;
    // Segments loaded meanwhile need no entry.
    for (const id of this.stagedRows.keys()) {
      if (id !== this.openAcked?.id && !this.toLoad.some((s) => s.id === id)) this.stagedRows.delete(id);
    }
  }

  /**
   * Refuses new submissions, writes everything accepted, and loads the spool into the store —
   * unless loading fails or takes longer than DRAIN_LOAD_MS: what is left stays in the spool
   * (acknowledged and durable) and is replayed at the next start.
   */
  async drain(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    while (this.writing) await this.writing;
    await this.syncsSettled();
    if (this.options.durability !== 'none') await this.syncNow().catch(() => undefined);
    this.sealWhenSynced();
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
    this.spool.close();
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.options.flushIntervalMs > 0 && this.queuedRecords < this.options.maxBatchRows && !this.closing) {
        await new Promise((r) => setTimeout(r, this.options.flushIntervalMs));
      }
      const group = this.takeGroup();
      const started = process.hrtime.bigint();
      let rows: number;
      try {
        rows = await this.writeGroup(group.map((p) => p.batch));
      } catch (e) {
        const err = spoolError(e);
        for (const p of group) {
          p.batch.release();
          p.reject(err);
        }
        this.updateGauges();
        continue;
      }
      for (const p of group) p.batch.release();
      if (this.ackWork.length > 0) {
        const work = this.ackWork;
        this.ackWork = [];
        await Promise.allSettled(work);
      }
      this.metrics.flushSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.metrics.ingestBatches.inc();
      this.metrics.batchRows.observe(rows);
      for (const p of group) p.resolve();
      if (this.rotateWanted || this.segmentAged()) this.sealWhenSynced();
      this.updateGauges();
    }
  }

  /**
   * Appends the batches to the spool — all of them or, when a write or fsync fails, none — and
   * makes them durable per the durability mode. A segment is sealed each time it reaches
   * segmentRows rows or segmentMaxBytes bytes, the batch that crosses the line split at a row
   * boundary, so the store loads whole row groups (and never a segment too big to load). Returns
   * the rows written.
   */
  private async writeGroup(batches: RowBatch[]): Promise<number> {
    const { segmentRows, segmentMaxBytes } = this.options;
    const mark = this.spool.mark();
    let chunks: Buffer[] = [];
    let chunkRows = 0;
    let chunkBytes = 0;
    let total = 0;
    try {
      for (const b of batches) {
        let bytes = b.bytes;
        let count = b.count;
        while (count > 0) {
          const roomRows = segmentRows - this.spool.currentRows - chunkRows;
          const roomBytes = segmentMaxBytes - this.spool.currentBytes - chunkBytes;
          if (count < roomRows && bytes.length < roomBytes) {
            chunks.push(bytes);
            chunkRows += count;
            chunkBytes += bytes.length;
            break;
          }
          // This batch fills the segment: write up to the boundary, seal, go on with the rest.
          // (A single row bigger than a whole segment still goes in, alone.)
          const empty = this.spool.currentRows + chunkRows === 0;
          const [rows, cut] = rowsThatFit(bytes, roomRows, roomBytes, empty);
          if (rows > 0) chunks.push(bytes.subarray(0, cut));
          if (chunkRows + rows > 0) this.appendChunks(chunks, chunkRows + rows);
          if (this.options.durability !== 'none') await this.syncNow();
          await this.syncsSettled();
          this.spool.seal();
          total += chunkRows + rows;
          chunks = [];
          chunkRows = 0;
          chunkBytes = 0;
          bytes = bytes.subarray(cut);
          count -= rows;
        }
      }
      if (chunkRows > 0) {
        this.appendChunks(chunks, chunkRows);
        total += chunkRows;
      }
      if (this.options.durability === 'fsync') await this.syncNow();
    } catch (e) {
      this.spool.rollback(mark);
      throw e;
    }
    this.written += total;
    const open = this.spool.current;
    this.openAcked =
      open === null
        ? null
        : { id: open.id, file: open.file, rows: open.rows, bytes: open.bytes, firstSeq: this.seqBase + BigInt(this.written - open.rows) + 1n };
    this.queueSealed(this.written - this.spool.currentRows);
    if (this.ackListeners.size > 0) {
      const ack: Acknowledged = { lastSeq: this.acknowledgedSeq, rows: total, batches };
      for (const fn of this.ackListeners) {
        const r = fn(ack);
        if (r !== undefined) this.ackWork.push(r);
      }
    }
    return total;
  }

  private appendChunks(chunks: Buffer[], rows: number): void {
    if (this.spool.currentRows === 0) this.segmentFirstWrite = Date.now();
    this.spool.write(chunks, rows);
  }

  /**
   * Whether the open segment is old enough to be loaded. Not while the loader is busy: sealed by
   * age, it would only wait behind the loads under way, where it can keep filling towards a whole
   * row group (partial groups are rewritten by every later load). A query that needs its rows
   * still seals it at once (visible). Past the spool's bound it is due at any age: producers are
   * refused until a load makes room, and the age would only keep them waiting.
   */
  private segmentAged(): boolean {
    if (this.loading !== null || this.toLoad.length > 0 || this.spool.currentRows === 0) return false;
    return this.overSpoolBound || Date.now() - this.segmentFirstWrite >= this.options.loadIntervalMs;
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

  /**
   * Closes the open segment for loading when it is old enough, or when `force`d (a query waits
   * for it).
   */
  private rotateIfDue(force = false): void {
    if (this.spool.currentRows > 0 && (force || this.segmentAged())) this.closeSegment();
  }

  /** Seals the open segment and queues it for loading; while a group is being written, the writer does it after the group. */
  private closeSegment(): void {
    if (this.writing) {
      this.rotateWanted = true;
      return;
    }
    this.sealWhenSynced();
  }

  /** Seals the open segment once no fsync is in flight on it (the writer's own call). */
  private sealWhenSynced(): void {
    this.rotateWanted = false;
    if (this.syncing) {
      const again = () => this.closeSegment();
      void this.syncing.then(again, again);
      return;
    }
    this.spool.seal();
    this.queueSealed(this.written);
  }

  /** Waits until no fsync is in flight (a batch-mode timer's, say). */
  private async syncsSettled(): Promise<void> {
    while (this.syncing) await this.syncing.catch(() => undefined);
  }

  /** Hands the sealed segments to the loader; `upTo` is the row count at the end of the last. */
  private queueSealed(upTo: number): void {
    const sealed = this.spool.takeSealed();
    let end = upTo;
    for (let i = sealed.length - 1; i >= 0; i--) {
      const seg = sealed[i]!;
      this.toLoad.push({ ...seg, upTo: end });
      end -= seg.rows;
      this.unloadedBytes += seg.bytes;
    }
    if (sealed.length > 1) this.toLoad.sort((a, b) => (a.id < b.id ? -1 : 1));
    if (sealed.length === 0) return;
    this.loading ??= this.loadLoop().finally(() => {
      this.loading = null;
    });
  }

  private async loadLoop(): Promise<void> {
    while (this.toLoad.length > 0 && !this.stopped) {
      const seg = this.toLoad[0]!;
      let done: LoadedSegment;
      // Linked before the load: the store moves the file on (to its index) once loaded.
      const kept = this.keepLink(seg);
      try {
        done = await this.store.loadSegment(seg.file, seg.id);
        this.lastLoadError = null;
      } catch (e) {
        // The rows are safe in the spool: say so, and try again (a full disk may be freed).
        this.lastLoadError = (e as Error).message;
        if (kept !== null) fs.rmSync(kept, { force: true });
        this.log.error({ err: e, segment: String(seg.id) }, 'loading a spool segment failed; will retry');
        for (const w of this.waiters.splice(0)) w.resolve();
        if (this.closing) return;
        await new Promise((r) => setTimeout(r, LOAD_RETRY_MS));
        continue;
      }
      const expected = this.seqBase + BigInt(seg.upTo - seg.rows) + 1n;
      // (A store that numbers rows from a counter shared with other instances never matches, and never stages.)
      if (done.rows > 0 && done.firstSeq !== expected && !this.seqDrift && this.store.stage !== undefined) {
        // Rows reached the store another way: staged rows would carry wrong numbers. Reads wait
        // for loads from now on, which is slower but right.
        this.seqDrift = true;
        this.log.error({ segment: String(seg.id), first_seq: String(done.firstSeq), expected: String(expected) }, 'sequence numbers drifted; no more staging');
      }
      if (kept !== null) this.keptLoaded(kept, done);
      if (!done.fileKept) {
        // Off the event loop: unlinking a segment of tens of MB takes milliseconds.
        void fs.promises.rm(seg.file, { force: true }).catch((e: Error) => this.log.error({ err: e, file: seg.file }, 'cannot delete a loaded spool segment'));
      }
      this.toLoad.shift();
      this.stagedRows.delete(seg.id);
      this.unloadedBytes -= seg.bytes;
      this.loaded = seg.upTo;
      if (this.stagedUpTo < this.loaded) this.stagedUpTo = this.loaded;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.upTo <= this.loaded) this.waiters.splice(i, 1)[0]!.resolve();
      }
      for (const fn of this.loadListeners) fn();
      this.updateGauges();
    }
  }

  /** Links a segment's file into keepLoadedDir before its load; the link, or null when not kept. */
  private keepLink(seg: ClosedSegment): string | null {
    const dir = this.options.keepLoadedDir;
    if (dir === undefined || seg.bytes === 0) return null;
    if (this.keptBytes() + seg.bytes > (this.options.keepLoadedMaxBytes ?? Infinity)) return null;
    const link = path.join(dir, `segment-${seg.id}.tsv`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.rmSync(link, { force: true });
      fs.linkSync(seg.file, link);
      return link;
    } catch (e) {
      this.log.error({ err: e, file: seg.file }, 'cannot keep a loaded segment for the category files; they read it from the store');
      return null;
    }
  }

  /** Names a kept segment by the sequence numbers the load gave its rows (none: it goes). */
  private keptLoaded(link: string, done: LoadedSegment): void {
    try {
      if (done.rows === 0) fs.rmSync(link, { force: true });
      else fs.renameSync(link, path.join(path.dirname(link), `${done.firstSeq}-${done.rows}.tsv`));
    } catch (e) {
      this.log.error({ err: e, file: link }, 'cannot name a kept segment; the category files read its rows from the store');
      fs.rmSync(link, { force: true });
    }
  }

  /** Bytes of the segments kept for the category files. */
  private keptBytes(): number {
    const dir = this.options.keepLoadedDir!;
    let total = 0;
    try {
      for (const f of fs.readdirSync(dir)) total += fs.statSync(path.join(dir, f)).size;
    } catch {
      // not there yet
    }
    return total;
  }

  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (group.length > 0 && rows + next.batch.count > this.options.maxBatchRows) break;
      this.queue.shift();
      group.push(next);
      rows += next.batch.count;
      this.queuedBytes -= next.bytes;
      this.queuedRecords -= next.batch.count;
    }
    return group;
  }

  private updateGauges(): void {
    this.metrics.queueBytes.set(this.queuedBytes);
    this.metrics.queueRecords.set(this.queuedRecords);
    this.metrics.spoolBacklogBytes.set(this.backlogBytes);
  }
}

/**
 * How many of the leading rows (newline-terminated lines) of `bytes` fit in `maxRows` rows and
 * `maxBytes` bytes, and the offset just after them; at least one when `atLeastOne`.
 */
function rowsThatFit(bytes: Buffer, maxRows: number, maxBytes: number, atLeastOne: boolean): [number, number] {
  let rows = 0;
  let at = 0;
  while (rows < maxRows) {
    const next = bytes.indexOf(10, at) + 1;
    if (next === 0 || (next > maxBytes && !(atLeastOne && rows === 0))) break;
    at = next;
    rows++;
  }
  return [rows, at];
}

function spoolError(e: unknown): LhError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
    return new LhError('LH_ERR_DISK_FULL', 'no space left to spool the records; nothing from this request was kept', undefined, { cause: e });
  }
  return new LhError('LH_ERR_STORE', `writing the spool failed: ${err.message}`, undefined, { cause: e });
}
