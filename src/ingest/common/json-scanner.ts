// A validating single-pass scanner for one JSON object per line, built for the ingest hot path.
// It checks the whole line against the JSON grammar (RFC 8259) but materialises only what the
// record model needs: the top-level members, each as its raw source slice. Members that feed no
// record field are never decoded — attrs is rebuilt from their raw text — so a line costs one
// pass over its characters instead of JSON.parse plus JSON.stringify.

export enum ValueKind {
  String,
  Number,
  True,
  False,
  Null,
  Object,
  Array,
}

/** One top-level member: offsets into the scanned text. */
export interface Member {
  keyStart: number; // first character of the key, after its opening quote
  keyEnd: number; // the key's closing quote
  keyEscaped: boolean;
  valueStart: number;
  valueEnd: number; // exclusive
  kind: ValueKind;
  /** For strings: the content has a backslash escape (the raw slice is not the value). */
  escaped: boolean;
}

export type ScanResult = { ok: true; members: Member[] } | { ok: false; error: string };

const MAX_DEPTH = 128;

/**
 * Scans `text[start, end)` as one JSON object. On success returns its top-level members in
 * order; on failure a message naming the column (1-based) and what was wrong.
 */
export function scanObjectLine(text: string, start: number, end: number): ScanResult {
  const s = new Scanner(text, start, end);
  try {
    s.skipWs();
    if (s.pos >= end) return fail(s, 'empty line');
    if (text.charCodeAt(s.pos) !== 123 /* { */) {
      return { ok: false, error: `expected a JSON object, got ${kindName(text.charCodeAt(s.pos))}` };
    }
    const members = s.topObject();
    s.skipWs();
    if (s.pos < end) return fail(s, 'unexpected text after the object');
    return { ok: true, members };
  } catch (e) {
    if (e instanceof ScanError) return { ok: false, error: `invalid JSON at column ${e.pos - start + 1}: ${e.message}` };
    throw e;
  }
}

class ScanError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

function fail(s: Scanner, message: string): ScanResult {
  return { ok: false, error: `invalid JSON at column ${s.pos - s.start + 1}: ${message}` };
}

function kindName(c: number): string {
  if (c === 91) return 'an array';
  if (c === 34) return 'a string';
  if (c === 116 || c === 102) return 'a boolean';
  if (c === 110) return 'null';
  if (c === 45 || (c >= 48 && c <= 57)) return 'a number';
  return 'something that is not JSON';
}

class Scanner {
  pos: number;
  constructor(
    readonly text: string,
    readonly start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  skipWs(): void {
    const t = this.text;
    let p = this.pos;
    while (p < this.end) {
      const c = t.charCodeAt(p);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      p++;
    }
    this.pos = p;
  }

  topObject(): Member[] {
    const members: Member[] = [];
    this.object(1, members);
    return members;
  }

  /** At an opening quote; leaves pos after the closing quote. Returns whether it had escapes. */
  string(): boolean {
    const t = this.text;
    const end = this.end;
    let p = this.pos + 1;
    let escaped = false;
    for (;;) {
      if (p >= end) throw new ScanError('unterminated string', this.pos);
      const c = t.charCodeAt(p);
      if (c === 34) break;
      if (c === 92 /* \ */) {
        escaped = true;
        const e = p + 1 < end ? t.charCodeAt(p + 1) : -1;
        if (e === 117 /* u */) {
          for (let k = 2; k < 6; k++) {
            const h = p + k < end ? t.charCodeAt(p + k) : -1;
            if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) {
              throw new ScanError('bad \\u escape', p);
            }
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

  /** Any value that is not a top-level string; leaves pos after it. */
  value(depth: number): ValueKind {
    const t = this.text;
    if (this.pos >= this.end) throw new ScanError('expected a value', this.pos);
    const c = t.charCodeAt(this.pos);
    if (c === 34) {
      this.string();
      return ValueKind.String;
    }
    if (c === 123 || c === 91) {
      if (depth > MAX_DEPTH) throw new ScanError(`nesting deeper than ${MAX_DEPTH}`, this.pos);
      return c === 123 ? this.object(depth) : this.array(depth);
    }
    if (c === 116) return this.literal('true', ValueKind.True);
    if (c === 102) return this.literal('false', ValueKind.False);
    if (c === 110) return this.literal('null', ValueKind.Null);
    if (c === 45 || (c >= 48 && c <= 57)) {
      this.number();
      return ValueKind.Number;
    }
    throw new ScanError('expected a value', this.pos);
  }

  /** At an opening brace; records the members in `members` when given (the top level only). */
  object(depth: number, members?: Member[]): ValueKind {
    const t = this.text;
    this.pos++;
    this.skipWs();
    if (this.pos < this.end && t.charCodeAt(this.pos) === 125) {
      this.pos++;
      return ValueKind.Object;
    }
    for (;;) {
      this.skipWs();
      if (this.pos >= this.end || t.charCodeAt(this.pos) !== 34) throw new ScanError('expected a member name in double quotes', this.pos);
      const keyStart = this.pos + 1;
      const keyEscaped = this.string();
      const keyEnd = this.pos - 1;
      this.skipWs();
      if (this.pos >= this.end || t.charCodeAt(this.pos) !== 58) throw new ScanError("expected ':' after the member name", this.pos);
      this.pos++;
      this.skipWs();
      const valueStart = this.pos;
      let kind: ValueKind;
      let escaped = false;
      if (this.pos < this.end && t.charCodeAt(this.pos) === 34) {
        kind = ValueKind.String;
        escaped = this.string();
      } else {
        kind = this.value(depth + 1);
      }
      members?.push({ keyStart, keyEnd, keyEscaped, valueStart, valueEnd: this.pos, kind, escaped });
      this.skipWs();
      const d = this.pos < this.end ? t.charCodeAt(this.pos) : -1;
      if (d === 44) {
        this.pos++;
        continue;
      }
      if (d === 125) {
        this.pos++;
        return ValueKind.Object;
      }
      throw new ScanError("expected ',' or '}' after a member", this.pos);
    }
  }

  array(depth: number): ValueKind {
    const t = this.text;
    this.pos++;
    this.skipWs();
    if (this.pos < this.end && t.charCodeAt(this.pos) === 93) {
      this.pos++;
      return ValueKind.Array;
    }
    for (;;) {
      this.skipWs();
      this.value(depth + 1);
      this.skipWs();
      const d = this.pos < this.end ? t.charCodeAt(this.pos) : -1;
      if (d === 44) {
        this.pos++;
        continue;
      }
      if (d === 93) {
        this.pos++;
        return ValueKind.Array;
      }
      throw new ScanError("expected ',' or ']' in an array", this.pos);
    }
  }

  literal(word: string, kind: ValueKind): ValueKind {
    if (this.text.startsWith(word, this.pos) && this.pos + word.length <= this.end) {
      this.pos += word.length;
      return kind;
    }
    throw new ScanError('expected a value', this.pos);
  }

  number(): void {
    const t = this.text;
    const end = this.end;
    let p = this.pos;
    if (t.charCodeAt(p) === 45) p++;
    let c = p < end ? t.charCodeAt(p) : -1;
    if (c === 48) {
      p++;
    } else if (c >= 49 && c <= 57) {
      while (p < end && (c = t.charCodeAt(p)) >= 48 && c <= 57) p++;
    } else {
      throw new ScanError('bad number', this.pos);
    }
    if (p < end && t.charCodeAt(p) === 46) {
      p++;
      const digits = p;
      while (p < end && (c = t.charCodeAt(p)) >= 48 && c <= 57) p++;
      if (p === digits) throw new ScanError('bad number', this.pos);
    }
    c = p < end ? t.charCodeAt(p) : -1;
    if (c === 101 || c === 69) {
      p++;
      c = p < end ? t.charCodeAt(p) : -1;
      if (c === 43 || c === 45) p++;
      const digits = p;
      while (p < end && (c = t.charCodeAt(p)) >= 48 && c <= 57) p++;
      if (p === digits) throw new ScanError('bad number', this.pos);
    }
    this.pos = p;
  }
}
