// Reading a request body the same way for every HTTP protocol: raw bytes (no framework parsing)
// read into a pooled buffer, decompressed per Content-Encoding with the same size limit applied
// after inflation, so a small gzip bomb gets a 413 like a large plain body does.

import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { LhError } from '../../errors.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

/** A request body's bytes; `release` hands a pooled buffer back once they are parsed. */
export interface RequestBody {
  bytes: Buffer;
  release(): void;
}

const EMPTY: RequestBody = { bytes: Buffer.alloc(0), release: () => undefined };

/**
 * Makes every body of the routes registered in `scope` arrive as a RequestBody, read into a
 * buffer from `pool` (sized from Content-Length when there is one). Over `bodyLimit`: 413.
 */
export function acceptRawBodies(scope: FastifyInstance, bodyLimit: number, pool: BufferPool): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (req, payload, done) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > bodyLimit) {
      done(new LhError('LH_ERR_BODY_TOO_LARGE', `body of ${declared} bytes exceeds ${bodyLimit} bytes`), undefined);
      return;
    }
    let buf = pool.take(declared >= 0 ? declared : 64 * 1024);
    let length = 0;
    let finished = false;
    const finish = (err: Error | null, body?: RequestBody) => {
      if (finished) return;
      finished = true;
      payload.removeListener('data', onData);
      if (err !== null) pool.give(buf);
      done(err, body);
    };
    const onData = (chunk: Buffer) => {
      if (length + chunk.length > bodyLimit) {
        finish(new LhError('LH_ERR_BODY_TOO_LARGE', `body exceeds ${bodyLimit} bytes`));
        return;
      }
      if (length + chunk.length > buf.length) {
        const bigger = pool.take(Math.max(buf.length * 2, length + chunk.length));
        buf.copy(bigger, 0, 0, length);
        pool.give(buf);
        buf = bigger;
      }
      chunk.copy(buf, length);
      length += chunk.length;
    };
    payload.on('data', onData);
    payload.once('end', () => {
      const owned = buf;
      let released = false;
      finish(null, {
        bytes: owned.subarray(0, length),
        release() {
          if (released) return;
          released = true;
          pool.give(owned);
        },
      });
    });
    payload.once('error', (e) => finish(e));
  });
}

/** The body decompressed per Content-Encoding; a pooled raw body is released when replaced. */
export async function decodeBody(body: unknown, encoding: string | undefined, limit: number): Promise<RequestBody> {
  const raw = isRequestBody(body) ? body : EMPTY;
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return raw;
  try {
    const buf = raw.bytes;
    let out: Buffer;
    if (enc === 'gzip' || enc === 'x-gzip') {
      out = await gunzip(buf, { maxOutputLength: limit });
    } else if (enc === 'deflate') {
      // Clients disagree on whether "deflate" means zlib-wrapped or raw; accept both.
      out = await inflate(buf, { maxOutputLength: limit }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ERR_BUFFER_TOO_LARGE') throw e;
        return inflateRaw(buf, { maxOutputLength: limit });
      });
    } else {
      throw new LhError('LH_ERR_UNSUPPORTED_MEDIA', `content-encoding "${enc}" is not supported (use gzip or deflate)`);
    }
    return { bytes: out, release: () => undefined };
  } catch (e) {
    if (e instanceof LhError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new LhError('LH_ERR_BODY_TOO_LARGE', `decompressed body exceeds ${limit} bytes`);
    }
    throw new LhError('LH_ERR_BAD_BODY', `cannot decompress ${enc} body: ${err.message}`);
  } finally {
    raw.release();
  }
}

function isRequestBody(v: unknown): v is RequestBody {
  return typeof v === 'object' && v !== null && Buffer.isBuffer((v as RequestBody).bytes);
}
