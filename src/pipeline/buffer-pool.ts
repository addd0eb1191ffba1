// Reusable byte buffers for the ingest path: request bodies are read into them and rows are built
// in them, and both go back once parsed / spooled. At hundreds of requests a second, fresh
// buffers would be hundreds of MB/s of ArrayBuffers for the garbage collector to find, which
// shows up as resident memory and GC time.
// A buffer that is never given back is merely collected; one given back must not be used again.

import type { BufferSource } from '../store/row-format.js';

const MIN_CLASS = 16; // 64 KiB
const MAX_CLASS = 24; // 16 MiB

export class BufferPool implements BufferSource {
  private readonly free: Buffer[][] = [];
  private freeBytes = 0;

  /** `maxFreeBytes`: most bytes kept for reuse; beyond it returned buffers are dropped. */
  constructor(private readonly maxFreeBytes = 32 * 2 ** 20) {
    for (let c = 0; c <= MAX_CLASS; c++) this.free.push([]);
  }

  /** A buffer of at least `bytes` (contents undefined). */
  take(bytes: number): Buffer {
    const cls = sizeClass(bytes);
    if (cls > MAX_CLASS) return Buffer.allocUnsafeSlow(bytes);
    const reused = this.free[cls]!.pop();
    if (reused !== undefined) {
      this.freeBytes -= reused.length;
      return reused;
    }
    return Buffer.allocUnsafeSlow(2 ** cls);
  }

  /** Takes back a buffer from `take`; the caller must not touch it afterwards. */
  give(buf: Buffer): void {
    const cls = sizeClass(buf.length);
    if (cls > MAX_CLASS || buf.length !== 2 ** cls || buf.byteOffset !== 0) return;
    if (this.freeBytes + buf.length > this.maxFreeBytes) return;
    this.free[cls]!.push(buf);
    this.freeBytes += buf.length;
  }
}

function sizeClass(bytes: number): number {
  return Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, bytes))));
}
