// Compiles a parsed query (ast.ts) into a parenthesised SQL boolean for the `logs` table of either
// backend, with every value bound as a positional `$n` parameter (both DuckDB and PostgreSQL read
// `$1…`). Also gives the top-values endpoint the SQL of a groupable field.

import { LhError } from '../errors.js';
import { normaliseLevel } from '../model/level.js';
import { LEVELS, type Level, type RecordField } from '../model/record.js';
import { parseTimestamp } from '../model/timestamp.js';
import type { FieldRef, MatchOp, QueryNode } from './ast.js';
import { fieldError, resolveField } from './fields.js';
import { NON_WORD_CLASS, PG_NON_WORD_CLASS, wordsOf } from './words.js';

export type SqlDialect = 'duckdb' | 'postgres';

/**
 * A WHERE fragment and its parameters, in placeholder order. Parameter types: string, number
 * (severity, numeric attrs comparisons), bigint (µs timestamps; the SQL casts it to BIGINT because
 * @duckdb/node-api binds a JS bigint as HUGEINT) and, for postgres only, string[] (attrs paths,
 * cast to text[] in the SQL).
 */
export interface SqlFragment {
  sql: string;
  params: unknown[];
}

const STRING_COLUMNS: ReadonlySet<RecordField> = new Set([
  'tenant',
  'service',
  'host',
  'category',
  'source',
  'message',
  'trace_id',
  'span_id',
]);
const COMPARE_SQL: Record<'gt' | 'gte' | 'lt' | 'lte', string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };
// The shapes PostgreSQL's float8 input accepts from a JSON number; anything else (strings such as
// "n/a") must not reach the cast, which would abort the whole query.
const PG_NUMBER_RE = `'^-?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'`;
const JS_NUMBER_RE = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A value JSON writes without escapes (no quote, backslash, slash or control character). */
const PLAIN_VALUE = /^[^"\\/\u0000-\u001f]+$/;

/** Whether an attrs comparison compares numbers (the value is one) rather than text. */
export function isNumericComparison(op: MatchOp, value: string): boolean {
  return op !== 'eq' && op !== 'prefix' && op !== 'regex' && JS_NUMBER_RE.test(value);
}

/** Compile `node` into `(…)` with placeholders `$firstParam`, `$firstParam+1`, …. */
export function compileWhere(node: QueryNode, dialect: SqlDialect, firstParam: number): SqlFragment {
  const c = new Compiler(dialect, firstParam);
  return { sql: c.node(node), params: c.params };
}

/**
 * The SQL of a field for GROUP BY (top values), as a text value: a record field name or
 * `attrs.a.b` (or a bare attrs key); a malformed name is LH_ERR_QUERY_FIELD. Timestamps come out in the RFC 3339 form of
 * the API (formatMicros). Placeholders start at `firstParam`.
 */
export function fieldSql(field: string, dialect: SqlDialect, firstParam = 1): SqlFragment {
  // Same field naming as the query language: `user` means `attrs.user`.
  const ref = resolveField(field, { bareNamesAreAttrs: true });
  const c = new Compiler(dialect, firstParam);
  if (ref.kind === 'attr') return { sql: c.attrText(ref.path), params: c.params };
  const name = ref.name;
  const pg = dialect === 'postgres';
  let sql: string;
  if (name === 'severity') {
    sql = pg ? 'severity::text' : 'CAST(severity AS VARCHAR)';
  } else if (name === 'ts' || name === 'received_at') {
    // PostgreSQL keeps timestamps as integer µs (store/postgres/): exact, and loaded without parsing.
    sql = pg
      ? `to_char((timestamptz 'epoch' + ${name} * interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
      : `strftime(${name}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
  } else {
    sql = name;
  }
  return { sql, params: [] };
}

class Compiler {
  readonly params: unknown[] = [];
  /** How many NOTs enclose the node being compiled. */
  private negations = 0;
  private readonly pg: boolean;

  constructor(
    dialect: SqlDialect,
    private readonly first: number,
  ) {
    this.pg = dialect === 'postgres';
  }

  node(n: QueryNode): string {
    switch (n.kind) {
      case 'and':
      case 'or':
        if (n.children.length === 0) return n.kind === 'and' ? '(true)' : '(false)';
        return `(${n.children.map((c) => this.node(c)).join(n.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not': {
        // Under a NOT leaves never yield NULL (see leaf), so NOT is two-valued: a row whose
        // field is NULL matches `-field:value`.
        this.negations++;
        const inner = this.node(n.child);
        this.negations--;
        return `(NOT ${inner})`;
      }
      case 'text':
        return this.text(n.value, n.prefix);
      case 'match':
        return this.match(n.field, n.op, n.value);
    }
  }

  /** `$n` for a new parameter. */
  param(v: unknown): string {
    this.params.push(v);
    return `$${this.first + this.params.length - 1}`;
  }

  /**
   * Free text (words.ts): the words of `value`, consecutive, in the message or in the attrs JSON
   * text, case-insensitively. A cheap substring test of the longest word runs first, so the
   * costlier word-boundary test only sees the rows that can match. A term without any word
   * character (`->`) is a plain substring.
   */
  private text(value: string, prefix: boolean): string {
    const words = wordsOf(value);
    const attrsText = this.pg ? 'attrs::text' : 'CAST(attrs AS VARCHAR)';
    // message may be NULL (no match); attrs never is. Neither side of the OR is ever NULL.
    const both = (test: (col: string) => string) => `((message IS NOT NULL AND ${test('message')}) OR ${test(attrsText)})`;
    if (words.length === 0) {
      const p = this.param(value);
      return both((col) => this.contains(col, p));
    }
    const longest = this.param(words.reduce((a, b) => (b.length > a.length ? b : a)));
    const joined = this.param(` ${words.join(' ')}${prefix ? '' : ' '}`);
    // CASE, not AND: under an OR the engine evaluates both sides of an AND for every row, and the
    // word test (a regexp_replace of the whole text) costs ten times the substring test.
    return both((col) => `CASE WHEN ${this.contains(col, longest)} THEN ${this.containsWords(col, joined)} ELSE false END`);
  }

  /** lower(col) holds lower(p). */
  private contains(col: string, p: string): string {
    return this.pg ? `strpos(lower(${col}), lower(${p})) > 0` : `contains(lower(${col}), lower(${p}))`;
  }

  /** lower(col) with every run of non-word characters made one space, padded, holds `joined`. */
  private containsWords(col: string, joined: string): string {
    const spaced = `regexp_replace(lower(${col}), '${this.pg ? PG_NON_WORD_CLASS : NON_WORD_CLASS}+', ' ', 'g')`;
    return this.pg
      ? `strpos(' ' || ${spaced} || ' ', lower(${joined})) > 0`
      : `contains(concat(' ', ${spaced}, ' '), lower(${joined}))`;
  }

  private match(field: FieldRef, op: MatchOp, value: string): string {
    if (field.kind === 'attr') return this.attrMatch(field.path, op, value);
    const name = field.name;
    if (name === 'level') return this.levelMatch(op, value);
    if (name === 'severity') {
      const cmp = this.orderingOp(op, name);
      if (!/^-?\d{1,6}$/.test(value)) throw unsupported(`an integer severity, found ${JSON.stringify(value)}`);
      return this.leaf(`severity ${cmp} ${this.param(Number(value))}`);
    }
    if (name === 'ts' || name === 'received_at') {
      const cmp = this.orderingOp(op, name);
      const us = parseTimestamp(value);
      if (us === null) throw new LhError('LH_ERR_BAD_TIME', `${name}: ${JSON.stringify(value)} is not a timestamp`);
      // Built from integer µs on both backends: a double-precision epoch (to_timestamp) could be
      // a microsecond off, which matters at page and window boundaries. PostgreSQL's columns are
      // the integer µs themselves.
      const p = this.param(us);
      const t = this.pg ? `${p}::bigint` : `make_timestamp(CAST(${p} AS BIGINT))`;
      return this.leaf(`${name} ${cmp} ${t}`);
    }
    // Only `attrs` itself is left: it needs a path.
    if (!STRING_COLUMNS.has(name)) throw fieldError(name, undefined, 'attrs needs a path, e.g. attrs.http.status');
    return this.leaf(this.stringMatch(name, op, value));
  }

  private levelMatch(op: MatchOp, value: string): string {
    const level = normaliseLevel(value);
    if (level === null) throw unsupported(`a level (${LEVELS.join(', ')}), found ${JSON.stringify(value)}`);
    if (op === 'eq') return this.leaf(`level = ${this.param(level)}`);
    if (op === 'prefix' || op === 'regex') throw unsupported(`level:${value} with a ${op}; use level:>=${value}`);
    const rank = LEVELS.indexOf(level);
    const wanted: Level[] = LEVELS.filter((_, i) =>
      op === 'gt' ? i > rank : op === 'gte' ? i >= rank : op === 'lt' ? i < rank : i <= rank,
    );
    if (wanted.length === 0) return '(false)';
    return this.leaf(`level IN (${wanted.map((l) => this.param(l)).join(', ')})`);
  }

  /** `col op $n` for a text expression; comparisons are by code point on both backends. */
  private stringMatch(expr: string, op: MatchOp, value: string): string {
    switch (op) {
      case 'eq':
        return `${expr} = ${this.param(value)}`;
      case 'prefix':
        return this.pg ? `${expr} LIKE ${this.param(`${escapeLike(value)}%`)}` : `starts_with(${expr}, ${this.param(value)})`;
      case 'regex':
        return this.pg ? `${expr} ~ ${this.param(value)}` : `regexp_matches(${expr}, ${this.param(value)})`;
      default:
        // DuckDB orders VARCHAR by bytes; PostgreSQL by the database collation unless told
        // otherwise, and "C" is byte order, so both backends agree.
        return `${this.pg ? `${expr} COLLATE "C"` : expr} ${COMPARE_SQL[op]} ${this.param(value)}`;
    }
  }

  private attrMatch(path: string[], op: MatchOp, value: string): string {
    const text = this.attrText(path);
    const numeric = isNumericComparison(op, value);
    if (op === 'eq' && PLAIN_VALUE.test(value)) {
      // Reading a path parses the whole JSON text; a value written without escapes appears in
      // that text as it is, unless the text spells characters as \u escapes. So rows whose text
      // holds neither the value nor a \u cannot match, and are ruled out by two substring tests.
      const raw = this.pg ? 'attrs::text' : 'CAST(attrs AS VARCHAR)';
      const has = (p: string) => (this.pg ? `strpos(${raw}, ${p}) > 0` : `contains(${raw}, ${p})`);
      const v = this.param(value);
      return `CASE WHEN ${has(v)} OR ${has("'\\u'")} THEN ${this.leaf(`${text} = ${v}`)} ELSE false END`;
    }
    if (!numeric) return this.leaf(this.stringMatch(text, op, value));
    const cmp = COMPARE_SQL[op as keyof typeof COMPARE_SQL];
    const n = this.param(Number(value));
    if (this.pg) {
      return this.leaf(`(CASE WHEN ${text} ~ ${PG_NUMBER_RE} THEN (${text})::double precision END) ${cmp} ${n}::double precision`);
    }
    return this.leaf(`TRY_CAST(${text} AS DOUBLE) ${cmp} CAST(${n} AS DOUBLE)`);
  }

  /** The text of `attrs` at `path`; NULL when absent or JSON null. */
  attrText(path: string[]): string {
    if (this.pg) return `(attrs #>> ${this.param(path)}::text[])`;
    return `json_extract_string(attrs, ${this.param(`$${path.map((s) => `."${s}"`).join('')}`)})`;
  }

  /**
   * A condition on one field. Under a NOT it is never NULL: a missing field is simply "no
   * match", which keeps NOT two-valued. Elsewhere NULL already counts as false (WHERE, AND, OR
   * all agree), and the bare condition is what lets the engine filter inside the scan
   * (`level = 'error'` reads the column's dictionary; a coalesce around it cannot).
   */
  private leaf(cond: string): string {
    return this.negations > 0 ? `coalesce(${cond}, false)` : `(${cond})`;
  }

  private orderingOp(op: MatchOp, field: string): string {
    if (op === 'eq') return '=';
    if (op === 'prefix' || op === 'regex') throw unsupported(`${field} with a ${op}; use = or a comparison`);
    return COMPARE_SQL[op];
  }
}

/** LIKE metacharacters taken literally (backslash is PostgreSQL's default LIKE escape). */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function unsupported(what: string): LhError {
  return new LhError('LH_ERR_QUERY_SYNTAX', `expected ${what}`, { expected: what });
}
