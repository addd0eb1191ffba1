// The time-valued request parameters of the query API: `from`/`to` (absolute or relative to now)
// and the histogram `step`. Everything comes out as integer microseconds, like the record model.

import { LhError } from '../errors.js';
import { parseTimestamp } from '../model/timestamp.js';

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: what both backends and RFC 3339 can hold. */
export const MIN_TIME_MICROS = -62_135_596_800_000_000n;
export const MAX_TIME_MICROS = 253_402_300_799_999_999n;

const UNIT_MICROS: Record<string, bigint> = {
  ms: 1_000n,
  s: 1_000_000n,
  m: 60_000_000n,
  h: 3_600_000_000n,
  d: 86_400_000_000n,
  w: 604_800_000_000n,
};

const RELATIVE = /^now(?:([+-])(\d{1,9})(ms|s|m|h|d|w))?$/;
const DURATION = /^(\d{1,9})(ms|s|m|h|d|w)?$/;
const TIME_FORMS = [
  'RFC 3339 (2024-05-01T12:00:00Z, any precision and offset)',
  'Unix time in s, ms, µs or ns',
  'now',
  'now-15m / now+1h (units ms s m h d w)',
];

/** A step longer than ten years is a mistake, and would overflow bucket arithmetic long before that. */
const MAX_STEP_MICROS = 3650n * UNIT_MICROS.d!;

export function isTimeInRange(us: bigint): boolean {
  return us >= MIN_TIME_MICROS && us <= MAX_TIME_MICROS;
}

/**
 * `from`/`to` → µs since epoch; undefined when absent or blank. Throws LH_ERR_BAD_TIME naming the
 * parameter, the value and the accepted forms.
 */
export function parseTimeParam(name: string, v: string | undefined, nowMicros: bigint): bigint | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  let us: bigint | null;
  const rel = RELATIVE.exec(s);
  if (rel) {
    const delta = rel[2] === undefined ? 0n : BigInt(rel[2]) * UNIT_MICROS[rel[3]!]!;
    us = rel[1] === '-' ? nowMicros - delta : nowMicros + delta;
  } else {
    us = parseTimestamp(s);
  }
  if (us === null || !isTimeInRange(us)) {
    throw new LhError('LH_ERR_BAD_TIME', `${name}=${JSON.stringify(v)}: expected ${TIME_FORMS.join(', ')}`, {
      param: name,
      value: v,
      accepted: TIME_FORMS,
    });
  }
  return us;
}

/**
 * Histogram step (`10s`, `5m`, `1h`, `1d`, …) → µs. A bare integer is seconds, as in Prometheus'
 * `step`. Throws LH_ERR_BAD_PARAM naming `step`.
 */
export function parseStep(v: string): bigint {
  return parseDuration('step', v);
}

/** A positive duration parameter (`30m`; a bare number is seconds) → µs; LH_ERR_BAD_PARAM names `name`. */
export function parseDuration(name: string, v: string): bigint {
  const m = DURATION.exec(v.trim());
  const us = m ? BigInt(m[1]!) * UNIT_MICROS[m[2] ?? 's']! : 0n;
  if (us <= 0n || us > MAX_STEP_MICROS) {
    throw new LhError(
      'LH_ERR_BAD_PARAM',
      `${name}=${JSON.stringify(v)}: expected a positive duration of at most 3650d such as 10s, 1m, 5m, 1h, 1d (units ms s m h d w; a bare number is seconds)`,
      { param: name, value: v },
    );
  }
  return us;
}
