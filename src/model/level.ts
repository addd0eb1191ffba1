// The one level normaliser: any spelling of a level (WARNING, err, E, syslog keywords), pino/bunyan
// numbers and OpenTelemetry severity numbers map onto the six record levels.

import { LEVELS, type Level } from './record.js';

const SPELLINGS: Record<string, Level> = Object.create(null);
function spell(level: Level, names: string[]): void {
  for (const n of names) SPELLINGS[n] = level;
}
spell('trace', ['trace', 'trc', 't', 'verbose', 'vrb', 'v', 'finest', 'finer', 'all']);
spell('debug', ['debug', 'dbg', 'd', 'fine', 'config', 'debg']);
spell('info', ['info', 'inf', 'i', 'information', 'informational', 'notice', 'note', 'n', 'ok', 'success']);
spell('warn', ['warn', 'warning', 'wrn', 'w', 'wrng']);
spell('error', ['error', 'err', 'e', 'eror', 'severe', 'fail', 'failure']);
spell('fatal', ['fatal', 'ftl', 'f', 'critical', 'crit', 'c', 'alert', 'emerg', 'emergency', 'panic', 'dpanic']);

/** OpenTelemetry SeverityNumber 1–24 → level (1–4 trace, 5–8 debug, … 21–24 fatal). */
export function levelFromOtelSeverity(n: number): Level | null {
  if (!Number.isInteger(n) || n < 1 || n > 24) return null;
  return LEVELS[Math.floor((n - 1) / 4)]!;
}

/**
 * A level from whatever a client sent. Numbers are read as pino/bunyan levels when they are
 * multiples of ten from 10 to 60 (the usual JSON logger convention), else as OpenTelemetry
 * severity numbers; a protocol that knows its numbering calls levelFromOtelSeverity directly.
 */
export function normaliseLevel(v: unknown): Level | null {
  if (typeof v === 'string') {
    const direct = SPELLINGS[v];
    if (direct !== undefined) return direct;
    const key = v.trim().toLowerCase();
    const found = SPELLINGS[key];
    if (found !== undefined) return found;
    if (key.length > 0 && key.length <= 3 && /^\d+$/.test(key)) return levelFromNumber(+key);
    return null;
  }
  if (typeof v === 'number') return levelFromNumber(v);
  return null;
}

function levelFromNumber(n: number): Level | null {
  if (n >= 10 && n <= 60 && n % 10 === 0) return LEVELS[n / 10 - 1]!;
  return levelFromOtelSeverity(n);
}

/** Spellings keyed by their lower-case ASCII bytes packed into a number (spellings of ≤ 6 bytes). */
const PACKED = new Map<number, Level>();
for (const name in SPELLINGS) {
  if (name.length <= 6) PACKED.set(pack(name, 0, name.length, (s, i) => s.charCodeAt(i)), SPELLINGS[name]!);
}

function pack<T>(src: T, start: number, end: number, at: (src: T, i: number) => number): number {
  let key = end - start;
  for (let i = start; i < end; i++) key = key * 256 + (at(src, i) | 0x20);
  return key;
}

const byteAt = (b: Uint8Array, i: number): number => b[i]!;

/**
 * normaliseLevel for a JSON string's raw content in UTF-8 bytes (no escapes): short ASCII
 * spellings are looked up without making a string; anything else is decoded and normalised.
 */
export function levelFromBytes(buf: Uint8Array, start: number, end: number): Level | null {
  const len = end - start;
  if (len > 0 && len <= 6) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      // Letters only: `| 0x20` lower-cases them and would alias other bytes.
      if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const found = PACKED.get(pack(buf, start, end, byteAt));
      if (found !== undefined) return found;
    }
  }
  return normaliseLevel(Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('utf8'));
}
