// Which access-log format a file is in, from its first lines (`--format auto`).

import { looksLikeAlb, looksLikeAlbConnection } from './alb.js';
import { clfKind } from './clf.js';

export type AccessFormat = 'alb' | 'alb-connection' | 'combined' | 'common' | 'ndjson' | 'syslog';

/** What POST /api/v1/ingest and `loghaven import` take: a format, or `auto`. */
export const INGEST_FORMATS = ['auto', 'alb', 'alb-connection', 'combined', 'common', 'ndjson', 'syslog'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];

/** The format most of the first non-empty lines agree on, or null when none fits. */
export function detectFormat(lines: readonly string[]): AccessFormat | null {
  const votes = new Map<AccessFormat, number>();
  let seen = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (++seen > 20) break;
    const f = formatOf(line);
    if (f !== null) votes.set(f, (votes.get(f) ?? 0) + 1);
  }
  let best: AccessFormat | null = null;
  let count = 0;
  for (const [f, n] of votes) {
    if (n > count) [best, count] = [f, n];
  }
  return count * 2 >= seen ? best : null;
}

function formatOf(line: string): AccessFormat | null {
  if (looksLikeAlb(line)) return 'alb';
  if (looksLikeAlbConnection(line)) return 'alb-connection';
  const clf = clfKind(line);
  if (clf !== null) return clf;
  if (line.startsWith('{') && line.endsWith('}')) return 'ndjson';
  if (/^<\d{1,3}>/.test(line)) return 'syslog';
  return null;
}
