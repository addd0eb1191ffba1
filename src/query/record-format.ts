// The JSON wire form of a stored record (SPEC §1 field names, RFC 3339 µs timestamps) and the CSV
// header. The `attrs` text is spliced in as stored instead of being parsed and re-serialised.
// Exports are rendered by the store engine in the same forms (checked by the conformance suite).

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

/** A CSV row (no header) in the column order of CSV_HEADER, as the DuckDB store renders exports. */
export function recordToCsv(r: StoredRecord): string {
  return [
    formatMicros(r.ts),
    formatMicros(r.receivedAt),
    csvField(r.tenant),
    r.level ?? '',
    r.severity === null ? '' : String(r.severity),
    csvField(r.service),
    csvField(r.host),
    csvField(r.category),
    csvField(r.source),
    csvField(r.message),
    csvField(r.traceId),
    csvField(r.spanId),
    csvField(r.attrs),
  ].join(',');
}

function csvField(s: string | null): string {
  if (s === null) return '';
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
