// JSON log objects straight from request bytes to spool rows: the hot path of every protocol that
// carries JSON records (native NDJSON and arrays, Elasticsearch bulk sources, ...). The scanner
// validates each object and tables its top-level members; members that are field aliases
// (normalise.ts) become record columns, decoded only when they must be (timestamps, levels, the
// rare escaped key); every other member is copied into attrs as raw bytes. Nothing is allocated
// per member, so a line costs about one pass over its bytes.

import { levelFromBytes, levelFromOtelSeverity, normaliseLevel } from '../../model/level.js';
import type { Level } from '../../model/record.js';
import { BytesTimestamp, jsonNumber, parseTimestamp, timestampFromBytes } from '../../model/timestamp.js';
import { RowBatchBuilder, textField } from '../../store/row-format.js';
import { JsonObjectScanner, KEY_ESCAPED, VALUE_ESCAPED, ValueKind } from './json-scanner.js';
import { FIELD_ALIASES, type NormaliseContext } from './normalise.js';

/** The aliased fields in alias-table order; text fields are written in ROW_COLUMNS order. */
const FIELDS = Object.keys(FIELD_ALIASES) as (keyof typeof FIELD_ALIASES)[];
const F_TS = FIELDS.indexOf('ts');
const F_LEVEL = FIELDS.indexOf('level');
const TEXT_FIELDS = (['service', 'host', 'category', 'source', 'message', 'trace_id', 'span_id'] as const).map((f) => FIELDS.indexOf(f));

/** Every alias gets a code: field * RANKS + rank. */
const RANKS = 16;
interface Alias {
  name: string;
  bytes: Uint8Array;
  code: number;
}
const ALIASES: Alias[] = [];
const ALIAS_BY_NAME = new Map<string, number>();
FIELDS.forEach((field, f) =>
  FIELD_ALIASES[field].forEach((name, rank) => {
    ALIASES.push({ name, bytes: Buffer.from(name), code: f * RANKS + rank });
    ALIAS_BY_NAME.set(name, f * RANKS + rank);
  }),
);
const MAX_ALIAS_BYTES = Math.max(...ALIASES.map((a) => a.bytes.length));
/** Candidates by key length and first byte. */
const ALIAS_TABLE: (Alias[] | undefined)[] = new Array((MAX_ALIAS_BYTES + 1) * 256);
for (const a of ALIASES) (ALIAS_TABLE[a.bytes.length * 256 + a.bytes[0]!] ??= []).push(a);
const SEVERITY_CODE = ALIAS_BY_NAME.get('severity')!;

/** Encodes JSON objects as rows into one RowBatchBuilder; one encoder per request. */
export class JsonRowEncoder {
  private readonly scanner = new JsonObjectScanner();
  private aliasCode = new Int16Array(32);
  private readonly best = new Int32Array(FIELDS.length);
  private readonly consumed = new Uint8Array(FIELDS.length * RANKS);
  /** timestampFromBytes puts the µs here (a returned number would be an allocation per record). */
  private readonly micros = new Float64Array(1);
  private readonly receivedAt: string;
  private readonly tenant: Buffer;
  /** After encodeObject: whether the object was refused (and nothing written), and why. */
  rejected = false;
  error = '';

  constructor(
    readonly out: RowBatchBuilder,
    ctx: NormaliseContext,
  ) {
    this.receivedAt = ctx.receivedAt.toString();
    this.tenant = Buffer.from(textField(ctx.tenant));
  }

  /**
   * Encodes the object that starts at `start` (after optional whitespace), reading no further
   * than `end`; with `whole`, only whitespace may follow it before `end`. Returns the offset just
   * after the object, or -1 when it is not valid JSON; in both cases `rejected` says whether a row
   * was written, and `error` why not.
   */
  encodeObject(buf: Uint8Array, start: number, end: number, whole: boolean): number {
    const sc = this.scanner;
    this.rejected = true;
    const after = sc.scanObject(buf, start, end);
    if (after < 0) {
      this.error = sc.notAnObject ? sc.error : `invalid JSON at column ${sc.errorPos - start + 1}: ${sc.error}`;
      return -1;
    }
    if (whole && JsonObjectScanner.skipWhitespace(buf, after, end) !== end) {
      this.error = `invalid JSON at column ${JsonObjectScanner.skipWhitespace(buf, after, end) - start + 1}: unexpected text after the object`;
      return -1;
    }
    const n = sc.count;
    if (this.aliasCode.length < n) this.aliasCode = new Int16Array(sc.keyStart.length);
    const codes = this.aliasCode;
    const best = this.best;
    best.fill(-1);
    // The best-ranked alias of each field wins; of equal names the last one (as JSON.parse).
    for (let i = 0; i < n; i++) {
      const code = (sc.flags[i]! & KEY_ESCAPED) === 0 ? aliasOf(buf, sc.keyStart[i]!, sc.keyEnd[i]!) : escapedAliasOf(buf, sc, i);
      codes[i] = code;
      if (code < 0) continue;
      const f = (code / RANKS) | 0;
      const b = best[f]!;
      if (b < 0 || code <= codes[b]!) best[f] = i;
    }
    const consumed = this.consumed;
    consumed.fill(0);

    // The two fields that can refuse a record come first, before anything is written.
    let hasTs = false; // the µs are in this.micros[0]; in tsBig instead when they exceed 2^53
    let tsBig: bigint | null = null;
    const tsAt = best[F_TS]!;
    if (tsAt >= 0) {
      const kind = sc.kind[tsAt]!;
      const vs = sc.valueStart[tsAt]!;
      const ve = sc.valueEnd[tsAt]!;
      const empty = kind === ValueKind.Null || (kind === ValueKind.String && ve - vs === 2);
      if (!empty) {
        let found = BytesTimestamp.Invalid;
        if (kind === ValueKind.String && (sc.flags[tsAt]! & VALUE_ESCAPED) === 0) {
          found = timestampFromBytes(buf, vs + 1, ve - 1, true, this.micros);
        } else if (kind === ValueKind.Number) {
          found = timestampFromBytes(buf, vs, ve, false, this.micros);
        } else if (kind === ValueKind.String) {
          tsBig = parseTimestamp(decodeJson(buf, vs, ve));
          found = tsBig === null ? BytesTimestamp.Invalid : BytesTimestamp.Big;
        }
        if (found === BytesTimestamp.Invalid) {
          this.error = `invalid timestamp ${preview(buf, vs, ve)} in field "${keyText(buf, sc, tsAt)}"`;
          return after;
        }
        if (found === BytesTimestamp.Micros) {
          hasTs = true;
        } else if (tsBig === null) {
          const text = utf8(buf, kind === ValueKind.String ? vs + 1 : vs, kind === ValueKind.String ? ve - 1 : ve);
          tsBig = parseTimestamp(kind === ValueKind.String ? text : jsonNumber(text));
        }
      }
      consumed[codes[tsAt]!] = 1;
    }

    let level: Level | null = null;
    let severity = -1;
    const levelAt = best[F_LEVEL]!;
    if (levelAt >= 0) {
      const kind = sc.kind[levelAt]!;
      const vs = sc.valueStart[levelAt]!;
      const ve = sc.valueEnd[levelAt]!;
      if (kind === ValueKind.Number && codes[levelAt] === SEVERITY_CODE) {
        // A numeric `severity` is the OpenTelemetry severity number of the record model.
        const num = Number(latin1(buf, vs, ve));
        level = levelFromOtelSeverity(num);
        if (level !== null) severity = num;
      } else if (kind === ValueKind.String) {
        level = (sc.flags[levelAt]! & VALUE_ESCAPED) === 0 ? levelFromBytes(buf, vs + 1, ve - 1) : normaliseLevel(decodeJson(buf, vs, ve));
      } else if (kind === ValueKind.Number) {
        level = normaliseLevel(jsonNumber(latin1(buf, vs, ve)));
      }
      // An unrecognised level is kept verbatim in attrs rather than dropped or guessed.
      if (level !== null) consumed[codes[levelAt]!] = 1;
    }

    const out = this.out;
    out.reserve(after - start + this.tenant.length + 128);
    if (tsBig !== null) {
      out.bigint(tsBig);
    } else if (!hasTs) {
      out.ascii(this.receivedAt);
    } else {
      out.intFrom(this.micros);
    }
    out.tab();
    out.ascii(this.receivedAt);
    out.tab();
    out.copy(this.tenant, 0, this.tenant.length);
    out.tab();
    if (level === null) out.nul();
    else out.ascii(level);
    out.tab();
    if (severity < 0) out.nul();
    else out.int(severity);
    for (let t = 0; t < TEXT_FIELDS.length; t++) {
      out.tab();
      const at = best[TEXT_FIELDS[t]!]!;
      if (at < 0) {
        out.nul();
        continue;
      }
      const vs = sc.valueStart[at]!;
      const ve = sc.valueEnd[at]!;
      switch (sc.kind[at]) {
        case ValueKind.String:
          out.copy(buf, vs + 1, ve - 1);
          break;
        case ValueKind.Number: {
          const s = String(jsonNumber(latin1(buf, vs, ve)));
          out.reserve(s.length);
          out.ascii(s);
          break;
        }
        case ValueKind.True:
        case ValueKind.False:
          out.copy(buf, vs, ve);
          break;
        case ValueKind.Null:
          out.nul();
          break;
        default:
          // Objects and arrays stay in attrs.
          out.nul();
          continue;
      }
      consumed[codes[at]!] = 1;
    }

    // attrs: every member that did not become a column, as consecutive runs of source bytes.
    out.tab();
    out.ascii('{');
    let first = true;
    for (let i = 0; i < n; ) {
      const code = codes[i]!;
      if (code >= 0 && consumed[code] === 1) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && !(codes[j + 1]! >= 0 && consumed[codes[j + 1]!] === 1)) j++;
      if (!first) out.ascii(',');
      first = false;
      // From the opening quote of member i's key to the end of member j's value.
      if (sc.blanks) out.copyJsonBlanking(buf, sc.keyStart[i]! - 1, sc.valueEnd[j]!);
      else out.copy(buf, sc.keyStart[i]! - 1, sc.valueEnd[j]!);
      i = j + 1;
    }
    out.ascii('}');
    out.endRow();
    this.rejected = false;
    return after;
  }
}

/** The alias code of an unescaped key, or -1. */
function aliasOf(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || len > MAX_ALIAS_BYTES) return -1;
  const candidates = ALIAS_TABLE[len * 256 + buf[start]!];
  if (candidates === undefined) return -1;
  for (const a of candidates) {
    let i = 1;
    while (i < len && a.bytes[i] === buf[start + i]) i++;
    if (i === len) return a.code;
  }
  return -1;
}

function escapedAliasOf(buf: Uint8Array, sc: JsonObjectScanner, i: number): number {
  return ALIAS_BY_NAME.get(keyText(buf, sc, i)) ?? -1;
}

function keyText(buf: Uint8Array, sc: JsonObjectScanner, i: number): string {
  return decodeJson(buf, sc.keyStart[i]! - 1, sc.keyEnd[i]! + 1) as string;
}

function decodeJson(buf: Uint8Array, start: number, end: number): unknown {
  return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'));
}

function utf8(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

function preview(buf: Uint8Array, start: number, end: number): string {
  const s = JSON.stringify(decodeJson(buf, start, end));
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}
