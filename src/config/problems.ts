// How a configuration problem is recorded and worded. Every message names the key, the value, what
// is allowed and where the value came from, so a user can fix all problems from one run.

import { CONFIG_LEAVES } from './schema.js';

export interface ConfigProblem {
  /** Dotted key, e.g. `http.port` (or the unknown key as written). */
  key: string;
  value: unknown;
  /** What the key accepts, e.g. `an integer from 1 to 65535`. */
  expected: string;
  /** Where the value came from: a file label, an env variable name, `command line`, … */
  source: string;
  /** The full sentence shown to the user. */
  message: string;
}

export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function invalidValueProblem(key: string, value: unknown, expected: string, source: string): ConfigProblem {
  return {
    key,
    value,
    expected,
    source,
    message: `${key}: ${showValue(value)} is not valid — expected ${expected} (from ${source})`,
  };
}

export function unknownKeyProblem(key: string, value: unknown, source: string): ConfigProblem {
  const suggestions = suggestKeys(key).map((k) => `"${k}"`);
  const suggestion = suggestions.length > 0 ? suggestions.join(' or ') : undefined;
  const hint = suggestion ? ` — did you mean ${suggestion}?` : '';
  return {
    key,
    value,
    expected: suggestion ? `a known key such as ${suggestion}` : 'a known key',
    source,
    message: `unknown key "${key}"${hint} (from ${source})`,
  };
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The known keys an unknown one was probably meant to be: the closest by edit distance when the
 * typo is small, else every key with the same last segment (`threads` → `store.duckdb.threads`,
 * `port` → `http.port` or `syslog.port`).
 */
export function suggestKeys(unknownKey: string): string[] {
  const wanted = unknownKey.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const { key } of CONFIG_LEAVES) {
    const distance = editDistance(wanted, key);
    if (!best || distance < best.distance) best = { key, distance };
  }
  if (best && best.distance <= Math.max(2, Math.floor(unknownKey.length / 4))) return [best.key];
  const lastSegment = wanted.split('.').pop();
  return CONFIG_LEAVES.filter(({ key }) => key.split('.').pop() === lastSegment).map(({ key }) => key);
}
