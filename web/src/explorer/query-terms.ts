// Building query terms from what a row shows: `field:value` for a clicked value (quoted when the
// query language needs it), the record's fields in display order, and attrs flattened to the
// `attrs.a.b` paths a query names them by.

import type { WireRecord } from '../types';

/** The record fields shown first in a row's details, in this order. */
const RECORD_FIELDS = ['ts', 'level', 'service', 'host', 'message', 'category', 'source', 'tenant', 'severity', 'trace_id', 'span_id', 'received_at'] as const;

/** What the query language accepts as an attrs path segment (query/fields.ts). */
const SEGMENT = /^[A-Za-z0-9_@-]+$/;
/** A value that reads the same bare: no spaces, quotes, parentheses, colons, `*` or leading `/`. */
const BARE = /^[A-Za-z0-9_.@+-]+$/;

export interface Field {
  /** `service`, `attrs.http.status` */
  name: string;
  value: unknown;
  /** Whether a query can name this field (attrs keys outside the path charset cannot). */
  filterable: boolean;
}

export function fieldsOf(r: WireRecord): Field[] {
  const out: Field[] = [];
  // Record fields a record does not have are left out; an attribute that is null is shown.
  for (const name of RECORD_FIELDS) if (r[name] !== null) out.push({ name, value: r[name], filterable: true });
  const walk = (obj: Record<string, unknown>, path: string[], nameable: boolean) => {
    for (const [k, v] of Object.entries(obj)) {
      const ok = nameable && SEGMENT.test(k);
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
        walk(v as Record<string, unknown>, [...path, k], ok);
      } else {
        const scalar = v === null || typeof v !== 'object';
        out.push({ name: ['attrs', ...path, k].join('.'), value: v, filterable: ok && scalar && v !== null });
      }
    }
  };
  walk(r.attrs ?? {}, [], true);
  return out;
}

export function valueText(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function quoteValue(v: unknown): string {
  const s = valueText(v);
  if (BARE.test(s) && !s.startsWith('-')) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `field:value`, or `-field:value` to leave such records out. */
export function filterTerm(field: string, value: unknown, exclude = false): string {
  return `${exclude ? '-' : ''}${field}:${quoteValue(value)}`;
}

/**
 * The query with `term` ANDed on. A query with a top-level OR is put in parentheses first, since
 * AND binds tighter: `a OR b` + `c` is `(a OR b) c`, not `a OR b c`.
 */
export function addTerm(query: string, term: string): string {
  const q = query.trim();
  if (q === '') return term;
  if (q.split(/\s+/).includes(term)) return q;
  return /(^|\s)OR(\s|$)/.test(q) ? `(${q}) ${term}` : `${q} ${term}`;
}
