// The one timestamp parser every protocol and the query layer share. It turns RFC 3339 strings
// (any fractional precision, any offset) and Unix times in s/ms/µs/ns (told apart by magnitude,
// as numbers or numeric strings) into integer microseconds since the epoch, UTC. Times outside
// the years 1–9999 are not timestamps: no log is from then, and the store could not hold them.

// Magnitude thresholds: 1e11 s is the year 5138, 1e14 ms is the year 5138, and so on, so any
// plausible event time falls clearly into one unit.
const SECONDS_BELOW = 1e11;
const MILLIS_BELOW = 1e14;
const MICROS_BELOW = 1e17;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,12}))?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?)?$/;
const NUMERIC = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE][+-]?\d+)?$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in µs. */
export const MIN_MICROS = -62_135_596_800_000_000n;
export const MAX_MICROS = 253_402_300_799_999_999n;
const MIN_MICROS_NUMBER = Number(MIN_MICROS);

/** µs since epoch, or null when `v` is not a timestamp this parser understands. */
export function parseTimestamp(v: unknown): bigint | null {
  const us =
    typeof v === 'string' ? parseTimestampString(v) : typeof v === 'number' ? fromUnixNumber(v) : typeof v === 'bigint' ? fromUnixInteger(v) : null;
  return us !== null && us >= MIN_MICROS && us <= MAX_MICROS ? us : null;
}

function fromUnixNumber(n: number): bigint | null {
  if (!Number.isFinite(n)) return null;
  // Integers stay exact: ms or s scaled to µs in a double would round past 2^53 (the year 2255).
  if (Number.isSafeInteger(n)) return fromUnixInteger(BigInt(n));
  const a = Math.abs(n);
  let us: number;
  if (a < SECONDS_BELOW) us = n * 1e6;
  else if (a < MILLIS_BELOW) us = n * 1e3;
  else if (a < MICROS_BELOW) us = n;
  else us = n / 1e3;
  return BigInt(Math.round(us));
}

function fromUnixInteger(n: bigint): bigint {
  const a = n < 0n ? -n : n;
  if (a < BigInt(SECONDS_BELOW)) return n * 1_000_000n;
  if (a < BigInt(MILLIS_BELOW)) return n * 1000n;
  if (a < BigInt(MICROS_BELOW)) return n;
  return n / 1000n;
}

function parseTimestampString(raw: string): bigint | null {
  const s = raw.trim();
  if (s.length === 0 || s.length > 64) return null;
  const c0 = s.charCodeAt(0);
  // Digits-only strings (Unix times) are far more common on the hot path than RFC 3339 with a
  // leading sign, so test the cheap shape first.
  if (s.length !== 10 || s.charCodeAt(4) !== 45 /* - */) {
    const num = NUMERIC.exec(s);
    if (num) {
      // Integers keep full precision (nanosecond strings exceed 2^53).
      if (num[2] === undefined && !/[eE]/.test(s)) return fromUnixInteger(BigInt(s));
      return fromUnixNumber(Number(s));
    }
  }
  if (c0 < 48 || c0 > 57) return null;
  const m = RFC3339.exec(s);
  if (!m) return null;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  let second = m[6] === undefined ? 0 : +m[6];
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return null;
  if (month === 2 && day === 29 && !isLeapYear(year)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  if (second === 60) second = 59; // a leap second is kept in the same second, not the next minute
  let offsetMinutes = 0;
  const tz = m[8];
  if (tz !== undefined && tz !== 'Z' && tz !== 'z' && tz !== 'UTC') {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2);
    const om = digits.length > 2 ? +digits.slice(2, 4) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (year < 100) {
    // Date.UTC maps years 0–99 to 1900–1999; RFC 3339 years are literal.
    const d = new Date(ms);
    d.setUTCFullYear(year);
    ms = d.getTime();
  }
  ms -= offsetMinutes * 60_000;
  const frac = m[7] === undefined ? 0n : BigInt((m[7] + '00000').slice(0, 6));
  return BigInt(ms) * 1000n + frac;
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** What timestampFromBytes found. */
export enum BytesTimestamp {
  /** Not a timestamp. */
  Invalid,
  /** µs in the caller's Float64Array. */
  Micros,
  /** A timestamp beyond 2^53 µs: parseTimestamp gives it exactly. */
  Big,
}

/**
 * The same parser over the UTF-8 bytes of a JSON value, for the ingest hot path: `string` says
 * whether `[start, end)` is a string's content (quotes excluded, no escapes) or a number's text.
 * The common shapes — RFC 3339 with a `Z` or numeric offset, integer Unix times — are read
 * straight from the bytes; everything else goes through parseTimestamp, so the answer is always
 * the one parseTimestamp gives. The µs go into `out[0]` (a number returned from here would be a
 * heap allocation per record).
 */
export function timestampFromBytes(buf: Uint8Array, start: number, end: number, string: boolean, out: Float64Array): BytesTimestamp {
  const fast = string ? rfc3339Micros(buf, start, end, out) : integerMicros(buf, start, end, out);
  if (fast) return BytesTimestamp.Micros;
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
  const v = parseTimestamp(string ? text : jsonNumber(text));
  if (v === null) return BytesTimestamp.Invalid;
  if (v < -BigInt(Number.MAX_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) return BytesTimestamp.Big;
  out[0] = Number(v);
  return BytesTimestamp.Micros;
}

/** A JSON number's text as JSON.parse would read it, but integers beyond 2^53 kept exact. */
export function jsonNumber(raw: string): number | bigint {
  const n = Number(raw);
  return Number.isSafeInteger(n) || !/^-?\d+$/.test(raw) ? n : BigInt(raw);
}

function digit(buf: Uint8Array, i: number): number {
  const d = buf[i]! - 48;
  return d >= 0 && d <= 9 ? d : NaN;
}

/** `YYYY-MM-DD[T ]HH:MM:SS[.f{1,12}](Z|±HH:MM)?` as µs into out[0]; false for anything else (or odd). */
function rfc3339Micros(buf: Uint8Array, s: number, e: number, out: Float64Array): boolean {
  if (e - s < 19 || buf[s + 4] !== 45 || buf[s + 7] !== 45 || buf[s + 13] !== 58 || buf[s + 16] !== 58) return false;
  const sep = buf[s + 10];
  if (sep !== 84 && sep !== 32 && sep !== 116) return false;
  const year = digit(buf, s) * 1000 + digit(buf, s + 1) * 100 + digit(buf, s + 2) * 10 + digit(buf, s + 3);
  const month = digit(buf, s + 5) * 10 + digit(buf, s + 6);
  const day = digit(buf, s + 8) * 10 + digit(buf, s + 9);
  const hour = digit(buf, s + 11) * 10 + digit(buf, s + 12);
  const minute = digit(buf, s + 14) * 10 + digit(buf, s + 15);
  let second = digit(buf, s + 17) * 10 + digit(buf, s + 18);
  // NaN fails every comparison below, so a non-digit anywhere ends in the slow path.
  if (!(year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= DAYS_IN_MONTH[month - 1]!)) return false;
  if (month === 2 && day === 29 && !isLeapYear(year)) return false;
  if (!(hour <= 23 && minute <= 59 && second <= 60)) return false;
  if (second === 60) second = 59;
  let p = s + 19;
  let frac = 0;
  if (p < e && (buf[p] === 46 || buf[p] === 44)) {
    p++;
    const first = p;
    let scale = 100_000;
    while (p < e) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) break;
      if (scale >= 1) frac += d * scale;
      scale /= 10;
      p++;
    }
    if (p === first || p - first > 12) return false;
    frac = Math.round(frac);
  }
  let offsetMinutes = 0;
  if (p < e) {
    const z = buf[p];
    if ((z === 90 || z === 122) && p + 1 === e) {
      // Z
    } else if ((z === 43 || z === 45) && p + 6 === e && buf[p + 3] === 58) {
      const oh = digit(buf, p + 1) * 10 + digit(buf, p + 2);
      const om = digit(buf, p + 4) * 10 + digit(buf, p + 5);
      if (!(oh <= 23 && om <= 59)) return false;
      offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
    } else {
      return false;
    }
  }
  // Date.UTC would do, but its result is a heap number: one allocation per record.
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  const us = seconds * 1_000_000 + frac;
  if (!Number.isSafeInteger(us)) return false;
  out[0] = us;
  return true;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** An integer of at most 15 digits (exact as a double) as µs by magnitude into out[0]; false otherwise. */
function integerMicros(buf: Uint8Array, s: number, e: number, out: Float64Array): boolean {
  let p = s;
  const negative = buf[p] === 45;
  if (negative) p++;
  if (e - p < 1 || e - p > 15) return false;
  let n = 0;
  for (; p < e; p++) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 9) return false;
    n = n * 10 + d;
  }
  if (negative) n = -n;
  const a = Math.abs(n);
  const us = a < SECONDS_BELOW ? n * 1e6 : a < MILLIS_BELOW ? n * 1e3 : n;
  // Beyond 2^53 or before year 1: the slow path gives the exact answer (or none).
  if (!Number.isSafeInteger(us) || us < MIN_MICROS_NUMBER) return false;
  out[0] = us;
  return true;
}
