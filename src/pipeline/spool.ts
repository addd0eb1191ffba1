// The ingest write-ahead log: append-only segment files of load-ready rows (row-format.ts).
// A request is acknowledged once its rows are in the current segment (and fsynced, in the
// default durability mode); full segments are sealed, later bulk-loaded into the store and
// deleted. A group of writes can be rolled back as a whole (a full disk halfway through), so a
// refused request leaves nothing behind. After a crash, whatever segments remain are replayed; a
// torn last line was never acknowledged.

import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const fdatasync = promisify(fs.fdatasync);

export interface SegmentInfo {
  id: bigint;
  file: string;
  rows: number;
  bytes: number;
}

/** Where the spool stood before a group of writes. */
export interface SpoolMark {
  /** The open segment then, or the id the next one would get when none was open. */
  id: bigint;
  open: boolean;
  rows: number;
  bytes: number;
}

const SEGMENT_RE = /^segment-(\d{20})\.tsv$/;

export class Spool {
  private fd: number | null = null;
  private currentSegment: SegmentInfo | null = null;
  private nextId: bigint;
  /** Segments sealed since the last takeSealed(), oldest first. */
  private sealed: SegmentInfo[] = [];

  constructor(
    readonly dir: string,
    firstId: bigint,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.nextId = firstId;
  }

  /** Segments left by an earlier run, oldest first, with any torn last line cut off. */
  static leftovers(dir: string): SegmentInfo[] {
    if (!fs.existsSync(dir)) return [];
    const found: SegmentInfo[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      const file = path.join(dir, name);
      const bytes = truncateTornTail(file);
      found.push({ id: BigInt(m[1]!), file, rows: -1, bytes });
    }
    return found;
  }

  /** The open segment (what is written to it so far), or null when none is open. */
  get current(): Readonly<SegmentInfo> | null {
    return this.currentSegment;
  }

  /** Bytes written to the open segment. */
  get currentBytes(): number {
    return this.currentSegment?.bytes ?? 0;
  }

  get currentRows(): number {
    return this.currentSegment?.rows ?? 0;
  }

  /** Appends whole lines to the open segment (opening one if needed); synchronous. */
  write(chunks: Buffer[], rows: number): void {
    const seg = this.open();
    const fd = this.fd!;
    let total = 0;
    for (const c of chunks) total += c.length;
    let written = 0;
    try {
      let pending = chunks;
      while (written < total) {
        let n = fs.writevSync(fd, pending);
        written += n;
        if (written === total) break;
        // A short write: carry on after the bytes that made it.
        let i = 0;
        while (n >= pending[i]!.length) n -= pending[i++]!.length;
        pending = [pending[i]!.subarray(n), ...pending.slice(i + 1)];
      }
    } catch (e) {
      // Cut back to where the segment was, so a failed write leaves no partial rows behind.
      truncateQuietly(seg.file, seg.bytes);
      throw e;
    }
    seg.bytes += total;
    seg.rows += rows;
  }

  /** Makes everything written to the open segment durable. */
  async sync(): Promise<void> {
    if (this.fd !== null) await fdatasync(this.fd);
  }

  /** Closes the open segment (if it has rows) and sets it aside for takeSealed(). */
  seal(): void {
    if (this.fd === null || this.currentSegment === null) return;
    fs.closeSync(this.fd);
    const done = this.currentSegment;
    this.fd = null;
    this.currentSegment = null;
    if (done.rows > 0) this.sealed.push(done);
    else fs.rmSync(done.file, { force: true });
  }

  /** The segments sealed since the last call, ready to load. */
  takeSealed(): SegmentInfo[] {
    const out = this.sealed;
    this.sealed = [];
    return out;
  }

  /** The current position, to roll back to if a group of writes fails. */
  mark(): SpoolMark {
    if (this.currentSegment === null) return { id: this.nextId, open: false, rows: 0, bytes: 0 };
    return { id: this.currentSegment.id, open: true, rows: this.currentSegment.rows, bytes: this.currentSegment.bytes };
  }

  /**
   * Undoes every write since `mark`: segments begun since are deleted, the segment that was open
   * then is cut back and open again. Only valid while the segments sealed since are not taken.
   */
  rollback(mark: SpoolMark): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    const segments = this.currentSegment ? [...this.sealed, this.currentSegment] : this.sealed;
    this.currentSegment = null;
    this.sealed = this.sealed.filter((s) => s.id < mark.id);
    for (const s of segments) {
      if (s.id > mark.id || (s.id === mark.id && !mark.open)) {
        fs.rmSync(s.file, { force: true });
      } else if (s.id === mark.id) {
        truncateQuietly(s.file, mark.bytes);
        this.currentSegment = { id: s.id, file: s.file, rows: mark.rows, bytes: mark.bytes };
        this.fd = fs.openSync(s.file, 'a');
      }
    }
    this.nextId = mark.open ? mark.id + 1n : mark.id;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private open(): SegmentInfo {
    if (this.fd === null || this.currentSegment === null) {
      const id = this.nextId++;
      const file = path.join(this.dir, `segment-${id.toString().padStart(20, '0')}.tsv`);
      this.fd = fs.openSync(file, 'a');
      this.currentSegment = { id, file, rows: 0, bytes: 0 };
    }
    return this.currentSegment;
  }
}

function truncateQuietly(file: string, bytes: number): void {
  try {
    fs.truncateSync(file, bytes);
  } catch {
    // If even that fails the torn tail is cut at the next start.
  }
}

/** Cuts a file back to its last newline; returns the new size. */
function truncateTornTail(file: string): number {
  const size = fs.statSync(file).size;
  if (size === 0) return 0;
  const fd = fs.openSync(file, 'r+');
  try {
    const tail = Buffer.alloc(Math.min(size, 1 << 20));
    let end = size;
    for (;;) {
      const start = Math.max(0, end - tail.length);
      const n = fs.readSync(fd, tail, 0, end - start, start);
      const nl = tail.subarray(0, n).lastIndexOf(10);
      if (nl !== -1) {
        const keep = start + nl + 1;
        if (keep !== size) fs.ftruncateSync(fd, keep);
        return keep;
      }
      if (start === 0) {
        fs.ftruncateSync(fd, 0);
        return 0;
      }
      end = start;
    }
  } finally {
    fs.closeSync(fd);
  }
}
