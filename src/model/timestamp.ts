// The one timestamp parser every protocol and the query layer share. It turns RFC 3339 strings
// (any fractional precision, any offset) and Unix times in s/ms/µs/ns (told apart by magnitude,
// as numbers or numeric strings) into integer microseconds since the epoch, UTC.

// Magnitude thresholds: 1e11 s is the year 5138, 1e14 ms is the year 5138, and so on, so any
// plausible event time falls clearly into one unit.
const SECONDS_BELOW = 1e11;
const MILLIS_BELOW = 1e14;
const MICROS_BELOW = 1e17;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,12}))?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?)?$/;
const NUMERIC = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE][+-]?\d+)?$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** µs since epoch, or null when `v` is not a timestamp this parser understands. */
export function parseTimestamp(v: unknown): bigint | null {
  if (typeof v === 'string') return parseTimestampString(v);
  if (typeof v === 'number') return fromUnixNumber(v);
  if (typeof v === 'bigint') return fromUnixInteger(v);
  return null;
}

function fromUnixNumber(n: number): bigint | null {
  if (!Number.isFinite(n)) return null;
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
