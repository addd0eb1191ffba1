// The category file sink (SPEC §4): every record, once loaded into the store, is appended to
// DATA/files/YYYY-MM-DD/<category>.jsonl (the UTC day of its `ts`, one JSON object per line), and
// error/fatal and warn records are copied to error.jsonl and warning.jsonl of that day.
//
// It follows the store in sequence order, off the acknowledgement path: the ack waits for the
// spool only, and the sink reads what the loader loaded. Lines are buffered per file under a
// global memory cap; at the cap the error and warning files are written first, then the biggest
// buffers. Files are written through a bounded pool of handles (file-handles.ts).
//
// Exactly once, across kill -9: after each round of rows is written out, a checkpoint line — the
// last sequence number written and the size of every file written since the previous checkpoint —
// is appended to DATA/files/.checkpoints. At start, every file is cut back to the size the
// checkpoints give it (0 when they never named it): whatever was written after the last
// checkpoint, torn tails included, goes, and is written again from the store.
// A failing write (a full disk) is retried with backoff and reported; the store keeps the records
// either way, and the sink picks up where it stopped.

import fs from 'node:fs';
import path from 'node:path';
import type { FileRow, Store } from '../store/store.js';
import { DEFAULT_CATEGORY } from '../pipeline/routing.js';
import { FileHandlePool, descriptorBudget } from './file-handles.js';
import { SegmentRows } from './row-lines.js';

export interface CategoryFileOptions {
  dir: string;
  /**
   * Where the pipeline keeps loaded segments' files (`<firstSeq>-<rows>.tsv`, IngestPipeline's
   * keepLoadedDir): rows found there are read from them; others from the store.
   */
  segmentsDir?: string;
  /** Global cap of buffered bytes. */
  bufferBytes: number;
  /** Most files open at once (further bounded by the process's descriptor limit). */
  maxOpenFiles: number;
  /** Handles unused this long are closed. */
  idleCloseMs: number;
  /**
   * True while records are arriving: the sink then keeps to about a quarter of the event loop's
   * time (it shares the thread with ingest), and catches up at full speed once they stop.
   */
  ingestActive?: () => boolean;
}

export interface CategoryFileMetrics {
  openHandles(n: number): void;
  bufferedBytes(n: number): void;
  flushed(files: number): void;
  emfileRecovered(): void;
  fileCreated(): void;
  written(records: number, bytes: number): void;
  failed(): void;
}

export interface SinkLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const CHECKPOINTS = '.checkpoints';
/** Rows read from the store at a time (in one turn between loads). */
const PAGE_ROWS = 50_000;
/** Rows rendered from a kept segment at a time (a few milliseconds of the event loop). */
const SEGMENT_PAGE_ROWS = 4096;
/**
 * A round (rows between two checkpoints) ends after this many rows or this long at the most:
 * under a steady load there is always a next row, and the checkpoint bounds what a restart
 * writes again.
 */
const ROUND_ROWS = 200_000;
const ROUND_MS = 2000;
/** The checkpoint file is rewritten as one line once it grows past this. */
const COMPACT_BYTES = 4 * 2 ** 20;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
const IDLE_POLL_MS = 1000;

/** Files written between two turns of the event loop (a slice is a millisecond or two). */
const FILES_PER_SLICE = 32;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const ERROR_FILE = 'error.jsonl';
const WARNING_FILE = 'warning.jsonl';

/**
 * A category's file name: letters, digits, `_`, `-` and (not first) `.` as they are, every other
 * byte as `%XX`, so no name escapes its folder and two different names never share a file; the
 * names `error` and `warning` get their first letter escaped, leaving the level files theirs.
 */
export function categoryFileName(category: string): string {
  let name = escapeFileName(category);
  if (name === 'error' || name === 'warning') name = `%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}`;
  return `${name}.jsonl`;
}

/**
 * A name as a file name of its own: letters, digits, `_`, `-` and (not first) `.` stay, every
 * other byte of its UTF-8 is `%XX`, so that different names never meet and none leaves its
 * directory; the empty name is `%`.
 */
export function escapeFileName(text: string): string {
  let name = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    name += /[A-Za-z0-9_-]/.test(c) || (c === '.' && name !== '') ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return name === '' ? '%' : name;
}

/** A file's lines waiting, as UTF-8 bytes in a buffer that grows by doubling. */
interface FileBuffer {
  buf: Buffer;
  bytes: number;
  lines: number;
  /** Written ahead of everything else at the cap. */
  urgent: boolean;
}

const FIRST_BUFFER_BYTES = 4096;

export class CategoryFileSink {
  private cursor: bigint;
  /** The cursor as of the last checkpoint. */
  private checkpointed: bigint;
  private readonly buffers = new Map<string, FileBuffer>();
  private buffered = 0;
  /** Size of every file written since the last checkpoint (relative path → bytes). */
  private readonly touched = new Map<string, number>();
  /** Size of every file as of the last checkpoint (relative path → bytes), for a compacted checkpoint. */
  private readonly sizes: Map<string, number>;
  private readonly pool: FileHandlePool;
  /** The kept segment being read. */
  private segment: { file: string; rows: SegmentRows } | null = null;
  /** File names of the categories met, made once. */
  private readonly fileNames = new Map<string, string>();
  private wakeUp: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private failure: string | null = null;
  private retryMs = RETRY_MIN_MS;
  private readonly idle: (() => void)[] = [];

  private constructor(
    private readonly store: Store,
    private readonly options: CategoryFileOptions,
    private readonly metrics: CategoryFileMetrics,
    private readonly log: SinkLog,
    recovered: { seq: bigint; sizes: Map<string, number> },
  ) {
    this.cursor = recovered.seq;
    this.checkpointed = recovered.seq;
    this.sizes = recovered.sizes;
    this.pool = new FileHandlePool(descriptorBudget(options.maxOpenFiles), options.idleCloseMs, {
      recovered: () => metrics.emfileRecovered(),
      created: () => metrics.fileCreated(),
    });
  }

  /** Recovers the files to their last checkpoint, then follows the store from there. */
  static open(store: Store, options: CategoryFileOptions, metrics: CategoryFileMetrics, log: SinkLog): CategoryFileSink {
    fs.mkdirSync(options.dir, { recursive: true });
    // A segment linked but never loaded (a crash between the two) is nobody's.
    if (options.segmentsDir !== undefined && fs.existsSync(options.segmentsDir)) {
      for (const f of fs.readdirSync(options.segmentsDir)) if (f.startsWith('segment-')) fs.rmSync(path.join(options.segmentsDir, f), { force: true });
    }
    const recovered = recover(options.dir, log);
    const sink = new CategoryFileSink(store, options, metrics, log, recovered);
    sink.running = sink.follow();
    return sink;
  }

  /** Rows the store has loaded that are not in the files yet (written and checkpointed). */
  get behind(): bigint {
    const loaded = this.store.loadedSeq();
    return loaded > this.checkpointed ? loaded - this.checkpointed : 0n;
  }

  /** Why writing fails, while it does (null when it works). */
  /** The highest sequence number whose records are in their files for good (checkpointed). */
  get writtenThrough(): bigint {
    return this.checkpointed;
  }

  get error(): string | null {
    return this.failure;
  }

  /** Rows were loaded: look for them now. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** Resolves once every row loaded so far is in the files (tests, shutdown). */
  caughtUp(): Promise<void> {
    if (this.store.loadedSeq() <= this.cursor && this.buffered === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.wake();
    });
  }

  /** Writes what is loaded (within `ms`), checkpoints, and stops. */
  async close(ms = 10_000): Promise<void> {
    await Promise.race([this.caughtUp(), new Promise((r) => setTimeout(r, ms).unref())]);
    this.closed = true;
    this.wake();
    await this.running;
    this.pool.closeAll();
  }

  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        await this.round();
        this.failure = null;
        this.retryMs = RETRY_MIN_MS;
      } catch (e) {
        // Nothing is lost: the unwritten lines stay buffered, the rows stay in the store.
        this.failure = (e as Error).message;
        this.metrics.failed();
        this.log.error({ err: e, retry_ms: this.retryMs }, 'writing the category files failed; will retry');
        await this.sleep(this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        continue;
      }
      if (this.store.loadedSeq() <= this.cursor) {
        for (const w of this.idle.splice(0)) w();
        if (!this.closed) await this.sleep(IDLE_POLL_MS);
      }
    }
  }

  /** Reads up to ROUND_ROWS loaded rows into the buffers, writes everything out and checkpoints. */
  private async round(): Promise<void> {
    // Lines left over from a failed round go first, so a failing disk does not make them pile up.
    if (this.buffers.size > 0) await this.flushAll();
    let read = 0;
    const began = performance.now();
    while (read < ROUND_ROWS && performance.now() - began < ROUND_MS && !this.closed) {
      const { rows, through, renderMs } = await this.readAfter(this.cursor);
      if (through <= this.cursor) break;
      const started = performance.now() - renderMs;
      for (const r of rows) this.add(r);
      this.metrics.bufferedBytes(this.buffered);
      this.cursor = through;
      read += rows.length;
      if (this.buffered > this.options.bufferBytes) await this.flushByPriority();
      await this.giveWay(performance.now() - started);
    }
    if (this.buffers.size > 0) await this.flushAll();
    if (this.touched.size > 0 || read > 0 || this.cursor !== this.checkpointed) this.checkpoint();
  }

  /**
   * Rows after `cursor`: from the kept segment file that holds the next one (no work for the
   * store), else from the store — up to the first kept segment after it.
   */
  private async readAfter(cursor: bigint): Promise<{ rows: FileRow[]; through: bigint; renderMs: number }> {
    const loaded = this.store.loadedSeq();
    if (loaded <= cursor) return { rows: [], through: cursor, renderMs: 0 };
    const next = cursor + 1n;
    const kept = this.keptSegments();
    this.dropKeptBelow(kept, next);
    const holding = kept.find((k) => k.firstSeq <= next && next < k.firstSeq + BigInt(k.rows));
    if (holding !== undefined) {
      if (this.segment?.file !== holding.file) this.segment = { file: holding.file, rows: new SegmentRows(await fs.promises.readFile(holding.file), holding.firstSeq) };
      const want = Math.min(SEGMENT_PAGE_ROWS, Number(holding.firstSeq + BigInt(holding.rows) - next));
      const t = performance.now();
      const rows = this.segment.rows.read(next, want);
      const through = next + BigInt(want) - 1n;
      // A segment read to its end is let go (its text can be 160 MB).
      if (through === holding.firstSeq + BigInt(holding.rows) - 1n) this.segment = null;
      if (rows.length === want) return { rows, through, renderMs: performance.now() - t };
      // Not the rows it should hold: leave it, and read them from the store.
      this.segment = null;
      fs.rmSync(holding.file, { force: true });
    }
    const after = kept.find((k) => k.firstSeq > next);
    const limit = after === undefined ? PAGE_ROWS : Math.min(PAGE_ROWS, Number(after.firstSeq - next));
    return { ...(await this.store.readForFiles(cursor, limit)), renderMs: 0 };
  }

  /** The kept segments, by first sequence number. */
  private keptSegments(): { file: string; firstSeq: bigint; rows: number }[] {
    const dir = this.options.segmentsDir;
    if (dir === undefined) return [];
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const out: { file: string; firstSeq: bigint; rows: number }[] = [];
    for (const n of names) {
      const m = /^(\d+)-(\d+)\.tsv$/.exec(n);
      if (m !== null) out.push({ file: path.join(dir, n), firstSeq: BigInt(m[1]!), rows: Number(m[2]) });
    }
    return out.sort((a, b) => (a.firstSeq < b.firstSeq ? -1 : 1));
  }

  /** Kept segments whose rows are all before `next` are done with (checkpointed or being written). */
  private dropKeptBelow(kept: { file: string; firstSeq: bigint; rows: number }[], next: bigint): void {
    for (const k of kept) {
      if (k.firstSeq + BigInt(k.rows) <= this.checkpointed + 1n && k.firstSeq + BigInt(k.rows) <= next) fs.rmSync(k.file, { force: true });
    }
  }

  private add(r: FileRow): void {
    const dir = r.day;
    const line = `${r.json}\n`;
    const category = r.category ?? DEFAULT_CATEGORY;
    let name = this.fileNames.get(category);
    if (name === undefined) {
      if (this.fileNames.size >= 100_000) this.fileNames.clear();
      this.fileNames.set(category, (name = categoryFileName(category)));
    }
    this.append(`${dir}/${name}`, line, false);
    if (r.level === 'error' || r.level === 'fatal') this.append(`${dir}/${ERROR_FILE}`, line, true);
    else if (r.level === 'warn') this.append(`${dir}/${WARNING_FILE}`, line, true);
  }

  private append(file: string, line: string, urgent: boolean): void {
    let b = this.buffers.get(file);
    if (b === undefined) this.buffers.set(file, (b = { buf: Buffer.allocUnsafe(FIRST_BUFFER_BYTES), bytes: 0, lines: 0, urgent }));
    // Encoded at once: joining thousands of lines at flush time cost more than the rest together.
    const most = line.length * 3;
    if (b.bytes + most > b.buf.length) {
      let size = b.buf.length * 2;
      while (size < b.bytes + most) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      b.buf.copy(bigger, 0, 0, b.bytes);
      b.buf = bigger;
    }
    const n = b.buf.write(line, b.bytes, 'utf8');
    b.bytes += n;
    b.lines++;
    this.buffered += n;
  }

  /** At the cap: the error and warning files first, then the biggest, until half the cap is left. */
  private async flushByPriority(): Promise<void> {
    const order = [...this.buffers.entries()].sort(([, a], [, b]) => (a.urgent !== b.urgent ? (a.urgent ? -1 : 1) : b.bytes - a.bytes));
    let files = 0;
    for (const [file] of order) {
      if (this.buffered <= this.options.bufferBytes / 2) break;
      this.flushFile(file);
      if (++files % FILES_PER_SLICE === 0) await this.giveWay(0);
    }
    this.metrics.flushed(files);
  }

  private async flushAll(): Promise<void> {
    const files = [...this.buffers.keys()];
    let slice = performance.now();
    for (let i = 0; i < files.length; i++) {
      this.flushFile(files[i]!);
      if ((i + 1) % FILES_PER_SLICE === 0) {
        await this.giveWay(performance.now() - slice);
        slice = performance.now();
      }
    }
    this.metrics.flushed(files.length);
  }

  private flushFile(file: string): void {
    const b = this.buffers.get(file)!;
    const data = b.buf.subarray(0, b.bytes);
    let written = data.length;
    let size: number;
    try {
      size = this.pool.append(path.join(this.options.dir, file), data);
    } catch (e) {
      // What did get written stays written (the checkpoint will say so); the rest stays buffered.
      const partial = e as { written?: number; size?: number };
      written = partial.written ?? 0;
      if (written > 0 && partial.size !== undefined) this.wrote(file, b, data, written, partial.size);
      throw e;
    } finally {
      this.metrics.openHandles(this.pool.size);
    }
    this.wrote(file, b, data, written, size);
  }

  private wrote(file: string, b: FileBuffer, data: Buffer, written: number, size: number): void {
    this.touched.set(file, size);
    this.buffered -= written;
    this.metrics.bufferedBytes(this.buffered);
    if (written === data.length) {
      this.buffers.delete(file);
      this.metrics.written(b.lines, written);
    } else {
      b.buf.copyWithin(0, written, b.bytes);
      b.bytes -= written;
    }
  }

  /** Appends the checkpoint line: the cursor and the sizes of the files written since the last. */
  private checkpoint(): void {
    const file = path.join(this.options.dir, CHECKPOINTS);
    for (const [f, n] of this.touched) this.sizes.set(f, n);
    const line = `${JSON.stringify({ seq: String(this.cursor), sizes: Object.fromEntries(this.touched) })}\n`;
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch {
      // first checkpoint
    }
    if (size + line.length > COMPACT_BYTES) {
      // Rewritten whole, with the size of every file known (tmp + rename: never half a file).
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify({ seq: String(this.cursor), sizes: Object.fromEntries(this.sizes) })}\n`);
      fs.renameSync(tmp, file);
    } else {
      fs.appendFileSync(file, line);
    }
    this.touched.clear();
    this.checkpointed = this.cursor;
    this.dropKeptBelow(this.keptSegments(), this.cursor + 1n);
  }

  /** After `busyMs` of work: the event loop's turn, and while ingest runs, three times as long again. */
  private giveWay(busyMs: number): Promise<void> {
    if (this.options.ingestActive?.() === true && busyMs > 0) return new Promise((r) => setTimeout(r, Math.min(1000, Math.ceil(3 * busyMs))).unref());
    return yieldToEventLoop();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      t.unref();
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/**
 * Reads the checkpoints and cuts every file back to the size they give it (files they never
 * name back to nothing); returns the last sequence number written and the sizes.
 */
function recover(dir: string, log: SinkLog): { seq: bigint; sizes: Map<string, number> } {
  const sizes = new Map<string, number>();
  let seq = 0n;
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, CHECKPOINTS), 'utf8');
  } catch {
    // none yet
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let cp: { seq: string; sizes: Record<string, number> };
    try {
      cp = JSON.parse(line) as typeof cp;
    } catch {
      // A torn last line: the checkpoint before it stands.
      continue;
    }
    seq = BigInt(cp.seq);
    for (const [f, n] of Object.entries(cp.sizes)) sizes.set(f, n);
  }
  let cut = 0;
  const shorter: Record<string, number> = {};
  for (const day of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!day.isDirectory() || day.name.startsWith('.')) continue;
    for (const f of fs.readdirSync(path.join(dir, day.name))) {
      if (!f.endsWith('.jsonl')) continue;
      const rel = `${day.name}/${f}`;
      const full = path.join(dir, rel);
      const actual = fs.statSync(full).size;
      const expected = sizes.get(rel) ?? 0;
      if (actual > expected) {
        fs.truncateSync(full, expected);
        cut++;
      } else if (actual < expected) {
        // Shorter than written (removed or rotated by someone): appending goes on from here,
        // and the checkpoints say so at once, or a crash before the next one would keep lines
        // written after it.
        sizes.set(rel, actual);
        shorter[rel] = actual;
      }
    }
  }
  if (Object.keys(shorter).length > 0) fs.appendFileSync(path.join(dir, CHECKPOINTS), `${JSON.stringify({ seq: String(seq), sizes: shorter })}\n`);
  if (cut > 0 || seq > 0n) log.info({ files_cut_back: cut, seq: String(seq) }, 'category files recovered to their last checkpoint');
  return { seq, sizes };
}
