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
  const attrs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) {
    if (v === null || OMITTED.has(k) || (k === 'extra' && (v as unknown[]).length === 0)) continue;
    attrs[k] = v;
  }
  // The URL pattern the aggregates group by, worked out once here rather than by every reader.
  if (typeof f.path === 'string') attrs.url_pattern = urlPattern(f.path);
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
      attrs: JSON.stringify(attrs),
    },
  };
}

/** `app/my-lb/50dc6c495c0c9188` → `my-lb` (the name users know the balancer by). */
function albName(elb: string | undefined): string | null {
  if (elb === undefined) return null;
  const parts = elb.split('/');
  return parts.length === 3 ? parts[1]! : elb;
}
