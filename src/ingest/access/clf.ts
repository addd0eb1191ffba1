// nginx and Apache access logs in the `common` and `combined` formats:
//   common:   host ident user [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326
//   combined: common + "referer" "user agent"
// `\xHH` escapes (nginx writes them for bytes it will not log raw) are decoded; a `-` size is null.

import { dash, decodeEscapes, intField, splitRequest, splitUrl } from './fields.js';
import type { Parsed } from './alb.js';

export interface ClfRecord {
  client_ip: string;
  ident: string | null;
  user: string | null;
  /** ISO 8601 UTC, to the second. */
  time: string;
  request: string;
  method: string | null;
  url: string | null;
  protocol: string | null;
  host: string | null;
  path: string | null;
  query: string | null;
  status: number | null;
  bytes: number | null;
  referer: string | null;
  user_agent: string | null;
  /** Fields after the combined ones (e.g. nginx's `$request_time`), as logged. */
  extra: string[];
}

const LINE = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\S+) (\S+)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)$/;
const TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** Whether a line looks like common or combined (and which), for format detection. */
export function clfKind(line: string): 'combined' | 'common' | null {
  const m = LINE.exec(line);
  if (m === null || !TIME.test(m[4]!)) return null;
  return m[8] !== undefined ? 'combined' : 'common';
}

export function parseClfLine(line: string): Parsed<ClfRecord> {
  const m = LINE.exec(line);
  if (m === null) return { ok: false, reason: 'not host ident user [time] "request" status size (common or combined log format)' };
  const time = clfTime(m[4]!);
  if (time === null) return { ok: false, reason: `time [${m[4]!.slice(0, 40)}] is not dd/Mon/yyyy:HH:MM:SS ±zzzz` };
  const status = intField(m[6]);
  if (status === undefined) return { ok: false, reason: `status ${JSON.stringify(m[6]!.slice(0, 20))} is not a number` };
  const bytes = intField(m[7]);
  if (bytes === undefined) return { ok: false, reason: `size ${JSON.stringify(m[7]!.slice(0, 20))} is not a number or -` };
  const request = decodeEscapes(m[5]!.replace(/\\"/g, '"'));
  const req = splitRequest(request);
  const url = req.url === null ? null : splitUrl(req.url);
  const unquote = (v: string | undefined) => (v === undefined ? null : dash(decodeEscapes(v.replace(/\\"/g, '"'))));
  const rest = m[10]!.trim();
  return {
    ok: true,
    record: {
      client_ip: m[1]!,
      ident: dash(m[2]),
      user: dash(m[3]),
      time,
      request,
      method: req.method,
      url: req.url,
      protocol: req.protocol,
      host: url?.host ?? null,
      path: url?.path ?? null,
      query: url?.query ?? null,
      status,
      bytes,
      referer: unquote(m[8]),
      user_agent: unquote(m[9]),
      extra: rest === '' ? [] : rest.split(/\s+/),
    },
  };
}

function clfTime(t: string): string | null {
  const m = TIME.exec(t);
  if (m === null) return null;
  const month = MONTHS[m[2]!];
  if (month === undefined) return null;
  const offsetMin = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offsetMin * 60_000;
  const d = new Date(utc);
  if (Number.isNaN(utc) || d.getUTCDate() === undefined) return null;
  return d.toISOString().replace('.000Z', 'Z');
}
