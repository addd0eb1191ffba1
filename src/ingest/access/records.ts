// An access-log entry as a record of the log model (SPEC §1), so the ordinary search, tail and
// export see it: the event time, the request line as the message, the level from the status
// class (5xx error, 4xx warn, else info), category `access`, source the format, and every parsed
// field in attrs (the typed access table and its aggregates are built from them at load).

import type { Level, LogRecord } from '../../model/record.js';
import { parseTimestamp } from '../../model/timestamp.js';
import { parseAlbConnectionLine, parseAlbLine, type Parsed } from './alb.js';
import { parseClfLine } from './clf.js';
import type { AccessFormat } from './detect.js';
import { urlPattern } from './url-pattern.js';

export const ACCESS_CATEGORY = 'access';

export type LineFormat = Extract<AccessFormat, 'alb' | 'alb-connection' | 'combined' | 'common'>;

/** Parsed fields the record holds elsewhere (see accessRecord). */
const OMITTED = new Set(['time', 'request', 'url', 'host', 'trace_id']);

const SEVERITY: Record<Level, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

function levelOf(status: number | null): Level {
  if (status !== null && status >= 500) return 'error';
  if (status !== null && status >= 400) return 'warn';
  return 'info';
}

/** One line of `format` as a record, or why it is not one. */
export function accessRecord(line: string, format: LineFormat, ctx: { tenant: string; receivedAt: bigint }): Parsed<LogRecord> {
  const parsed: Parsed<Record<string, unknown>> =
    format === 'alb'
      ? (parseAlbLine(line) as Parsed<Record<string, unknown>>)
      : format === 'alb-connection'
        ? (parseAlbConnectionLine(line) as Parsed<Record<string, unknown>>)
        : (parseClfLine(line) as Parsed<Record<string, unknown>>);
  if (!parsed.ok) return parsed;
  const f = parsed.record;
  const ts = parseTimestamp(f.time as string);
  if (ts === null) return { ok: false, reason: `time ${JSON.stringify(f.time)} cannot be read` };
  const status = (format === 'alb' ? f.elb_status_code : format === 'alb-connection' ? null : f.status) as number | null;
  const level = format === 'alb-connection' ? (f.tls_verify_status === 'Success' || f.tls_verify_status === null ? 'info' : 'warn') : levelOf(status);
  const message =
    format === 'alb-connection'
      ? `TLS ${String(f.tls_protocol ?? '-')} ${String(f.tls_verify_status ?? '-')} from ${String(f.client_ip)}`
      : String(f.request);
  // attrs hold what the record's own fields do not: not the time, request line (the message),
  // URL and host (in the message and the host field), trace id or format (source); and no
  // field without a value. A row stays about a third smaller, and the spool writes that much less.
  // The URL pattern the aggregates group by, worked out once here rather than by every reader.
  // The JSON is written field by field (a parser's fields are plain strings, numbers and the
  // `extra` list): about twice as fast as building an object for JSON.stringify.
  let attrs = '{';
  for (const k in f) {
    const v = f[k];
    if (v === null || v === undefined || OMITTED.has(k)) continue;
    if (k === 'extra') {
      if ((v as unknown[]).length > 0) attrs += `${attrs.length > 1 ? ',' : ''}"extra":${JSON.stringify(v)}`;
      continue;
    }
    attrs += `${attrs.length > 1 ? ',' : ''}"${k}":${typeof v === 'number' ? String(v) : jsonString(v as string)}`;
  }
  if (typeof f.path === 'string') attrs += `${attrs.length > 1 ? ',' : ''}"url_pattern":${jsonString(urlPattern(f.path))}`;
  attrs += '}';
  return {
    ok: true,
    record: {
      ts,
      receivedAt: ctx.receivedAt,
      tenant: ctx.tenant,
      level,
      severity: SEVERITY[level],
      service: format === 'alb' || format === 'alb-connection' ? albName(f.elb as string | undefined) : null,
      host: (f.host as string | null) ?? null,
      category: ACCESS_CATEGORY,
      source: format,
      message,
      traceId: (f.trace_id as string | null | undefined) ?? null,
      spanId: null,
      attrs,
    },
  };
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]|[\uD800-\uDFFF]/;

/** A string as JSON text; most need no escape and are just quoted. */
function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** `app/my-lb/50dc6c495c0c9188` → `my-lb` (the name users know the balancer by). */
function albName(elb: string | undefined): string | null {
  if (elb === undefined) return null;
  const parts = elb.split('/');
  return parts.length === 3 ? parts[1]! : elb;
}
