// Output encodings of stored records: JSON (SPEC §1 field names, RFC 3339 µs timestamps) and
// CSV. The `attrs` text is spliced in as stored instead of being parsed and re-serialised.

import { formatMicros, type StoredRecord } from '../model/record.js';

const q = JSON.stringify;

export function recordToJson(r: StoredRecord): string {
  return (
    `{"ts":"${formatMicros(r.ts)}","received_at":"${formatMicros(r.receivedAt)}","tenant":${q(r.tenant)}` +
    `,"level":${r.level === null ? 'null' : `"${r.level}"`},"severity":${r.severity === null ? 'null' : r.severity}` +
    `,"service":${nullable(r.service)},"host":${nullable(r.host)},"category":${nullable(r.category)}` +
    `,"source":${nullable(r.source)},"message":${nullable(r.message)},"trace_id":${nullable(r.traceId)}` +
    `,"span_id":${nullable(r.spanId)},"attrs":${r.attrs}}`
  );
}

function nullable(s: string | null): string {
  return s === null ? 'null' : q(s);
}

export const CSV_HEADER =
  'ts,received_at,tenant,level,severity,service,host,category,source,message,trace_id,span_id,attrs\n';

export function recordToCsv(r: StoredRecord): string {
  return (
    `${formatMicros(r.ts)},${formatMicros(r.receivedAt)},${csv(r.tenant)},${r.level ?? ''},${r.severity ?? ''},` +
    `${csv(r.service)},${csv(r.host)},${csv(r.category)},${csv(r.source)},${csv(r.message)},` +
    `${csv(r.traceId)},${csv(r.spanId)},${csv(r.attrs)}\n`
  );
}

const NEEDS_QUOTES = /[",\r\n]/;

function csv(s: string | null): string {
  if (s === null) return '';
  if (!NEEDS_QUOTES.test(s)) return s;
  return `"${s.replace(/"/g, '""')}"`;
}
