// Compiles a parsed query (ast.ts) into a SQL boolean over the typed access table, for the
// analytics filters (`status:>=500`, `path:/api/*`, `host:shop.example.com`, `GET`). A field is an
// access column (`status`, `attrs.status` and the record's own names `host`, `message` = the
// request line, `source` = the format); free text matches the request line. Values are bound as
// `$n` parameters, numbers compare as numbers.

import { LhError } from '../errors.js';
import { parseTimestamp } from '../model/timestamp.js';
import { ACCESS_COLUMNS } from '../store/access.js';
import type { FieldRef, MatchOp, QueryNode } from './ast.js';
import type { SqlDialect, SqlFragment } from './sql.js';

const KINDS = new Map<string, string>([['ts', 'timestamp'], ...ACCESS_COLUMNS.filter(([n]) => n !== 'extra')]);
/** Record field names that mean an access column. */
const RECORD_NAMES: Record<string, string> = { host: 'host', message: 'request', source: 'format', ts: 'ts', trace_id: 'trace_id' };
const ALIASES: Record<string, string> = { pattern: 'url_pattern', user: 'user_name', bytes: 'sent_bytes' };
const COMPARE: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

export function accessColumnOf(field: FieldRef): string {
  const name = field.kind === 'column' ? (RECORD_NAMES[field.name] ?? field.name) : field.path.length === 1 ? field.path[0]! : field.path.join('.');
  const col = ALIASES[name] ?? name;
  if (!KINDS.has(col)) {
    throw new LhError('LH_ERR_QUERY_FIELD', `"${name}" is not a field of access logs; use one of ${[...KINDS.keys()].join(', ')}`, {
      field: name,
      allowed: [...KINDS.keys()],
    });
  }
  return col;
}

export function compileAccessWhere(node: QueryNode, dialect: SqlDialect, firstParam: number): SqlFragment {
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${firstParam + params.length - 1}`;
  };
  const pg = dialect === 'postgres';
  let negations = 0;
  const leaf = (cond: string) => (negations > 0 ? `coalesce(${cond}, false)` : `(${cond})`);

  const match = (field: FieldRef, op: MatchOp, value: string): string => {
    const col = accessColumnOf(field);
    const kind = KINDS.get(col)!;
    if (kind === 'int' || kind === 'bigint' || kind === 'double') {
      if (op === 'prefix') return leaf(pg ? `${col}::text LIKE ${param(`${value}%`)}` : `starts_with(CAST(${col} AS VARCHAR), ${param(value)})`);
      if (op === 'regex') return leaf(pg ? `${col}::text ~ ${param(value)}` : `regexp_matches(CAST(${col} AS VARCHAR), ${param(value)})`);
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) {
        throw new LhError('LH_ERR_QUERY_SYNTAX', `${col} holds numbers; expected a number, found ${JSON.stringify(value)}`, { field: col });
      }
      return leaf(`${col} ${op === 'eq' ? '=' : COMPARE[op]} ${param(n)}`);
    }
    if (kind === 'timestamp') {
      if (op === 'prefix' || op === 'regex') throw new LhError('LH_ERR_QUERY_SYNTAX', `${col} is a time; use = or a comparison`, { field: col });
      const us = parseTimestamp(value);
      if (us === null) throw new LhError('LH_ERR_BAD_TIME', `${col}: ${JSON.stringify(value)} is not a timestamp`);
      const p = param(us);
      // PostgreSQL's access table keeps ts as integer µs, as its logs table does.
      const t = pg ? (col === 'ts' ? `${p}::bigint` : `(timestamp 'epoch' + ${p}::bigint * interval '1 microsecond')`) : `make_timestamp(CAST(${p} AS BIGINT))`;
      return leaf(`${col} ${op === 'eq' ? '=' : COMPARE[op]} ${t}`);
    }
    switch (op) {
      case 'eq':
        return leaf(`${col} = ${param(value)}`);
      case 'prefix':
        return leaf(pg ? `${col} LIKE ${param(`${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}` : `starts_with(${col}, ${param(value)})`);
      case 'regex':
        return leaf(pg ? `${col} ~ ${param(value)}` : `regexp_matches(${col}, ${param(value)})`);
      default:
        return leaf(`${pg ? `${col} COLLATE "C"` : col} ${COMPARE[op]} ${param(value)}`);
    }
  };

  const compile = (n: QueryNode): string => {
    switch (n.kind) {
      case 'and':
      case 'or':
        if (n.children.length === 0) return n.kind === 'and' ? '(true)' : '(false)';
        return `(${n.children.map(compile).join(n.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not': {
        negations++;
        const inner = compile(n.child);
        negations--;
        return `(NOT ${inner})`;
      }
      case 'text': {
        const p = param(n.value);
        return leaf(pg ? `strpos(lower(request), lower(${p})) > 0` : `contains(lower(request), lower(${p}))`);
      }
      case 'match':
        return match(n.field, n.op, n.value);
    }
  };
  return { sql: compile(node), params };
}
