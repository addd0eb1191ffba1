// A bounded pool of append handles for the category files: at most `max` files open at once, the
// least recently used closed first, handles idle for `idleMs` closed by a sweep. Thousands of
// categories work under a low `ulimit -n`: when the process runs out of descriptors anyway
// (EMFILE/ENFILE: other parts of the server hold some too), half the pool is closed and the open
// is tried again.

import fs from 'node:fs';
import path from 'node:path';

export interface HandleEvents {
  /** A descriptor shortage was met by closing handles. */
  recovered(): void;
  /** A file was created. */
  created(): void;
}

/**
 * Bytes of a file written back at once, not left to the kernel: it writes dirty pages back 30 s
 * late and all together (gigabytes after a busy minute), and the spool's fsyncs, which the
 * acknowledgements wait for, waited behind that for hundreds of ms. Small, because a spool fsync
 * that meets one of these waits for its bytes too (a disk without FUA flushes its whole cache):
 * 4 MiB at a time held such fsyncs 4–7 ms, the acknowledgements' p99 at 50,000 lines/s.
 */
const SYNC_BYTES = 256 * 2 ** 10;

/** Most times an open is retried after closing handles. */
const OPEN_ATTEMPTS = 5;

/** Most descriptors the pool may use: a quarter of the process's soft limit, so sockets, DuckDB and the spool keep theirs. */
export function descriptorBudget(configured: number): number {
  let soft = Infinity;
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') soft = Number(m[1]);
  } catch {
    // Not Linux: the configured figure stands.
  }
  return Math.max(4, Math.min(configured, Math.floor(soft / 4)));
}

interface Handle {
  fd: number;
  used: number;
  size: number;
  /** Bytes written since the last fdatasync. */
  unsynced: number;
}

export class FileHandlePool {
  /** Open handles by path, least recently used first (a Map keeps insertion order), and each file's size. */
  private readonly open = new Map<string, Handle>();
  private readonly madeDirs = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
    private readonly events: HandleEvents,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(1000, Math.min(idleMs, 10_000)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Appends all of `data`; returns the file's size after it. Synchronous: a few system calls
   * that the page cache answers in microseconds, where each asynchronous one would wait its turn
   * on libuv's four threads behind the store's statements (the pool is used from a thread of its
   * own). Every SYNC_BYTES a file takes are made durable at once (fdatasync). A failing write
   * throws an error that says, in `written`, how many bytes did get written, and in `size` the
   * size then.
   */
  append(file: string, data: Buffer): number {
    const h = this.handleOf(file);
    let done = 0;
    try {
      while (done < data.length) {
        const n = fs.writeSync(h.fd, data, done, Math.min(data.length - done, SYNC_BYTES - h.unsynced));
        done += n;
        h.unsynced += n;
        if (h.unsynced >= SYNC_BYTES) {
          fs.fdatasyncSync(h.fd);
          h.unsynced = 0;
        }
      }
    } catch (e) {
      h.size += done;
      throw Object.assign(e as Error, { written: done, size: h.size });
    }
    h.size += done;
    return h.size;
  }

  /** Closes every handle. */
  closeAll(): void {
    clearInterval(this.sweeper);
    for (const [file] of this.open) this.close(file);
  }

  private handleOf(file: string): Handle {
    const had = this.open.get(file);
    if (had !== undefined) {
      this.open.delete(file);
      had.used = Date.now();
      this.open.set(file, had);
      return had;
    }
    while (this.open.size >= this.max) this.close(this.open.keys().next().value!);
    const dir = path.dirname(file);
    if (!this.madeDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const fd = fs.openSync(file, 'a', 0o644);
        // The size it has, whoever wrote it: the checkpoints record what is really there.
        const size = fs.fstatSync(fd).size;
        if (size === 0) this.events.created();
        const h = { fd, used: Date.now(), size, unsynced: 0 };
        this.open.set(file, h);
        return h;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'EMFILE' && code !== 'ENFILE') || attempt >= OPEN_ATTEMPTS || this.open.size === 0) throw e;
        // Out of descriptors: give back half of ours (oldest first) and try again.
        this.events.recovered();
        let drop = Math.max(1, Math.ceil(this.open.size / 2));
        for (const [f] of this.open) {
          if (drop-- <= 0) break;
          this.close(f);
        }
      }
    }
  }

  private close(file: string): void {
    const h = this.open.get(file);
    if (h === undefined) return;
    this.open.delete(file);
    try {
      fs.closeSync(h.fd);
    } catch {
      // Nothing to do: the descriptor is gone either way.
    }
  }

  private closeIdle(): void {
    const before = Date.now() - this.idleMs;
    for (const [file, h] of this.open) if (h.used < before) this.close(file);
  }
}
