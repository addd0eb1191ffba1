// Raw log lines over HTTP (POST /api/v1/ingest?format=…), what `loghaven import` sends: ALB
// access or connection logs, common or combined, syslog lines, or NDJSON, detected from the first
// lines with `auto`. Bad lines are reported by line number and never sink the rest; the answer
// comes once every accepted row is durable, as for POST /api/v1/logs.

import { LhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import { RowBatchBuilder } from '../../store/row-format.js';
import type { RequestBody } from '../common/body.js';
import { ingestNativeBody, type NativeIngestCore, type NativeOutcome } from '../native/ingest.js';
import type { NativeAnswer } from '../native/answer.js';
import { SyslogRowWriter } from '../syslog/syslog-message.js';
import { INGEST_FORMATS, detectFormat, type AccessFormat, type IngestFormat } from './detect.js';
import { accessRecord } from './records.js';

export { INGEST_FORMATS, type IngestFormat } from './detect.js';

/** Bad lines listed in an answer; the count covers them all. */
const MAX_REPORTED_ERRORS = 1000;
/** Lines looked at to tell the format. */
const DETECT_LINES = 20;

export function checkFormat(v: unknown): IngestFormat {
  const f = v === undefined || v === '' ? 'auto' : String(v);
  if (!(INGEST_FORMATS as readonly string[]).includes(f)) {
    throw new LhError('LH_ERR_BAD_PARAM', `format must be one of ${INGEST_FORMATS.join(', ')}, got ${JSON.stringify(f.slice(0, 40))}`, { param: 'format' });
  }
  return f as IngestFormat;
}

export async function ingestLines(
  deps: NativeIngestCore,
  body: RequestBody,
  requested: IngestFormat,
  opts: { tenant: string; protocol: string },
): Promise<NativeOutcome & { format: AccessFormat }> {
  let format: AccessFormat;
  if (requested === 'auto') {
    const head = body.bytes.subarray(0, 64 * 1024).toString('utf8').split('\n').slice(0, DETECT_LINES);
    const found = detectFormat(head);
    if (found === null) {
      body.release();
      throw new LhError('LH_ERR_BAD_BODY', 'cannot tell the format of these lines (alb, alb-connection, combined, common, ndjson, syslog): name it with format=');
    }
    format = found;
  } else {
    format = requested;
  }
  if (format === 'ndjson') return { ...(await ingestNativeBody(deps, body, 'ndjson', opts)), format };

  const { metrics } = deps;
  const bytes = body.bytes.length;
  metrics.ingestBytes.inc({ protocol: opts.protocol }, bytes);
  const ctx = { tenant: opts.tenant, receivedAt: nowMicros() };
  const out = new RowBatchBuilder(Math.max(64 * 1024, bytes * 2), deps.buffers);
  const answer: NativeAnswer = { accepted: 0, rejected: 0, errors: [] };
  try {
    const buf = body.bytes;
    if (format === 'syslog') {
      const writer = new SyslogRowWriter(out, ctx);
      forEachLine(buf, (start, end) => writer.write(buf, start, end));
    } else {
      const text = buf.toString('utf8');
      let lineNo = 0;
      let start = 0;
      while (start < text.length) {
        let end = text.indexOf('\n', start);
        if (end === -1) end = text.length;
        lineNo++;
        const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
        start = end + 1;
        if (line.trim() === '') continue;
        const r = accessRecord(line, format, ctx);
        if (r.ok) {
          out.writeRecord(r.record);
        } else {
          answer.rejected++;
          if (answer.errors.length < MAX_REPORTED_ERRORS) answer.errors.push({ line: lineNo, error: r.reason });
        }
      }
    }
  } finally {
    body.release();
  }
  const batch = out.finish();
  answer.accepted = batch.count;
  if (answer.rejected > 0) metrics.ingestRejects.inc({ protocol: opts.protocol, reason: 'invalid' }, answer.rejected);
  if (batch.count === 0) {
    batch.release();
    metrics.ingestRefused.inc({ protocol: opts.protocol, reason: 'nothing_accepted' });
    if (answer.rejected === 0) answer.errors = [{ line: 1, error: 'body contains no lines' }];
    return { status: 400, answer, format };
  }
  await deps.pipeline.submit(batch, bytes);
  metrics.ingestLines.inc({ protocol: opts.protocol }, batch.count);
  return { status: 200, answer, format };
}

function forEachLine(buf: Buffer, fn: (start: number, end: number) => void): void {
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end === -1) end = buf.length;
    const stop = end > start && buf[end - 1] === 13 ? end - 1 : end;
    if (stop > start) fn(start, stop);
    start = end + 1;
  }
}
