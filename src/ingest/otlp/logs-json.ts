// OTLP/JSON logs (ExportLogsServiceRequest) straight from the request bytes to rows, the way
// json-rows.ts does it for JSON log objects: one validating pass over the body that knows the
// message's nesting, keeps what it finds as offsets, and copies strings and numbers into the row
// as the raw bytes they already are. A resource's service, host and `attrs.resource`, and a scope's
// `attrs.scope`, are made into bytes once; a log record costs about one pass over its own bytes.
// The result is parseOtlpJson's (logs-body.ts) for every body, row bytes included, which a
// differential test holds this to. Where that would take more than bytes, the object path decides:
//   - a log record of a rare shape (an escaped or all-digit attribute key, an attribute named like
//     a member the record adds to attrs, a value of a kind or spelling other than the usual one, a
//     member given twice, a field that does not decode) is decoded by jsonLogRecord from its own
//     bytes, and that alone;
//   - so is a resource or scope of a rare shape (non-string `service.name`, escaped keys, …);
//   - the whole body goes to parseOtlpJson when it is not valid JSON or not an object (for its
//     error message), when something around the records fails the request (resourceLogs,
//     scopeLogs or logRecords that are not arrays of objects, attributes of a resource or scope
//     that do not decode), when `resourceLogs`, `scopeLogs`, `logRecords`, `resource` or `scope`
//     is given twice or in both spellings, when a resource follows its scopeLogs or a scope its
//     logRecords, and when values nest deeper than this decoder walks.

import { isUtf8 } from 'node:buffer';
import { levelFromBytes, levelFromOtelSeverity, normaliseLevel } from '../../model/level.js';
import type { Level } from '../../model/record.js';
import { textField, type BufferSource, type RowBatchBuilder } from '../../store/row-format.js';
import { doubled, wellFormedJson } from '../common/json-scanner.js';
import { hex4, utf8Into } from '../../model/utf8.js';
import type { NormaliseContext } from '../common/normalise.js';
import {
  jsonLogRecord,
  jsonResourceAttributes,
  jsonScope,
  LogsWriter,
  parseOtlpJson,
  scopeAttr,
  severityNumber,
  uint64,
  type OtlpRecord,
  type ParsedLogs,
} from './logs-body.js';

/** Thrown (never caught outside this file) when parseOtlpJson must decide the whole body. */
const WHOLE_BODY = Symbol('parseOtlpJson decides');

/**
 * Bytes to compare with the body four at a time: their 32-bit words (little-endian), then the
 * last one to three bytes.
 */
class Literal {
  readonly bytes: Buffer;
  readonly words: Int32Array;

  constructor(text: string) {
    this.bytes = Buffer.from(text);
    this.words = new Int32Array(this.bytes.length >> 2);
    for (let k = 0; k < this.words.length; k++) this.words[k] = this.bytes.readInt32LE(4 * k);
  }

  /** Whether the literal is at `at` in `buf` (`view` over the same bytes), before `end`. */
  at(buf: Uint8Array, view: DataView, at: number, end: number): boolean {
    const bytes = this.bytes;
    const len = bytes.length;
    if (at + len > end) return false;
    const words = this.words;
    let i = 0;
    for (let k = 0; k < words.length; k++, i += 4) if (view.getInt32(at + i, true) !== words[k]) return false;
    for (; i < len; i++) if (buf[at + i] !== bytes[i]) return false;
    return true;
  }
}

/**
 * Member names of one JSON object kind. A name is matched where it starts, its bytes and closing
 * quote compared with the candidates of its first byte; only a name that matches none (unknown,
 * or escaped) is scanned as a string.
 */
class Names {
  /** First candidate (id + 1) by first byte, and the next with the same first byte (in the names' order). */
  private readonly first = new Int8Array(256);
  private readonly next: Int8Array;
  /** Each name and its closing quote. */
  private readonly quoted: Literal[];
  private readonly byText = new Map<string, number>();

  constructor(names: readonly string[]) {
    this.quoted = names.map((n) => new Literal(`${n}"`));
    this.next = new Int8Array(names.length);
    for (let id = names.length - 1; id >= 0; id--) {
      const first = this.quoted[id]!.bytes[0]!;
      this.next[id] = this.first[first]!;
      this.first[first] = id + 1;
      this.byText.set(names[id]!, id);
    }
  }

  /** The id of the name whose bytes and closing quote are at `start` (before `end`), or -1. */
  match(buf: Uint8Array, view: DataView, start: number, end: number): number {
    if (start >= end) return -1;
    for (let c = this.first[buf[start]!]!; c !== 0; c = this.next[c - 1]!) {
      if (this.quoted[c - 1]!.at(buf, view, start, end)) return c - 1;
    }
    return -1;
  }

  /** Bytes of a name and its closing quote. */
  quotedLength(id: number): number {
    return this.quoted[id]!.bytes.length;
  }

  /** The id of a decoded name, or -1. */
  findText(name: string): number {
    return this.byText.get(name) ?? -1;
  }

  /** The id of an unescaped name in `buf[start, end)` (a closing quote at `end`), or -1. */
  find(buf: Uint8Array, view: DataView, start: number, end: number): number {
    const id = start < end ? this.match(buf, view, start, end + 1) : -1;
    return id >= 0 && this.quotedLength(id) === end + 1 - start ? id : -1;
  }
}

const ROOT = new Names(['resourceLogs', 'resource_logs']);
const RESOURCE_LOGS = new Names(['resource', 'scopeLogs', 'scope_logs']);
const SCOPE_LOGS = new Names(['scope', 'logRecords', 'log_records']);
const RESOURCE = new Names(['attributes']);
const SCOPE = new Names(['name', 'version', 'attributes']);
const KEY_VALUE = new Names(['key', 'value']);
const VALUES = new Names(['values']);
const ANY_VALUE = new Names(['stringValue', 'bytesValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue']);
const [A_STRING, A_BYTES, A_BOOL, A_INT, A_DOUBLE, A_ARRAY, A_KVLIST] = [0, 1, 2, 3, 4, 5, 6];

/**
 * Record members: the camelCase names (tried first), their snake_case spellings (SNAKE ids on,
 * taken when the first is absent or null), then the members with one spelling.
 */
const RECORD = new Names([
  'timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'traceId', 'spanId', 'eventName',
  'time_unix_nano', 'observed_time_unix_nano', 'severity_number', 'severity_text', 'trace_id', 'span_id', 'event_name',
  'flags', 'body', 'attributes',
]);
const [R_TIME, R_OBSERVED, R_SEVERITY, R_SEVERITY_TEXT, R_TRACE, R_SPAN, R_EVENT] = [0, 1, 2, 3, 4, 5, 6];
const SNAKE = 7;
const R_FLAGS = 14;
const R_BODY = 15;
const R_ATTRIBUTES = 16;
const RECORD_FIELDS = 17;

/**
 * Attribute keys that mean something in a record's or a resource's attributes; the last six are
 * members the record adds to attrs itself (a record that also has them as attributes is rare, and
 * left to the object path).
 */
const SPECIAL = new Names([
  'category', 'code.file.path', 'code.filepath', 'code.line.number', 'code.lineno', 'code.function.name', 'code.function',
  'service.name', 'host.name',
  'severity_text', 'body', 'event_name', 'flags', 'resource', 'scope',
]);
const [S_CATEGORY, S_FILE_PATH, S_FILEPATH, S_LINE_NUMBER, S_LINENO, S_FUNCTION_NAME, S_FUNCTION, S_SERVICE, S_HOST] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const S_ADDED = 9;
const SPECIALS = 9;

/** What a list of attributes belongs to, for its special keys. */
const IN_VALUE = 0;
const IN_RECORD = 1;
const IN_RESOURCE = 2;

/** Kinds of JSON values: of record members, and of attribute values (which are never NULL but OTHER "null"). */
const STRING = 1;
const NUMBER = 2;
const NULL = 3;
/** true, false, an array or an object (and an attribute's null). */
const OTHER = 4;

/** Where an attribute value's bytes are: in the body (as they are), in the scratch buffer, or `null` with no bytes at all. */
const IN_BODY = 0;
const IN_SCRATCH = 1;
const NO_BYTES = 2;

/** AnyValues nest at most this deep in walks here (each level counts at least as much as in logs-body.ts, whose limit is 128). */
const MAX_WALK_DEPTH = 64;
/** Values of members nobody reads are skipped to this depth; deeper ones are left to JSON.parse. */
const MAX_SKIP_DEPTH = 1000;

const QUOTE = 34;
const BACKSLASH = 92;
const TAB = 9;
const UINT64_MAX = Buffer.from('18446744073709551615');
const UFFFD_ESCAPED = Buffer.from('\\ufffd');
const UFFFD = Buffer.from('\ufffd');
const NULL_TEXT = Buffer.from('null');
const HEX = Buffer.from('0123456789abcdef');
const KV_KEY = new Literal('{"key":"');
const KV_VALUE = new Literal(',"value":');
const KEY_SEVERITY_TEXT = Buffer.from('"severity_text":');
const KEY_BODY = Buffer.from('"body":');
const KEY_EVENT_NAME = Buffer.from('"event_name":');
const KEY_FLAGS = Buffer.from('"flags":');
const KEY_RESOURCE = Buffer.from('"resource":');
const KEY_SCOPE = Buffer.from('"scope":');
const KEY_NAME = Buffer.from('"name":');
const KEY_VERSION = Buffer.from('"version":');
const KEY_ATTRIBUTES = Buffer.from('"attributes":');

/** Parses an OTLP/JSON body into rows, with parseOtlpJson's result; `buffers` supplies the rows' memory. */
export function parseOtlpJsonBytes(body: Buffer, ctx: NormaliseContext, buffers?: BufferSource): ParsedLogs {
  // Invalid UTF-8 becomes U+FFFD, as the text parseOtlpJson decodes has it.
  const buf = isUtf8(body) ? body : Buffer.from(body.toString('utf8'));
  const decoder = new OtlpJsonDecoder(buf, ctx, buffers);
  try {
    return decoder.decode();
  } catch (e) {
    if (e !== WHOLE_BODY) throw e;
    decoder.discard();
    return parseOtlpJson(buf, ctx, buffers);
  }
}

class OtlpJsonDecoder {
  private readonly end: number;
  /** The body's bytes, four at a time. */
  private readonly view: DataView;
  private readonly w: LogsWriter;
  private readonly out: RowBatchBuilder;
  private readonly receivedAtBytes: Buffer;
  /** The columns after ts, the same in every row: `\treceivedAt\ttenant\t`. */
  private readonly receivedAndTenant: Buffer;
  private readonly receivedAndTenantView: DataView;
  /** The rows' buffer (it changes as it grows), four bytes at a time. */
  private outBuf: Buffer | null = null;
  private outView: DataView = new DataView(new ArrayBuffer(0));
  /** After a member name or an array's opening: whether there is a member (element) to read. */
  private more = false;
  /** After `name`: the member's id in its Names, or -1. */
  private id = -1;
  /** After `string`: whether it had a backslash escape. */
  private escaped = false;
  /** After `value`: the value's kind. */
  private kind = 0;
  /** Set when the record, resource or scope being read is one for the object path. */
  private slow = false;
  private index = 0;

  /**
   * Bytes made once per resource, per scope and per record (in that order, each region starting
   * where the one before ends): service and host columns, `attrs.resource` and `attrs.scope`,
   * and values written out anew (arrays, key-value lists, numbers in JavaScript's spelling).
   */
  private scratch = Buffer.allocUnsafe(4096);
  private scratchView: DataView = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length);
  private sp = 0;
  private scopeStart = 0;
  private recordStart = 0;

  // The current resource: its columns and attrs in the scratch buffer ([start, end), start -1 for
  // none), and its value's bytes for the object path.
  private serviceStart = -1;
  private serviceEnd = -1;
  private hostStart = -1;
  private hostEnd = -1;
  private categoryStart = -1;
  private categoryEnd = -1;
  private resourceStart = -1;
  private resourceEnd = -1;
  private resourceValueStart = -1;
  private resourceValueEnd = -1;
  private resourceObjects = false;
  /** The current scope: `"resource":…,"scope":…` of its records' attrs, and its value's bytes. */
  private suffixStart = 0;
  private suffixEnd = 0;
  private scopeValueStart = -1;
  private scopeValueEnd = -1;
  private scopeObjects = false;

  // Attribute lists, a stack of entries (a nested list above the list it is part of): the key in
  // the body, the value in the body or the scratch buffer.
  private top = 0;
  private listStart = 0;
  private keyStart = new Int32Array(64);
  private keyEnd = new Int32Array(64);
  private valueStart = new Int32Array(64);
  private valueEnd = new Int32Array(64);
  private valueKind = new Uint8Array(64);
  private valueWhere = new Uint8Array(64);
  private valueEscaped = new Uint8Array(64);
  /** Entries of a record's attributes that became columns. */
  private gone = new Uint8Array(64);
  /** The entry of each special key in the record's or resource's attributes, where specialSeen is `specials`. */
  private readonly special = new Int32Array(SPECIALS);
  private readonly specialSeen = new Int32Array(SPECIALS);
  /** Counts the lists of attributes read (a new count forgets the special keys of the one before). */
  private specials = 0;

  /** The last AnyValue read (`anyValue`), as an entry's value. */
  private vKind = 0;
  private vStart = 0;
  private vEnd = 0;
  private vWhere = 0;
  private vEscaped = 0;

  // The record being read: its members' values, where fieldSeen is `fields`.
  private readonly fieldSeen = new Int32Array(RECORD_FIELDS);
  private fields = 0;
  private readonly fieldStart = new Int32Array(RECORD_FIELDS);
  private readonly fieldEnd = new Int32Array(RECORD_FIELDS);
  private readonly fieldKind = new Uint8Array(RECORD_FIELDS);
  private readonly fieldEscaped = new Uint8Array(RECORD_FIELDS);
  private bodyKind = 0;
  private bodyStart = 0;
  private bodyEnd = 0;
  private bodyWhere = 0;
  private bodyEscaped = 0;
  /** Time and observed time as µs digits in the body. */
  private readonly usStart = new Int32Array(2);
  private readonly usEnd = new Int32Array(2);
  /** Time and observed time in ns, when they are not decimal strings. */
  private readonly bigNanos: bigint[] = [0n, 0n];

  constructor(
    private readonly buf: Buffer,
    ctx: NormaliseContext,
    buffers: BufferSource | undefined,
  ) {
    this.end = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.w = new LogsWriter(buf.length, ctx, buffers);
    this.out = this.w.out;
    this.receivedAtBytes = Buffer.from(ctx.receivedAt.toString());
    this.receivedAndTenant = Buffer.from(`\t${ctx.receivedAt}\t${textField(ctx.tenant)}\t`);
    this.receivedAndTenantView = new DataView(this.receivedAndTenant.buffer, this.receivedAndTenant.byteOffset, this.receivedAndTenant.length);
  }

  /** Hands the rows' memory back (the body went to parseOtlpJson). */
  discard(): void {
    this.out.finish().release();
  }

  decode(): ParsedLogs {
    const buf = this.buf;
    let p = this.ws(0);
    if (buf[p] !== 123) throw WHOLE_BODY;
    p = this.open(p, 125);
    let seen = false;
    while (this.more) {
      p = this.name(p, ROOT);
      if (this.id >= 0) {
        if (seen) throw WHOLE_BODY;
        seen = true;
        p = this.list(p, 0);
      } else {
        p = this.skip(p, 0);
      }
      p = this.after(p, 125);
    }
    if (this.ws(p) !== this.end) throw WHOLE_BODY;
    return this.w.result();
  }

  /** resourceLogs (level 0), scopeLogs (1) or logRecords (2): null or an array of objects. */
  private list(p: number, level: number): number {
    const buf = this.buf;
    if (buf[p] === 110) return this.literal(p);
    if (buf[p] !== 91) throw WHOLE_BODY;
    p = this.open(p, 93);
    while (this.more) {
      if (buf[p] !== 123) throw WHOLE_BODY;
      p = level === 0 ? this.resourceLogs(p) : level === 1 ? this.scopeLogs(p) : this.record(p);
      p = this.after(p, 93);
    }
    return p;
  }

  private resourceLogs(p: number): number {
    this.setResource(-1, -1);
    p = this.open(p, 125);
    let resource = false;
    let scopes = false;
    while (this.more) {
      p = this.name(p, RESOURCE_LOGS);
      if (this.id === 0) {
        if (resource || scopes) throw WHOLE_BODY;
        resource = true;
        p = this.resource(p);
      } else if (this.id > 0) {
        if (scopes) throw WHOLE_BODY;
        scopes = true;
        p = this.list(p, 1);
      } else {
        p = this.skip(p, 0);
      }
      p = this.after(p, 125);
    }
    return p;
  }

  private scopeLogs(p: number): number {
    this.setScope(-1, -1, -1, -1);
    p = this.open(p, 125);
    let scope = false;
    let records = false;
    while (this.more) {
      p = this.name(p, SCOPE_LOGS);
      if (this.id === 0) {
        if (scope || records) throw WHOLE_BODY;
        scope = true;
        p = this.scope(p);
      } else if (this.id > 0) {
        if (records) throw WHOLE_BODY;
        records = true;
        p = this.list(p, 2);
      } else {
        p = this.skip(p, 0);
      }
      p = this.after(p, 125);
    }
    return p;
  }

  // ---- resource and scope: bytes made once ----

  /** A `resource` value: an object is read for its attributes, anything else is a resource without any. */
  private resource(p: number): number {
    const start = p;
    if (this.buf[p] !== 123) {
      p = this.skip(p, 0);
      this.setResource(start, p);
      return p;
    }
    this.slow = false;
    this.top = 0;
    this.listStart = 0;
    this.specials++;
    this.sp = 0;
    p = this.open(p, 125);
    let attributes = false;
    while (this.more) {
      p = this.name(p, RESOURCE);
      if (this.id === 0) {
        if (attributes) this.slow = true;
        attributes = true;
        p = this.keyValues(p, 0, IN_RESOURCE);
      } else {
        p = this.skip(p, 0);
      }
      p = this.after(p, 125);
    }
    this.setResource(start, p);
    return p;
  }

  /**
   * The resource of the records that follow, from its value at [start, end) (-1: none) and the
   * attributes read from it (entries 0..top).
   */
  private setResource(start: number, end: number): void {
    this.resourceObjects = false;
    this.scopeObjects = false;
    this.serviceStart = this.hostStart = this.categoryStart = this.resourceStart = -1;
    this.serviceEnd = this.hostEnd = this.categoryEnd = this.resourceEnd = -1;
    this.resourceValueStart = start;
    this.resourceValueEnd = end;
    if (start < 0 || this.buf[start] !== 123) {
      this.sp = 0;
    } else if (this.slow) {
      this.objectResource();
    } else {
      const service = this.specialAt(S_SERVICE);
      const host = this.specialAt(S_HOST);
      const category = this.specialAt(S_CATEGORY);
      // A service.name or host.name that is no string stays in attrs.resource, at its end: rare.
      if ((service >= 0 && this.valueKind[service] !== STRING) || (host >= 0 && this.valueKind[host] !== STRING)) {
        this.objectResource();
      } else {
        const from = this.sp;
        if (service >= 0) {
          this.gone[service] = 1;
          this.serviceStart = this.sp;
          this.serviceEnd = this.sp = this.textToScratch(service);
        }
        if (host >= 0) {
          this.gone[host] = 1;
          this.hostStart = this.sp;
          this.hostEnd = this.sp = this.textToScratch(host);
        }
        if (category >= 0 && this.valueKind[category] === STRING) {
          this.categoryStart = this.sp;
          this.categoryEnd = this.sp = this.textToScratch(category);
        }
        if (this.kept(0) > 0) {
          this.resourceStart = this.sp;
          this.resourceEnd = this.sp = this.objectToScratch(0, this.top);
        }
        // The entries' values are below the columns in the scratch buffer: move the columns down.
        this.compactResource(from);
      }
    }
    this.top = 0;
    this.scopeStart = this.sp;
    this.setScope(-1, -1, -1, -1);
  }

  /**
   * The resource through logs-body.ts's objects (its attributes decode: parseOtlpJson decides
   * when they do not), turned into the same bytes.
   */
  private objectResource(): void {
    let attributes;
    try {
      attributes = jsonResourceAttributes(this.json(this.resourceValueStart, this.resourceValueEnd));
    } catch {
      throw WHOLE_BODY;
    }
    const w = this.w;
    w.setResource(attributes);
    this.resourceObjects = true;
    this.sp = 0;
    if (w.service !== null) [this.serviceStart, this.serviceEnd] = [this.sp, this.putScratch(textField(w.service))];
    if (w.host !== null) [this.hostStart, this.hostEnd] = [this.sp, this.putScratch(textField(w.host))];
    const category = w.resource?.category;
    if (typeof category === 'string') [this.categoryStart, this.categoryEnd] = [this.sp, this.putScratch(textField(category))];
    if (w.resource !== null) [this.resourceStart, this.resourceEnd] = [this.sp, this.putScratch(wellFormedJson(JSON.stringify(w.resource)))];
  }

  /**
   * Moves the resource's columns and attrs (written after the entries' values) to the start of the
   * scratch buffer, where the scopes' and records' bytes build on them.
   */
  private compactResource(from: number): void {
    if (from === 0) return;
    this.scratch.copy(this.scratch, 0, from, this.sp);
    if (this.serviceStart >= 0) (this.serviceStart -= from), (this.serviceEnd -= from);
    if (this.hostStart >= 0) (this.hostStart -= from), (this.hostEnd -= from);
    if (this.categoryStart >= 0) (this.categoryStart -= from), (this.categoryEnd -= from);
    if (this.resourceStart >= 0) (this.resourceStart -= from), (this.resourceEnd -= from);
    this.sp -= from;
  }

  /**
   * The scope of the records that follow, from its value at [start, end) (-1: none) and its
   * `attrs.scope` at [scopeStart, scopeEnd) in the scratch buffer (-1: none).
   */
  private setScope(start: number, end: number, scopeStart: number, scopeEnd: number): void {
    this.scopeObjects = false;
    this.scopeValueStart = start;
    this.scopeValueEnd = end;
    if (scopeStart < 0) this.sp = this.scopeStart;
    // attrs' last members, the same for every record of the scope.
    const out = this.reserveScratch(KEY_RESOURCE.length + KEY_SCOPE.length + 1 + (this.resourceEnd - this.resourceStart) + (scopeEnd - scopeStart));
    let q = this.sp;
    this.suffixStart = q;
    if (this.resourceStart >= 0) {
      q = put(out, q, KEY_RESOURCE);
      q = copy(out, q, out, this.resourceStart, this.resourceEnd);
    }
    if (scopeStart >= 0) {
      if (q > this.suffixStart) out[q++] = 44;
      q = put(out, q, KEY_SCOPE);
      q = copy(out, q, out, scopeStart, scopeEnd);
    }
    this.suffixEnd = q;
    this.sp = this.recordStart = q;
  }

  /**
   * A `scope` value: an object is read for its name, version and attributes (which become
   * `attrs.scope`), anything else is a scope that says nothing.
   */
  private scope(p: number): number {
    const buf = this.buf;
    const start = p;
    this.sp = this.scopeStart;
    if (buf[p] !== 123) {
      p = this.skip(p, 0);
      this.setScope(start, p, -1, -1);
      return p;
    }
    this.slow = false;
    this.top = 0;
    this.listStart = 0;
    this.specials++;
    let nameStart = -1;
    let nameEnd = -1;
    let nameEscaped = false;
    let versionStart = -1;
    let versionEnd = -1;
    let versionEscaped = false;
    let attributes = false;
    p = this.open(p, 125);
    while (this.more) {
      p = this.name(p, SCOPE);
      const id = this.id;
      if (id === 0 || id === 1) {
        const s = p;
        p = this.value(p, 0);
        const isString = this.kind === STRING;
        if (id === 0) {
          nameStart = isString ? s : -1;
          nameEnd = p;
          nameEscaped = this.escaped;
        } else {
          versionStart = isString ? s : -1;
          versionEnd = p;
          versionEscaped = this.escaped;
        }
      } else if (id === 2) {
        if (attributes) this.slow = true;
        attributes = true;
        p = this.keyValues(p, 0, IN_VALUE);
      } else {
        p = this.skip(p, 0);
      }
      p = this.after(p, 125);
    }
    if (this.slow) {
      let scope;
      try {
        scope = jsonScope(this.json(start, p));
      } catch {
        throw WHOLE_BODY;
      }
      const attr = scopeAttr(scope);
      this.top = 0;
      this.sp = this.scopeStart;
      if (attr === null) this.setScope(start, p, -1, -1);
      else this.setScope(start, p, this.sp, this.putScratch(wellFormedJson(JSON.stringify(attr))));
      return p;
    }
    const hasName = nameStart >= 0 && nameEnd - nameStart > 2;
    const hasVersion = versionStart >= 0 && versionEnd - versionStart > 2;
    if (!hasName && !hasVersion && this.top === 0) {
      this.setScope(start, p, -1, -1);
      return p;
    }
    // After the attributes' values (in the scratch buffer from scopeStart on).
    const from = this.sp;
    const out = this.reserveScratch(64 + (nameEnd - nameStart) + (versionEnd - versionStart) + this.entryBytes(0, this.top));
    let q = from;
    out[q++] = 123;
    if (hasName) {
      q = put(out, q, KEY_NAME);
      q = writeJsonString(buf, nameStart, nameEnd, nameEscaped, out, q);
    }
    if (hasVersion) {
      if (hasName) out[q++] = 44;
      q = put(out, q, KEY_VERSION);
      q = writeJsonString(buf, versionStart, versionEnd, versionEscaped, out, q);
    }
    if (this.top > 0) {
      if (hasName || hasVersion) out[q++] = 44;
      q = put(out, q, KEY_ATTRIBUTES);
      this.sp = q;
      q = this.objectToScratch(0, this.top);
    }
    this.scratch[q++] = 125;
    this.top = 0;
    this.sp = q;
    this.setScope(start, p, from, q);
    return p;
  }

  // ---- log records ----

  private record(p: number): number {
    const buf = this.buf;
    const start = p;
    this.index++;
    this.slow = false;
    this.top = 0;
    this.listStart = 0;
    this.specials++;
    this.fields++;
    this.bodyKind = 0;
    this.sp = this.recordStart;
    p = this.open(p, 125);
    while (this.more) {
      p = this.name(p, RECORD);
      const id = this.id;
      if (id === R_ATTRIBUTES) {
        // Given twice, the second replaces the first: rare.
        if (this.fieldSeen[id] === this.fields) this.slow = true;
        this.fieldSeen[id] = this.fields;
        this.fieldStart[id] = p;
        p = this.keyValues(p, 0, IN_RECORD);
      } else if (id === R_BODY) {
        if (this.fieldSeen[id] === this.fields) this.slow = true;
        this.fieldSeen[id] = this.fields;
        this.fieldStart[id] = p;
        if (buf[p] === 123) {
          p = this.anyValue(p, 1);
          this.bodyKind = this.vKind;
          this.bodyStart = this.vStart;
          this.bodyEnd = this.vEnd;
          this.bodyWhere = this.vWhere;
          this.bodyEscaped = this.vEscaped;
        } else if (buf[p] === 110) {
          p = this.literal(p);
        } else {
          this.slow = true; // not an AnyValue: the record is refused, with the object path's reason
          p = this.skip(p, 0);
        }
      } else if (id >= 0) {
        this.fieldSeen[id] = this.fields;
        this.fieldStart[id] = p;
        p = this.value(p, 0);
        this.fieldEnd[id] = p;
        this.fieldKind[id] = this.kind;
        this.fieldEscaped[id] = this.escaped ? 1 : 0;
      } else {
        p = this.skip(p, 0);
      }
      p = this.after(p, 125);
    }
    if (this.slow || !this.writeRow(start, p)) this.objectRecord(start, p);
    return p;
  }

  /** The record at [start, end) through logs-body.ts's objects. */
  private objectRecord(start: number, end: number): void {
    const w = this.w;
    if (!this.resourceObjects) {
      w.setResource(jsonResourceAttributes(this.json(this.resourceValueStart, this.resourceValueEnd)));
      this.resourceObjects = true;
    }
    if (!this.scopeObjects) {
      w.scope = jsonScope(this.json(this.scopeValueStart, this.scopeValueEnd));
      this.scopeObjects = true;
    }
    let rec: OtlpRecord;
    try {
      rec = jsonLogRecord(this.json(start, end) as Record<string, unknown>);
    } catch (e) {
      w.fail(this.index, e);
      return;
    }
    w.record(rec, this.index);
  }

  /** The member given in camelCase, else (absent or null) in snake_case; -1 when neither is. */
  private field(camel: number): number {
    const fields = this.fields;
    if (this.fieldSeen[camel] === fields && this.fieldKind[camel] !== NULL) return camel;
    return this.fieldSeen[camel + SNAKE] === fields ? camel + SNAKE : -1;
  }

  /**
   * Writes the record's row, its fields decided in parseOtlpJson's order; false (nothing written)
   * when the record is one for the object path.
   */
  private writeRow(start: number, end: number): boolean {
    const buf = this.buf;
    const fs = this.fieldStart;
    const fe = this.fieldEnd;
    const time = this.nanos(this.field(R_TIME), 0);
    if (time < 0) return false;
    const observed = this.nanos(this.field(R_OBSERVED), 1);
    if (observed < 0) return false;

    let severityNumber = 0;
    let f = this.field(R_SEVERITY);
    if (f >= 0) severityNumber = this.severityNumber(f);
    let level: Level | null = levelFromOtelSeverity(severityNumber);
    const severity = level !== null ? severityNumber : -1;
    f = this.field(R_SEVERITY_TEXT);
    let keepText = false;
    const textStart = f >= 0 && this.fieldKind[f] === STRING ? fs[f]! + 1 : 0;
    const textEnd = textStart > 0 ? fe[f]! - 1 : 0;
    const textEscaped = textStart > 0 && this.fieldEscaped[f] === 1;
    if (textEnd > textStart && level === null) {
      level = textEscaped ? normaliseLevel(this.json(textStart - 1, textEnd + 1)) : levelFromBytes(buf, textStart, textEnd);
      // A text that says more than the level (an unknown spelling) is kept.
      keepText = level === null;
    }

    const traceStart = this.hexId(this.field(R_TRACE));
    if (traceStart === -2) return false;
    const spanStart = this.hexId(this.field(R_SPAN));
    if (spanStart === -2) return false;
    const traceField = this.field(R_TRACE);
    const spanField = this.field(R_SPAN);

    // flags: as Number() reads it; a plain number is copied.
    let flagsStart = -1;
    let flagsEnd = -1;
    let flagsWhere = IN_BODY;
    if (this.fieldSeen[R_FLAGS] === this.fields && this.fieldKind[R_FLAGS] !== NULL) {
      const s = fs[R_FLAGS]!;
      const e = fe[R_FLAGS]!;
      if (this.fieldKind[R_FLAGS] === NUMBER && plainNumber(buf, s, e)) {
        if (e - s !== 1 || buf[s] !== 48) {
          flagsStart = s;
          flagsEnd = e;
        }
      } else {
        const n = Number(this.json(s, e)) || 0;
        if (n !== 0) {
          flagsStart = this.sp;
          flagsEnd = this.putScratch(JSON.stringify(n));
          flagsWhere = IN_SCRATCH;
        }
      }
    }
    f = this.field(R_EVENT);
    const eventStart = f >= 0 && this.fieldKind[f] === STRING && fe[f]! - fs[f]! > 2 ? fs[f]! : -1;
    const eventEnd = eventStart >= 0 ? fe[f]! : -1;
    const eventEscaped = eventStart >= 0 && this.fieldEscaped[f] === 1;

    // Columns from attributes: category (else the resource's), then the code location.
    const gone = this.gone;
    const category = this.takeString(S_CATEGORY);
    let file = this.takeString(S_FILE_PATH);
    if (file < 0) file = this.takeString(S_FILEPATH);
    let line = -1;
    let fn = -1;
    if (file >= 0) {
      for (let s = S_LINE_NUMBER; s <= S_LINENO; s++) {
        const e = this.specialAt(s);
        if (e >= 0 && (this.valueKind[e] === STRING || this.valueKind[e] === NUMBER)) {
          if (line < 0) line = e;
          gone[e] = 1;
        }
      }
      fn = this.takeString(S_FUNCTION_NAME);
      if (fn < 0) fn = this.takeString(S_FUNCTION);
    }

    const out = this.out;
    out.reserve(
      (end - start) +
        2 * (this.sp - this.recordStart) +
        (this.suffixEnd - this.suffixStart) +
        (this.serviceEnd - this.serviceStart) +
        (this.hostEnd - this.hostStart) +
        (this.categoryEnd - this.categoryStart) +
        this.receivedAndTenant.length +
        this.receivedAtBytes.length +
        160,
    );
    const k = time > 0 ? 0 : 1;
    const ts = time > 0 ? time : observed;
    if (ts === 2) out.bigint(this.bigNanos[k]! / 1000n);
    const dst = out.buf;
    if (dst !== this.outBuf) {
      this.outBuf = dst;
      this.outView = new DataView(dst.buffer, dst.byteOffset, dst.length);
    }
    const dv = this.outView;
    const view = this.view;
    const scratch = this.scratch;
    const sv = this.scratchView;
    let q = out.pos;
    if (ts === 1) {
      q = copyWords(dst, dv, q, buf, view, this.usStart[k]!, this.usEnd[k]!);
      if (this.usStart[k] === this.usEnd[k]) dst[q++] = 48;
    } else if (ts === 0) {
      q = put(dst, q, this.receivedAtBytes);
    }
    q = copyWords(dst, dv, q, this.receivedAndTenant, this.receivedAndTenantView, 0, this.receivedAndTenant.length);
    if (level === null) q = nul(dst, q);
    else q = putAscii(dst, q, level);
    dst[q++] = TAB;
    if (severity < 0) q = nul(dst, q);
    else q = putAscii(dst, q, severityNames[severity]!);
    dst[q++] = TAB;
    q = this.serviceStart >= 0 ? copyWords(dst, dv, q, scratch, sv, this.serviceStart, this.serviceEnd) : nul(dst, q);
    dst[q++] = TAB;
    q = this.hostStart >= 0 ? copyWords(dst, dv, q, scratch, sv, this.hostStart, this.hostEnd) : nul(dst, q);
    dst[q++] = TAB;
    if (category >= 0) q = this.text(category, dst, q);
    else if (this.categoryStart >= 0) q = copyWords(dst, dv, q, scratch, sv, this.categoryStart, this.categoryEnd);
    else q = nul(dst, q);
    dst[q++] = TAB;
    if (file >= 0) {
      q = this.text(file, dst, q);
      if (line >= 0) {
        dst[q++] = 58; // :
        q = this.valueKind[line] === STRING ? this.text(line, dst, q) : this.copyValue(line, dst, q);
      }
      if (fn >= 0) {
        dst[q++] = 32;
        q = this.text(fn, dst, q);
      }
    } else {
      q = nul(dst, q);
    }
    dst[q++] = TAB;
    if (this.bodyKind === STRING) {
      q = this.bodyEscaped === 1 ? canonical(buf, this.bodyStart + 1, this.bodyEnd - 1, dst, q, true) : copyWords(dst, dv, q, buf, view, this.bodyStart + 1, this.bodyEnd - 1);
    } else {
      q = nul(dst, q);
    }
    dst[q++] = TAB;
    q = traceStart >= 0 ? lowerHex(buf, traceStart, fe[traceField]! - 1, dst, q) : nul(dst, q);
    dst[q++] = TAB;
    q = spanStart >= 0 ? lowerHex(buf, spanStart, fe[spanField]! - 1, dst, q) : nul(dst, q);
    dst[q++] = TAB;

    // attrs: the attributes left, then what the record adds, in parseOtlpJson's order.
    dst[q++] = 123;
    const members = q;
    q = this.attributeMembers(dst, dv, q);
    let first = q === members;
    if (keepText) {
      if (!first) dst[q++] = 44;
      first = false;
      q = put(dst, q, KEY_SEVERITY_TEXT);
      q = writeJsonString(buf, textStart - 1, textEnd + 1, textEscaped, dst, q);
    }
    if (this.bodyKind !== 0 && this.bodyKind !== STRING) {
      if (!first) dst[q++] = 44;
      first = false;
      q = put(dst, q, KEY_BODY);
      q = this.copyBytes(this.bodyWhere, this.bodyStart, this.bodyEnd, dst, q);
    }
    if (eventStart >= 0) {
      if (!first) dst[q++] = 44;
      first = false;
      q = put(dst, q, KEY_EVENT_NAME);
      q = writeJsonString(buf, eventStart, eventEnd, eventEscaped, dst, q);
    }
    if (flagsStart >= 0) {
      if (!first) dst[q++] = 44;
      first = false;
      q = put(dst, q, KEY_FLAGS);
      q = this.copyBytes(flagsWhere, flagsStart, flagsEnd, dst, q);
    }
    if (this.suffixEnd > this.suffixStart) {
      if (!first) dst[q++] = 44;
      q = copyWords(dst, dv, q, scratch, sv, this.suffixStart, this.suffixEnd);
    }
    dst[q++] = 125;
    out.pos = q;
    out.endRow();
    return true;
  }

  /** The attributes that did not become columns, as attrs members `"key":value,…`. */
  private attributeMembers(dst: Uint8Array, dv: DataView, q: number): number {
    const { buf, view, gone, keyStart, keyEnd, valueStart, valueEnd, valueKind, valueWhere, valueEscaped } = this;
    let first = true;
    for (let i = 0; i < this.top; i++) {
      if (gone[i] === 1) continue;
      if (!first) dst[q++] = 44;
      first = false;
      dst[q++] = QUOTE;
      q = copyWords(dst, dv, q, buf, view, keyStart[i]!, keyEnd[i]!);
      dst[q++] = QUOTE;
      dst[q++] = 58;
      // Most values are their bytes in the body.
      if (valueWhere[i] === IN_BODY && (valueKind[i] !== STRING || valueEscaped[i] === 0)) {
        q = copyWords(dst, dv, q, buf, view, valueStart[i]!, valueEnd[i]!);
      } else {
        q = this.copyValue(i, dst, q);
      }
    }
    return q;
  }

  /**
   * A time member as uint64 ns: 0 when absent or zero; 1 for a decimal string, its µs the digits
   * in [usStart[slot], usEnd[slot]) (all but the last three, without leading zeros; none for 0);
   * 2 with the ns in bigNanos[slot] (a number, or another spelling); -1 when it does not decode
   * (the object path says why).
   */
  private nanos(f: number, slot: number): number {
    if (f < 0) return 0;
    const buf = this.buf;
    const kind = this.fieldKind[f];
    if (kind === NULL) return 0;
    const s = this.fieldStart[f]! + 1;
    const e = this.fieldEnd[f]! - 1;
    if (kind === STRING && this.fieldEscaped[f] === 0 && e - s <= 20) {
      let first = -1;
      for (let i = s; i < e; i++) {
        const c = buf[i]!;
        if (c < 48 || c > 57) return -1;
        if (first < 0 && c !== 48) first = i;
      }
      if (first < 0) return 0;
      if (e - s === 20 && !atMost(buf, s, UINT64_MAX)) return -1;
      this.usStart[slot] = first;
      this.usEnd[slot] = Math.max(first, e - 3);
      return 1;
    }
    try {
      const ns = uint64(this.json(s - 1, e + 1));
      if (ns === 0n) return 0;
      this.bigNanos[slot] = ns;
      return 2;
    } catch {
      return -1;
    }
  }

  private severityNumber(f: number): number {
    const buf = this.buf;
    const s = this.fieldStart[f]!;
    const e = this.fieldEnd[f]!;
    const kind = this.fieldKind[f];
    if (kind === NUMBER && e - s <= 2 && buf[s]! >= 48 && buf[s]! <= 57 && (e - s === 1 || (buf[s + 1]! >= 48 && buf[s + 1]! <= 57))) {
      return e - s === 1 ? buf[s]! - 48 : (buf[s]! - 48) * 10 + (buf[s + 1]! - 48);
    }
    if (kind !== NUMBER && kind !== STRING) return 0;
    return severityNumber(this.json(s, e));
  }

  /**
   * A trace or span id member: -1 for none (absent, null, empty or all zeros), the offset of its
   * hex digits, or -2 when it is no hex string (the object path says why).
   */
  private hexId(f: number): number {
    if (f < 0) return -1;
    const kind = this.fieldKind[f];
    if (kind === NULL) return -1;
    if (kind !== STRING || this.fieldEscaped[f] === 1) return -2;
    const buf = this.buf;
    const s = this.fieldStart[f]! + 1;
    const e = this.fieldEnd[f]! - 1;
    let zeros = true;
    for (let i = s; i < e; i++) {
      const c = buf[i]!;
      if (c === 48) continue;
      zeros = false;
      if (!((c >= 49 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return -2;
    }
    return zeros ? -1 : s;
  }

  /** The entry of a special key in the attributes being read, or -1. */
  private specialAt(s: number): number {
    return this.specialSeen[s] === this.specials ? this.special[s]! : -1;
  }

  /** The entry of a special key when it is a non-empty string, which then becomes a column; else -1. */
  private takeString(s: number): number {
    const e = this.specialAt(s);
    if (e < 0 || this.valueKind[e] !== STRING || this.valueEnd[e]! - this.valueStart[e]! <= 2) return -1;
    this.gone[e] = 1;
    return e;
  }

  // ---- attributes ----

  /**
   * A KeyValue list (null or an array of {key, value}) into entries top.. of the stack, a repeated
   * key keeping its first place and taking the last value, as an object's member does.
   */
  private keyValues(p: number, depth: number, of: number): number {
    const buf = this.buf;
    if (buf[p] === 110) return this.literal(p);
    if (buf[p] !== 91 || depth > MAX_WALK_DEPTH) {
      this.slow = true;
      return this.skip(p, depth);
    }
    p = this.open(p, 93);
    while (this.more) {
      if (buf[p] === 123) {
        p = this.keyValue(p, depth + 1, of);
      } else {
        this.slow = true;
        p = this.skip(p, depth);
      }
      p = this.after(p, 93);
    }
    return p;
  }

  private keyValue(p: number, depth: number, of: number): number {
    const buf = this.buf;
    // The usual spelling, {"key":"…","value":{…}} with no blanks or escapes, read straight through.
    if (KV_KEY.at(buf, this.view, p, this.end)) {
      const ks = p + KV_KEY.bytes.length;
      let q = ks;
      while (q < this.end && PLAIN[buf[q]!] === 1) q++;
      if (buf[q] === QUOTE && KV_VALUE.at(buf, this.view, q + 1, this.end) && buf[q + 1 + KV_VALUE.bytes.length] === 123) {
        const e = this.anyValue(q + 1 + KV_VALUE.bytes.length, depth + 1);
        if (e < this.end && buf[e] === 125) {
          if (!this.slow) this.addEntry(ks, q, this.vKind, this.vStart, this.vEnd, this.vWhere, this.vEscaped, of);
          return e + 1;
        }
      }
    }
    let keyStart = -1;
    let keyEnd = -1;
    let kind = OTHER;
    let start = 0;
    let end = 0;
    let where = NO_BYTES;
    let escaped = 0;
    p = this.open(p, 125);
    while (this.more) {
      p = this.name(p, KEY_VALUE);
      if (this.id === 0) {
        if (buf[p] === QUOTE) {
          const q = this.string(p);
          if (this.escaped) this.slow = true; // an escaped key: rare
          keyStart = p + 1;
          keyEnd = q - 1;
          p = q;
        } else {
          this.slow = true; // no string: refused
          p = this.skip(p, depth);
        }
      } else if (this.id === 1) {
        if (buf[p] === 123) {
          p = this.anyValue(p, depth + 1);
          kind = this.vKind;
          start = this.vStart;
          end = this.vEnd;
          where = this.vWhere;
          escaped = this.vEscaped;
        } else if (buf[p] === 110) {
          kind = OTHER;
          where = NO_BYTES;
          p = this.literal(p);
        } else {
          this.slow = true; // no AnyValue: refused
          p = this.skip(p, depth);
        }
      } else {
        p = this.skip(p, depth);
      }
      p = this.after(p, 125);
    }
    if (keyStart < 0) this.slow = true;
    if (!this.slow) this.addEntry(keyStart, keyEnd, kind, start, end, where, escaped, of);
    return p;
  }

  private addEntry(ks: number, ke: number, kind: number, vs: number, ve: number, where: number, escaped: number, of: number): void {
    const buf = this.buf;
    const len = ke - ks;
    // An array index ("0", "17") goes first in a JavaScript object, whatever its place: rare.
    if (len > 0 && buf[ks]! >= 48 && buf[ks]! <= 57) {
      let i = ks + 1;
      while (i < ke && buf[i]! >= 48 && buf[i]! <= 57) i++;
      if (i === ke) {
        this.slow = true;
        return;
      }
    }
    let at = -1;
    for (let i = this.listStart; i < this.top; i++) {
      if (this.keyEnd[i]! - this.keyStart[i]! !== len) continue;
      const other = this.keyStart[i]!;
      let k = 0;
      while (k < len && buf[other + k] === buf[ks + k]) k++;
      if (k === len) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      at = this.top++;
      if (at === this.keyStart.length) this.growEntries();
      this.keyStart[at] = ks;
      this.keyEnd[at] = ke;
      this.gone[at] = 0;
      if (of !== IN_VALUE) {
        const s = SPECIAL.find(buf, this.view, ks, ke);
        if (s >= 0) {
          if (s >= S_ADDED) {
            if (of === IN_RECORD) this.slow = true;
          } else if (of === IN_RECORD || s === S_CATEGORY || s === S_SERVICE || s === S_HOST) {
            this.special[s] = at;
            this.specialSeen[s] = this.specials;
          }
        }
      }
    }
    this.valueKind[at] = kind;
    this.valueStart[at] = vs;
    this.valueEnd[at] = ve;
    this.valueWhere[at] = where;
    this.valueEscaped[at] = escaped;
  }

  /** An AnyValue object at `p` into vKind/vStart/vEnd/vWhere/vEscaped. */
  private anyValue(p: number, depth: number): number {
    const buf = this.buf;
    if (depth > MAX_WALK_DEPTH) {
      this.slow = true;
      return this.skip(p, depth);
    }
    // The usual spelling, one member and no blanks ({"stringValue":"…"}), read straight through.
    if (buf[p + 1] === QUOTE) {
      const id = ANY_VALUE.match(buf, this.view, p + 2, this.end);
      if (id >= 0) {
        const colon = p + 2 + ANY_VALUE.quotedLength(id);
        if (buf[colon] === 58) {
          const q = this.kindValue(colon + 1, id, depth);
          if (q < this.end && buf[q] === 125) return q + 1;
        }
      }
    }
    let found = false;
    p = this.open(p, 125);
    while (this.more) {
      p = this.name(p, ANY_VALUE);
      if (this.id < 0) {
        p = this.skip(p, depth);
      } else {
        // Two kinds in one AnyValue: the object path knows which one counts.
        if (found) this.slow = true;
        found = true;
        p = this.kindValue(p, this.id, depth);
      }
      p = this.after(p, 125);
    }
    if (!found) {
      this.vKind = OTHER;
      this.vWhere = NO_BYTES;
      this.vStart = this.vEnd = 0;
    }
    return p;
  }

  /** The value at `p` of an AnyValue's member of kind `id`, into vKind/vStart/vEnd/vWhere/vEscaped. */
  private kindValue(p: number, id: number, depth: number): number {
    const buf = this.buf;
    const c = p < this.end ? buf[p]! : -1;
    const s = p;
    let kind = OTHER;
    let start = s;
    let end = s;
    let where = IN_BODY;
    let escaped = 0;
    if ((id === A_STRING || id === A_BYTES) && c === QUOTE) {
      end = p = this.string(p);
      kind = STRING;
      escaped = this.escaped ? 1 : 0;
    } else if (id === A_BOOL && (c === 116 || c === 102)) {
      end = p = this.literal(p);
    } else if ((id === A_INT || id === A_DOUBLE) && (c === 45 || (c >= 48 && c <= 57))) {
      end = p = this.number(p);
      kind = NUMBER;
      if (!plainNumber(buf, s, p)) {
        const source = buf.toString('latin1', s, p);
        const n = Number(source);
        if (!Number.isFinite(n)) this.slow = true; // null in attrs, yet Infinity as a source line: rare
        const text = String(n);
        if (text !== source) {
          start = this.sp;
          end = this.putScratch(text);
          where = IN_SCRATCH;
        }
      }
    } else if (id === A_INT && c === QUOTE) {
      // int64 as a decimal string (proto3 JSON): a number when it is a safe integer, else the string.
      end = p = this.string(p);
      if (this.escaped || !integerText(buf, s + 1, p - 1)) {
        this.slow = true;
      } else if (plainInteger(buf, s + 1, p - 1)) {
        kind = NUMBER;
        start = s + 1;
        end = p - 1;
      } else {
        const n = Number(buf.toString('latin1', s + 1, p - 1));
        kind = Number.isSafeInteger(n) ? NUMBER : STRING;
        if (kind === NUMBER) {
          start = this.sp;
          end = this.putScratch(String(n));
          where = IN_SCRATCH;
        }
      }
    } else if ((id === A_ARRAY || id === A_KVLIST) && c === 123) {
      p = id === A_ARRAY ? this.arrayValue(p, depth) : this.kvlistValue(p, depth);
      start = this.vStart;
      end = this.vEnd;
      where = IN_SCRATCH;
    } else {
      this.slow = true; // another spelling (doubleValue "NaN", stringValue null, …) or no value of the kind
      p = this.skip(p, depth);
    }
    this.vKind = kind;
    this.vStart = start;
    this.vEnd = end;
    this.vWhere = where;
    this.vEscaped = escaped;
    return p;
  }

  /** An ArrayValue object ({"values": [AnyValue…]}) as JSON text in the scratch buffer (vStart, vEnd). */
  private arrayValue(p: number, depth: number): number {
    const buf = this.buf;
    const outer = this.listStart;
    const base = (this.listStart = this.top);
    let values = false;
    p = this.open(p, 125);
    while (this.more) {
      p = this.name(p, VALUES);
      if (this.id === 0) {
        if (values) this.slow = true;
        values = true;
        if (buf[p] === 110) {
          p = this.literal(p);
        } else if (buf[p] === 91) {
          p = this.open(p, 93);
          while (this.more) {
            if (buf[p] === 123) {
              p = this.anyValue(p, depth + 1);
              const at = this.top++;
              if (at === this.keyStart.length) this.growEntries();
              this.keyStart[at] = -1;
              this.keyEnd[at] = -1;
              this.gone[at] = 0;
              this.valueKind[at] = this.vKind;
              this.valueStart[at] = this.vStart;
              this.valueEnd[at] = this.vEnd;
              this.valueWhere[at] = this.vWhere;
              this.valueEscaped[at] = this.vEscaped;
            } else {
              this.slow = true;
              p = this.skip(p, depth);
            }
            p = this.after(p, 93);
          }
        } else {
          this.slow = true;
          p = this.skip(p, depth);
        }
      } else {
        p = this.skip(p, depth);
      }
      p = this.after(p, 125);
    }
    const start = this.sp;
    const out = this.reserveScratch(this.entryBytes(base, this.top) + 2);
    let q = start;
    out[q++] = 91;
    for (let i = base; i < this.top; i++) {
      if (i > base) out[q++] = 44;
      q = this.copyValue(i, out, q);
    }
    out[q++] = 93;
    this.top = base;
    this.listStart = outer;
    this.vStart = start;
    this.vEnd = this.sp = q;
    return p;
  }

  /** A KeyValueList object ({"values": [KeyValue…]}) as a JSON object in the scratch buffer (vStart, vEnd). */
  private kvlistValue(p: number, depth: number): number {
    const outer = this.listStart;
    const base = (this.listStart = this.top);
    let values = false;
    p = this.open(p, 125);
    while (this.more) {
      p = this.name(p, VALUES);
      if (this.id === 0) {
        if (values) this.slow = true;
        values = true;
        p = this.keyValues(p, depth + 1, IN_VALUE);
      } else {
        p = this.skip(p, depth);
      }
      p = this.after(p, 125);
    }
    const start = this.sp;
    const end = this.objectToScratch(base, this.top);
    this.top = base;
    this.listStart = outer;
    this.vStart = start;
    this.vEnd = this.sp = end;
    return p;
  }

  // ---- writing entries ----

  /** Bytes entries [from, to) need at most as `"key":value` members. */
  private entryBytes(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) n += this.keyEnd[i]! - this.keyStart[i]! + this.valueEnd[i]! - this.valueStart[i]! + 8;
    return n;
  }

  /** Entries [from, to) not gone as a JSON object at sp in the scratch buffer; returns its end. */
  private objectToScratch(from: number, to: number): number {
    const start = this.sp;
    const out = this.reserveScratch(this.entryBytes(from, to) + 2);
    let q = start;
    out[q++] = 123;
    let first = true;
    for (let i = from; i < to; i++) {
      if (this.gone[i] === 1) continue;
      if (!first) out[q++] = 44;
      first = false;
      q = this.member(i, out, q);
    }
    out[q++] = 125;
    return q;
  }

  /** Entries [from, top) that are not gone. */
  private kept(from: number): number {
    let n = 0;
    for (let i = from; i < this.top; i++) if (this.gone[i] !== 1) n++;
    return n;
  }

  /** Entry i as `"key":value`. */
  private member(i: number, dst: Uint8Array, q: number): number {
    const buf = this.buf;
    dst[q++] = QUOTE;
    q = copy(dst, q, buf, this.keyStart[i]!, this.keyEnd[i]!);
    dst[q++] = QUOTE;
    dst[q++] = 58;
    return this.copyValue(i, dst, q);
  }

  /** Entry i's value as JSON text. */
  private copyValue(i: number, dst: Uint8Array, q: number): number {
    if (this.valueKind[i] === STRING) return writeJsonString(this.buf, this.valueStart[i]!, this.valueEnd[i]!, this.valueEscaped[i] === 1, dst, q);
    return this.copyBytes(this.valueWhere[i]!, this.valueStart[i]!, this.valueEnd[i]!, dst, q);
  }

  private copyBytes(where: number, start: number, end: number, dst: Uint8Array, q: number): number {
    if (where === IN_BODY) return copy(dst, q, this.buf, start, end);
    if (where === IN_SCRATCH) return copy(dst, q, this.scratch, start, end);
    return put(dst, q, NULL_TEXT);
  }

  /** A string entry's value as a text column. */
  private text(i: number, dst: Uint8Array, q: number): number {
    const s = this.valueStart[i]! + 1;
    const e = this.valueEnd[i]! - 1;
    return this.valueEscaped[i] === 1 ? canonical(this.buf, s, e, dst, q, true) : copy(dst, q, this.buf, s, e);
  }

  /** A string entry's value as a text column at sp in the scratch buffer; returns its end. */
  private textToScratch(i: number): number {
    const out = this.reserveScratch(this.valueEnd[i]! - this.valueStart[i]!);
    return this.text(i, out, this.sp);
  }

  /** Room for n more bytes at sp in the scratch buffer, which it returns. */
  private reserveScratch(n: number): Buffer {
    if (this.sp + n > this.scratch.length) {
      let size = this.scratch.length * 2;
      while (size < this.sp + n) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.scratch.copy(next, 0, 0, this.sp);
      this.scratch = next;
      this.scratchView = new DataView(next.buffer, next.byteOffset, next.length);
    }
    return this.scratch;
  }

  /** Text into the scratch buffer at sp; returns its end (the new sp). */
  private putScratch(text: string): number {
    const out = this.reserveScratch(Buffer.byteLength(text));
    this.sp += out.write(text, this.sp, 'utf8');
    return this.sp;
  }

  private growEntries(): void {
    this.keyStart = doubled(this.keyStart);
    this.keyEnd = doubled(this.keyEnd);
    this.valueStart = doubled(this.valueStart);
    this.valueEnd = doubled(this.valueEnd);
    this.valueKind = doubled(this.valueKind);
    this.valueWhere = doubled(this.valueWhere);
    this.valueEscaped = doubled(this.valueEscaped);
    this.gone = doubled(this.gone);
  }

  // ---- JSON grammar (RFC 8259, as JSON.parse reads it); anything else is WHOLE_BODY ----

  /** JSON.parse of [start, end) (valid JSON, as read already); undefined for an empty range. */
  private json(start: number, end: number): unknown {
    if (start < 0) return undefined;
    return JSON.parse(this.buf.toString('utf8', start, end));
  }

  private ws(p: number): number {
    const buf = this.buf;
    const end = this.end;
    while (p < end) {
      const c = buf[p]!;
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      p++;
    }
    return p;
  }

  /** At `{` or `[`: the first member or element (more), or past the empty object or array. */
  private open(p: number, close: number): number {
    p = this.ws(p + 1);
    if (p < this.end && this.buf[p] === close) {
      this.more = false;
      return p + 1;
    }
    this.more = true;
    return p;
  }

  /** After a member or element: the next one (more), or past the closing `}` or `]`. */
  private after(p: number, close: number): number {
    p = this.ws(p);
    const c = p < this.end ? this.buf[p] : -1;
    if (c === 44) {
      this.more = true;
      return this.ws(p + 1);
    }
    if (c === close) {
      this.more = false;
      return p + 1;
    }
    throw WHOLE_BODY;
  }

  /** A member's name (its id in `names` into this.id); returns where its value starts. */
  private name(p: number, names: Names): number {
    const buf = this.buf;
    if (p >= this.end || buf[p] !== QUOTE) throw WHOLE_BODY;
    let id = names.match(buf, this.view, p + 1, this.end);
    let q: number;
    if (id >= 0) {
      q = p + 1 + names.quotedLength(id);
    } else {
      q = this.string(p);
      if (this.escaped) id = names.findText(JSON.parse(buf.toString('utf8', p, q)) as string);
    }
    this.id = id;
    if (q < this.end && buf[q] === 58) return this.ws(q + 1);
    q = this.ws(q);
    if (q >= this.end || buf[q] !== 58) throw WHOLE_BODY;
    return this.ws(q + 1);
  }

  /** At a quote: past the closing quote; this.escaped says whether there was a backslash. */
  private string(p: number): number {
    const buf = this.buf;
    const end = this.end;
    let escaped = false;
    p++;
    for (;;) {
      if (p >= end) throw WHOLE_BODY;
      const c = buf[p]!;
      if (PLAIN[c] === 1) {
        p++;
        continue;
      }
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = p + 1 < end ? buf[p + 1]! : -1;
        if (e === 117) {
          if (hex4(buf, p + 2, end) < 0) throw WHOLE_BODY;
          p += 6;
        } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
          p += 2;
        } else {
          throw WHOLE_BODY;
        }
        continue;
      }
      if (c < 32) throw WHOLE_BODY;
      p++;
    }
    this.escaped = escaped;
    return p + 1;
  }

  private number(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const start = p;
    if (buf[p] === 45) p++;
    let c = p < end ? buf[p]! : -1;
    if (c === 48) {
      p++;
    } else if (c >= 49 && c <= 57) {
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++;
    } else {
      throw WHOLE_BODY;
    }
    if (p < end && buf[p] === 46) {
      p++;
      const digits = p;
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++;
      if (p === digits) throw WHOLE_BODY;
    }
    c = p < end ? buf[p]! : -1;
    if (c === 101 || c === 69) {
      p++;
      c = p < end ? buf[p]! : -1;
      if (c === 43 || c === 45) p++;
      const digits = p;
      while (p < end && (c = buf[p]!) >= 48 && c <= 57) p++;
      if (p === digits) throw WHOLE_BODY;
    }
    if (p === start) throw WHOLE_BODY;
    return p;
  }

  /** true, false or null. */
  private literal(p: number): number {
    const buf = this.buf;
    const c = buf[p];
    const word = c === 116 ? 'true' : c === 102 ? 'false' : c === 110 ? 'null' : '';
    if (word === '' || p + word.length > this.end) throw WHOLE_BODY;
    for (let i = 1; i < word.length; i++) if (buf[p + i] !== word.charCodeAt(i)) throw WHOLE_BODY;
    return p + word.length;
  }

  /** Any value, its kind into this.kind (and for a string, this.escaped). */
  private value(p: number, depth: number): number {
    const c = p < this.end ? this.buf[p]! : -1;
    this.escaped = false;
    if (c === QUOTE) {
      this.kind = STRING;
      return this.string(p);
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      this.kind = NUMBER;
      return this.number(p);
    }
    if (c === 123 || c === 91) {
      this.kind = OTHER;
      p = this.skip(p, depth);
      this.escaped = false;
      return p;
    }
    this.kind = c === 110 ? NULL : OTHER;
    return this.literal(p);
  }

  /** Past any value, checking its grammar. */
  private skip(p: number, depth: number): number {
    const buf = this.buf;
    const c = p < this.end ? buf[p]! : -1;
    if (c === QUOTE) return this.string(p);
    if (c === 45 || (c >= 48 && c <= 57)) return this.number(p);
    if (c !== 123 && c !== 91) return this.literal(p);
    if (depth > MAX_SKIP_DEPTH) throw WHOLE_BODY;
    p = this.open(p, c + 2);
    while (this.more) {
      if (c === 123) {
        if (p >= this.end || buf[p] !== QUOTE) throw WHOLE_BODY;
        p = this.ws(this.string(p));
        if (p >= this.end || buf[p] !== 58) throw WHOLE_BODY;
        p = this.ws(p + 1);
      }
      p = this.skip(p, depth + 1);
      p = this.after(p, c + 2);
    }
    return p;
  }
}

/** Bytes that a string's scan passes over: not a quote, a backslash or a control character. */
const PLAIN = new Uint8Array(256).map((_, c) => (c >= 32 && c !== QUOTE && c !== BACKSLASH ? 1 : 0));

/** Severity numbers 0–24 as text. */
const severityNames = Array.from({ length: 25 }, (_, i) => String(i));


/**
 * Whether a JSON number's text is already JavaScript's spelling of its value (what JSON.stringify
 * writes): no exponent, no trailing zero in the fraction, no -0, and at most 15 significant digits
 * (any decimal of that many reads back as itself), written in full (0.000001 and up).
 */
function plainNumber(buf: Uint8Array, s: number, e: number): boolean {
  let p = s;
  if (buf[p] === 45) p++;
  const intStart = p;
  while (p < e && buf[p]! >= 48 && buf[p]! <= 57) p++;
  const intDigits = p - intStart;
  if (intDigits > 15) return false;
  const zero = buf[intStart] === 48;
  if (p === e) return !(zero && intStart > s);
  if (buf[p] !== 46) return false;
  const fracStart = ++p;
  while (p < e && buf[p]! >= 48 && buf[p]! <= 57) p++;
  if (p !== e || buf[e - 1] === 48) return false;
  if (!zero) return intDigits + (e - fracStart) <= 15;
  let z = fracStart;
  while (buf[z] === 48) z++;
  return z - fracStart <= 5 && e - z <= 15;
}

/** Whether [s, e) is an optional minus and digits (what intValue strings may be). */
function integerText(buf: Uint8Array, s: number, e: number): boolean {
  let p = s;
  if (p < e && buf[p] === 45) p++;
  if (p === e) return false;
  for (; p < e; p++) if (buf[p]! < 48 || buf[p]! > 57) return false;
  return true;
}

/** Whether integer text is JavaScript's spelling of a safe integer: no leading zero, no -0, at most 15 digits. */
function plainInteger(buf: Uint8Array, s: number, e: number): boolean {
  const digits = buf[s] === 45 ? s + 1 : s;
  if (e - digits > 15) return false;
  if (buf[digits] === 48) return e - digits === 1 && digits === s;
  return true;
}

/** Whether the digits at `at` are at most those of `max` (as many of them). */
function atMost(buf: Uint8Array, at: number, max: Uint8Array): boolean {
  for (let i = 0; i < max.length; i++) if (buf[at + i] !== max[i]) return buf[at + i]! < max[i]!;
  return true;
}

/** copy() four bytes at a time, `dv` and `sv` being views over `dst` and `src`. */
function copyWords(dst: Uint8Array, dv: DataView, q: number, src: Uint8Array, sv: DataView, start: number, end: number): number {
  let i = start;
  for (; i + 4 <= end; i += 4, q += 4) dv.setInt32(q, sv.getInt32(i, true), true);
  for (; i < end; i++) dst[q++] = src[i]!;
  return q;
}

function copy(dst: Uint8Array, q: number, src: Uint8Array, start: number, end: number): number {
  if (end - start > 64) return copyLong(dst, q, src, start, end);
  for (let i = start; i < end; i++) dst[q++] = src[i]!;
  return q;
}

/** A long run copied natively (worth the view it needs). */
function copyLong(dst: Uint8Array, q: number, src: Uint8Array, start: number, end: number): number {
  dst.set(src.subarray(start, end), q);
  return q + end - start;
}

function put(dst: Uint8Array, q: number, bytes: Uint8Array): number {
  return copy(dst, q, bytes, 0, bytes.length);
}

function putAscii(dst: Uint8Array, q: number, s: string): number {
  for (let i = 0; i < s.length; i++) dst[q++] = s.charCodeAt(i);
  return q;
}

function nul(dst: Uint8Array, q: number): number {
  dst[q++] = BACKSLASH;
  dst[q++] = 78; // N
  return q;
}

/** Hex digits in lower case. */
function lowerHex(src: Uint8Array, s: number, e: number, dst: Uint8Array, q: number): number {
  for (let i = s; i < e; i++) {
    const c = src[i]!;
    dst[q++] = c >= 65 && c <= 70 ? c + 32 : c;
  }
  return q;
}

/** A JSON string at [s, e) (quotes included) as JSON.stringify writes it. */
function writeJsonString(src: Uint8Array, s: number, e: number, escaped: boolean, dst: Uint8Array, q: number): number {
  if (!escaped) return copy(dst, q, src, s, e);
  dst[q++] = QUOTE;
  q = canonical(src, s + 1, e - 1, dst, q, false);
  dst[q++] = QUOTE;
  return q;
}

/**
 * The content [s, e) of a JSON string with escapes, re-escaped as JSON.stringify does (only `"`,
 * `\` and control characters; everything else as UTF-8). A lone surrogate is `\ufffd` in JSON
 * text (as wellFormedJson makes it) and U+FFFD in a text column (as textField makes it). Never
 * longer than its source.
 */
function canonical(src: Uint8Array, s: number, e: number, dst: Uint8Array, q: number, text: boolean): number {
  let i = s;
  while (i < e) {
    const c = src[i]!;
    if (c !== BACKSLASH) {
      dst[q++] = c;
      i++;
      continue;
    }
    const x = src[i + 1]!;
    i += 2;
    let cp: number;
    if (x === 117) {
      cp = hex4(src, i, e);
      i += 4;
    } else if (x === 98) cp = 8;
    else if (x === 102) cp = 12;
    else if (x === 110) cp = 10;
    else if (x === 114) cp = 13;
    else if (x === 116) cp = 9;
    else cp = x; // " \ /
    if (cp < 32) {
      dst[q++] = BACKSLASH;
      if (cp === 8) dst[q++] = 98;
      else if (cp === 12) dst[q++] = 102;
      else if (cp === 10) dst[q++] = 110;
      else if (cp === 13) dst[q++] = 114;
      else if (cp === 9) dst[q++] = 116;
      else {
        dst[q++] = 117;
        dst[q++] = 48;
        dst[q++] = 48;
        dst[q++] = HEX[cp >>> 4]!;
        dst[q++] = HEX[cp & 15]!;
      }
    } else if (cp === QUOTE || cp === BACKSLASH) {
      dst[q++] = BACKSLASH;
      dst[q++] = cp;
    } else if (cp < 0xd800 || cp > 0xdfff) {
      q = utf8Into(dst, q, cp);
    } else {
      const low = cp <= 0xdbff && src[i] === BACKSLASH && src[i + 1] === 117 ? hex4(src, i + 2, e) : -1;
      if (low >= 0xdc00 && low <= 0xdfff) {
        i += 6;
        q = utf8Into(dst, q, 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00));
      } else {
        q = put(dst, q, text ? UFFFD : UFFFD_ESCAPED);
      }
    }
  }
  return q;
}
