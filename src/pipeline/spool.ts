// The ingest write-ahead log: append-only segment files of load-ready rows (`seq<TAB>row`).
// A request is acknowledged once its rows are in the current segment (and fsynced, in the
// default durability mode); segments are later bulk-loaded into the store and deleted. After a
// crash, whatever segments remain are replayed; a torn last line was never acknowledged.

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

const SEGMENT_RE = /^segment-(\d{20})\.tsv$/;

export class Spool {
  private fd: number | null = null;
  private current: SegmentInfo | null = null;
  private nextId: bigint;

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

  /** Bytes written to the open segment. */
  get currentBytes(): number {
    return this.current?.bytes ?? 0;
  }

  get currentRows(): number {
    return this.current?.rows ?? 0;
  }

  /** Appends whole lines to the open segment (opening one if needed); synchronous. */
  write(text: string, rows: number): void {
    if (this.fd === null || this.current === null) {
      const id = this.nextId++;
      const file = path.join(this.dir, `segment-${id.toString().padStart(20, '0')}.tsv`);
      this.fd = fs.openSync(file, 'a');
      this.current = { id, file, rows: 0, bytes: 0 };
    }
    const buf = Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off);
    } catch (e) {
      // A partial write (disk full) must not leave half a batch behind: cut back to where the
      // segment was, so the rows that were refused are not replayed later.
      try {
        fs.ftruncateSync(this.fd, this.current.bytes);
      } catch {
        // If even that fails the torn tail is cut at the next start.
      }
      throw e;
    }
    this.current.bytes += buf.length;
    this.current.rows += rows;
  }

  /** Makes everything written so far durable. */
  async sync(): Promise<void> {
    if (this.fd !== null) await fdatasync(this.fd);
  }

  /** Closes the open segment and returns it for loading (null when nothing was written). */
  rotate(): SegmentInfo | null {
    if (this.fd === null || this.current === null) return null;
    fs.closeSync(this.fd);
    const done = this.current;
    this.fd = null;
    this.current = null;
    return done;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
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
