// The category file writer (SPEC §4), on a worker thread of its own (category-files.ts runs it):
// every record, once loaded into the store, is appended to DATA/files/YYYY-MM-DD/<category>.jsonl
// (the UTC day of its `ts`, one JSON object per line), and error/fatal and warn records are copied
// to error.jsonl and warning.jsonl of that day.
//
// It follows the store in sequence order: rows of a loaded segment that the pipeline kept are read
// and rendered from its file here; others are asked of the store, which the main thread holds.
// Lines are buffered per file under a global memory cap; at the cap the error and warning files
// are written first, then the biggest buffers. Files are written through a bounded pool of
// handles (file-handles.ts). All of this is synchronous file I/O on this thread: the libuv pool's
// four threads are left to the main thread's spool and store.
//
// Exactly once, across kill -9: after each round of rows is written out, a checkpoint line — the
// last sequence number written and the size of every file written since the previous checkpoint —
// is appended to DATA/files/.checkpoints. At start, every file is cut back to the size the
// checkpoints give it (0 when they never named it): whatever was written after the last
// checkpoint, torn tails included, goes, and is written again.
// A failing write (a full disk) is retried with backoff and reported; the store keeps the records
// either way, and the writer picks up where it stopped.

import fs from 'node:fs';
import path from 'node:path';
import { textValue } from '../store/row-format.js';
import { FileHandlePool, descriptorBudget } from './file-handles.js';
import { CategoryFileNames } from './file-names.js';
import { SegmentRows, type LineSink, type SegmentBytes } from './row-lines.js';
import { forEachStoreRow, type LevelCopy } from './store-pages.js';
import { WritePace } from './write-pace.js';

export interface WriterOptions {
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
}

export interface SinkLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Where the writer stands, and what it did since the previous report (the counts). */
export interface WriterProgress {
  /** The highest sequence number whose records are in their files for good. */
  checkpointed: bigint;
  /** Why writing fails, while it does. */
  failure: string | null;
  openHandles: number;
  bufferedBytes: number;
  flushes: number;
  emfileRecoveries: number;
  filesCreated: number;
  lines: number;
  bytes: number;
  failures: number;
}

export interface WriterSource {
  /** The highest sequence number loaded into the store, as last heard. */
  loadedSeq(): bigint;
  /** Up to `limit` store rows after `afterSeq`, as a page of store-pages.ts; `through` as readForFiles gives it. */
  readStore(afterSeq: bigint, limit: number): Promise<{ page: string; through: bigint }>;
}

const CHECKPOINTS = '.checkpoints';
/**
 * Rows asked of the store at a time: one page of the store's own reads, so that each answer costs
 * the main thread a few milliseconds only.
 */
const STORE_PAGE_ROWS = 5000;
/** Rows rendered from a kept segment between two looks at this thread's messages. */
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
/** How often it looks at the store when nobody says rows were loaded. */
const IDLE_POLL_MS = 1000;

const ERROR_FILE = 'error.jsonl';
const WARNING_FILE = 'warning.jsonl';

/** This thread's other work (messages: wake, close, the store's answers) gets its turn. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A file's lines waiting, as UTF-8 bytes in a buffer that grows by doubling. */
interface FileBuffer {
  buf: Buffer;
  bytes: number;
  lines: number;
  /** Written ahead of everything else at the cap. */
  urgent: boolean;
}

const FIRST_BUFFER_BYTES = 4096;
/**
 * A file's buffer grows to this at the most; a line that does not fit then writes the file out
 * first (a bigger line still gets a buffer of its size). Buffers that grew with a whole segment's
 * lines of a category (tens of MB) were too big to keep for the next one: each was copied at every
 * doubling and, fresh from the allocator, faulted in page by page, again for every segment.
 */
const MAX_BUFFER_BYTES = 2 ** 20;
/** Most (day, category) file paths remembered: past it the memory starts over. */
const MAX_PATHS = 100_000;

interface DayPaths {
  error: string;
  warning: string;
  categories: Map<string, string>;
}

interface KeptSegment {
  file: string;
  firstSeq: bigint;
  rows: number;
}

export class CategoryFileWriter {
  private cursor: bigint;
  /** The cursor as of the last checkpoint. */
  private checkpointed: bigint;
  private readonly buffers = new Map<string, FileBuffer>();
  private buffered = 0;
  /**
   * Memory of buffers written out, kept for their files' next lines through the next round (up
   * to the cap in all): grown anew by doubling each round, they were copied over as often as
   * they were filled.
   */
  private readonly spare = new Map<string, { buf: Buffer; round: number }>();
  private spareBytes = 0;
  private rounds = 0;
  /** The round in which a write between lines failed (flushBetweenLines), or -1. */
  private failedBetweenLines = -1;
  /** Size of every file written since the last checkpoint (relative path → bytes). */
  private readonly touched = new Map<string, number>();
  /** Size of every file as of the last checkpoint (relative path → bytes), for a compacted checkpoint. */
  private readonly sizes: Map<string, number>;
  private readonly pool: FileHandlePool;
  /** The kept segment being read, and its open file. */
  private segment: { file: string; fd: number; rows: SegmentRows } | null = null;
  /** Where a kept segment's rows are counted, then read: one buffer for every segment. */
  private readonly segmentWindow = Buffer.allocUnsafe(1 << 20);
  private readonly names = new CategoryFileNames();
  /** Each day's file paths, made once: its level files', and its categories' by column (as rows hold it). */
  private readonly paths = new Map<string, DayPaths>();
  private pathCount = 0;
  /** Where a kept segment's rows are rendered. */
  private readonly lines: LineSink = {
    target: (day, category, most) => this.bufferOf(this.categoryPath(this.pathsOf(day), day, category), false, most),
    wrote: (day, target, length, copy) => {
      const b = target as FileBuffer;
      const start = b.bytes;
      b.bytes += length;
      b.lines++;
      this.buffered += length;
      if (copy === 'e') this.appendBytes(this.pathsOf(day).error, b.buf, start, length);
      else if (copy === 'w') this.appendBytes(this.pathsOf(day).warning, b.buf, start, length);
    },
  };
  private wakeUp: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private failure: string | null = null;
  private retryMs = RETRY_MIN_MS;
  /** Rows that arrive together are written over a second, not in one burst... */
  private readonly pace = new WritePace();
  /** ...but for those someone waits for (through this sequence number). */
  private hurryThrough = 0n;
  /** Counts since the last report. */
  private counts = { flushes: 0, emfileRecoveries: 0, filesCreated: 0, lines: 0, bytes: 0, failures: 0 };

  private constructor(
    private readonly options: WriterOptions,
    private readonly source: WriterSource,
    private readonly progress: (p: WriterProgress) => void,
    private readonly log: SinkLog,
    recovered: { seq: bigint; sizes: Map<string, number> },
  ) {
    this.cursor = recovered.seq;
    this.checkpointed = recovered.seq;
    this.sizes = recovered.sizes;
    this.pool = new FileHandlePool(descriptorBudget(options.maxOpenFiles), options.idleCloseMs, {
      recovered: () => this.counts.emfileRecoveries++,
      created: () => this.counts.filesCreated++,
    });
  }

  /** Recovers the files to their last checkpoint, reports it, then follows the store from there. */
  static open(options: WriterOptions, source: WriterSource, progress: (p: WriterProgress) => void, log: SinkLog): CategoryFileWriter {
    fs.mkdirSync(options.dir, { recursive: true });
    const writer = new CategoryFileWriter(options, source, progress, log, recover(options.dir, log));
    writer.report();
    writer.running = writer.follow();
    return writer;
  }

  /** Rows were loaded: look for them now. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** Rows through `seq` are waited for: they are written as fast as they render. */
  awaited(seq: bigint): void {
    if (seq > this.hurryThrough) this.hurryThrough = seq;
  }

  /** Ends the round under way (its rows written and checkpointed) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.running;
    this.closeSegment();
    this.pool.closeAll();
    this.report();
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
        this.counts.failures++;
        this.report();
        this.log.error({ err: e, retry_ms: this.retryMs }, 'writing the category files failed; will retry');
        await this.sleep(this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        continue;
      }
      this.report();
      if (this.source.loadedSeq() <= this.cursor && !this.closed) await this.sleep(IDLE_POLL_MS);
    }
  }

  /** Reads up to ROUND_ROWS loaded rows into the buffers, writes everything out and checkpoints. */
  private async round(): Promise<void> {
    // Lines left over from a failed round go first, so a failing disk does not make them pile up.
    if (this.buffers.size > 0) this.flushAll();
    let read = 0;
    const began = performance.now();
    while (read < ROUND_ROWS && performance.now() - began < ROUND_MS && !this.closed) {
      const pageBegan = performance.now();
      const rows = await this.readAfter(this.cursor);
      if (rows === 0) break;
      read += rows;
      if (this.buffered > this.options.bufferBytes) this.flushByPriority();
      this.report();
      const wait = this.closed || this.cursor < this.hurryThrough ? 0 : this.pace.after(rows, Number(this.source.loadedSeq() - this.cursor), performance.now() - pageBegan);
      if (wait > 0) await this.sleep(wait);
      else await yieldToEventLoop();
    }
    if (this.buffers.size > 0) this.flushAll();
    if (this.touched.size > 0 || read > 0 || this.cursor !== this.checkpointed) this.checkpoint();
    // Files not written to through a whole round give their memory back.
    for (const [file, kept] of this.spare) {
      if (kept.round >= this.rounds) continue;
      this.spare.delete(file);
      this.spareBytes -= kept.buf.length;
    }
    this.rounds++;
  }

  /**
   * Buffers the rows after `cursor` and moves the cursor past them: from the kept segment file
   * that holds the next one (no work for the store), else from the store — up to the first kept
   * segment after it. Returns how many rows it read.
   */
  private async readAfter(cursor: bigint): Promise<number> {
    const loaded = this.source.loadedSeq();
    if (loaded <= cursor) return 0;
    const next = cursor + 1n;
    const kept = this.keptSegments();
    this.dropKeptBelow(kept, next);
    const holding = kept.find((k) => k.firstSeq <= next && next < k.firstSeq + BigInt(k.rows));
    if (holding !== undefined && this.segment?.file !== holding.file) this.openSegment(holding);
    if (holding !== undefined && this.segment?.file === holding.file) {
      const want = Math.min(SEGMENT_PAGE_ROWS, Number(holding.firstSeq + BigInt(holding.rows) - next));
      const rows = this.segment.rows.render(next, want, this.lines);
      this.cursor += BigInt(rows);
      if (this.cursor === holding.firstSeq + BigInt(holding.rows) - 1n) this.closeSegment();
      if (rows === want) return rows;
      // A line that is not a row: the rest is read from the store.
      this.closeSegment();
      fs.rmSync(holding.file, { force: true });
      if (rows > 0) return rows;
    }
    const after = kept.find((k) => k.firstSeq > next);
    const limit = after === undefined ? STORE_PAGE_ROWS : Math.min(STORE_PAGE_ROWS, Number(after.firstSeq - next));
    const { page, through } = await this.source.readStore(cursor, limit);
    if (through <= cursor) return 0;
    let rows = 0;
    forEachStoreRow(page, (day, name, copy, json) => {
      this.add(day, name, copy, json);
      rows++;
    });
    this.cursor = through;
    return rows;
  }

  /**
   * Makes `kept` the segment read, when it holds as many rows as its name says; else deletes it,
   * and its rows are read from the store.
   */
  private openSegment(kept: KeptSegment): void {
    this.closeSegment();
    let fd: number;
    try {
      fd = fs.openSync(kept.file, 'r');
    } catch {
      return; // gone: its rows are read from the store
    }
    const read: SegmentBytes = (into, offset, position) => fs.readSync(fd, into, offset, into.length - offset, position);
    let rows: number;
    try {
      rows = SegmentRows.count(read, this.segmentWindow);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    if (rows === kept.rows) {
      this.segment = { file: kept.file, fd, rows: new SegmentRows(read, kept.firstSeq, this.segmentWindow) };
      return;
    }
    fs.closeSync(fd);
    fs.rmSync(kept.file, { force: true });
  }

  private closeSegment(): void {
    if (this.segment === null) return;
    fs.closeSync(this.segment.fd);
    this.segment = null;
  }

  /** The kept segments, by first sequence number. */
  private keptSegments(): KeptSegment[] {
    const dir = this.options.segmentsDir;
    if (dir === undefined) return [];
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const out: KeptSegment[] = [];
    for (const n of names) {
      const m = /^(\d+)-(\d+)\.tsv$/.exec(n);
      if (m !== null) out.push({ file: path.join(dir, n), firstSeq: BigInt(m[1]!), rows: Number(m[2]) });
    }
    return out.sort((a, b) => (a.firstSeq < b.firstSeq ? -1 : 1));
  }

  /** Kept segments whose rows are all before `next` are done with (checkpointed or being written). */
  private dropKeptBelow(kept: KeptSegment[], next: bigint): void {
    for (const k of kept) {
      if (k.firstSeq + BigInt(k.rows) <= this.checkpointed + 1n && k.firstSeq + BigInt(k.rows) <= next) fs.rmSync(k.file, { force: true });
    }
  }

  private pathsOf(day: string): DayPaths {
    let paths = this.paths.get(day);
    if (paths === undefined) {
      if (this.pathCount >= MAX_PATHS) {
        this.paths.clear();
        this.pathCount = 0;
      }
      this.paths.set(day, (paths = { error: `${day}/${ERROR_FILE}`, warning: `${day}/${WARNING_FILE}`, categories: new Map() }));
    }
    return paths;
  }

  /** The day's file of a category column (JSON escapes, `\N` for none). */
  private categoryPath(paths: DayPaths, day: string, column: string): string {
    let file = paths.categories.get(column);
    if (file === undefined) {
      paths.categories.set(column, (file = `${day}/${this.names.of(textValue(column))}`));
      this.pathCount++;
    }
    return file;
  }

  /** A line of the store's (store-pages.ts), with its level copy. */
  private add(day: string, name: string, copy: LevelCopy, json: string): void {
    const line = `${json}\n`;
    this.appendText(`${day}/${name}`, line, false);
    if (copy === 'e') this.appendText(`${day}/${ERROR_FILE}`, line, true);
    else if (copy === 'w') this.appendText(`${day}/${WARNING_FILE}`, line, true);
  }

  private appendText(file: string, line: string, urgent: boolean): void {
    const b = this.bufferOf(file, urgent, line.length * 3);
    const n = b.buf.write(line, b.bytes, 'utf8');
    b.bytes += n;
    b.lines++;
    this.buffered += n;
  }

  /** A level copy of a line (they are written ahead of the rest at the cap). */
  private appendBytes(file: string, from: Buffer, start: number, length: number): void {
    const b = this.bufferOf(file, true, length);
    from.copy(b.buf, b.bytes, start, start + length);
    b.bytes += length;
    b.lines++;
    this.buffered += length;
  }

  /**
   * The file's buffer, with room for `most` more bytes. Lines are copied in as they come: joining
   * thousands of lines at flush time cost more than the rest together.
   */
  private bufferOf(file: string, urgent: boolean, most: number): FileBuffer {
    let b = this.buffers.get(file);
    if (b === undefined) {
      const kept = this.spare.get(file);
      if (kept !== undefined) {
        this.spare.delete(file);
        this.spareBytes -= kept.buf.length;
      }
      this.buffers.set(file, (b = { buf: kept?.buf ?? Buffer.allocUnsafe(FIRST_BUFFER_BYTES), bytes: 0, lines: 0, urgent }));
    }
    if (b.bytes + most > b.buf.length) {
      if (b.bytes > 0 && b.bytes + most > MAX_BUFFER_BYTES && this.flushBetweenLines(file)) return this.bufferOf(file, urgent, most);
      let size = b.buf.length * 2;
      while (size < b.bytes + most) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      b.buf.copy(bigger, 0, 0, b.bytes);
      b.buf = bigger;
    }
    return b;
  }

  /**
   * Writes a file out while rows are being rendered; false (the buffer grows instead) when that
   * fails. A failure must not cut a page of rows short: the cursor moves past a page only once it
   * is rendered whole, so its first rows would be rendered twice. The round's own flush after the
   * page meets the same failure and handles it; until then no other such write is tried.
   */
  private flushBetweenLines(file: string): boolean {
    if (this.failedBetweenLines === this.rounds) return false;
    try {
      this.flushFile(file);
      return true;
    } catch {
      this.failedBetweenLines = this.rounds;
      return false;
    }
  }

  /** At the cap: the error and warning files first, then the biggest, until half the cap is left. */
  private flushByPriority(): void {
    const order = [...this.buffers.entries()].sort(([, a], [, b]) => (a.urgent !== b.urgent ? (a.urgent ? -1 : 1) : b.bytes - a.bytes));
    for (const [file] of order) {
      if (this.buffered <= this.options.bufferBytes / 2) break;
      this.flushFile(file);
    }
  }

  private flushAll(): void {
    for (const file of [...this.buffers.keys()]) this.flushFile(file);
  }

  private flushFile(file: string): void {
    const b = this.buffers.get(file)!;
    const data = b.buf.subarray(0, b.bytes);
    let written = data.length;
    let size: number;
    this.counts.flushes++;
    try {
      size = this.pool.append(path.join(this.options.dir, file), data);
    } catch (e) {
      // What did get written stays written (the checkpoint will say so); the rest stays buffered.
      const partial = e as { written?: number; size?: number };
      written = partial.written ?? 0;
      if (written > 0 && partial.size !== undefined) this.wrote(file, b, data, written, partial.size);
      throw e;
    }
    this.wrote(file, b, data, written, size);
  }

  private wrote(file: string, b: FileBuffer, data: Buffer, written: number, size: number): void {
    this.touched.set(file, size);
    this.buffered -= written;
    if (written === data.length) {
      this.buffers.delete(file);
      if (this.spareBytes + b.buf.length <= this.options.bufferBytes) {
        this.spare.set(file, { buf: b.buf, round: this.rounds });
        this.spareBytes += b.buf.length;
      }
      this.counts.lines += b.lines;
      this.counts.bytes += written;
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

  /** Where it stands, and the counts since the last report (which start again from 0). */
  private report(): void {
    this.progress({ checkpointed: this.checkpointed, failure: this.failure, openHandles: this.pool.size, bufferedBytes: this.buffered, ...this.counts });
    this.counts = { flushes: 0, emfileRecoveries: 0, filesCreated: 0, lines: 0, bytes: 0, failures: 0 };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
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
