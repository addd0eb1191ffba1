// gzip on both cores: what is written is cut into blocks, each compressed as a gzip member of its
// own on libuv's threads, several at once, and the members are written to the file in order.
// Concatenated members are one valid gzip file (RFC 1952): gunzip, zcat, tar and Node's gunzip
// read it as one stream. Each block starts a fresh dictionary, which costs about 1 % of size.

import fs from 'node:fs';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { promisify } from 'node:util';

const gzip = promisify(zlib.gzip);

export class ParallelGzipFile extends Writable {
  private pieces: Buffer[] = [];
  private pieceBytes = 0;
  /** Blocks being compressed, oldest first. */
  private readonly running: Promise<Buffer>[] = [];
  private readonly fd: Promise<fs.promises.FileHandle>;

  constructor(
    file: string,
    /** `parallel`: blocks compressed at once, asked before each block (fewer while the server ingests). */
    private readonly opts: { level: number; blockBytes?: number; parallel?: () => number },
  ) {
    super({ highWaterMark: 1 << 20 });
    this.fd = fs.promises.open(file, 'w');
  }

  private get blockBytes(): number {
    return this.opts.blockBytes ?? 4 << 20;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.pieces.push(chunk);
    this.pieceBytes += chunk.length;
    if (this.pieceBytes < this.blockBytes) return done();
    this.dispatch()
      .then(() => done())
      .catch(done);
  }

  override _final(done: (e?: Error | null) => void): void {
    (async () => {
      if (this.pieceBytes > 0) this.start();
      while (this.running.length > 0) await this.writeOldest();
      const fd = await this.fd;
      await fd.sync();
      await fd.close();
    })()
      .then(() => done())
      .catch(done);
  }

  override _destroy(e: Error | null, done: (e?: Error | null) => void): void {
    this.fd.then((fd) => fd.close()).then(
      () => done(e),
      () => done(e),
    );
  }

  /** Starts the block gathered so far; waits while too many are under way. */
  private async dispatch(): Promise<void> {
    this.start();
    while (this.running.length >= Math.max(1, this.opts.parallel?.() ?? 3)) await this.writeOldest();
  }

  private start(): void {
    const block = Buffer.concat(this.pieces, this.pieceBytes);
    this.pieces = [];
    this.pieceBytes = 0;
    const p = gzip(block, { level: this.opts.level });
    // Rejections are taken when the block's turn comes.
    p.catch(() => undefined);
    this.running.push(p);
  }

  private async writeOldest(): Promise<void> {
    const member = await this.running.shift()!;
    const fd = await this.fd;
    await fd.write(member);
  }
}
