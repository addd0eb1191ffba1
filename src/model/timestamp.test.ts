// timestampFromBytes (the ingest hot path over UTF-8 bytes) must give exactly what parseTimestamp
// gives for the same text, and levelFromBytes what normaliseLevel gives.

import { describe, expect, it } from 'vitest';
import { levelFromBytes, normaliseLevel } from './level.js';
import { BytesTimestamp, jsonNumber, parseTimestamp, timestampFromBytes } from './timestamp.js';

function fromBytes(text: string, string: boolean): bigint | null {
  const out = new Float64Array(1);
  const buf = Buffer.from(`xx${text}yy`); // an offset into a larger buffer, as in a request body
  const found = timestampFromBytes(buf, 2, buf.length - 2, string, out);
  if (found === BytesTimestamp.Invalid) return null;
  if (found === BytesTimestamp.Big) return parseTimestamp(string ? text : jsonNumber(text));
  return BigInt(out[0]!);
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

describe('timestampFromBytes agrees with parseTimestamp', () => {
  it('on hand-picked strings and numbers', () => {
    for (const s of [
      '2024-01-02T03:04:05Z', '2024-01-02T03:04:05.1Z', '2024-01-02T03:04:05.123456789012Z', '2024-01-02T03:04:05.1234567890123Z',
      '2024-01-02t03:04:05z', '2024-01-02 03:04:05', '2024-01-02T03:04:05+05:30', '2024-01-02T03:04:05-0800', '2024-01-02T03:04:05 UTC',
      '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2024-12-31T23:59:60Z', '2024-13-01T00:00:00Z', '2024-01-32T00:00:00Z',
      '2024-01-02T24:00:00Z', '2024-01-02T03:60:00Z', '2024-01-02T03:04:05+24:00', '2024-01-02T03:04:05.Z', '2024-01-02',
      '0001-01-01T00:00:00Z', '0099-12-31T23:59:59Z', '0100-03-01T00:00:00Z', '1600-02-29T12:00:00Z', '1900-02-28T00:00:00Z',
      '1969-12-31T23:59:59.999999Z', '1970-01-01T00:00:00Z', '2038-01-19T03:14:08Z', '2255-06-05T23:47:34.740991Z',
      '9999-12-31T23:59:59.999999Z', '1700000000', '1700000000123', '1700000000123456', '1700000000123456789', '17e8', ' 2024-01-02T03:04:05Z ',
      'abcd-ef-ghTij:kl:mnZ', '2024-01-02T03:04:05Zjunk', '9999-12-31T23:59:59-01:00', '0000-12-31T23:59:59Z', '0001-01-01T00:00:00+01:00',
    ]) {
      expect(fromBytes(s, true), s).toEqual(parseTimestamp(s));
    }
    for (const n of ['0', '-0', '1', '-1', '1700000000', '1700000000.5', '-1700000000', '99999999999', '1700000000123', '1700000000123456',
      '1700000000123456789', '123456789012345', '1234567890123456', '1e9', '1.7e12', '-62135596800', '-62135596801', '1e30', '-99999999999',
      '253402300799999999', '253402300800000000']) {
      expect(fromBytes(n, false), n).toEqual(parseTimestamp(jsonNumber(n)));
    }
  });

  it('on 20,000 random RFC 3339 times from year 100 to 9999', () => {
    const r = rng(7);
    for (let i = 0; i < 20_000; i++) {
      const year = 100 + Math.floor(r() * 9900);
      const month = 1 + Math.floor(r() * 12);
      const day = 1 + Math.floor(r() * 31);
      const time = `${pad(Math.floor(r() * 24), 2)}:${pad(Math.floor(r() * 60), 2)}:${pad(Math.floor(r() * 61), 2)}`;
      const frac = r() < 0.5 ? '' : `.${pad(Math.floor(r() * 1e9), 9).slice(0, 1 + Math.floor(r() * 9))}`;
      const zone = ['Z', '+00:00', '-07:30', '+14:00', ''][Math.floor(r() * 5)];
      const s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}${frac}${zone}`;
      expect(fromBytes(s, true), s).toEqual(parseTimestamp(s));
    }
  });
});

describe('levelFromBytes agrees with normaliseLevel', () => {
  it('on every spelling in several cases, and on near misses', () => {
    const words = ['trace', 'verbose', 'debug', 'dbg', 'info', 'information', 'informational', 'notice', 'warn', 'warning', 'error', 'err',
      'e', 'severe', 'fatal', 'critical', 'crit', 'emergency', 'panic', 'dpanic', 'inform', 'warnings', 'x', '', ' info', 'INFO ', '30', '17',
      'Ünfo', 'in\u00e9', 'i[fo', 'w@rn'];
    for (const w of words) {
      for (const v of [w, w.toUpperCase(), w.charAt(0).toUpperCase() + w.slice(1)]) {
        const buf = Buffer.from(`"${v}"`);
        expect(levelFromBytes(buf, 1, buf.length - 1), v).toBe(normaliseLevel(v));
      }
    }
  });
});
