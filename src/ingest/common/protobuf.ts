// A reader of the protocol-buffers wire format, for the protocols that speak it (Loki push,
// OTLP): fields are read in order from the bytes, strings and nested messages stay offsets into
// the body until they are needed, and unknown fields are skipped, as the format requires. Only
// what those messages use: varints, 64-bit fixed values and length-delimited fields.

import { LhError } from '../../errors.js';

export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/**
 * Varints and length prefixes for the byte paths (Loki's and OTLP's plain records), which take
 * only what they can write as it is and hand the rest to ProtoReader: a value that is malformed
 * or does not fit gives -1 rather than an error. Reads `buf` from `pos`, and advances it.
 */
export class PlainCursor {
  pos = 0;

  constructor(public buf: Buffer) {}

  /** A varint of at most `maxBytes` bytes (its value exact below 2^(7·maxBytes)) before `end`, or -1. */
  varint(end: number, maxBytes = 5): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes && this.pos < end; i++) {
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    return -1;
  }

  /** A length prefix of at most `maxBytes` bytes whose bytes fit before `end`, or -1. */
  length(end: number, maxBytes = 5): number {
    const len = this.varint(end, maxBytes);
    return len < 0 || this.pos + len > end ? -1 : len;
  }
}

/** Reads one message's fields from `buf[start, end)`. */
export class ProtoReader {
  pos: number;
  /** The current field, after next(): its number and wire type. */
  field = 0;
  type = 0;

  constructor(
    /** The whole body; nested readers share it, and values are read from it in place. */
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    /** What the message is, for error messages. */
    readonly what: string,
  ) {
    this.pos = start;
  }

  /** Moves to the next field; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const key = this.varint();
    this.field = Math.floor(key / 8);
    this.type = key % 8;
    if (this.field === 0) throw this.error('field number 0');
    return true;
  }

  /** An unsigned varint (exact up to 2^53; larger values lose their low bits, as in JS). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.error('truncated varint');
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw this.error('varint longer than 10 bytes');
  }

  /** A varint as a bigint: int64/uint64 values such as nanosecond timestamps. */
  varintBig(): bigint {
    const buf = this.buf;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.error('truncated varint');
      const b = buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw this.error('varint longer than 10 bytes');
  }

  /** A fixed64 as an unsigned bigint. */
  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw this.error('truncated fixed64');
    const buf = this.buf;
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(buf[this.pos + i]!);
    this.pos += 8;
    return v;
  }

  /** A fixed64 holding an IEEE double. */
  double(): number {
    if (this.pos + 8 > this.end) throw this.error('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field: its [start, end) in the buffer. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw this.error(`length ${len} runs past the end of the message`);
    this.pos = start + len;
    return [start, start + len];
  }

  /** A length-delimited field as a UTF-8 string. */
  string(): string {
    const [s, e] = this.bytes();
    return this.buf.toString('utf8', s, e);
  }

  /** A reader over an embedded message. */
  message(what: string): ProtoReader {
    const [s, e] = this.bytes();
    return new ProtoReader(this.buf, s, e, what);
  }

  /** Skips the current field's value. */
  skip(): void {
    switch (this.type) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        if (this.pos + 8 > this.end) throw this.error('truncated fixed64');
        this.pos += 8;
        return;
      case WireType.Bytes:
        this.bytes();
        return;
      case WireType.Fixed32:
        if (this.pos + 4 > this.end) throw this.error('truncated fixed32');
        this.pos += 4;
        return;
      default:
        throw this.error(`unsupported wire type ${this.type} in field ${this.field}`);
    }
  }

  /** Throws unless the current field has the wire type `want`. */
  expect(want: WireType): void {
    if (this.type !== want) throw this.error(`field ${this.field} has wire type ${this.type}, expected ${want}`);
  }

  error(detail: string): LhError {
    return new LhError('LH_ERR_BAD_BODY', `invalid protobuf in ${this.what} at byte ${this.pos}: ${detail}`);
  }
}
