// OTLP/protobuf log records written as rows straight from the request bytes, the way the native
// route writes NDJSON lines: no objects, no strings for what is only copied. A record holding
// anything this path does not decide for itself (an attribute the object path treats specially, a
// repeated key, a body or value other than a string or a scalar, text that is not valid UTF-8, a
// time past 2116, …) is left to logs-body.ts's object path, which is the spec: both write the same
// bytes for every record this path takes (logs-proto.test.ts and the OTLP fuzz test check it).

import { isUtf8 } from 'node:buffer';
import { bytesEqual } from '../../model/bytes.js';
import { levelFromOtelSeverity } from '../../model/level.js';
import { NULL_FIELD, textField } from '../../store/row-format.js';
import { PlainCursor, WireType } from '../common/protobuf.js';
import type { LogsWriter } from './logs-body.js';

const HEX = Buffer.from('0123456789abcdef');
const MAX_ATTRIBUTES = 64;
/** 2^30: a fixed64 whose high half is below it is a time in nanoseconds whose µs are exact in a double. */
const HIGH_LIMIT = 2 ** 30;

/**
 * Attribute names the object path treats specially (category, the code location, the members it
 * adds to attrs itself, and `__proto__`), by length: a record with one goes to the object path.
 */
const SPECIAL_KEYS = new Map<number, Buffer[]>();
for (const k of [
  'category',
  'code.file.path',
  'code.filepath',
  'code.line.number',
  'code.lineno',
  'code.function.name',
  'code.function',
  'resource',
  'scope',
  'body',
  'severity_text',
  'event_name',
  'flags',
  '__proto__',
]) {
  const b = Buffer.from(k);
  SPECIAL_KEYS.set(b.length, [...(SPECIAL_KEYS.get(b.length) ?? []), b]);
}

const column = (s: string | null) => (s === null ? NULL_FIELD : textField(s));

/** All digits: a key JavaScript would order before the others in an object (an array index), so the object path's. */
function digitsOnly(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i]! < 48 || buf[i]! > 57) return false;
  return e > s;
}

/** Writes a body's records as rows while they are plain; one instance per request. */
export class ProtoRecordWriter extends PlainCursor {
  // The record being read: where its fields are, as offsets into the body.
  private timeLo = 0;
  private timeHi = 0;
  private observedLo = 0;
  private observedHi = 0;
  private severity = 0;
  private severityTextLength = 0;
  private bodyStart = -1;
  private bodyEnd = -1;
  private traceStart = -1;
  private traceEnd = -1;
  private spanStart = -1;
  private spanEnd = -1;
  private flags = 0;
  private attributes = 0;
  // Per attribute: its key's [start, end) and its value's kind and [start, end) (or the number).
  private readonly keyStart = new Int32Array(MAX_ATTRIBUTES);
  private readonly keyEnd = new Int32Array(MAX_ATTRIBUTES);
  private readonly valueKind = new Uint8Array(MAX_ATTRIBUTES);
  private readonly valueStart = new Int32Array(MAX_ATTRIBUTES);
  private readonly valueEnd = new Int32Array(MAX_ATTRIBUTES);
  private readonly valueNumber = new Float64Array(MAX_ATTRIBUTES);
  /** The row's bytes from the tab after the time to the level: received_at and tenant, the same for every record. */
  private readonly head: Buffer;
  /** From the tab after the severity to the message: service, host, category and source, the same under a resource. */
  private middleBytes = Buffer.alloc(0);
  private middleOf: [string | null, string | null, string | null] | null = null;
  /** The resource's and scope's members of attrs, as text and as bytes. */
  private sharedText = '';
  private sharedBytes = Buffer.alloc(0);

  constructor(
    buf: Buffer,
    private readonly w: LogsWriter,
  ) {
    super(buf);
    this.head = Buffer.from(`\t${w.ctx.receivedAt}\t${textField(w.ctx.tenant)}\t`);
  }

  /** The columns from service to source under the current resource (made once for each). */
  private middle(): Buffer {
    const w = this.w;
    const c = w.resource?.category;
    const category = typeof c === 'string' ? c : null;
    const of = this.middleOf;
    if (of === null || of[0] !== w.service || of[1] !== w.host || of[2] !== category) {
      this.middleOf = [w.service, w.host, category];
      // Source is NULL: the code location attributes go to the object path.
      this.middleBytes = Buffer.from(`\t${column(w.service)}\t${column(w.host)}\t${column(category)}\t${NULL_FIELD}\t`);
    }
    return this.middleBytes;
  }

  /**
   * Writes the LogRecord at [start, end) as a row and returns true, or returns false having
   * written nothing: the record is then the object path's.
   */
  write(start: number, end: number): boolean {
    if (!this.read(start, end)) return false;
    if (this.severityTextLength > 0 && levelFromOtelSeverity(this.severity) === null) return false;
    if (!this.checkAttributes()) return false;
    if (this.bodyStart >= 0 && !this.plainText(this.bodyStart, this.bodyEnd)) return false;
    const w = this.w;
    const out = w.out;
    // The time: µs from ns exactly (the high half is below 2^30), as the object path's bigint division.
    const lo = this.timeLo !== 0 || this.timeHi !== 0 ? this.timeLo : this.observedLo;
    const hi = this.timeLo !== 0 || this.timeHi !== 0 ? this.timeHi : this.observedHi;
    const middle = this.middle();
    out.reserve(64 + this.head.length + middle.length);
    if (lo === 0 && hi === 0) out.bigint(w.ctx.receivedAt);
    else out.int(hi * 4294967 + Math.floor((hi * 296 + lo) / 1000));
    out.copy(this.head, 0, this.head.length);
    const level = levelFromOtelSeverity(this.severity);
    if (level === null) out.nul();
    else out.ascii(level);
    out.tab();
    if (level === null) out.nul();
    else out.int(this.severity);
    out.copy(middle, 0, middle.length);
    if (this.bodyStart >= 0) this.w.out.escaped(this.buf, this.bodyStart, this.bodyEnd);
    else out.nul();
    out.reserve(16);
    out.tab();
    this.id(this.traceStart, this.traceEnd);
    out.reserve(16);
    out.tab();
    this.id(this.spanStart, this.spanEnd);
    out.reserve(16);
    out.tab();
    this.attrs();
    out.endRow();
    return true;
  }

  /** Reads the record's fields; false when one is of a kind this path leaves to the objects. */
  private read(start: number, end: number): boolean {
    const buf = this.buf;
    this.timeLo = this.timeHi = this.observedLo = this.observedHi = 0;
    this.severity = 0;
    this.severityTextLength = 0;
    this.bodyStart = this.bodyEnd = this.traceStart = this.traceEnd = this.spanStart = this.spanEnd = -1;
    this.flags = 0;
    this.attributes = 0;
    this.pos = start;
    while (this.pos < end) {
      const key = this.varint(end);
      if (key < 0) return false;
      const field = Math.floor(key / 8);
      const type = key % 8;
      switch (field) {
        case 1:
        case 11: {
          if (type !== WireType.Fixed64 || this.pos + 8 > end) return false;
          const lo = buf.readUInt32LE(this.pos);
          const hi = buf.readUInt32LE(this.pos + 4);
          if (hi >= HIGH_LIMIT) return false;
          if (field === 1) [this.timeLo, this.timeHi] = [lo, hi];
          else [this.observedLo, this.observedHi] = [lo, hi];
          this.pos += 8;
          break;
        }
        case 2: {
          if (type !== WireType.Varint) return false;
          const n = this.varint(end);
          if (n < 0) return false;
          this.severity = n;
          break;
        }
        case 3: {
          if (type !== WireType.Bytes) return false;
          const len = this.length(end);
          if (len < 0) return false;
          this.severityTextLength = len;
          this.pos += len;
          break;
        }
        case 5: {
          // A body: an AnyValue holding one string_value, else the object path's.
          if (type !== WireType.Bytes) return false;
          const len = this.length(end);
          if (len < 0) return false;
          const vEnd = this.pos + len;
          if (this.pos >= vEnd || buf[this.pos] !== 0x0a) return false;
          this.pos++;
          const sLen = this.length(vEnd);
          if (sLen < 0 || this.pos + sLen !== vEnd) return false;
          this.bodyStart = this.pos;
          this.bodyEnd = vEnd;
          this.pos = vEnd;
          break;
        }
        case 6:
          if (type !== WireType.Bytes || !this.keyValue(end)) return false;
          break;
        case 8:
          if (type !== WireType.Fixed32 || this.pos + 4 > end) return false;
          this.flags = buf.readUInt32LE(this.pos);
          this.pos += 4;
          break;
        case 9:
        case 10: {
          if (type !== WireType.Bytes) return false;
          const len = this.length(end);
          if (len < 0) return false;
          if (field === 9) [this.traceStart, this.traceEnd] = [this.pos, this.pos + len];
          else [this.spanStart, this.spanEnd] = [this.pos, this.pos + len];
          this.pos += len;
          break;
        }
        case 12: {
          // An event name goes to attrs: only an empty one is this path's.
          if (type !== WireType.Bytes) return false;
          const len = this.length(end);
          if (len !== 0) return false;
          break;
        }
        default:
          if (field === 0 || !this.skip(type, end)) return false;
      }
    }
    return this.pos === end;
  }

  /** A KeyValue: its key, and a value that is a string, a bool, an int below 2^49 or a double. */
  private keyValue(end: number): boolean {
    const buf = this.buf;
    const len = this.length(end);
    if (len < 0) return false;
    const kvEnd = this.pos + len;
    const i = this.attributes;
    if (i === MAX_ATTRIBUTES) return false;
    let keyStart = -1;
    let keyEnd = -1;
    let kind = 0; // 0: none (null), 1: string, 2: bool, 3: int, 4: double
    while (this.pos < kvEnd) {
      const key = this.varint(kvEnd);
      if (key === 0x0a) {
        const kLen = this.length(kvEnd);
        if (kLen < 0) return false;
        keyStart = this.pos;
        keyEnd = this.pos + kLen;
        this.pos = keyEnd;
      } else if (key === 0x12) {
        const vLen = this.length(kvEnd);
        if (vLen < 0) return false;
        const vEnd = this.pos + vLen;
        // An AnyValue with one field (none: null).
        kind = 0;
        if (this.pos < vEnd) {
          const tag = buf[this.pos++]!;
          if (tag === 0x0a) {
            const sLen = this.length(vEnd);
            if (sLen < 0 || this.pos + sLen !== vEnd) return false;
            kind = 1;
            this.valueStart[i] = this.pos;
            this.valueEnd[i] = vEnd;
          } else if (tag === 0x10 || tag === 0x18) {
            const n = this.varint(vEnd, 7);
            if (n < 0 || this.pos !== vEnd) return false;
            kind = tag === 0x10 ? 2 : 3;
            this.valueNumber[i] = n;
          } else if (tag === 0x21) {
            if (this.pos + 8 !== vEnd) return false;
            kind = 4;
            this.valueNumber[i] = buf.readDoubleLE(this.pos);
          } else {
            return false;
          }
        }
        this.pos = vEnd;
      } else {
        return false;
      }
    }
    if (this.pos !== kvEnd) return false;
    // A KeyValue without a key is the attribute "" in the object path.
    this.keyStart[i] = keyStart < 0 ? 0 : keyStart;
    this.keyEnd[i] = keyStart < 0 ? 0 : keyEnd;
    this.valueKind[i] = kind;
    this.attributes = i + 1;
    return true;
  }

  /** No attribute the object path must see, no key twice, every key and text valid UTF-8. */
  private checkAttributes(): boolean {
    const buf = this.buf;
    const n = this.attributes;
    for (let i = 0; i < n; i++) {
      const s = this.keyStart[i]!;
      const len = this.keyEnd[i]! - s;
      const specials = SPECIAL_KEYS.get(len);
      if (specials !== undefined) for (const k of specials) if (bytesEqual(buf, s, k, 0, len)) return false;
      if (digitsOnly(buf, s, s + len)) return false;
      for (let j = 0; j < i; j++) {
        const t = this.keyStart[j]!;
        if (this.keyEnd[j]! - t === len && bytesEqual(buf, s, buf, t, len)) return false;
      }
      if (!this.plainText(s, s + len)) return false;
      if (this.valueKind[i] === 1 && !this.plainText(this.valueStart[i]!, this.valueEnd[i]!)) return false;
    }
    return true;
  }

  /** Text the object path would not change in decoding: valid UTF-8. */
  private plainText(start: number, end: number): boolean {
    const buf = this.buf;
    for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return isUtf8(buf.subarray(start, end));
    return true;
  }

  /** The attrs column: the record's attributes, its flags, then the resource's and scope's members. */
  private attrs(): void {
    const out = this.w.out;
    out.reserve(1);
    out.buf[out.pos++] = 123; // {
    let first = true;
    for (let i = 0; i < this.attributes; i++) {
      out.reserve(2);
      if (!first) out.buf[out.pos++] = 44; // ,
      first = false;
      out.buf[out.pos++] = 34;
      this.w.out.escaped(this.buf, this.keyStart[i]!, this.keyEnd[i]!);
      out.reserve(3);
      out.buf[out.pos++] = 34;
      out.buf[out.pos++] = 58; // :
      switch (this.valueKind[i]) {
        case 0:
          out.reserve(4);
          out.ascii('null');
          break;
        case 1:
          out.buf[out.pos++] = 34;
          this.w.out.escaped(this.buf, this.valueStart[i]!, this.valueEnd[i]!);
          out.reserve(1);
          out.buf[out.pos++] = 34;
          break;
        case 2:
          out.reserve(5);
          out.ascii(this.valueNumber[i] !== 0 ? 'true' : 'false');
          break;
        case 3:
          out.reserve(16);
          out.int(this.valueNumber[i]!);
          break;
        default: {
          const text = JSON.stringify(this.valueNumber[i]);
          out.reserve(text.length);
          out.ascii(text);
        }
      }
    }
    if (this.flags !== 0) {
      out.reserve(20);
      if (!first) out.buf[out.pos++] = 44;
      first = false;
      out.ascii('"flags":');
      out.int(this.flags);
    }
    const shared = this.w.sharedAttrs();
    if (shared !== '') {
      if (shared !== this.sharedText) [this.sharedText, this.sharedBytes] = [shared, Buffer.from(shared)];
      out.reserve(this.sharedBytes.length + 1);
      if (!first) out.buf[out.pos++] = 44;
      out.copy(this.sharedBytes, 0, this.sharedBytes.length);
    }
    out.reserve(2); // and the row's newline
    out.buf[out.pos++] = 125; // }
  }

  /** A trace or span id as hex; NULL when absent, empty or all zeros. */
  private id(start: number, end: number): void {
    const out = this.w.out;
    const src = this.buf;
    let zero = true;
    for (let i = start; i < end; i++) if (src[i] !== 0) zero = false;
    if (start < 0 || zero) return out.nul();
    out.reserve((end - start) * 2);
    const buf = out.buf;
    let p = out.pos;
    for (let i = start; i < end; i++) {
      buf[p++] = HEX[src[i]! >>> 4]!;
      buf[p++] = HEX[src[i]! & 15]!;
    }
    out.pos = p;
  }

  /** Skips an unknown field's value; false when it is malformed (the object path says why). */
  private skip(type: number, end: number): boolean {
    switch (type) {
      case WireType.Varint:
        return this.varint(end, 10) >= 0;
      case WireType.Fixed64:
        this.pos += 8;
        return this.pos <= end;
      case WireType.Bytes: {
        const len = this.length(end);
        if (len < 0) return false;
        this.pos += len;
        return true;
      }
      case WireType.Fixed32:
        this.pos += 4;
        return this.pos <= end;
      default:
        return false;
    }
  }
}
