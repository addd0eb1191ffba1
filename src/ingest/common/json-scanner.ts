// A validating single-pass scanner for JSON objects in UTF-8 bytes, built for the ingest hot path.
// It checks a whole object against the JSON grammar (RFC 8259) but materialises only what the
// record model needs: the top-level members, as offsets into the bytes, in a member table that is
// reused from one object to the next. Nothing is decoded and nothing is allocated per member, so
// members that feed no record field are later copied into attrs as raw bytes.
// The bytes must already be valid UTF-8 (the caller checks the whole body once). One thing is
// repaired in place rather than refused: a `\uD800`–`\uDFFF` escape that is not half of a
// surrogate pair becomes `\uFFFD`, as a decoder would do with a bad byte. JSON's grammar allows
// such escapes, but they name no character, and the store (like most JSON readers) would refuse
// the whole row — after it was acknowledged.

import { hex4 } from '../../model/utf8.js';

/** A typed array twice as long as `a`, starting with a copy of it (member tables grow so). */
export function doubled<T extends Int32Array | Int16Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

export enum ValueKind {
  String,
  Number,
  True,
  False,
  Null,
  Object,
  Array,
}

/** Member flags. */
export const VALUE_ESCAPED = 1; // a string value with a backslash escape: its raw bytes are not its value
export const KEY_ESCAPED = 2;

const MAX_DEPTH = 128;

class ScanError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

/**
 * Scans one JSON object at a time. After a successful `scanObject`, members 0..count-1 of the
 * table describe its top-level members in order; `blanks` says whether a tab, CR or LF appeared
 * between tokens (such whitespace must not reach a tab-separated row).
 */
export class JsonObjectScanner {
  count = 0;
  keyStart = new Int32Array(32); // first byte of the key, after its opening quote
  keyEnd = new Int32Array(32); // the key's closing quote
  valueStart = new Int32Array(32);
  valueEnd = new Int32Array(32); // exclusive
  kind = new Uint8Array(32);
  flags = new Uint8Array(32);
  blanks = false;
  /**
   * Whether a lone surrogate escape is repaired in place (see the top of this file); false: it
   * fails the scan instead, leaving the bytes as they were, for a reader that may hand them on.
   */
  repairs = true;
  /** After a failed scan: what was wrong, and where (byte offset). */
  error = '';
  errorPos = 0;

  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;

  /**
   * Scans the object that starts at `start` (after optional whitespace), reading no further than
   * `end`. Returns the offset just after it, or -1 with `error` set.
   */
  scanObject(buf: Uint8Array, start: number, end: number): number {
    this.count = 0;
    this.blanks = false;
    return this.scan(buf, start, end, true);
  }

  /** After a failed scan: true when the input was valid JSON but not an object. */
  get notAnObject(): boolean {
    return this.error.startsWith(NOT_AN_OBJECT);
  }

  /**
   * Skips one JSON value of any kind at `start` (array elements that are not objects); returns
   * the offset after it or -1 with `error` set.
   */
  skipValue(buf: Uint8Array, start: number, end: number): number {
    return this.scan(buf, start, end, false);
  }

  /** One object (tabled) or one value of any kind (skipped); the offset after it, or -1. */
  private scan(buf: Uint8Array, start: number, end: number, object: boolean): number {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    try {
      this.skipWs();
      if (!object) {
        if (this.pos < end && buf[this.pos] === 34) this.string();
        else this.value(1);
      } else {
        if (this.pos >= end) throw new ScanError('empty line', this.pos);
        if (buf[this.pos] !== 123 /* { */) throw new NotAnObject(jsonKindName(buf[this.pos]!), this.pos);
        this.object(1, true);
      }
      return this.pos;
    } catch (e) {
      if (!(e instanceof ScanError)) throw e;
      this.error = e.message;
      this.errorPos = e.pos;
      return -1;
    }
  }

  /** Offset of the first non-whitespace byte at or after `pos` (before `end`). */
  static skipWhitespace(buf: Uint8Array, pos: number, end: number): number {
    while (pos < end) {
      const c = buf[pos]!;
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      pos++;
    }
    return pos;
  }

  private skipWs(): void {
    const buf = this.buf;
    let p = this.pos;
    while (p < this.end) {
      const c = buf[p]!;
      if (c === 32) {
        p++;
        continue;
      }
      if (c !== 9 && c !== 10 && c !== 13) break;
      this.blanks = true;
      p++;
    }
    this.pos = p;
  }

  /** At an opening quote; leaves pos after the closing quote. Returns whether it had escapes. */
  private string(): boolean {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos + 1;
    let escaped = false;
    for (;;) {
      if (p >= end) throw new ScanError('unterminated string', this.pos);
      const c = buf[p]!;
      if (c === 34) break;
      if (c === 92 /* \ */) {
        escaped = true;
        const e = p + 1 < end ? buf[p + 1]! : -1;
        if (e === 117 /* u */) {
          const unit = hex4(buf, p + 2, end);
          if (unit < 0) throw new ScanError('bad \\u escape', p);
          if (unit >= 0xd800 && unit <= 0xdfff) {
            const low = unit <= 0xdbff && buf[p + 6] === 92 && buf[p + 7] === 117 ? hex4(buf, p + 8, end) : -1;
            if (low >= 0xdc00 && low <= 0xdfff) {
              p += 12;
              continue;
            }
            if (!this.repairs) throw new ScanError('lone surrogate escape', p);
            buf[p + 2] = 102; // f
            buf[p + 3] = 102; // f
            buf[p + 4] = 102; // f
            buf[p + 5] = 100; // d
          }
          p += 6;
          continue;
        }
        if (e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116) {
          throw new ScanError('bad escape', p);
        }
        p += 2;
        continue;
      }
      if (c < 32) throw new ScanError('control character in a string', p);
      p++;
    }
    this.pos = p + 1;
    return escaped;
  }

  /** Any value; leaves pos after it. */
  private value(depth: number): ValueKind {
    const buf = this.buf;
    if (this.pos >= this.end) throw new ScanError('expected a value', this.pos);
    const c = buf[this.pos]!;
    if (c === 34) {
      this.string();
      return ValueKind.String;
    }
    if (c === 123 || c === 91) {
      if (depth > MAX_DEPTH) throw new ScanError(`nesting deeper than ${MAX_DEPTH}`, this.pos);
      if (c === 123) this.object(depth, false);
      else this.array(depth);
      return c === 123 ? ValueKind.Object : ValueKind.Array;
    }
    if (c === 116) return this.literal(0x74727565, ValueKind.True); // true
    if (c === 102) return this.literalFalse();
    if (c === 110) return this.literal(0x6e756c6c, ValueKind.Null); // null
    if (c === 45 || (c >= 48 && c <= 57)) {
      this.number();
      return ValueKind.Number;
    }
    throw new ScanError('expected a value', this.pos);
  }

  /** At an opening brace; records the members in the table when `top`. */
  private object(depth: number, top: boolean): void {
    const buf = this.buf;
    this.pos++;
    this.skipWs();
    if (this.pos < this.end && buf[this.pos] === 125) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWs();
      if (this.pos >= this.end || buf[this.pos] !== 34) throw new ScanError('expected a member name in double quotes', this.pos);
      const keyStart = this.pos + 1;
      const keyEscaped = this.string();
      const keyEnd = this.pos - 1;
      this.skipWs();
      if (this.pos >= this.end || buf[this.pos] !== 58) throw new ScanError("expected ':' after the member name", this.pos);
      this.pos++;
      this.skipWs();
      const valueStart = this.pos;
      let kind: ValueKind;
      let escaped = false;
      if (this.pos < this.end && buf[this.pos] === 34) {
        kind = ValueKind.String;
        escaped = this.string();
      } else {
        kind = this.value(depth + 1);
      }
      if (top) {
        const i = this.count;
        if (i === this.keyStart.length) this.grow();
        this.keyStart[i] = keyStart;
        this.keyEnd[i] = keyEnd;
        this.valueStart[i] = valueStart;
        this.valueEnd[i] = this.pos;
        this.kind[i] = kind;
        this.flags[i] = (escaped ? VALUE_ESCAPED : 0) | (keyEscaped ? KEY_ESCAPED : 0);
        this.count = i + 1;
      }
      this.skipWs();
      const d = this.pos < this.end ? buf[this.pos] : -1;
      if (d === 44) {
        this.pos++;
        continue;
      }
      if (d === 125) {
        this.pos++;
        return;
      }
      throw new ScanError("expected ',' or '}' after a member", this.pos);
    }
  }

  private array(depth: number): void {
    const buf = this.buf;
    this.pos++;
    this.skipWs();
    if (this.pos < this.end && buf[this.pos] === 93) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWs();
      this.value(depth + 1);
      this.skipWs();
      const d = this.pos < this.end ? buf[this.pos] : -1;
      if (d === 44) {
        this.pos++;
        continue;
      }
      if (d === 93) {
        this.pos++;
        return;
      }
      throw new ScanError("expected ',' or ']' in an array", this.pos);
    }
  }

  /** A four-letter literal given as its bytes packed big-endian. */
  private literal(word: number, kind: ValueKind): ValueKind {
    const buf = this.buf;
    const p = this.pos;
    if (p + 4 <= this.end && ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) === word) {
      this.pos = p + 4;
      return kind;
    }
    throw new ScanError('expected a value', p);
  }

  private literalFalse(): ValueKind {
    const buf = this.buf;
    const p = this.pos;
    if (p + 5 <= this.end && buf[p + 1] === 97 && buf[p + 2] === 108 && buf[p + 3] === 115 && buf[p + 4] === 101) {
      this.pos = p + 5;
      return ValueKind.False;
    }
    throw new ScanError('expected a value', p);
  }

  private number(): void {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    if (buf[p] === 45) p++;
    let c = p < end ? buf[p]! : -1;
    if (c === 48) {
      p++;
    } else if (c >= 49 && c <= 57) {
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++;
    } else {
      throw new ScanError('bad number', this.pos);
    }
    if (p < end && buf[p] === 46) {
      p++;
      const digits = p;
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++;
      if (p === digits) throw new ScanError('bad number', this.pos);
    }
    c = p < end ? buf[p]! : -1;
    if (c === 101 || c === 69) {
      p++;
      c = p < end ? buf[p]! : -1;
      if (c === 43 || c === 45) p++;
      const digits = p;
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++;
      if (p === digits) throw new ScanError('bad number', this.pos);
    }
    this.pos = p;
  }

  private grow(): void {
    this.keyStart = doubled(this.keyStart);
    this.keyEnd = doubled(this.keyEnd);
    this.valueStart = doubled(this.valueStart);
    this.valueEnd = doubled(this.valueEnd);
    this.kind = doubled(this.kind);
    this.flags = doubled(this.flags);
  }
}

const NOT_AN_OBJECT = 'expected a JSON object, got ';

class NotAnObject extends ScanError {
  constructor(what: string, pos: number) {
    super(`${NOT_AN_OBJECT}${what}`, pos);
  }
}

/** JSON text with any lone surrogate escape repaired to `\uFFFD` (see the top of this file). */
export function wellFormedJson(text: string): string {
  if (!/\\u[dD][89a-fA-F]/.test(text)) return text;
  const bytes = Buffer.from(text);
  const scanner = new JsonObjectScanner();
  for (let at = JsonObjectScanner.skipWhitespace(bytes, 0, bytes.length); at < bytes.length; ) {
    // Objects are what attrs hold; anything else is repaired value by value all the same.
    at = bytes[at] === 123 ? scanner.scanObject(bytes, at, bytes.length) : scanner.skipValue(bytes, at, bytes.length);
    if (at < 0) return text; // not JSON: nothing to repair here, the caller's validation decides
    at = JsonObjectScanner.skipWhitespace(bytes, at, bytes.length);
  }
  return bytes.toString();
}

/** What a JSON value starting with byte `c` is, for error messages. */
export function jsonKindName(c: number): string {
  if (c === 91) return 'an array';
  if (c === 34) return 'a string';
  if (c === 116 || c === 102) return 'a boolean';
  if (c === 110) return 'null';
  if (c === 45 || (c >= 48 && c <= 57)) return 'a number';
  return 'something that is not JSON';
}
