// The SQL pieces every read of the DuckDB store is built from: the selected columns and their
// conversion back into records, the shared WHERE conditions with positional parameters, the FROM
// of a set of sequence ranges, and the engine-side rendering of records for exports.

import { BIGINT, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { Level, StoredRecord } from '../../model/record.js';
import { compileWhere } from '../../query/sql.js';
import type { Selection } from '../store.js';

/**
 * Record columns as selected by pages. Timestamps come out as integer µs under other names: an
 * ORDER BY must name the raw `ts`, or the engine sorts a computed value and cannot fetch only the
 * rows it keeps (on ten million rows, 640 ms instead of 15).
 */
export const SELECT_COLUMNS = `seq, epoch_us(ts) AS ts_us, epoch_us(received_at) AS received_us, tenant, level, severity,
  service, host, category, source, message, trace_id, span_id, CAST(attrs AS VARCHAR) AS attrs_text`;

export function toStoredRecord(r: DuckDBValue[]): StoredRecord {
  return {
    seq: r[0] as bigint,
    ts: r[1] as bigint,
    receivedAt: r[2] as bigint,
    tenant: r[3] as string,
    level: r[4] as Level | null,
    severity: r[5] === null ? null : Number(r[5]),
    service: r[6] as string | null,
    host: r[7] as string | null,
    category: r[8] as string | null,
    source: r[9] as string | null,
    message: r[10] as string | null,
    traceId: r[11] as string | null,
    spanId: r[12] as string | null,
    attrs: r[13] as string,
  };
}

/** Bigints bind as BIGINT (the default would be HUGEINT, which make_timestamp does not take). */
export function bindTypes(params: DuckDBValue[]): DuckDBType[] {
  // An undefined entry lets the engine infer that parameter's type.
  return params.map((p) => (typeof p === 'bigint' ? BIGINT : undefined)) as DuckDBType[];
}

/** Accumulates the shared tenant/time/query conditions with positional parameters. */
export class WhereBuilder {
  readonly params: DuckDBValue[] = [];
  private readonly parts: string[] = [];

  /** `tenantImplied`: the rows read are known to be of the selection's tenant only. */
  constructor(sel?: Selection, tenantImplied = false) {
    if (sel === undefined) return;
    if (!tenantImplied) this.add(`tenant = ${this.param(sel.tenant)}`);
    if (sel.from !== undefined) this.add(`ts >= make_timestamp(${this.param(sel.from)})`);
    if (sel.to !== undefined) this.add(`ts < make_timestamp(${this.param(sel.to)})`);
  }

  param(v: DuckDBValue): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }

  nextParam(): number {
    return this.params.length + 1;
  }

  add(cond: string): void {
    this.parts.push(cond);
  }

  addQuery(q: Selection['query']): void {
    if (q === undefined) return;
    const c = compileWhere(q, 'duckdb', this.nextParam());
    this.params.push(...(c.params as DuckDBValue[]));
    this.parts.push(c.sql);
  }

  /** Rows strictly after (ts, seq) in the order; `ts >= x` alone lets the zone maps skip row groups. */
  addAfter(after: { ts: bigint; seq: bigint }, order: 'asc' | 'desc'): void {
    const t = this.param(after.ts);
    const s = this.param(after.seq);
    if (order === 'desc') this.add(`ts <= make_timestamp(${t}) AND (ts < make_timestamp(${t}) OR seq < ${s})`);
    else this.add(`ts >= make_timestamp(${t}) AND (ts > make_timestamp(${t}) OR seq > ${s})`);
  }

  sql(): string {
    return this.parts.length === 0 ? 'true' : this.parts.join(' AND ');
  }

  clone(): WhereBuilder {
    const w = new WhereBuilder();
    w.params.push(...this.params);
    w.parts.push(...this.parts);
    return w;
  }
}

/**
 * Most separate ranges one query reads (each a scan of its own, about a millisecond to set up);
 * beyond it the closest ones are read as one.
 */
const MAX_RANGES = 256;

/**
 * Inclusive sequence ranges as few as they can be: neighbours joined, and the smallest gaps
 * closed until at most MAX_RANGES are left (reading a gap costs little next to another scan).
 */
export function mergeRanges(ranges: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  while (out.length > MAX_RANGES) {
    let best = 1;
    for (let i = 2; i < out.length; i++) if (out[i]![0] - out[i - 1]![1] < out[best]![0] - out[best - 1]![1]) best = i;
    out[best - 1]![1] = out[best]![1];
    out.splice(best, 1);
  }
  return out;
}

/**
 * `FROM … WHERE` of the rows of `table` in the given sequence ranges: one range filters the
 * table itself; several are a UNION ALL of one scan each, since the engine skips row groups by
 * one range, not by an OR of them. Ends in "WHERE " or "AND ", ready for more conditions.
 */
export function rangesFrom(ranges: [bigint, bigint][], table = 'logs'): string {
  if (ranges.length === 1) return `${table} WHERE seq BETWEEN ${ranges[0]![0]} AND ${ranges[0]![1]} AND `;
  const scans = ranges.map(([a, b]) => `SELECT * FROM ${table} WHERE seq BETWEEN ${a} AND ${b}`);
  return `(${scans.join(' UNION ALL ')}) AS ranges WHERE `;
}

/** A string as a SQL literal (file names, tenants: where a statement such as COPY takes no parameters). */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

const RFC3339_MICROS = `'%Y-%m-%dT%H:%M:%S.%fZ'`;
const jsonText = (col: string) => `coalesce(to_json(${col})::VARCHAR, 'null')`;

/**
 * The JSON wire form of a record (SPEC §1), rendered by the engine for exports. It must stay
 * byte-identical to `recordToJson` (src/query/record-format.ts); the conformance suite checks it.
 */
export const JSON_LINE_SQL = `concat('{"ts":"', strftime(ts, ${RFC3339_MICROS}), '","received_at":"', strftime(received_at, ${RFC3339_MICROS}),
  '","tenant":', ${jsonText('tenant')}, ',"level":', ${jsonText('level')}, ',"severity":', coalesce(CAST(severity AS VARCHAR), 'null'),
  ',"service":', ${jsonText('service')}, ',"host":', ${jsonText('host')}, ',"category":', ${jsonText('category')},
  ',"source":', ${jsonText('source')}, ',"message":', ${jsonText('message')}, ',"trace_id":', ${jsonText('trace_id')},
  ',"span_id":', ${jsonText('span_id')}, ',"attrs":', CAST(attrs AS VARCHAR), '}')`;

const csvText = (col: string) =>
  `CASE WHEN ${col} IS NULL THEN '' WHEN regexp_matches(${col}, '[",\r\n]') THEN concat('"', replace(${col}, '"', '""'), '"') ELSE ${col} END`;

/** A CSV row in the column order of CSV_HEADER; must match `recordToCsv`. */
export const CSV_LINE_SQL = `concat_ws(',', strftime(ts, ${RFC3339_MICROS}), strftime(received_at, ${RFC3339_MICROS}), ${csvText('tenant')},
  coalesce(level, ''), coalesce(CAST(severity AS VARCHAR), ''), ${csvText('service')}, ${csvText('host')}, ${csvText('category')},
  ${csvText('source')}, ${csvText('message')}, ${csvText('trace_id')}, ${csvText('span_id')}, ${csvText('CAST(attrs AS VARCHAR)')})`;

/** A text column in the row format (row-format.ts): JSON string escapes without the quotes, NULL as \N. */
const rowText = (col: string) => `coalesce((to_json(${col})::VARCHAR)[2:-2], '\\N')`;

/**
 * A SELECT of `logs` rows in the row format (tab-separated, in ROW_COLUMNS order), for rebuilding
 * a segment's index summary from the store when its spool file is gone.
 */
export const ROW_FORMAT_SQL = `concat_ws(chr(9), epoch_us(ts)::VARCHAR, epoch_us(received_at)::VARCHAR, ${rowText('tenant')},
  coalesce(level, '\\N'), coalesce(CAST(severity AS VARCHAR), '\\N'), ${rowText('service')}, ${rowText('host')}, ${rowText('category')},
  ${rowText('source')}, ${rowText('message')}, ${rowText('trace_id')}, ${rowText('span_id')}, replace(replace(replace(CAST(attrs AS VARCHAR), chr(9), ' '), chr(10), ' '), chr(13), ' '))`;
