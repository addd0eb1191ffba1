// Reading a request body the same way for every HTTP protocol: a raw buffer (no framework
// parsing), decompressed per Content-Encoding with the same size limit applied after inflation,
// so a small gzip bomb gets a 413 like a large plain body does.

import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { LhError } from '../../errors.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

/** Makes every body of the routes registered in `scope` arrive as a raw Buffer. */
export function acceptRawBodies(scope: FastifyInstance, bodyLimit: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
}

export async function decodeBody(body: unknown, encoding: string | undefined, limit: number): Promise<Buffer> {
  const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  try {
    if (enc === 'identity' || enc === '') return buf;
    if (enc === 'gzip' || enc === 'x-gzip') return await gunzip(buf, { maxOutputLength: limit });
    if (enc === 'deflate') {
      // Clients disagree on whether "deflate" means zlib-wrapped or raw; accept both.
      return await inflate(buf, { maxOutputLength: limit }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ERR_BUFFER_TOO_LARGE') throw e;
        return inflateRaw(buf, { maxOutputLength: limit });
      });
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new LhError('LH_ERR_BODY_TOO_LARGE', `decompressed body exceeds ${limit} bytes`);
    }
    throw new LhError('LH_ERR_BAD_BODY', `cannot decompress ${enc} body: ${err.message}`);
  }
  throw new LhError('LH_ERR_UNSUPPORTED_MEDIA', `content-encoding "${enc}" is not supported (use gzip or deflate)`);
}
