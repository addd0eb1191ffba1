// Snappy block decompression, for Loki's protobuf push (Promtail, Grafana Alloy): the body is one
// snappy block, a varint of the decompressed length followed by literals and back-references.
// The declared length is checked against the body limit before anything is allocated, and every
// reference against what has been written, so a hostile body can cost no more than the limit.

import { LhError } from '../../errors.js';

function bad(detail: string): LhError {
  return new LhError('LH_ERR_BAD_BODY', `invalid snappy data: ${detail}`);
}

/** Decompresses one snappy block; more than `limit` bytes of output is a 413. */
export function snappyDecompress(src: Uint8Array, limit: number): Buffer {
  let pos = 0;
  let length = 0;
  let scale = 1;
  for (let i = 0; ; i++) {
    if (i === 5 || pos >= src.length) throw bad('truncated length');
    const b = src[pos++]!;
    length += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  if (length > limit) throw new LhError('LH_ERR_BODY_TOO_LARGE', `decompressed body of ${length} bytes exceeds ${limit} bytes`);
  const out = Buffer.allocUnsafe(length);
  // Short literals and copies go 4 bytes at a time: a native copy's view and call cost more.
  const words = new DataView(out.buffer, out.byteOffset, out.length);
  const srcWords = new DataView(src.buffer, src.byteOffset, src.length);
  let o = 0;
  while (pos < src.length) {
    const tag = src[pos++]!;
    const type = tag & 3;
    if (type === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (pos + bytes > src.length) throw bad('truncated literal length');
        len = 0;
        for (let k = 0; k < bytes; k++) len += src[pos + k]! * 2 ** (8 * k);
        pos += bytes;
      }
      len += 1;
      if (pos + len > src.length) throw bad('literal runs past the input');
      if (o + len > length) throw bad('output longer than declared');
      if (len > 32) out.set(src.subarray(pos, pos + len), o);
      else {
        let k = 0;
        for (; k + 4 <= len; k += 4) words.setUint32(o + k, srcWords.getUint32(pos + k, true), true);
        for (; k < len; k++) out[o + k] = src[pos + k]!;
      }
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      if (pos + 1 > src.length) throw bad('truncated copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (type === 2) {
      if (pos + 2 > src.length) throw bad('truncated copy');
      len = 1 + (tag >>> 2);
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > src.length) throw bad('truncated copy');
      len = 1 + (tag >>> 2);
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16)) + src[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > o) throw bad(`copy from ${offset} bytes back with ${o} written`);
    if (o + len > length) throw bad('output longer than declared');
    // A copy from at least a word back goes a word at a time (long ones natively): each word it
    // reads is written by then. One that overlaps what it writes by less (a run of a short
    // pattern) goes byte by byte.
    if (offset >= len && len > 32) out.copyWithin(o, o - offset, o - offset + len);
    else if (offset >= 4) {
      let k = 0;
      for (; k + 4 <= len; k += 4) words.setUint32(o + k, words.getUint32(o - offset + k, true), true);
      for (; k < len; k++) out[o + k] = out[o - offset + k]!;
    } else for (let k = 0; k < len; k++) out[o + k] = out[o - offset + k]!;
    o += len;
  }
  if (o !== length) throw bad(`${o} bytes of output, ${length} declared`);
  return out;
}
