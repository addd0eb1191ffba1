// The category file sink (SPEC §4): every loaded record appended to its day's category file, with
// error/warning copies, exactly once across kill -9 (category-file-writer.ts does the work).
//
// The writer runs on a worker thread of its own: rendering tens of thousands of rows to JSON lines
// and writing them held the event loop for tens of ms at a time, which was most of the
// acknowledgement tail under load (BENCHMARKS.md, issue 16). The main thread only tells it how
// far the store has loaded and answers its reads of rows the pipeline did not keep as segment
// files (the store's connections live here). A worker that dies is reported and started again:
// it recovers the files to their last checkpoint, so nothing is lost or written twice.
// This module is both sides: imported, it runs the worker; run as the worker, it writes.

import fs from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type { Store } from '../store/store.js';
import { startModuleWorker } from '../worker-thread.js';
import { CategoryFileWriter, type SinkLog, type WriterOptions, type WriterProgress } from './category-file-writer.js';
import { CategoryFileNames } from './file-names.js';
import { encodeStorePage } from './store-pages.js';

export { categoryFileName, escapeFileName } from './file-names.js';
export type { SinkLog } from './category-file-writer.js';

export type CategoryFileOptions = WriterOptions;

export interface CategoryFileMetrics {
  openHandles(n: number): void;
  bufferedBytes(n: number): void;
  flushed(files: number): void;
  emfileRecovered(): void;
  fileCreated(): void;
  written(records: number, bytes: number): void;
  failed(): void;
}

const ROLE = 'loghaven-category-files';

/** Messages to the worker. */
type ToWriter =
  /** `awaited`: rows someone waits for in the files (caughtUp), written without a pace; 0 when nobody waits. */
  | { type: 'loaded'; seq: bigint; awaited: bigint }
  | { type: 'page'; id: number; ok: true; page: string; through: bigint }
  | { type: 'page'; id: number; ok: false; message: string }
  | { type: 'close' };

/** Messages from the worker. */
type FromWriter =
  | ({ type: 'progress' } & WriterProgress)
  | { type: 'read'; id: number; afterSeq: bigint; limit: number }
  | { type: 'log'; level: 'info' | 'error'; obj: Record<string, unknown>; msg: string }
  | { type: 'closed' };

interface WriterSetup {
  role: typeof ROLE;
  options: WriterOptions;
  loadedSeq: bigint;
}

/** An error as it crosses to the main thread's log (structured cloning keeps no `code`). */
interface ErrorFields {
  message: string;
  stack?: string;
  code?: string;
}

const serving = globalThis as { loghavenCategoryFiles?: boolean };
// Once per thread: under the test runner's loader the module can be evaluated twice.
if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE && !serving.loghavenCategoryFiles) {
  serving.loghavenCategoryFiles = true;
  serveWriter(parentPort!, workerData as WriterSetup);
}

/** The worker's side: the writer, with the store's progress and reads coming by message. */
function serveWriter(port: MessagePort, setup: WriterSetup): void {
  let loaded = setup.loadedSeq;
  let nextRead = 1;
  const reads = new Map<number, { resolve: (p: { page: string; through: bigint }) => void; reject: (e: Error) => void }>();
  const send = (m: FromWriter) => port.postMessage(m);
  const logTo = (level: 'info' | 'error') => (obj: object, msg: string) => {
    const fields: Record<string, unknown> = { ...obj };
    const err = fields.err as (Error & { code?: string }) | undefined;
    if (err instanceof Error) fields.err = { message: err.message, stack: err.stack, code: err.code } satisfies ErrorFields;
    send({ type: 'log', level, obj: fields, msg });
  };
  const writer = CategoryFileWriter.open(
    setup.options,
    {
      loadedSeq: () => loaded,
      readStore: (afterSeq, limit) =>
        new Promise((resolve, reject) => {
          const id = nextRead++;
          reads.set(id, { resolve, reject });
          send({ type: 'read', id, afterSeq, limit });
        }),
    },
    (p) => send({ type: 'progress', ...p }),
    { info: logTo('info'), error: logTo('error') },
  );
  port.on('message', (m: ToWriter) => {
    if (m.type === 'loaded') {
      loaded = m.seq;
      writer.awaited(m.awaited);
      writer.wake();
    } else if (m.type === 'page') {
      const r = reads.get(m.id);
      reads.delete(m.id);
      if (m.ok) r?.resolve({ page: m.page, through: m.through });
      else r?.reject(new Error(m.message));
    } else {
      void writer.close().then(() => {
        send({ type: 'closed' });
        port.close();
      });
    }
  });
}

/** Most time between two restarts of a worker that keeps dying. */
const RESTART_MAX_MS = 30_000;
const RESTART_MIN_MS = 500;
/** How often the store's loaded sequence number is looked at besides the pipeline's word (a peer's loads). */
const LOADED_POLL_MS = 1000;

export class CategoryFileSink {
  private worker: Worker | null = null;
  /** As the worker last reported: unknown (0) until it has recovered the files. */
  private checkpointed = 0n;
  private failure: string | null = null;
  /** The loaded sequence number last sent to the worker. */
  private sentLoaded = -1n;
  /** The awaited sequence number last sent to the worker. */
  private sentAwaited = 0n;
  private readonly names = new CategoryFileNames();
  private readonly waiting: { seq: bigint; resolve: () => void }[] = [];
  private readonly poll: NodeJS.Timeout;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartMs = RESTART_MIN_MS;
  private closing = false;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly store: Store,
    private readonly options: CategoryFileOptions,
    private readonly metrics: CategoryFileMetrics,
    private readonly log: SinkLog,
  ) {
    this.poll = setInterval(() => this.wake(), LOADED_POLL_MS);
    this.poll.unref();
  }

  /** Starts the writer, which recovers the files to their last checkpoint and follows the store from there. */
  static open(store: Store, options: CategoryFileOptions, metrics: CategoryFileMetrics, log: SinkLog): CategoryFileSink {
    fs.mkdirSync(options.dir, { recursive: true });
    // A segment linked but never loaded (a crash between the two) is nobody's. Only now, at the
    // process's start: later the pipeline may be between linking one and naming it.
    if (options.segmentsDir !== undefined && fs.existsSync(options.segmentsDir)) {
      for (const f of fs.readdirSync(options.segmentsDir)) if (f.startsWith('segment-')) fs.rmSync(path.join(options.segmentsDir, f), { force: true });
    }
    const sink = new CategoryFileSink(store, options, metrics, log);
    sink.start();
    return sink;
  }

  /** Rows the store has loaded that are not in the files yet (written and checkpointed). */
  get behind(): bigint {
    const loaded = this.store.loadedSeq();
    return loaded > this.checkpointed ? loaded - this.checkpointed : 0n;
  }

  /** The highest sequence number whose records are in their files for good (checkpointed). */
  get writtenThrough(): bigint {
    return this.checkpointed;
  }

  /** Why writing fails, while it does (null when it works). */
  get error(): string | null {
    return this.failure;
  }

  /** Rows were loaded: the worker hears of them now. */
  wake(): void {
    const seq = this.store.loadedSeq();
    let awaited = 0n;
    for (const w of this.waiting) if (w.seq > awaited) awaited = w.seq;
    if ((seq === this.sentLoaded && awaited === this.sentAwaited) || this.worker === null) return;
    this.sentLoaded = seq;
    this.sentAwaited = awaited;
    this.post({ type: 'loaded', seq, awaited });
  }

  /** Resolves once every row loaded so far is in the files, checkpointed (tests, shutdown). */
  caughtUp(): Promise<void> {
    const seq = this.store.loadedSeq();
    if (seq <= this.checkpointed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push({ seq, resolve });
      this.wake();
    });
  }

  /** Writes what is loaded (within `ms`), checkpoints, and stops the worker. */
  close(ms = 10_000): Promise<void> {
    this.closed ??= (async () => {
      await Promise.race([this.caughtUp(), new Promise((r) => setTimeout(r, ms).unref())]);
      this.closing = true;
      clearInterval(this.poll);
      if (this.restartTimer !== null) clearTimeout(this.restartTimer);
      const worker = this.worker;
      if (worker === null) return;
      // Held by the worker from here: the process must not end before the last round is written.
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const done = new Promise<void>((resolve) => worker.on('message', (m: FromWriter) => m.type === 'closed' && resolve()));
      worker.postMessage({ type: 'close' } satisfies ToWriter);
      await Promise.race([done, exited]);
      await worker.terminate();
    })();
    return this.closed;
  }

  /**
   * Ends the worker thread at once, wherever it is, as a crash would (tests): it is reported and
   * started again like any other failure.
   */
  async crashWorker(): Promise<void> {
    await this.worker?.terminate();
  }

  private start(): void {
    const setup: WriterSetup = {
      role: ROLE,
      options: { dir: this.options.dir, segmentsDir: this.options.segmentsDir, bufferBytes: this.options.bufferBytes, maxOpenFiles: this.options.maxOpenFiles, idleCloseMs: this.options.idleCloseMs },
      loadedSeq: this.store.loadedSeq(),
    };
    const worker = startWriterWorker(setup);
    // The server's listeners keep the process alive, not this thread (close() holds it).
    worker.unref();
    this.sentLoaded = setup.loadedSeq;
    this.sentAwaited = 0n;
    worker.on('message', (m: FromWriter) => this.heard(worker, m));
    let failure: Error | null = null;
    worker.on('error', (e) => (failure = e));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (this.closing) return;
      // Whatever it had written past its last checkpoint goes when the next one recovers the files.
      this.failure = `the category file worker stopped (${failure?.message ?? `exit code ${code}`})`;
      this.metrics.failed();
      this.log.error({ err: failure ?? undefined, exit_code: code, restart_ms: this.restartMs }, 'the category file worker stopped; starting it again');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.closing) this.start();
      }, this.restartMs);
      this.restartTimer.unref();
      this.restartMs = Math.min(RESTART_MAX_MS, this.restartMs * 2);
    });
    this.worker = worker;
  }

  private heard(worker: Worker, m: FromWriter): void {
    if (m.type === 'progress') {
      if (m.checkpointed > this.checkpointed) this.restartMs = RESTART_MIN_MS;
      this.checkpointed = m.checkpointed;
      this.failure = m.failure;
      this.counted(m);
      for (let i = this.waiting.length - 1; i >= 0; i--) {
        if (this.waiting[i]!.seq <= this.checkpointed) this.waiting.splice(i, 1)[0]!.resolve();
      }
      // Loads it has not heard of (a load between its start and the pipeline's word).
      if (this.waiting.length > 0) this.wake();
    } else if (m.type === 'read') {
      void this.read(worker, m.id, m.afterSeq, m.limit);
    } else if (m.type === 'log') {
      const obj = m.obj;
      const err = obj.err as ErrorFields | undefined;
      if (err !== undefined) obj.err = Object.assign(new Error(err.message), { stack: err.stack, code: err.code });
      this.log[m.level](obj, m.msg);
    }
  }

  /** The store's rows the worker asked for, each turned into its file and line here (store-pages.ts). */
  private async read(worker: Worker, id: number, afterSeq: bigint, limit: number): Promise<void> {
    let answer: ToWriter;
    try {
      const { rows, through } = await this.store.readForFiles(afterSeq, limit);
      answer = { type: 'page', id, ok: true, page: encodeStorePage(rows, this.names), through };
    } catch (e) {
      answer = { type: 'page', id, ok: false, message: (e as Error).message };
    }
    // A worker that died meanwhile asks again once started anew.
    if (this.worker === worker) worker.postMessage(answer);
  }

  private counted(p: WriterProgress): void {
    const m = this.metrics;
    m.openHandles(p.openHandles);
    m.bufferedBytes(p.bufferedBytes);
    if (p.flushes > 0) m.flushed(p.flushes);
    for (let i = 0; i < p.emfileRecoveries; i++) m.emfileRecovered();
    for (let i = 0; i < p.filesCreated; i++) m.fileCreated();
    if (p.lines > 0) m.written(p.lines, p.bytes);
    for (let i = 0; i < p.failures; i++) m.failed();
  }

  private post(m: ToWriter): void {
    this.worker?.postMessage(m);
  }
}

/** A worker thread that writes the category files (this module, run as the worker). */
function startWriterWorker(setup: WriterSetup): Worker {
  return startModuleWorker(import.meta.url, { workerData: setup });
}
