// Loki's JSON push read from its bytes: the body is walked once, each entry's line unescaped into
// a scratch buffer and written as a row by the shared byte encoder (json-rows.ts), as the native
// route writes its lines. What a stream's labels make (service, host, level, attrs…) is worked
// out once per stream; structured metadata once per stream and set of metadata names (a plan
// with the values left open), and each entry then only fills in its values, as bytes of the body.
//
// Only the shape shippers send is walked here: `{"streams":[{"stream":{…},"values":[["ns",
// "line", {…}]…]}…]}` in any whitespace. Anything else — a bad entry, labels in Prometheus text,
// `entries`, escaped names, a level in metadata, invalid UTF-8 or JSON — is rare, and the body is
// read instead by parseLokiJson (push-body.ts), which is the reference this file is tested against.

import { isUtf8 } from 'node:buffer';
import { MAX_MICROS } from '../../model/timestamp.js';
import { textField, type BufferSource } from '../../store/row-format.js';
import { prepareDefaults, shadowBit, textDefaults, type DefaultMember, type PreparedDefaults } from '../common/json-rows.js';
import { JsonObjectScanner, KEY_ESCAPED, VALUE_ESCAPED, ValueKind } from '../common/json-scanner.js';
import { hex4, utf8Into } from '../../model/utf8.js';
import type { NormaliseContext } from '../common/normalise.js';
import { labelDefaults, parseLokiJson, PushWriter, type ParsedPush } from './push-body.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** Metadata names that could set the level: the level depends on each value, so no plan holds it. */
const LEVEL_NAMES = new Set(['level', 'detected_level']);
/** Marks a metadata value's place in a plan; a label holding it makes the stream plan-less. */
const SLOT = '\u0001lh-slot-';

/** The walk met something it leaves to parseLokiJson. */
class Unusual extends Error {}
const UNUSUAL = new Unusual();

export function parseLokiJsonBytes(body: Buffer, ctx: NormaliseContext, buffers?: BufferSource): ParsedPush {
  if (!isUtf8(body)) return parseLokiJson(body, ctx, buffers);
  const walk = new PushWalk(body, ctx, buffers);
  try {
    walk.body();
    return walk.writer.result();
  } catch (e) {
    if (e !== UNUSUAL) throw e;
    walk.writer.result().batch.release();
    return parseLokiJson(body, ctx, buffers);
  }
}

/** A text field, an attrs member or a shadowed label: fixed bytes, or metadata value number `slot`. */
interface Part {
  fixed: Buffer | null;
  slot: number;
}

/** What one stream's labels and one set of metadata names make, with the values left open. */
interface Plan {
  /** The metadata names, as in the body (unescaped), and which were empty. */
  names: Buffer[];
  empty: boolean[];
  text: Part[];
  attrs: { key: Buffer; member: Part }[];
  shadow: { bit: number; key: Buffer; member: Part }[];
  /** Filled in for each entry and handed to the encoder (which reads it before the next). */
  defaults: PreparedDefaults;
}

class PushWalk {
  readonly writer: PushWriter;
  private pos = 0;
  private readonly end: number;
  // Scanners that leave a lone surrogate escape as it is (and the body to parseLokiJson, which
  // must read it as sent); lineInto makes such an escape U+FFFD itself.
  private readonly labels = unrepairing();
  private readonly meta = unrepairing();
  private readonly skipper = unrepairing();
  /** Where each line is unescaped; it grows with the longest line (which the body's size bounds). */
  private scratch: Buffer;

  constructor(
    private readonly buf: Buffer,
    ctx: NormaliseContext,
    buffers: BufferSource | undefined,
  ) {
    this.end = buf.length;
    this.scratch = Buffer.allocUnsafe(Math.min(Math.max(buf.length, 64), 64 * 1024));
    this.writer = new PushWriter(buf.length, ctx, buffers);
  }

  body(): void {
    this.expect(OPEN_BRACE);
    let streams = false;
    if (!this.consume(CLOSE_BRACE)) {
      do {
        const key = this.key();
        if (key === 'streams') {
          // JSON.parse keeps the last of a name given twice: the rows of the first are written already.
          if (streams) throw UNUSUAL;
          streams = true;
          this.streams();
        } else {
          this.skipValue();
        }
      } while (this.consume(COMMA));
      this.expect(CLOSE_BRACE);
    }
    this.ws();
    if (this.pos !== this.end || !streams) throw UNUSUAL;
  }

  private streams(): void {
    this.expect(OPEN_BRACKET);
    if (this.consume(CLOSE_BRACKET)) return;
    do this.stream();
    while (this.consume(COMMA));
    this.expect(CLOSE_BRACKET);
  }

  private stream(): void {
    this.expect(OPEN_BRACE);
    let labels: Record<string, string> | null = null;
    let values = false;
    if (!this.consume(CLOSE_BRACE)) {
      do {
        const key = this.key();
        if (key === 'stream' && labels === null) labels = this.labelObject();
        else if (key === 'values' && labels !== null && !values) {
          values = true;
          this.values(labels);
        } else throw UNUSUAL;
      } while (this.consume(COMMA));
      this.expect(CLOSE_BRACE);
    }
    if (!values) throw UNUSUAL;
  }

  /** `{"name":"value",…}` as labels; anything but an object of plain strings is unusual. */
  private labelObject(): Record<string, string> {
    const sc = this.labels;
    const after = sc.scanObject(this.buf, this.pos, this.end);
    if (after < 0) throw UNUSUAL;
    const labels: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let i = 0; i < sc.count; i++) {
      if (sc.kind[i] !== ValueKind.String || (sc.flags[i]! & (KEY_ESCAPED | VALUE_ESCAPED)) !== 0) throw UNUSUAL;
      const value = this.buf.toString('utf8', sc.valueStart[i]! + 1, sc.valueEnd[i]! - 1);
      if (value.includes(SLOT)) throw UNUSUAL;
      labels[this.buf.toString('utf8', sc.keyStart[i]!, sc.keyEnd[i]!)] = value;
    }
    this.pos = after;
    return labels;
  }

  private values(labels: Record<string, string>): void {
    const w = this.writer;
    const streamDefaults = prepareDefaults(labelDefaults(labels));
    const plans = new Map<string, Plan>();
    let last: Plan | null = null;
    this.expect(OPEN_BRACKET);
    if (this.consume(CLOSE_BRACKET)) return;
    do {
      this.expect(OPEN_BRACKET);
      const us = this.nanos();
      this.expect(COMMA);
      const length = this.lineInto();
      let defaults = streamDefaults;
      if (this.consume(COMMA)) {
        const sc = this.meta;
        const after = sc.scanObject(this.buf, this.pos, this.end);
        if (after < 0) throw UNUSUAL;
        this.pos = after;
        if (sc.count > 0) {
          if (last === null || !this.fits(last)) {
            const key = this.namesKey();
            last = plans.get(key) ?? null;
            if (last === null) plans.set(key, (last = this.plan(labels)));
          }
          defaults = this.fill(last);
        }
      }
      this.expect(CLOSE_BRACKET);
      defaults.ts = us;
      w.entry(defaults, this.scratch, 0, length);
    } while (this.consume(COMMA));
    this.expect(CLOSE_BRACKET);
  }

  /** `"<digits>"`: nanoseconds since the epoch, as µs. */
  private nanos(): bigint {
    const buf = this.buf;
    this.ws();
    if (buf[this.pos] !== QUOTE) throw UNUSUAL;
    const start = this.pos + 1;
    let p = start;
    while (p < this.end && buf[p]! >= 48 && buf[p]! <= 57) p++;
    if (p === start || p - start > 20 || buf[p] !== QUOTE) throw UNUSUAL;
    this.pos = p + 1;
    // The µs are the digits but the last three. Up to 16 digits are summed as a double, exact
    // while below 2^53 (until the year 2255), which every step before the last is too.
    const digits = p - start - 3;
    if (digits <= 0) return 0n;
    let us: bigint;
    let n = 0;
    if (digits <= 16) for (let k = start; k < start + digits; k++) n = n * 10 + (buf[k]! - 48);
    if (digits <= 16 && n <= Number.MAX_SAFE_INTEGER) {
      us = BigInt(n);
    } else {
      us = BigInt(buf.toString('latin1', start, start + digits));
    }
    if (us > MAX_MICROS) throw UNUSUAL;
    return us;
  }

  /**
   * The line, a JSON string, unescaped into `this.scratch` as UTF-8 (a lone surrogate becomes U+FFFD,
   * as a decoder makes it); its length.
   */
  private lineInto(): number {
    const buf = this.buf;
    const end = this.end;
    this.ws();
    if (buf[this.pos] !== QUOTE) throw UNUSUAL;
    let p = this.pos + 1;
    let out = this.scratch;
    let o = 0;
    for (;;) {
      // A run of plain bytes (and \" escapes), copied; no byte of it makes more than one byte, so
      // the run stops where the room could end. The other escapes are read after it.
      if (out.length - o <= 4) {
        const grown = Buffer.allocUnsafe(out.length * 2);
        out.copy(grown, 0, 0, o);
        this.scratch = out = grown;
      }
      const stop = Math.min(end, p + (out.length - o - 4));
      let c = 0;
      while (p < stop) {
        c = buf[p]!;
        // Stored before it is looked at (there is room): the loop is fastest so (about a third).
        out[o] = c;
        if (c > QUOTE && c !== BACKSLASH) {
          o++;
          p++;
          continue;
        }
        if (c === BACKSLASH) {
          // \" — the escape a line that is itself JSON is full of — without leaving the run.
          if (buf[p + 1] !== QUOTE) break;
          out[o++] = QUOTE;
          p += 2;
          continue;
        }
        if (c === QUOTE || c < 32) break;
        o++;
        p++;
      }
      if (p >= stop) {
        if (p >= end) throw UNUSUAL;
        continue;
      }
      if (c === QUOTE) break;
      if (c !== BACKSLASH) throw UNUSUAL;
      const e = buf[p + 1];
      switch (e) {
        case QUOTE:
        case BACKSLASH:
        case 47:
          out[o++] = e;
          break;
        case 98:
          out[o++] = 8;
          break;
        case 102:
          out[o++] = 12;
          break;
        case 110:
          out[o++] = 10;
          break;
        case 114:
          out[o++] = 13;
          break;
        case 116:
          out[o++] = 9;
          break;
        case 117: {
          let cp = hex4(buf, p + 2, end);
          if (cp < 0) throw UNUSUAL;
          p += 6;
          if (cp >= 0xd800 && cp <= 0xdbff && buf[p] === BACKSLASH && buf[p + 1] === 117) {
            const low = hex4(buf, p + 2, end);
            if (low >= 0xdc00 && low <= 0xdfff) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
              p += 6;
            }
          }
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
          o = utf8Into(out, o, cp);
          continue;
        }
        default:
          throw UNUSUAL;
      }
      p += 2;
    }
    this.pos = p + 1;
    return o;
  }

  /** Whether the metadata just scanned has `plan`'s names, in its order, empty where it was. */
  private fits(plan: Plan): boolean {
    const sc = this.meta;
    if (sc.count !== plan.names.length) return false;
    const buf = this.buf;
    for (let i = 0; i < sc.count; i++) {
      const name = plan.names[i]!;
      const ks = sc.keyStart[i]!;
      if (sc.kind[i] !== ValueKind.String || sc.keyEnd[i]! - ks !== name.length || (sc.valueEnd[i]! - sc.valueStart[i]! === 2) !== plan.empty[i]) return false;
      for (let k = 0; k < name.length; k++) if (buf[ks + k] !== name[k]) return false;
    }
    return true;
  }

  /** The metadata's names and which are empty, as a map key; unusual values are refused here. */
  private namesKey(): string {
    const sc = this.meta;
    let key = '';
    for (let i = 0; i < sc.count; i++) {
      if (sc.kind[i] !== ValueKind.String || (sc.flags[i]! & KEY_ESCAPED) !== 0) throw UNUSUAL;
      const name = this.buf.toString('utf8', sc.keyStart[i]!, sc.keyEnd[i]!);
      if (LEVEL_NAMES.has(name)) throw UNUSUAL;
      key += `${name}\u0000${sc.valueEnd[i]! - sc.valueStart[i]! === 2 ? 'e' : 'v'}\u0000`;
    }
    return key;
  }

  /** What the stream's labels and the metadata's names make (labelDefaults), values as slots. */
  private plan(labels: Record<string, string>): Plan {
    const sc = this.meta;
    const names: Buffer[] = [];
    const empty: boolean[] = [];
    const meta: Record<string, string> = Object.create(null) as Record<string, string>;
    const slotOf = new Map<string, number>();
    for (let i = 0; i < sc.count; i++) {
      const name = this.buf.toString('utf8', sc.keyStart[i]!, sc.keyEnd[i]!);
      names.push(this.buf.subarray(sc.keyStart[i]!, sc.keyEnd[i]!));
      const isEmpty = sc.valueEnd[i]! - sc.valueStart[i]! === 2;
      empty.push(isEmpty);
      // A name given twice: JSON.parse keeps the last value.
      meta[name] = isEmpty ? '' : `${SLOT}${i}`;
      if (!isEmpty) slotOf.set(`${SLOT}${i}`, i);
    }
    const d = labelDefaults(labels, meta);
    const part = (v: string | undefined): Part => {
      if (v === undefined) return { fixed: null, slot: -1 };
      const slot = slotOf.get(v);
      return slot === undefined ? { fixed: Buffer.from(textField(v)), slot: -1 } : { fixed: null, slot };
    };
    // As prepareDefaults writes a member (labels hold no escapes, so no lone surrogate either).
    const member = (k: string, v: string): Part => {
      const slot = slotOf.get(v);
      return slot === undefined ? { fixed: Buffer.from(`"${textField(k)}":${JSON.stringify(v)}`), slot: -1 } : { fixed: null, slot };
    };
    const text = [d.service, d.host, d.category, d.source, d.message, d.traceId, d.spanId].map(part);
    const attrs = Object.entries((d.attrs ?? {}) as Record<string, string>).map(([k, v]) => ({ key: Buffer.from(textField(k)), member: member(k, v) }));
    const shadow = (d.shadow ?? []).map((s) => ({ bit: shadowBit(s.field), key: Buffer.from(textField(s.key)), member: member(s.key, s.value) }));
    return {
      names,
      empty,
      text,
      attrs,
      shadow,
      defaults: {
        ts: null,
        // Levels come from the labels only: metadata that could set one has no plan.
        level: d.level ?? null,
        severity: null,
        ...textDefaults(text.map((t) => t.fixed)),
        attrs: attrs.map((a) => fixedMember(a.key, a.member.fixed)),
        shadow: shadow.map((s) => ({ bit: s.bit, ...fixedMember(s.key, s.member.fixed) })),
      },
    };
  }

  /** The plan's defaults with this entry's metadata values in their slots. */
  private fill(plan: Plan): PreparedDefaults {
    const d = plan.defaults;
    const sc = this.meta;
    for (let t = 0; t < plan.text.length; t++) {
      // Metadata value `slot` as row text: its bytes in the body, when they need no unescaping.
      const slot = plan.text[t]!.slot;
      if (slot < 0) continue;
      if ((sc.flags[slot]! & VALUE_ESCAPED) !== 0) throw UNUSUAL;
      d.text[t] = this.buf;
      d.textAt[2 * t] = sc.valueStart[slot]! + 1;
      d.textAt[2 * t + 1] = sc.valueEnd[slot]! - 1;
    }
    for (let a = 0; a < plan.attrs.length; a++) {
      const slot = plan.attrs[a]!.member.slot;
      if (slot >= 0) this.memberInto(slot, d.attrs[a]!);
    }
    for (let s = 0; s < plan.shadow.length; s++) {
      const slot = plan.shadow[s]!.member.slot;
      if (slot >= 0) this.memberInto(slot, d.shadow[s]!);
    }
    return d;
  }

  /** Metadata member `i` as an attrs member, `"name":"value"`, into `m`: its bytes in the body when written so. */
  private memberInto(i: number, m: DefaultMember): void {
    const sc = this.meta;
    const ks = sc.keyStart[i]!;
    const ke = sc.keyEnd[i]!;
    if ((sc.flags[i]! & VALUE_ESCAPED) !== 0 || this.buf[ke + 1] !== COLON || sc.valueStart[i] !== ke + 2) {
      // Escapes are rendered as JSON.stringify renders the decoded value; whitespace is dropped.
      const value = JSON.parse(this.buf.toString('utf8', sc.valueStart[i]!, sc.valueEnd[i]!)) as string;
      m.member = Buffer.from(`"${this.buf.toString('utf8', ks, ke)}":${JSON.stringify(value)}`);
      m.start = 0;
      m.end = m.member.length;
      return;
    }
    m.member = this.buf;
    m.start = ks - 1;
    m.end = sc.valueEnd[i]!;
  }

  /** A member name: a string without escapes (an escaped one is unusual). */
  private key(): string {
    const buf = this.buf;
    this.ws();
    if (buf[this.pos] !== QUOTE) throw UNUSUAL;
    const start = this.pos + 1;
    const close = buf.indexOf(QUOTE, start);
    if (close < 0) throw UNUSUAL;
    for (let p = start; p < close; p++) if (buf[p] === BACKSLASH || buf[p]! < 32) throw UNUSUAL;
    this.pos = close + 1;
    this.expect(COLON);
    return buf.toString('latin1', start, close);
  }

  private skipValue(): void {
    this.ws();
    const after = this.skipper.skipValue(this.buf, this.pos, this.end);
    if (after < 0) throw UNUSUAL;
    this.pos = after;
  }

  private expect(c: number): void {
    this.ws();
    if (this.buf[this.pos] !== c) throw UNUSUAL;
    this.pos++;
  }

  private consume(c: number): boolean {
    this.ws();
    if (this.buf[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private ws(): void {
    const buf = this.buf;
    let p = this.pos;
    while (p < this.end) {
      const c = buf[p]!;
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      p++;
    }
    this.pos = p;
  }
}

const EMPTY = Buffer.alloc(0);

/** A plan's member of fixed bytes, or an empty one that each entry fills in. */
function fixedMember(key: Buffer, fixed: Buffer | null): DefaultMember {
  const member = fixed ?? EMPTY;
  return { key, member, start: 0, end: member.length };
}

function unrepairing(): JsonObjectScanner {
  const sc = new JsonObjectScanner();
  sc.repairs = false;
  return sc;
}
