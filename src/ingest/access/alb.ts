// AWS Application Load Balancer access logs (and connection logs), one line at a time, into
// typed fields. The fields are positional and AWS keeps adding some at the end, so a line is
// never required to have an exact count: the documented fields are read where they are, missing
// trailing ones are null, and any beyond the known ones are kept in `extra`.

import { dash, decodeEscapes, intField, secondsField, splitFields, splitHostPort, splitRequest, splitUrl } from './fields.js';

export interface AlbRecord {
  type: string;
  time: string;
  elb: string;
  client_ip: string | null;
  client_port: number | null;
  target_ip: string | null;
  target_port: number | null;
  request_processing_time: number | null;
  target_processing_time: number | null;
  response_processing_time: number | null;
  elb_status_code: number | null;
  target_status_code: number | null;
  received_bytes: number | null;
  sent_bytes: number | null;
  /** The request line as logged (escapes decoded). */
  request: string;
  method: string | null;
  url: string | null;
  protocol: string | null;
  host: string | null;
  port: number | null;
  path: string | null;
  query: string | null;
  user_agent: string | null;
  ssl_cipher: string | null;
  ssl_protocol: string | null;
  target_group_arn: string | null;
  trace_id: string | null;
  domain_name: string | null;
  chosen_cert_arn: string | null;
  matched_rule_priority: number | null;
  request_creation_time: string | null;
  actions_executed: string | null;
  redirect_url: string | null;
  error_reason: string | null;
  target_port_list: string | null;
  target_status_code_list: string | null;
  classification: string | null;
  classification_reason: string | null;
  conn_trace_id: string | null;
  transformed_host: string | null;
  transformed_uri: string | null;
  request_transform_status: string | null;
  /** Fields past the documented ones, as logged. */
  extra: string[];
}

export interface AlbConnectionRecord {
  time: string;
  client_ip: string;
  client_port: number | null;
  listener_port: number | null;
  tls_protocol: string | null;
  tls_cipher: string | null;
  tls_handshake_latency: number | null;
  leaf_client_cert_subject: string | null;
  leaf_client_cert_validity: string | null;
  leaf_client_cert_serial_number: string | null;
  tls_verify_status: string | null;
  conn_trace_id: string | null;
  extra: string[];
}

export type Parsed<T> = { ok: true; record: T } | { ok: false; reason: string };

const TYPES = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** The documented fields of an access log entry, in order (the last three from 2025). */
const KNOWN_FIELDS = 33;
/** Fields a line must have to be an access log entry at all: up to the request line. */
const MIN_FIELDS = 13;

/** Whether a line looks like an ALB access log entry (for format detection). */
export function looksLikeAlb(line: string): boolean {
  const sp = line.indexOf(' ');
  return sp > 0 && TYPES.has(line.slice(0, sp)) && TIME.test(line.slice(sp + 1, line.indexOf(' ', sp + 1)));
}

/** Whether a line looks like an ALB connection log entry. */
export function looksLikeAlbConnection(line: string): boolean {
  const sp = line.indexOf(' ');
  return sp > 0 && TIME.test(line.slice(0, sp)) && / TID_[0-9a-f]+/.test(line);
}

export function parseAlbLine(line: string): Parsed<AlbRecord> {
  const f = splitFields(line);
  if (f === null) return { ok: false, reason: 'a quoted field is not closed' };
  if (f.length < MIN_FIELDS) return { ok: false, reason: `${f.length} fields; an ALB entry has at least ${MIN_FIELDS} (type … "request")` };
  if (!TYPES.has(f[0]!)) return { ok: false, reason: `type ${JSON.stringify(f[0]!.slice(0, 20))} is not one of ${[...TYPES].join(', ')}` };
  if (!TIME.test(f[1]!)) return { ok: false, reason: `time ${JSON.stringify(f[1]!.slice(0, 40))} is not an ISO 8601 UTC timestamp` };
  const client = splitHostPort(f[3]);
  const target = splitHostPort(f[4]);
  const times = [secondsField(f[5]), secondsField(f[6]), secondsField(f[7])];
  if (times.some((t) => t === undefined)) return { ok: false, reason: 'a processing time is not a number' };
  const ints = [intField(f[8]), intField(f[9]), intField(f[10]), intField(f[11])];
  if (ints.some((v) => v === undefined)) return { ok: false, reason: 'a status code or byte count is not a number' };
  const request = decodeEscapes(f[12]!);
  const req = splitRequest(request);
  const url = req.url === null ? null : splitUrl(req.url);
  const priority = f[20] === undefined ? null : intField(f[20]);
  const record: AlbRecord = {
    type: f[0]!,
    time: f[1]!,
    elb: f[2]!,
    client_ip: client.ip,
    client_port: client.port,
    target_ip: target.ip,
    target_port: target.port,
    request_processing_time: times[0]!,
    target_processing_time: times[1]!,
    response_processing_time: times[2]!,
    elb_status_code: ints[0]!,
    target_status_code: ints[1]!,
    received_bytes: ints[2]!,
    sent_bytes: ints[3]!,
    request,
    method: req.method,
    url: req.url,
    protocol: req.protocol,
    host: url?.host ?? null,
    port: url?.port ?? null,
    path: url?.path ?? null,
    query: url?.query ?? null,
    user_agent: text(f[13]),
    ssl_cipher: dash(f[14]),
    ssl_protocol: dash(f[15]),
    target_group_arn: dash(f[16]),
    trace_id: dash(f[17]),
    domain_name: text(f[18]),
    chosen_cert_arn: dash(f[19]),
    matched_rule_priority: priority === undefined ? null : priority,
    request_creation_time: dash(f[21]),
    actions_executed: dash(f[22]),
    redirect_url: text(f[23]),
    error_reason: dash(f[24]),
    target_port_list: dash(f[25]),
    target_status_code_list: dash(f[26]),
    classification: dash(f[27]),
    classification_reason: dash(f[28]),
    conn_trace_id: dash(f[29]),
    transformed_host: text(f[30]),
    transformed_uri: text(f[31]),
    request_transform_status: dash(f[32]),
    extra: f.slice(KNOWN_FIELDS),
  };
  return { ok: true, record };
}

export function parseAlbConnectionLine(line: string): Parsed<AlbConnectionRecord> {
  const f = splitFields(line);
  if (f === null) return { ok: false, reason: 'a quoted field is not closed' };
  if (f.length < 4) return { ok: false, reason: `${f.length} fields; an ALB connection entry has at least 4` };
  if (!TIME.test(f[0]!)) return { ok: false, reason: `time ${JSON.stringify(f[0]!.slice(0, 40))} is not an ISO 8601 UTC timestamp` };
  const latency = secondsField(f[6]);
  return {
    ok: true,
    record: {
      time: f[0]!,
      client_ip: f[1]!,
      client_port: intField(f[2]) ?? null,
      listener_port: intField(f[3]) ?? null,
      tls_protocol: dash(f[4]),
      tls_cipher: dash(f[5]),
      tls_handshake_latency: latency ?? null,
      leaf_client_cert_subject: text(f[7]),
      leaf_client_cert_validity: text(f[8]),
      leaf_client_cert_serial_number: dash(f[9]),
      tls_verify_status: dash(f[10]),
      conn_trace_id: dash(f[11]),
      extra: f.slice(12),
    },
  };
}

function text(v: string | undefined): string | null {
  const d = dash(v);
  return d === null ? null : decodeEscapes(d);
}
