// The one level normaliser: any spelling of a level (WARNING, err, E, syslog keywords), pino/bunyan
// numbers, OpenTelemetry severity numbers and syslog severities map onto the six record levels.

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

/** OpenTelemetry severity number (1–24) for a level: the first number of its range. */
export const SEVERITY_OF_LEVEL: Record<Level, number> = {
  trace: 1,
  debug: 5,
  info: 9,
  warn: 13,
  error: 17,
  fatal: 21,
};

/** Order of levels, for `level:>=warn` style comparisons. */
export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** OpenTelemetry SeverityNumber 1–24 → level (1–4 trace, 5–8 debug, … 21–24 fatal). */
export function levelFromOtelSeverity(n: number): Level | null {
  if (!Number.isInteger(n) || n < 1 || n > 24) return null;
  return LEVELS[Math.floor((n - 1) / 4)]!;
}

/** Syslog severity 0–7 (RFC 5424 §6.2.1) → level. */
export function levelFromSyslogSeverity(n: number): Level | null {
  if (!Number.isInteger(n) || n < 0 || n > 7) return null;
  if (n <= 2) return 'fatal'; // emerg, alert, crit
  if (n === 3) return 'error';
  if (n === 4) return 'warn';
  if (n <= 6) return 'info'; // notice, info
  return 'debug';
}

/**
 * A level from whatever a client sent. Numbers are read as pino/bunyan levels when they are
 * multiples of ten from 10 to 60 (the usual JSON logger convention), else as OpenTelemetry
 * severity numbers; protocols that know their numbering call the specific functions above.
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
