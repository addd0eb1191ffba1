// One syslog message, RFC 5424 or RFC 3164 (told apart per message), from its bytes to a row:
// severity → level (and the OpenTelemetry severity number), facility, APP-NAME (or the 3164 tag)
// → service, HOSTNAME → host, the timestamp → ts, PROCID, MSGID and structured data → attrs, the
// rest → message. A message that parses as neither is kept whole as the message with
// `attrs.syslog_parse_error` saying why; nothing that arrives is dropped.
// RFC 3164 timestamps carry no year or zone: as rsyslog does, they are read in the server's local
// time zone (`TZ`), in the current year (the last year for a date more than a day ahead).

import { isUtf8 } from 'node:buffer';
import { BytesTimestamp, timestampFromBytes } from '../../model/timestamp.js';
import type { Level } from '../../model/record.js';
import { textField, type RowBatchBuilder } from '../../store/row-format.js';
import type { NormaliseContext } from '../common/normalise.js';

const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console',
  'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];
/** Syslog severity 0–7 → level, and the OpenTelemetry number (as its syslog receiver maps them). */
const LEVELS: Level[] = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];
const OTEL_SEVERITY = [24, 23, 22, 17, 13, 10, 9, 5];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_CODES = new Map(MONTHS.map((m, i) => [m.charCodeAt(0) * 65536 + m.charCodeAt(1) * 256 + m.charCodeAt(2), i]));

const SP = 32;
const DASH = 45;

/** Where the fields of the message being written are (offsets into its bytes; -1: none). */
interface Fields {
  pri: number;
  /** µs, or NaN for the receive time. */
  ts: number;
  host: [number, number] | null;
  app: [number, number] | null;
  procid: [number, number] | null;
  msgid: [number, number] | null;
  sd: [number, number] | null;
  msg: [number, number];
}

export class SyslogRowWriter {
  /** Messages kept whole because they parsed as neither format, since the writer was made. */
  parseErrors = 0;
  private readonly micros = new Float64Array(1);
  private readonly receivedAt: string;
  private readonly tenant: Buffer;
  private readonly year: number;

  constructor(
    readonly out: RowBatchBuilder,
    private readonly ctx: NormaliseContext,
  ) {
    this.receivedAt = ctx.receivedAt.toString();
    this.tenant = Buffer.from(textField(ctx.tenant));
    this.year = new Date(Number(ctx.receivedAt / 1000n)).getFullYear();
  }

  /** Writes one message (`buf[start, end)`, no framing) as a row. */
  write(buf: Uint8Array, start: number, end: number): void {
    // Trailing newlines and NULs are framing some senders leave in; a BOM may start the text.
    while (end > start && (buf[end - 1] === 10 || buf[end - 1] === 13 || buf[end - 1] === 0)) end--;
    if (!isUtf8(buf.subarray(start, end))) {
      buf = Buffer.from(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'));
      end = buf.length;
      start = 0;
    }
    const f: Fields = { pri: -1, ts: NaN, host: null, app: null, procid: null, msgid: null, sd: null, msg: [start, end] };
    const error = this.parse(buf, start, end, f);
    if (error !== null) {
      this.parseErrors++;
      this.writeRow(buf, { pri: -1, ts: NaN, host: null, app: null, procid: null, msgid: null, sd: null, msg: [start, end] }, error);
      return;
    }
    this.writeRow(buf, f, null);
  }

  /** Fills `f`; returns null, or why the message is neither RFC 5424 nor RFC 3164. */
  private parse(buf: Uint8Array, start: number, end: number, f: Fields): string | null {
    // Nothing past `end` is read: in a TCP chunk the next message is there.
    if (start >= end || buf[start] !== 60 /* < */) return 'no <PRI> at the start';
    let p = start + 1;
    let pri = 0;
    const digits = p;
    while (p < end && buf[p]! >= 48 && buf[p]! <= 57 && p - digits < 3) pri = pri * 10 + buf[p++]! - 48;
    if (p === digits || p >= end || buf[p] !== 62 /* > */ || pri > 191) return 'no valid <PRI> (0–191) at the start';
    f.pri = pri;
    p++;
    // RFC 5424: a version number, then a space.
    if (p + 1 < end && buf[p] === 49 /* 1 */ && buf[p + 1] === SP) return this.parse5424(buf, p + 2, end, f);
    return this.parse3164(buf, p, end, f);
  }

  private parse5424(buf: Uint8Array, p: number, end: number, f: Fields): string | null {
    const field = (): [number, number] | null => {
      const s = p;
      while (p < end && buf[p] !== SP) p++;
      const e = p;
      if (p < end) p++;
      return e === s ? null : [s, e];
    };
    const ts = field();
    if (ts === null) return 'RFC 5424 header ends before the timestamp';
    if (!(ts[1] - ts[0] === 1 && buf[ts[0]] === DASH)) {
      if (timestampFromBytes(buf, ts[0], ts[1], true, this.micros) !== BytesTimestamp.Micros) return 'RFC 5424 timestamp is not RFC 3339';
      f.ts = this.micros[0]!;
    }
    f.host = nil(buf, field());
    f.app = nil(buf, field());
    f.procid = nil(buf, field());
    f.msgid = nil(buf, field());
    if (p >= end) return f.msgid === null && buf[end - 1] !== DASH ? 'RFC 5424 header is cut short' : ((f.msg = [end, end]), null);
    // STRUCTURED-DATA: "-" or [id param="value" ...]... with \" \\ \] escapes in values.
    if (buf[p] === DASH) {
      p++;
    } else if (buf[p] === 91 /* [ */) {
      const s = p;
      while (p < end && buf[p] === 91) {
        p++;
        let quoted = false;
        while (p < end) {
          const c = buf[p]!;
          if (quoted) {
            if (c === 92 /* \ */) p++;
            else if (c === 34) quoted = false;
          } else if (c === 34) {
            quoted = true;
          } else if (c === 93 /* ] */) {
            break;
          }
          p++;
        }
        if (p >= end) return 'RFC 5424 structured data is not closed';
        p++;
      }
      f.sd = [s, p];
    } else {
      return 'RFC 5424 structured data is neither "-" nor [...]';
    }
    if (p < end && buf[p] === SP) p++;
    // A UTF-8 BOM may mark the message as UTF-8.
    if (p + 3 <= end && buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
    f.msg = [p, end];
    return null;
  }

  private parse3164(buf: Uint8Array, p: number, end: number, f: Fields): string | null {
    // "Mmm dd hh:mm:ss " — or an RFC 3339 time, as rsyslog's forward format sends.
    if (p + 16 <= end && buf[p + 3] === SP && buf[p + 6] === SP && buf[p + 9] === 58 && buf[p + 12] === 58 && buf[p + 15] === SP) {
      const month = MONTH_CODES.get(buf[p]! * 65536 + buf[p + 1]! * 256 + buf[p + 2]!);
      // The day is space-padded ("Nov  4").
      const d = buf[p + 4] === SP ? buf[p + 5]! - 48 : two(buf, p + 4);
      const hour = two(buf, p + 7);
      const minute = two(buf, p + 10);
      const second = two(buf, p + 13);
      if (month === undefined || !(d >= 1 && d <= 31 && hour <= 23 && minute <= 59 && second <= 60)) return 'RFC 3164 timestamp is not "Mmm dd hh:mm:ss"';
      let ms = new Date(this.year, month, d, hour, minute, Math.min(second, 59)).getTime();
      if (ms - Number(this.ctx.receivedAt / 1000n) > 86_400_000) ms = new Date(this.year - 1, month, d, hour, minute, Math.min(second, 59)).getTime();
      f.ts = ms * 1000;
      p += 16;
    } else if (p < end && buf[p]! >= 48 && buf[p]! <= 57) {
      const s = p;
      while (p < end && buf[p] !== SP) p++;
      if (timestampFromBytes(buf, s, p, true, this.micros) !== BytesTimestamp.Micros) return 'RFC 3164 timestamp is neither "Mmm dd hh:mm:ss" nor RFC 3339';
      f.ts = this.micros[0]!;
      if (p < end) p++;
    } else {
      return 'neither an RFC 5424 version nor an RFC 3164 timestamp after <PRI>';
    }
    // HOSTNAME then TAG, or the TAG alone: a first word that ends in ':' or holds '[' is the tag.
    let s = p;
    while (p < end && buf[p] !== SP) p++;
    const first: [number, number] = [s, p];
    const isTag = (w: [number, number]) => w[1] > w[0] && (buf[w[1] - 1] === 58 || buf.subarray(w[0], w[1]).includes(91));
    let tag: [number, number];
    if (isTag(first)) {
      tag = first;
    } else {
      f.host = first[1] > first[0] ? first : null;
      if (p < end) p++;
      s = p;
      while (p < end && buf[p] !== SP && buf[p] !== 58 && buf[p] !== 91) p++;
      if (p < end && buf[p] === 91) while (p < end && buf[p] !== 93 && buf[p] !== SP) p++;
      if (p < end && buf[p] === 93) p++;
      if (p < end && buf[p] === 58) p++;
      tag = [s, p];
      if (!isTag(tag)) {
        // No tag at all: what follows the host is the message.
        f.msg = [s, end];
        return null;
      }
    }
    p = tag[1];
    // tag = app[pid]: or app:
    let te = tag[1];
    if (buf[te - 1] === 58) te--;
    const open = buf.subarray(tag[0], te).indexOf(91);
    if (open >= 0 && buf[te - 1] === 93) {
      f.app = [tag[0], tag[0] + open];
      f.procid = [tag[0] + open + 1, te - 1];
    } else {
      f.app = [tag[0], te];
    }
    if (f.app[1] === f.app[0]) f.app = null;
    if (p < end && buf[p] === SP) p++;
    f.msg = [p, end];
    return null;
  }

  private writeRow(buf: Uint8Array, f: Fields, parseError: string | null): void {
    const out = this.out;
    out.reserve(160 + this.tenant.length);
    if (f.ts === f.ts) {
      if (f.ts < 0) {
        out.ascii('-');
        out.int(-f.ts);
      } else {
        out.int(f.ts);
      }
    } else {
      out.ascii(this.receivedAt);
    }
    out.tab();
    out.ascii(this.receivedAt);
    out.tab();
    out.copy(this.tenant, 0, this.tenant.length);
    out.tab();
    const severity = f.pri >= 0 ? f.pri & 7 : -1;
    if (severity < 0) out.nul();
    else out.ascii(LEVELS[severity]!);
    out.tab();
    if (severity < 0) out.nul();
    else out.int(OTEL_SEVERITY[severity]!);
    this.text(buf, f.app); // service
    this.text(buf, f.host); // host
    out.reserve(16);
    out.tab();
    out.nul(); // category
    out.tab();
    out.nul(); // source
    out.tab();
    out.escaped(buf, f.msg[0], f.msg[1]);
    out.reserve(16);
    out.tab();
    out.nul(); // trace_id
    out.tab();
    out.nul(); // span_id
    out.tab();
    this.attrs(buf, f, parseError);
    out.endRow();
  }

  private text(buf: Uint8Array, at: [number, number] | null): void {
    this.out.reserve(3);
    this.out.tab();
    if (at === null) this.out.nul();
    else this.out.escaped(buf, at[0], at[1]);
  }

  private attrs(buf: Uint8Array, f: Fields, parseError: string | null): void {
    const out = this.out;
    out.reserve(64);
    out.ascii('{');
    let first = true;
    const key = (k: string) => {
      out.reserve(k.length + 8);
      out.ascii(first ? `"${k}":` : `,"${k}":`);
      first = false;
    };
    const str = (at: [number, number]) => {
      out.reserve(2);
      out.ascii('"');
      out.escaped(buf, at[0], at[1]);
      out.reserve(1);
      out.ascii('"');
    };
    if (f.pri >= 0) {
      key('facility');
      out.reserve(16);
      out.ascii(`"${FACILITIES[f.pri >> 3]}"`);
    }
    if (f.procid !== null) {
      key('procid');
      str(f.procid);
    }
    if (f.msgid !== null) {
      key('msgid');
      str(f.msgid);
    }
    if (f.sd !== null) {
      key('sd');
      this.structuredData(buf, f.sd[0], f.sd[1]);
    }
    if (parseError !== null) {
      key('syslog_parse_error');
      const t = JSON.stringify(parseError);
      out.reserve(t.length * 3);
      out.pos += out.buf.write(t, out.pos, 'utf8');
    }
    out.reserve(1);
    out.ascii('}');
  }

  /** `[id a="1" b="2"][id2 ...]` as `{"id":{"a":"1","b":"2"},"id2":{...}}`. */
  private structuredData(buf: Uint8Array, s: number, e: number): void {
    const out = this.out;
    out.reserve(2);
    out.ascii('{');
    let p = s;
    let firstElement = true;
    while (p < e && buf[p] === 91) {
      p++;
      const idStart = p;
      while (p < e && buf[p] !== SP && buf[p] !== 93) p++;
      out.reserve(4);
      if (!firstElement) out.ascii(',');
      firstElement = false;
      out.ascii('"');
      out.escaped(buf, idStart, p);
      out.reserve(4);
      out.ascii('":{');
      let firstParam = true;
      while (p < e && buf[p] === SP) {
        p++;
        const nameStart = p;
        while (p < e && buf[p] !== 61 /* = */ && buf[p] !== 93) p++;
        const nameEnd = p;
        // PARAM-NAME="PARAM-VALUE" only: skipping two bytes of anything else could split a
        // character, and a row that is not UTF-8 is one the store refuses.
        if (buf[p] !== 61 || buf[p + 1] !== 34) break;
        p += 2; // ="
        out.reserve(4);
        if (!firstParam) out.ascii(',');
        firstParam = false;
        out.ascii('"');
        out.escaped(buf, nameStart, nameEnd);
        out.reserve(4);
        out.ascii('":"');
        // The value, with its \" \\ \] escapes undone, written as a JSON string.
        let runStart = p;
        while (p < e && buf[p] !== 34) {
          if (buf[p] === 92 && p + 1 < e && (buf[p + 1] === 34 || buf[p + 1] === 92 || buf[p + 1] === 93)) {
            out.escaped(buf, runStart, p);
            runStart = p + 1;
            p += 2;
            continue;
          }
          p++;
        }
        out.escaped(buf, runStart, p);
        out.reserve(1);
        out.ascii('"');
        p++; // closing quote
      }
      out.reserve(1);
      out.ascii('}');
      while (p < e && buf[p] !== 93) p++;
      p++; // ]
    }
    out.reserve(1);
    out.ascii('}');
  }
}

/** A header field, with RFC 5424's "-" (nothing) as null. */
function nil(buf: Uint8Array, at: [number, number] | null): [number, number] | null {
  if (at === null || (at[1] - at[0] === 1 && buf[at[0]] === DASH)) return null;
  return at;
}

function two(buf: Uint8Array, i: number): number {
  const a = buf[i]! - 48;
  const b = buf[i + 1]! - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}
