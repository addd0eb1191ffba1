// Reusable byte buffers for the ingest path: request bodies are read into them and rows are built
// in them, and both go back once parsed / spooled. At hundreds of requests a second, fresh
// buffers would be hundreds of MB/s of ArrayBuffers for the garbage collector to find, which
// shows up as resident memory and GC time.
// A buffer that is never given back is merely collected; one given back must not be used again.

import type { BufferSource } from '../store/row-format.js';

/** Sizes are rounded up to 2^k or 1.5 × 2^k bytes, from 64 KiB to 16 MiB; larger ones are not pooled. */
const MIN_BYTES = 64 * 1024;
const MAX_BYTES = 16 * 2 ** 20;

export class BufferPool implements BufferSource {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;

  /**
   * `maxFreeBytes`: most bytes kept for reuse; beyond it returned buffers are dropped. Enough for
   * the requests in flight at once: a request of a thousand OTLP records holds a body and a row
   * buffer of 768 KiB each until it is spooled, so eight clients come and go with 12 MiB or more.
   * With 8 MiB, such buffers were dropped and made anew 7 times a second (66 MB in 20 s); the
   * dropped ones, old by then, were about half of the main thread's mark-compacts (BENCHMARKS.md).
   */
  constructor(private readonly maxFreeBytes = 32 * 2 ** 20) {}

  /** A buffer of at least `bytes` (contents undefined). */
  take(bytes: number): Buffer {
    const size = pooledSize(bytes);
    if (size === 0) return Buffer.allocUnsafeSlow(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) {
      this.freeBytes -= size;
      return reused;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Takes back a buffer from `take`; the caller must not touch it afterwards. */
  give(buf: Buffer): void {
    const size = buf.length;
    if (pooledSize(size) !== size || buf.byteOffset !== 0 || buf.buffer.byteLength !== size) return;
    if (this.freeBytes + size > this.maxFreeBytes) return;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(buf);
    this.freeBytes += size;
  }
}

/** The pooled size for a request of `bytes`, or 0 when such a buffer is not pooled. */
function pooledSize(bytes: number): number {
  if (bytes > MAX_BYTES) return 0;
  let size = MIN_BYTES;
  while (size < bytes) size = size % 3 === 0 ? (size / 3) * 4 : (size / 2) * 3; // 64K, 96K, 128K, 192K, ...
  return size;
}
