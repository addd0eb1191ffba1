// The archives' container: POSIX tar (ustar, with a pax header for names longer than ustar
// holds), written and read as streams so that gzip runs on libuv's threads and a day of any size
// passes through in bounded memory. Plain `tar` and `zcat` read what this writes.

import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** One 512-byte header block. */
function header(name: string, size: number, type: '0' | 'x', mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name.slice(0, 100), 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii'); // mode
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum, counted as spaces
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A pax record `LEN key=value\n`, where LEN counts the record's bytes, its own digits included. */
function paxRecord(key: string, value: string): string {
  const body = Buffer.byteLength(` ${key}=${value}\n`);
  let len = body + String(body).length;
  while (String(len).length + body !== len) len = String(len).length + body;
  return `${len} ${key}=${value}\n`;
}

function padding(size: number): Buffer {
  return ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK);
}

/** Writes members to `out` one after the other; end() writes the two zero blocks that close a tar. */
export class TarWriter {
  constructor(
    private readonly out: Writable,
    private readonly mtime = Date.now(),
  ) {}

  /** A member whose content is in memory. */
  async addBuffer(name: string, content: Buffer): Promise<void> {
    await this.write(this.headersFor(name, content.length));
    await this.write(content);
    await this.write(padding(content.length));
  }

  /**
   * A member copied from a file of `size` bytes (the size is in the header before the content);
   * `onData` sees the content as it goes (to sum it on the same read).
   */
  async addFile(name: string, file: string, size: number, onData?: (chunk: Buffer) => void): Promise<void> {
    await this.write(this.headersFor(name, size));
    let copied = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      copied += chunk.length;
      onData?.(chunk);
      await this.write(chunk);
    }
    if (copied !== size) throw new Error(`${file} changed while it was archived (${copied} bytes, expected ${size})`);
    await this.write(padding(size));
  }

  async end(): Promise<void> {
    await this.write(ZEROS);
    await new Promise<void>((resolve, reject) => this.out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }

  private headersFor(name: string, size: number): Buffer {
    if (Buffer.byteLength(name) <= 100) return header(name, size, '0', this.mtime);
    const pax = Buffer.from(paxRecord('path', name));
    return Buffer.concat([header('PaxHeader', pax.length, 'x', this.mtime), pax, padding(pax.length), header(name.slice(0, 100), size, '0', this.mtime)]);
  }

  private write(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.out.write(chunk, (e) => (e ? reject(e) : undefined))) resolve();
      else this.out.once('drain', resolve);
    });
  }
}

export interface TarMember {
  name: string;
  size: number;
}

/** Why a tar could not be read, and in which member (the last one started) it happened. */
export class TarReadError extends Error {
  constructor(
    message: string,
    readonly member: string | null,
  ) {
    super(message);
  }
}

/**
 * Reads the members of a tar stream in order: `onMember` is called with each member, then
 * `onData` with its content in pieces. Rejects with a TarReadError naming the member being read
 * when the stream fails (a gzip stream with a damaged byte) or the tar is malformed.
 */
export async function readTar(input: Readable, onMember: (m: TarMember) => void, onData: (chunk: Buffer) => void): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  let current: TarMember | null = null;
  let remaining = 0; // content bytes of the current member still to come
  let skip = 0; // padding after it
  let paxPath: string | null = null;
  let inPax = false;
  let paxBody: Buffer[] = [];
  let ended = false;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (at < pending.length && !ended) {
        if (remaining > 0) {
          const n = Math.min(remaining, pending.length - at);
          const piece = pending.subarray(at, at + n);
          if (inPax) paxBody.push(Buffer.from(piece));
          else onData(piece);
          remaining -= n;
          at += n;
          if (remaining === 0 && inPax) {
            paxPath = paxPathOf(Buffer.concat(paxBody));
            inPax = false;
            paxBody = [];
          }
          continue;
        }
        if (skip > 0) {
          const n = Math.min(skip, pending.length - at);
          skip -= n;
          at += n;
          continue;
        }
        if (pending.length - at < BLOCK) break;
        const h = pending.subarray(at, at + BLOCK);
        at += BLOCK;
        if (h.every((b) => b === 0)) {
          ended = true;
          break;
        }
        const stored = parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]+$/, '').trim(), 8);
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
        if (stored !== sum) throw new TarReadError(`damaged tar header after ${current === null ? 'the start' : `member ${current.name}`}`, current?.name ?? null);
        const size = parseInt(h.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
        const type = String.fromCharCode(h[156]!);
        remaining = size;
        skip = (BLOCK - (size % BLOCK)) % BLOCK;
        if (type === 'x') {
          inPax = true;
          if (size === 0) inPax = false;
          continue;
        }
        const ustarName = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
        const prefix = h.toString('ascii', 257, 262) === 'ustar' ? h.toString('utf8', 345, 500).replace(/\0.*$/s, '') : '';
        current = { name: paxPath ?? (prefix !== '' ? `${prefix}/${ustarName}` : ustarName), size };
        paxPath = null;
        onMember(current);
      }
      pending = at >= pending.length ? Buffer.alloc(0) : pending.subarray(at);
      if (ended) break;
    }
  } catch (e) {
    if (e instanceof TarReadError) throw e;
    const name = current?.name ?? null;
    throw new TarReadError(`${(e as Error).message}${name === null ? '' : ` (in member ${name})`}`, name);
  }
  if (!ended || remaining > 0) {
    const name = current?.name ?? null;
    throw new TarReadError(`the tar ends early${name === null ? '' : ` (in member ${name})`}`, name);
  }
}

function paxPathOf(body: Buffer): string | null {
  let path: string | null = null;
  for (let at = 0; at < body.length; ) {
    const space = body.indexOf(0x20, at);
    const len = space < 0 ? NaN : Number(body.toString('ascii', at, space));
    if (!Number.isInteger(len) || len <= space - at + 1) break;
    const record = body.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += len;
  }
  return path;
}
