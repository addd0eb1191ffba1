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

/**
 * The spellings as a trie over lower-case letters, for looking up bytes without making a string:
 * TRIE[node * 26 + letter] is the next node (0: none), LEVEL_AT[node] the level index (-1: none).
 */
const TRIE_NODES: number[] = [0];
const TRIE_EDGES: number[] = new Array(26).fill(0);
const TRIE_LEVELS: number[] = [-1];
for (const name in SPELLINGS) {
  if (!/^[a-z]+$/.test(name)) continue;
  let node = 0;
  for (let i = 0; i < name.length; i++) {
    const edge = node * 26 + (name.charCodeAt(i) - 97);
    if (TRIE_EDGES[edge] === 0) {
      TRIE_EDGES[edge] = TRIE_NODES.length;
      TRIE_NODES.push(TRIE_NODES.length);
      TRIE_LEVELS.push(-1);
      for (let k = 0; k < 26; k++) TRIE_EDGES.push(0);
    }
    node = TRIE_EDGES[edge]!;
  }
  TRIE_LEVELS[node] = LEVELS.indexOf(SPELLINGS[name]!);
}
const TRIE = Int32Array.from(TRIE_EDGES);
const LEVEL_AT = Int8Array.from(TRIE_LEVELS);

/**
 * normaliseLevel for a JSON string's raw content in UTF-8 bytes (no escapes): spellings made of
 * ASCII letters are looked up without making a string; anything else is decoded and normalised.
 */
export function levelFromBytes(buf: Uint8Array, start: number, end: number): Level | null {
  let node = 0;
  let i = start;
  for (; i < end; i++) {
    const c = buf[i]! | 0x20; // lower-cases letters; other bytes fail the range check or the trie
    if (c < 97 || c > 122) break;
    node = TRIE[node * 26 + (c - 97)]!;
    if (node === 0) break;
  }
  if (i === end && end > start && LEVEL_AT[node]! >= 0) return LEVELS[LEVEL_AT[node]!]!;
  return normaliseLevel(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'));
}
