// JSON log objects straight from request bytes to spool rows: the hot path of every protocol that
// carries JSON records (native NDJSON and arrays, Elasticsearch bulk sources, Loki lines, ZeroMQ
// frames). The scanner validates each object and tables its top-level members; members that are
// field aliases (normalise.ts) become record columns, decoded only when they must be (timestamps,
// levels, the rare escaped key); every other member is copied into attrs as raw bytes. Nothing is
// allocated per member, so a line costs about one pass over its bytes. The rules are those of
// normaliseObject, which a differential test holds this to.

import { bytesEqual } from '../../model/bytes.js';
import { levelFromBytes, levelFromOtelSeverity, normaliseLevel } from '../../model/level.js';
import type { Level } from '../../model/record.js';
import { BytesTimestamp, jsonNumber, parseTimestamp, timestampFromBytes } from '../../model/timestamp.js';
import { RowBatchBuilder, textField } from '../../store/row-format.js';
import { JsonObjectScanner, doubled, KEY_ESCAPED, VALUE_ESCAPED, ValueKind, wellFormedJson } from './json-scanner.js';
import { FIELD_ALIASES, MAX_ALIASES, NESTED_PARENTS, currentAliases, onAliasesChanged, type NormaliseContext, type RecordDefaults, type ShadowField } from './normalise.js';

/** The aliased fields in alias-table order; text fields are written in ROW_COLUMNS order. */
const FIELDS = Object.keys(FIELD_ALIASES) as (keyof typeof FIELD_ALIASES)[];
const F_TS = FIELDS.indexOf('ts');
const F_LEVEL = FIELDS.indexOf('level');
const TEXT_FIELDS = (['service', 'host', 'category', 'source', 'message', 'trace_id', 'span_id'] as const).map((f) => FIELDS.indexOf(f));
/** The message's place in TEXT_FIELDS (and in PreparedDefaults.text). */
const MESSAGE = 4;

/** Every alias gets a code: field * RANKS + rank. */
const RANKS = MAX_ALIASES;
interface Alias {
  name: string;
  bytes: Uint8Array;
  code: number;
}
let ALIAS_BY_NAME = new Map<string, number>();
let MAX_ALIAS_BYTES = 0;
/** Candidates by key length and first byte. */
let ALIAS_TABLE: (Alias[] | undefined)[] = [];
let SEVERITY_CODE = -1;

/** The tables of the aliases in use (built again when `ingest.message_keys` changes them). */
function buildAliasTables(): void {
  const aliases: Alias[] = [];
  const byName = new Map<string, number>();
  const current = currentAliases();
  FIELDS.forEach((field, f) =>
    current[field].forEach((name, rank) => {
      aliases.push({ name, bytes: Buffer.from(name), code: f * RANKS + rank });
      byName.set(name, f * RANKS + rank);
    }),
  );
  const maxBytes = Math.max(...aliases.map((a) => a.bytes.length));
  const table: (Alias[] | undefined)[] = new Array((maxBytes + 1) * 256);
  for (const a of aliases) (table[a.bytes.length * 256 + a.bytes[0]!] ??= []).push(a);
  ALIAS_BY_NAME = byName;
  MAX_ALIAS_BYTES = maxBytes;
  ALIAS_TABLE = table;
  SEVERITY_CODE = byName.get('severity')!;
}
buildAliasTables();
onAliasesChanged(buildAliasTables);
const PARENT_NAMES = [...NESTED_PARENTS];
const PARENTS = PARENT_NAMES.map((p) => Buffer.from(p));
/** Index into PARENT_NAMES by key length and first byte (names differ in one of them), or -1. */
const PARENT_TABLE = new Int8Array((Math.max(...PARENTS.map((p) => p.length)) + 1) * 256).fill(-1);
PARENTS.forEach((p, k) => {
  if (PARENT_TABLE[p.length * 256 + p[0]!] !== -1) throw new Error(`nested-object names ${p} and another share length and first byte`);
  PARENT_TABLE[p.length * 256 + p[0]!] = k;
});

/**
 * RecordDefaults turned into bytes once (per stream, per index) for encodeObject. `ts` may be
 * changed between records (each Loki entry has its own).
 */
export interface PreparedDefaults {
  ts: bigint | null;
  level: Level | null;
  severity: number | null;
  /**
   * Escaped text of the text fields, in TEXT_FIELDS order: bytes `[textAt[2t], textAt[2t + 1])` of
   * `text[t]` (a reader fills in a field per record in place, without a view); null where there
   * is no default.
   */
  text: (Uint8Array | null)[];
  textAt: Int32Array;
  /** Members for attrs: the escaped key (to compare with the record's keys) and `"key":value`. */
  attrs: DefaultMember[];
  /** RecordDefaults.shadow: members for attrs when the record has its own value of the field (`own` bit). */
  shadow: (DefaultMember & { bit: number })[];
}

/** Bits of the fields a record gave itself: TEXT_FIELDS' places, then the level. */
const OWN_LEVEL = 1 << 7;
const SHADOW_BITS: Record<ShadowField, number> = { service: 1, host: 2, category: 4, source: 8, message: 16, traceId: 32, spanId: 64, level: OWN_LEVEL };

/** The bit of a shadowable field in PreparedDefaults.shadow. */
export function shadowBit(field: ShadowField): number {
  return SHADOW_BITS[field];
}

/**
 * A member for attrs: the escaped key (to compare with the record's keys) and `"key":value`, bytes
 * `[start, end)` of `member` (as with `text`, a reader may fill it in per record in place).
 */
export interface DefaultMember {
  key: Buffer;
  member: Uint8Array;
  start: number;
  end: number;
}

function attrMember(k: string, v: unknown): DefaultMember {
  const member = Buffer.from(`"${textField(k)}":${wellFormedJson(JSON.stringify(v) ?? 'null')}`);
  return { key: Buffer.from(textField(k)), member, start: 0, end: member.length };
}

export function prepareDefaults(d: RecordDefaults): PreparedDefaults {
  const texts = [d.service, d.host, d.category, d.source, d.message, d.traceId, d.spanId];
  return {
    ts: d.ts ?? null,
    level: d.level ?? null,
    severity: d.level !== undefined ? (d.severity ?? null) : null,
    ...textDefaults(texts.map((t) => (t === undefined ? null : Buffer.from(textField(t))))),
    attrs: Object.entries(d.attrs ?? {}).map(([k, v]) => attrMember(k, v)),
    shadow: (d.shadow ?? []).map((sh) => ({ bit: SHADOW_BITS[sh.field], ...attrMember(sh.key, sh.value) })),
  };
}

/** PreparedDefaults' text and textAt for whole buffers. */
export function textDefaults(text: (Uint8Array | null)[]): { text: (Uint8Array | null)[]; textAt: Int32Array } {
  const textAt = new Int32Array(text.length * 2);
  text.forEach((t, i) => (textAt[2 * i + 1] = t?.length ?? 0));
  return { text, textAt };
}

/** `defaults` with one more attrs member (a value of this record alone, such as a bulk action's `_id`). */
export function withAttr(defaults: PreparedDefaults, key: string, value: string): PreparedDefaults {
  return { ...defaults, attrs: [...defaults.attrs, attrMember(key, value)] };
}

/** Encodes JSON objects as rows into one RowBatchBuilder; one encoder per request. */
export class JsonRowEncoder {
  private readonly scanner = new JsonObjectScanner();
  /** For the nested objects of dotted aliases (`{"host":{"name":…}}`). */
  private readonly nested = new JsonObjectScanner();
  /** Alias code of each top-level member, or -1. */
  private memberCode = new Int16Array(32);
  /** Whether a member is a nested object with an alias inside. */
  private memberParent = new Uint8Array(32);
  /** Which nested-object name (PARENT_NAMES) a member has, or -1. */
  private memberParentOf = new Int8Array(32);
  private readonly lastOfCode = new Int32Array(FIELDS.length * RANKS);
  private readonly lastOfParent = new Int32Array(NESTED_PARENTS.size);
  /** Candidate values of the fields: top-level members and members of nested objects. */
  private cStart = new Int32Array(32);
  private cEnd = new Int32Array(32);
  private cKind = new Uint8Array(32);
  private cFlags = new Uint8Array(32);
  private cCode = new Int16Array(32);
  /** The top-level member of a candidate (a timestamp's, for error messages). */
  private cMember = new Int32Array(32);
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
   * than `end`; with `whole`, only whitespace may follow it before `end`. Fields the object lacks
   * come from `defaults`. Returns the offset just after the object, or -1 when it is not valid
   * JSON; in both cases `rejected` says whether a row was written, and `error` why not.
   */
  encodeObject(buf: Uint8Array, start: number, end: number, whole: boolean, defaults?: PreparedDefaults): number {
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
    const n = this.collectCandidates(buf);
    const best = this.best;
    const consumed = this.consumed;
    consumed.fill(0);

    // The two fields that can refuse a record come first, before anything is written.
    let hasTs = false; // the µs are in this.micros[0]; in tsBig instead when they exceed 2^53
    let tsBig: bigint | null = null;
    const tsAt = best[F_TS]!;
    if (tsAt >= 0) {
      const kind = this.cKind[tsAt]!;
      const vs = this.cStart[tsAt]!;
      const ve = this.cEnd[tsAt]!;
      const empty = kind === ValueKind.Null || (kind === ValueKind.String && ve - vs === 2);
      if (!empty) {
        let found = BytesTimestamp.Invalid;
        if (kind === ValueKind.String && (this.cFlags[tsAt]! & VALUE_ESCAPED) === 0) {
          found = timestampFromBytes(buf, vs + 1, ve - 1, true, this.micros);
        } else if (kind === ValueKind.Number) {
          found = timestampFromBytes(buf, vs, ve, false, this.micros);
        } else if (kind === ValueKind.String) {
          tsBig = parseTimestamp(decodeJson(buf, vs, ve));
          found = tsBig === null ? BytesTimestamp.Invalid : BytesTimestamp.Big;
        }
        if (found === BytesTimestamp.Invalid) {
          this.error = `invalid timestamp ${preview(buf, vs, ve)} in field "${keyText(buf, sc, this.cMember[tsAt]!)}"`;
          return after;
        }
        if (found === BytesTimestamp.Micros) {
          hasTs = true;
        } else if (tsBig === null) {
          const text = utf8(buf, kind === ValueKind.String ? vs + 1 : vs, kind === ValueKind.String ? ve - 1 : ve);
          tsBig = parseTimestamp(kind === ValueKind.String ? text : jsonNumber(text));
        }
      }
      consumed[this.cCode[tsAt]!] = 1;
    }

    let level: Level | null = null;
    let severity = -1;
    const levelAt = best[F_LEVEL]!;
    if (levelAt >= 0) {
      const kind = this.cKind[levelAt]!;
      const vs = this.cStart[levelAt]!;
      const ve = this.cEnd[levelAt]!;
      if (kind === ValueKind.Number && this.cCode[levelAt] === SEVERITY_CODE) {
        // A numeric `severity` is the OpenTelemetry severity number of the record model.
        const digits = smallUint(buf, vs, ve);
        const num = digits >= 0 ? digits : Number(latin1(buf, vs, ve));
        level = levelFromOtelSeverity(num);
        if (level !== null) severity = num;
      } else if (kind === ValueKind.String) {
        level = (this.cFlags[levelAt]! & VALUE_ESCAPED) === 0 ? levelFromBytes(buf, vs + 1, ve - 1) : normaliseLevel(decodeJson(buf, vs, ve));
      } else if (kind === ValueKind.Number) {
        // pino's and bunyan's numeric levels (`"level":30`) are plain digits: no string made.
        const digits = smallUint(buf, vs, ve);
        level = normaliseLevel(digits >= 0 ? digits : jsonNumber(latin1(buf, vs, ve)));
      }
      // An unrecognised level is kept verbatim in attrs rather than dropped or guessed.
      if (level !== null) consumed[this.cCode[levelAt]!] = 1;
    }
    // Fields the object sets to a value of its own, other than the default's (shadowed defaults).
    let own = level !== null && level !== defaults?.level ? OWN_LEVEL : 0;
    if (level === null && defaults?.level) {
      level = defaults.level;
      severity = defaults.severity ?? -1;
    }

    const out = this.out;
    out.reserve(after - start + this.tenant.length + 128);
    if (tsBig !== null) out.bigint(tsBig);
    else if (hasTs) out.intFrom(this.micros);
    else if (defaults?.ts != null) out.bigint(defaults.ts);
    else out.ascii(this.receivedAt);
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
      const at = out.pos;
      const d = defaults?.text[t];
      const ds = d ? defaults!.textAt[2 * t]! : 0;
      const de = d ? defaults!.textAt[2 * t + 1]! : 0;
      const c = best[TEXT_FIELDS[t]!]!;
      if (this.writeText(buf, c)) {
        if (!d || !this.sameText(buf, c, d, ds, de, at)) own |= 1 << t;
      } else {
        if (d) {
          out.reserve(de - ds + 2);
          out.copy(d, ds, de);
        } else {
          out.nul();
        }
      }
    }
    out.tab();
    this.writeAttrs(buf, n, defaults, own);
    out.endRow();
    this.rejected = false;
    return after;
  }

  /**
   * A record that is not a JSON object — a plain Loki line, a syslog message: its fields are the
   * defaults, and its message the UTF-8 text `[start, end)` of `text` when given.
   */
  encodeText(defaults: PreparedDefaults, text?: Uint8Array, start = 0, end = text?.length ?? 0): void {
    const out = this.out;
    out.reserve(96 + this.tenant.length);
    if (defaults.ts !== null) out.bigint(defaults.ts);
    else out.ascii(this.receivedAt);
    out.tab();
    out.ascii(this.receivedAt);
    out.tab();
    out.copy(this.tenant, 0, this.tenant.length);
    out.tab();
    if (defaults.level === null) out.nul();
    else out.ascii(defaults.level);
    out.tab();
    if (defaults.severity === null) out.nul();
    else out.int(defaults.severity);
    for (let t = 0; t < TEXT_FIELDS.length; t++) {
      const d = defaults.text[t];
      const ds = defaults.textAt[2 * t]!;
      const de = defaults.textAt[2 * t + 1]!;
      // The message may be long: each field makes its own room.
      out.reserve((d ? de - ds : 2) + 1);
      out.tab();
      if (t === MESSAGE && text !== undefined) out.escaped(text, start, end);
      else if (d) out.copy(d, ds, de);
      else out.nul();
    }
    let attrs = 4;
    for (const a of defaults.attrs) attrs += a.end - a.start + 1;
    out.reserve(attrs);
    out.tab();
    out.ascii('{');
    defaults.attrs.forEach((a, i) => {
      if (i > 0) out.ascii(',');
      out.copy(a.member, a.start, a.end);
    });
    out.ascii('}');
    out.endRow();
  }

  /**
   * Tables the candidate sources of each field — the members whose names are aliases, and the
   * members of nested objects whose paths are (`host` → `name`) — and picks the best of each
   * field into `best`. Returns the number of top-level members.
   */
  private collectCandidates(buf: Uint8Array): number {
    const sc = this.scanner;
    const n = sc.count;
    if (this.memberCode.length < n) {
      this.memberCode = new Int16Array(sc.keyStart.length);
      this.memberParent = new Uint8Array(sc.keyStart.length);
      this.memberParentOf = new Int8Array(sc.keyStart.length);
    }
    this.best.fill(-1);
    // A name given twice counts once, as the last (JSON.parse keeps the last value): note the
    // last member of each alias and of each nested-object name.
    const lastOfCode = this.lastOfCode;
    const lastOfParent = this.lastOfParent;
    for (let i = 0; i < n; i++) {
      const escaped = (sc.flags[i]! & KEY_ESCAPED) !== 0;
      const code = escaped ? escapedAliasOf(buf, sc, i) : aliasOf(buf, sc.keyStart[i]!, sc.keyEnd[i]!);
      const parent = escaped ? -1 : parentOf(buf, sc.keyStart[i]!, sc.keyEnd[i]!);
      this.memberCode[i] = code;
      this.memberParentOf[i] = parent;
      this.memberParent[i] = 0;
      if (code >= 0) lastOfCode[code] = i;
      if (parent >= 0) lastOfParent[parent] = i;
    }
    let c = 0;
    for (let i = 0; i < n; i++) {
      const kind = sc.kind[i]!;
      const code = this.memberCode[i]!;
      if (code >= 0 && lastOfCode[code] === i) c = this.addCandidate(c, code, i, sc.valueStart[i]!, sc.valueEnd[i]!, kind, sc.flags[i]!);
      const parent = this.memberParentOf[i]!;
      if (parent >= 0 && kind === ValueKind.Object && lastOfParent[parent] === i) {
        const inner = this.nested;
        if (inner.scanObject(buf, sc.valueStart[i]!, sc.valueEnd[i]!) < 0) continue;
        for (let j = 0; j < inner.count; j++) {
          const sub = ALIAS_BY_NAME.get(`${PARENT_NAMES[parent]}.${keyText(buf, inner, j)}`);
          if (sub === undefined) continue;
          this.memberParent[i] = 1;
          c = this.addCandidate(c, sub, i, inner.valueStart[j]!, inner.valueEnd[j]!, inner.kind[j]!, inner.flags[j]!);
        }
      }
    }
    return n;
  }

  /** Adds a candidate; the best-ranked of each field wins, of equals the later. Returns the count. */
  private addCandidate(c: number, code: number, member: number, vs: number, ve: number, kind: number, flags: number): number {
    const f = (code / RANKS) | 0;
    // An object or array can be no field but a (bad) timestamp.
    if (f !== F_TS && (kind === ValueKind.Object || kind === ValueKind.Array)) return c;
    if (c === this.cStart.length) this.growCandidates();
    this.cStart[c] = vs;
    this.cEnd[c] = ve;
    this.cKind[c] = kind;
    this.cFlags[c] = flags;
    this.cCode[c] = code;
    this.cMember[c] = member;
    const b = this.best[f]!;
    if (b < 0 || code <= this.cCode[b]!) this.best[f] = c;
    return c + 1;
  }

  /** Writes candidate `at` as a text column; false when there is nothing to write (null, none). */
  private writeText(buf: Uint8Array, at: number): boolean {
    if (at < 0) return false;
    const out = this.out;
    const vs = this.cStart[at]!;
    const ve = this.cEnd[at]!;
    switch (this.cKind[at]) {
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
      default:
        // A null: taken, and nothing written (a default may apply).
        this.consumed[this.cCode[at]!] = 1;
        return false;
    }
    this.consumed[this.cCode[at]!] = 1;
    return true;
  }

  /**
   * Whether the text just written at `at` (from candidate `c`) is the default's text `d[ds, de)`.
   * Both are escaped text, but a value with escapes of its own may spell the same string
   * differently (`\u0041`, a lone surrogate's `\udfff` for the default's U+FFFD): such a value
   * is compared as the text its decoded string makes.
   */
  private sameText(buf: Uint8Array, c: number, d: Uint8Array, ds: number, de: number, at: number): boolean {
    const out = this.out;
    if (de - ds === out.pos - at && bytesEqual(d, ds, out.buf, at, de - ds)) return true;
    if ((this.cFlags[c]! & VALUE_ESCAPED) === 0) return false;
    const text = Buffer.from(textField(decodeJson(buf, this.cStart[c]!, this.cEnd[c]!) as string));
    return text.length === de - ds && bytesEqual(d, ds, text, 0, text.length);
  }

  /**
   * attrs: the defaults' members the object does not have, then every member that did not become
   * a column, as consecutive runs of source bytes; a nested object that gave up a member to a
   * column is written again without it (or not at all, when emptied).
   */
  private writeAttrs(buf: Uint8Array, n: number, defaults: PreparedDefaults | undefined, own: number): void {
    const sc = this.scanner;
    const out = this.out;
    out.ascii('{');
    let first = true;
    if (defaults) {
      for (const a of defaults.attrs) {
        if (this.hasMember(buf, a.key)) continue;
        out.reserve(a.end - a.start + 1);
        if (!first) out.ascii(',');
        first = false;
        out.copy(a.member, a.start, a.end);
      }
      for (const a of defaults.shadow) {
        if ((own & a.bit) === 0 || this.keepsMember(buf, a.key) || defaults.attrs.some((d) => d.key.equals(a.key) && !this.hasMember(buf, d.key))) continue;
        out.reserve(a.end - a.start + 1);
        if (!first) out.ascii(',');
        first = false;
        out.copy(a.member, a.start, a.end);
      }
    }
    for (let i = 0; i < n; ) {
      if (!this.kept(i)) {
        i++;
        continue;
      }
      if (this.memberParent[i] === 1 && this.gaveUpMembers(buf, i)) {
        first = this.writeRemainder(buf, i, first);
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && this.kept(j + 1) && !(this.memberParent[j + 1] === 1 && this.gaveUpMembers(buf, j + 1))) j++;
      if (!first) out.ascii(',');
      first = false;
      // From the opening quote of member i's key to the end of member j's value.
      if (sc.blanks) out.copyJsonBlanking(buf, sc.keyStart[i]! - 1, sc.valueEnd[j]!);
      else out.copy(buf, sc.keyStart[i]! - 1, sc.valueEnd[j]!);
      i = j + 1;
    }
    out.ascii('}');
  }

  /** Whether member i goes to attrs: not if it became a column or a later member of its name overrides it. */
  private kept(i: number): boolean {
    const code = this.memberCode[i]!;
    if (code >= 0 && (this.consumed[code] === 1 || this.lastOfCode[code] !== i)) return false;
    const parent = this.memberParentOf[i]!;
    return parent < 0 || this.lastOfParent[parent] === i;
  }

  /** Whether nested member i lost a member to a column. */
  private gaveUpMembers(buf: Uint8Array, i: number): boolean {
    const sc = this.scanner;
    const parent = PARENT_NAMES[this.memberParentOf[i]!];
    const inner = this.nested;
    inner.scanObject(buf, sc.valueStart[i]!, sc.valueEnd[i]!);
    for (let j = 0; j < inner.count; j++) {
      const code = ALIAS_BY_NAME.get(`${parent}.${keyText(buf, inner, j)}`);
      if (code !== undefined && this.consumed[code] === 1) return true;
    }
    return false;
  }

  /** Member i without its nested members that became columns; returns the new `first`. */
  private writeRemainder(buf: Uint8Array, i: number, first: boolean): boolean {
    const sc = this.scanner;
    const out = this.out;
    const parent = PARENT_NAMES[this.memberParentOf[i]!];
    const inner = this.nested;
    inner.scanObject(buf, sc.valueStart[i]!, sc.valueEnd[i]!);
    let opened = false;
    for (let j = 0; j < inner.count; j++) {
      const code = ALIAS_BY_NAME.get(`${parent}.${keyText(buf, inner, j)}`);
      if (code !== undefined && this.consumed[code] === 1) continue;
      if (!opened) {
        if (!first) out.ascii(',');
        first = false;
        out.copy(buf, sc.keyStart[i]! - 1, sc.keyEnd[i]! + 1);
        out.ascii(':{');
        opened = true;
      } else {
        out.ascii(',');
      }
      const from = inner.keyStart[j]! - 1;
      const to = inner.valueEnd[j]!;
      if (inner.blanks || sc.blanks) out.copyJsonBlanking(buf, from, to);
      else out.copy(buf, from, to);
    }
    if (opened) out.ascii('}');
    return first;
  }

  /**
   * Whether attrs get a member named `key` from the object: one that is not a column and not a
   * nested object all of whose members became columns.
   */
  private keepsMember(buf: Uint8Array, key: Buffer): boolean {
    const sc = this.scanner;
    for (let i = 0; i < sc.count; i++) {
      if (!this.keyIs(buf, i, key) || !this.kept(i)) continue;
      if (this.memberParent[i] === 1 && this.gaveUpMembers(buf, i) && this.remainderEmpty(buf, i)) continue;
      return true;
    }
    return false;
  }

  /** Whether every member of nested member i became a column (after gaveUpMembers scanned it). */
  private remainderEmpty(buf: Uint8Array, i: number): boolean {
    const parent = PARENT_NAMES[this.memberParentOf[i]!];
    const inner = this.nested;
    for (let j = 0; j < inner.count; j++) {
      const code = ALIAS_BY_NAME.get(`${parent}.${keyText(buf, inner, j)}`);
      if (code === undefined || this.consumed[code] !== 1) return false;
    }
    return true;
  }

  /** Whether the object has a top-level member named `key` (escaped bytes, as in the source). */
  private hasMember(buf: Uint8Array, key: Buffer): boolean {
    for (let i = 0; i < this.scanner.count; i++) if (this.keyIs(buf, i, key)) return true;
    return false;
  }

  /** Whether top-level member i's key is `key` (escaped bytes, as in the source). */
  private keyIs(buf: Uint8Array, i: number, key: Buffer): boolean {
    const ks = this.scanner.keyStart[i]!;
    const len = this.scanner.keyEnd[i]! - ks;
    if (len !== key.length) return false;
    let k = 0;
    while (k < len && buf[ks + k] === key[k]) k++;
    return k === len;
  }

  private growCandidates(): void {
    this.cStart = doubled(this.cStart);
    this.cEnd = doubled(this.cEnd);
    this.cKind = doubled(this.cKind);
    this.cFlags = doubled(this.cFlags);
    this.cCode = doubled(this.cCode);
    this.cMember = doubled(this.cMember);
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

/** Which of PARENT_NAMES an unescaped key is (an object that may hold a dotted alias), or -1. */
function parentOf(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || (len + 1) * 256 > PARENT_TABLE.length) return -1;
  const k = PARENT_TABLE[len * 256 + buf[start]!]!;
  if (k < 0) return -1;
  const p = PARENTS[k]!;
  for (let i = 1; i < len; i++) if (p[i] !== buf[start + i]) return -1;
  return k;
}

function escapedAliasOf(buf: Uint8Array, sc: JsonObjectScanner, i: number): number {
  return ALIAS_BY_NAME.get(keyText(buf, sc, i)) ?? -1;
}

function keyText(buf: Uint8Array, sc: JsonObjectScanner, i: number): string {
  if ((sc.flags[i]! & KEY_ESCAPED) === 0) return utf8(buf, sc.keyStart[i]!, sc.keyEnd[i]!);
  return decodeJson(buf, sc.keyStart[i]! - 1, sc.keyEnd[i]! + 1) as string;
}

function decodeJson(buf: Uint8Array, start: number, end: number): unknown {
  return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'));
}

function utf8(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}

/**
 * The value of a JSON number of one to three plain digits (`9`, `17`), without making a string;
 * -1 for any other spelling (a sign, a fraction, an exponent, more digits), which the caller reads
 * the slow way.
 */
function smallUint(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len < 1 || len > 3) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

function preview(buf: Uint8Array, start: number, end: number): string {
  const s = JSON.stringify(decodeJson(buf, start, end));
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}
