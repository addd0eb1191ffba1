// The one wire format between the pipeline and every store backend: a record is one line of
// tab-separated columns in LogRecord field order, which DuckDB loads with its native CSV reader.
// Text columns hold JSON string escapes without the surrounding quotes (so no value can contain a
// raw tab or newline; the loader unescapes the rare value with a backslash), NULL is `\N`
// (never a valid JSON escape, so never confused with text), timestamps are integer µs.

import type { LogRecord } from '../model/record.js';

export const NULL_FIELD = '\\N';

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;

/** A decoded string as a text column. */
export function textField(s: string | null): string {
  if (s === null) return NULL_FIELD;
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s).slice(1, -1) : s;
}

/** JSON text (already valid) as the attrs column: tabs and CRs can only be insignificant whitespace. */
export function attrsField(json: string): string {
  if (json.indexOf('\t') === -1 && json.indexOf('\r') === -1 && json.indexOf('\n') === -1) return json;
  return json.replace(/[\t\r\n]/g, ' ');
}

/** One row; the store prepends the sequence number it assigns. */
export function encodeRecord(r: LogRecord): string {
  return (
    `${r.ts}\t${r.receivedAt}\t${textField(r.tenant)}\t${r.level ?? NULL_FIELD}\t${r.severity ?? NULL_FIELD}\t` +
    `${textField(r.service)}\t${textField(r.host)}\t${textField(r.category)}\t${textField(r.source)}\t` +
    `${textField(r.message)}\t${textField(r.traceId)}\t${textField(r.spanId)}\t${attrsField(r.attrs)}`
  );
}

/** Rows as the lines of a load file: `seq<TAB>row`, consecutive sequence numbers from `firstSeq`. */
export function encodeSeqLines(rows: string[], firstSeq: bigint): string {
  const lines = new Array<string>(rows.length);
  let seq = firstSeq;
  for (let i = 0; i < rows.length; i++) lines[i] = `${seq++}\t${rows[i]}`;
  return `${lines.join('\n')}\n`;
}
