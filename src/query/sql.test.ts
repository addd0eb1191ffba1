// The compiled fragments are run, not just compared as strings: against a real in-memory DuckDB,
// and against the real PostgreSQL at 127.0.0.1:5432 through psql (the `pg` package is not a
// dependency yet; the PostgreSQL store suite will execute them through it). Both backends get the
// same rows and the same queries and must return the same matches.

import { spawnSync } from 'node:child_process';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LhError } from '../errors.js';
import { formatMicros } from '../model/record.js';
import { parseTimestamp } from '../model/timestamp.js';
import type { QueryNode } from './ast.js';
import { parseQuery } from './parser.js';
import { compileWhere, fieldSql, type SqlDialect } from './sql.js';

interface Row {
  seq: number;
  ts: string;
  level: string;
  severity: number;
  service: string | null;
  host: string | null;
  category: string | null;
  source: string | null;
  message: string | null;
  trace_id: string | null;
  attrs: Record<string, unknown>;
}

const ROWS: Row[] = [
  { seq: 1, ts: '2024-05-01T10:00:00Z', level: 'info', severity: 9, service: 'api', host: 'web1', category: 'http', source: 'app.ts:12', message: 'GET /users 200 OK', trace_id: 'abc123', attrs: { http: { status: 200, method: 'GET' }, user: 'alice' } },
  { seq: 2, ts: '2024-05-01T10:05:00.123456Z', level: 'warn', severity: 13, service: 'api', host: 'web2', category: 'http', source: null, message: 'slow query took 1500ms', trace_id: 'abc123', attrs: { http: { status: 200 }, duration_ms: 1500, user: 'bob' } },
  { seq: 3, ts: '2024-05-01T11:00:00Z', level: 'error', severity: 17, service: 'worker', host: 'web1', category: 'db', source: null, message: 'Connection refused: db:5432', trace_id: null, attrs: { http: { status: 503 }, error: { kind: 'ECONNREFUSED' }, user: 'Alice' } },
  { seq: 4, ts: '2024-05-02T00:00:00Z', level: 'fatal', severity: 21, service: 'worker', host: null, category: null, source: null, message: 'out of memory 100%_used', trace_id: null, attrs: { http: { status: 'n/a' }, path: 'C:\\temp\\x' } },
  { seq: 5, ts: '2024-04-30T23:59:59.999999Z', level: 'debug', severity: 5, service: null, host: 'web3', category: null, source: null, message: null, trace_id: null, attrs: {} },
  { seq: 6, ts: '2024-05-01T12:00:00Z', level: 'trace', severity: 1, service: 'api-gateway', host: 'web1', category: null, source: null, message: 'say "hi" to a/b', trace_id: null, attrs: { 'a-b@c': { d: 1 }, note: null } },
];
const ALL = ROWS.map((r) => r.seq);
const tsOf = (r: Row): bigint => parseTimestamp(r.ts)!;
/** received_at is one second after ts, so the two columns can be told apart. */
const receivedOf = (r: Row): bigint => tsOf(r) + 1_000_000n;

/** Query → the seqs it must match, on either backend. */
const CASES: Array<[string, number[]]> = [
  // free text: words of the message or of the attrs JSON text, case-insensitive, whatever separates them
  ['refused', [3]],
  ['REFUSED', [3]],
  ['"connection refused"', [3]],
  ['alice', [1, 3]],
  ['users', [1]],
  ['temp', [4]],
  ['%_used', [4]],
  ['1_0', []],
  ['"say \\"hi\\""', [6]],
  ['-refused', [1, 2, 4, 5, 6]],
  ['refuse', []],
  ['refus*', [3]],
  ['"connection refus"*', [3]],
  ['"refused db"', [3]],
  ['"refused 5432"', []],
  ['econnrefused', [3]],
  ['econn*', [3]],
  ['"user alice"', [1, 3]],
  ['us*', [1, 2, 3]],
  ['a/b', [6]],
  ['ok', [1]],
  ['o', []],
  ['%', [4]],
  ['"%"', [4]],
  // boolean structure
  ['get OR slow', [1, 2]],
  ['host:web2 OR level:error service:worker', [2, 3]],
  ['(host:web2 OR level:error) service:worker', [3]],
  ['NOT (level:error OR level:fatal) host:web1', [1, 6]],
  // NULL fields: no match, also inside OR and under NOT
  ['service:api OR host:web3', [1, 2, 5]],
  ['-(service:api OR host:web3)', [3, 4, 6]],
  ['-(service:worker host:web1)', [1, 2, 4, 5, 6]],
  // string columns; a NULL field matches the negation
  ['host:web1', [1, 3, 6]],
  ['host:Web1', []],
  ['-host:web1', [2, 4, 5]],
  ['NOT host:web1', [2, 4, 5]],
  ['-service:api', [3, 4, 5, 6]],
  ['host:web*', [1, 2, 3, 5, 6]],
  ['service:api*', [1, 2, 6]],
  ['host:*', [1, 2, 3, 5, 6]],
  ['-host:*', [4]],
  ['host:>web1', [2, 5]],
  ['host:<=web1', [1, 3, 6]],
  ['category:db OR trace_id:abc123', [1, 2, 3]],
  ['source:app.ts:12', [1]],
  ['span_id:*', []],
  ['message:/refused: db:\\d+/', [3]],
  ['message:/^get/i', [1]],
  ['message:/a\\/b/', [6]],
  ['-message:/x/', ALL],
  ['message:"out of memory 100%_"*', [4]],
  ['message:out\\ of\\ memory\\ 1_0*', []],
  // level by severity order
  ['level:warning', [2]],
  ['level:>=warn', [2, 3, 4]],
  ['level:<info', [5, 6]],
  ['level:<=trace', [6]],
  ['level:>fatal', []],
  ['-level:>=warn', [1, 5, 6]],
  ['severity:>=17', [3, 4]],
  ['severity:9', [1]],
  // times, to the microsecond
  ['ts:>=2024-05-01T10:05:00.123456Z', [2, 3, 4, 6]],
  ['ts:>2024-05-01T10:05:00.123456Z', [3, 4, 6]],
  ['ts:<2024-05-01', [5]],
  ['ts:2024-05-01T12:05:00.123456+02:00', [2]],
  ['ts:1714557900123456', [2]],
  ['received_at:<=2024-05-01T00:00:00.999999Z', [5]],
  // attrs: numbers compare numerically, anything else as text
  ['attrs.http.status:>=500', [3]],
  ['attrs.http.status:200', [1, 2]],
  ['attrs.http.status:<300', [1, 2]],
  ['-attrs.http.status:>=500', [1, 2, 4, 5, 6]],
  ['attrs.http.status:>=n', [4]],
  ['http.status:503', [3]],
  ['duration_ms:>1000', [2]],
  ['duration_ms:>1e3', [2]],
  ['duration_ms:>-1', [2]],
  ['user:alice', [1]],
  ['user:Alice', [3]],
  ['user:/^alice$/i', [1, 3]],
  ['attrs.error.kind:ECONN*', [3]],
  ['attrs.a-b@c.d:1', [6]],
  ['attrs.path:"C:\\\\temp\\\\x"', [4]],
  ['attrs.http:*', [1, 2, 3, 4]],
  ['note:*', []],
];

const DDL_COLUMNS = (ts: string, json: string) =>
  `seq BIGINT, ts ${ts}, received_at ${ts}, tenant VARCHAR, level VARCHAR, severity SMALLINT, service VARCHAR,
   host VARCHAR, category VARCHAR, source VARCHAR, message VARCHAR, trace_id VARCHAR, span_id VARCHAR, attrs ${json}`;

/** Every case is compiled after two parameters of its own, to prove the numbering offset works. */
function selectSql(fragment: string): string {
  return `SELECT string_agg(CAST(seq AS VARCHAR), ',' ORDER BY seq) FROM logs WHERE tenant = $1 AND seq > $2 AND ${fragment}`;
}

function seqs(csv: string | null): number[] {
  return csv ? csv.split(',').map(Number) : [];
}

function compile(q: string, dialect: SqlDialect, firstParam = 3) {
  return compileWhere(parseQuery(q)!, dialect, firstParam);
}

describe('compileWhere on DuckDB', () => {
  let conn: DuckDBConnection;

  beforeAll(async () => {
    conn = await (await DuckDBInstance.create(':memory:')).connect();
    await conn.run(`CREATE TABLE logs (${DDL_COLUMNS('TIMESTAMP', 'JSON')})`);
    for (const r of ROWS) {
      const values: DuckDBValue[] = [
        r.seq, tsOf(r), receivedOf(r), 'default', r.level, r.severity, r.service, r.host, r.category, r.source,
        r.message, r.trace_id, null, JSON.stringify(r.attrs),
      ];
      await conn.run(
        `INSERT INTO logs VALUES ($1, make_timestamp(CAST($2 AS BIGINT)), make_timestamp(CAST($3 AS BIGINT)),
          $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        values,
      );
    }
  });

  afterAll(() => conn?.closeSync());

  async function run(sql: string, params: unknown[]): Promise<number[]> {
    const reader = await conn.runAndReadAll(sql, params as DuckDBValue[]);
    return seqs(reader.getRows()[0]![0] as string | null);
  }

  for (const [q, expected] of CASES) {
    it(`${q} → [${expected.join(', ')}]`, async () => {
      const c = compile(q, 'duckdb');
      expect(await run(selectSql(c.sql), ['default', 0, ...c.params])).toEqual(expected);
    });
  }

  it('matches everything for an empty AND and nothing for an empty OR', async () => {
    const and = compileWhere({ kind: 'and', children: [] }, 'duckdb', 3);
    const or = compileWhere({ kind: 'or', children: [] }, 'duckdb', 3);
    expect(await run(selectSql(and.sql), ['default', 0])).toEqual(ALL);
    expect(await run(selectSql(or.sql), ['default', 0])).toEqual([]);
  });

  it('fieldSql yields the text of each kind of field, groupable', async () => {
    const value = async (field: string, seq: number) => {
      const f = fieldSql(field, 'duckdb', 2);
      const reader = await conn.runAndReadAll(`SELECT ${f.sql} FROM logs WHERE seq = $1`, [seq, ...(f.params as DuckDBValue[])]);
      return reader.getRows()[0]![0];
    };
    expect(await value('host', 1)).toBe('web1');
    expect(await value('level', 2)).toBe('warn');
    expect(await value('severity', 3)).toBe('17');
    expect(await value('ts', 2)).toBe(formatMicros(tsOf(ROWS[1]!)));
    expect(await value('received_at', 5)).toBe('2024-05-01T00:00:00.999999Z');
    expect(await value('attrs.http.status', 3)).toBe('503');
    expect(await value('attrs.error.kind', 3)).toBe('ECONNREFUSED');
    expect(await value('attrs.missing', 3)).toBeNull();

    const f = fieldSql('attrs.user', 'duckdb', 1);
    const reader = await conn.runAndReadAll(
      `SELECT ${f.sql} AS v, count(*) AS n FROM logs GROUP BY v ORDER BY n DESC, v NULLS LAST`,
      f.params as DuckDBValue[],
    );
    expect(reader.getRowObjectsJson()).toEqual([
      { v: null, n: '3' },
      { v: 'Alice', n: '1' },
      { v: 'alice', n: '1' },
      { v: 'bob', n: '1' },
    ]);
  });
});

describe('compileWhere: placeholders and parameters', () => {
  it('numbers placeholders from firstParam and reuses the word parameters for both free-text columns', () => {
    const c = compile('Refused host:web1', 'duckdb', 7);
    const words = (col: string) =>
      `CASE WHEN contains(lower(${col}), lower($7)) THEN ` +
      `contains(concat(' ', regexp_replace(lower(${col}), '[^0-9a-z_\\x{80}-\\x{10ffff}]+', ' ', 'g'), ' '), lower($8)) ELSE false END`;
    expect(c.sql).toBe(
      `(((message IS NOT NULL AND ${words('message')}) OR ${words('CAST(attrs AS VARCHAR)')}) AND (host = $9))`,
    );
    expect(c.params).toEqual(['Refused', ' Refused ', 'web1']);
  });

  it('joins the words of a phrase with one space and leaves the last one open for a prefix', () => {
    expect(compile('"Connection  re-set"*', 'duckdb', 1).params).toEqual(['Connection', ' Connection re set']);
  });

  it('binds times as bigint µs and attrs paths as quoted JSONPaths on DuckDB', () => {
    const c = compile('ts:>=2024-05-01 attrs.a-b@c.d:1', 'duckdb', 1);
    expect(c.sql).toBe(
      '((ts >= make_timestamp(CAST($1 AS BIGINT))) AND ' +
        "CASE WHEN contains(CAST(attrs AS VARCHAR), $3) OR contains(CAST(attrs AS VARCHAR), '\\u') THEN (json_extract_string(attrs, $2) = $3) ELSE false END)",
    );
    expect(c.params).toEqual([1714521600000000n, '$."a-b@c"."d"', '1']);
  });

  it('expands level comparisons to the ordered levels', () => {
    expect(compile('level:>warn', 'duckdb', 1)).toEqual({ sql: '(level IN ($1, $2))', params: ['error', 'fatal'] });
    expect(compile('level:>fatal', 'duckdb', 1)).toEqual({ sql: '(false)', params: [] });
  });

  it('rejects hand-built trees the language cannot express', () => {
    const bad: QueryNode[] = [
      { kind: 'match', field: { kind: 'column', name: 'level' }, op: 'prefix', value: 'w' },
      { kind: 'match', field: { kind: 'column', name: 'level' }, op: 'eq', value: 'loud' },
      { kind: 'match', field: { kind: 'column', name: 'severity' }, op: 'eq', value: 'high' },
      { kind: 'match', field: { kind: 'column', name: 'ts' }, op: 'regex', value: 'x' },
    ];
    for (const n of bad) {
      expect(() => compileWhere(n, 'duckdb', 1)).toThrow(expect.objectContaining({ code: 'LH_ERR_QUERY_SYNTAX' }));
    }
    expect(() =>
      compileWhere({ kind: 'match', field: { kind: 'column', name: 'attrs' }, op: 'eq', value: 'x' }, 'postgres', 1),
    ).toThrow(expect.objectContaining({ code: 'LH_ERR_QUERY_FIELD' }));
    expect(() =>
      compileWhere({ kind: 'match', field: { kind: 'column', name: 'ts' }, op: 'eq', value: 'soon' }, 'duckdb', 1),
    ).toThrow(expect.objectContaining({ code: 'LH_ERR_BAD_TIME' }));
  });
});

describe('compileWhere: PostgreSQL SQL', () => {
  it('finds words with strpos and a regex class PostgreSQL reads, and a plain substring without words', () => {
    expect(compile('100%_x', 'postgres', 1).sql).toContain("regexp_replace(lower(message), '[^0-9a-z_\\u0080-\\U0010ffff]+', ' ', 'g')");
    expect(compile('=>', 'postgres', 1)).toEqual({
      sql: '((message IS NOT NULL AND strpos(lower(message), lower($1)) > 0) OR strpos(lower(attrs::text), lower($1)) > 0)',
      params: ['=>'],
    });
  });

  it('uses LIKE for prefixes, ~ for regexes and byte order for string comparisons', () => {
    expect(compile('host:we_b*', 'postgres', 1)).toEqual({ sql: '(host LIKE $1)', params: ['we\\_b%'] });
    expect(compile('host:/^w/i', 'postgres', 1)).toEqual({ sql: '(host ~ $1)', params: ['(?i)^w'] });
    expect(compile('host:>m', 'postgres', 1)).toEqual({ sql: '(host COLLATE "C" > $1)', params: ['m'] });
  });

  it('builds timestamps exactly from bigint µs', () => {
    expect(compile('received_at:<2024-05-01', 'postgres', 4)).toEqual({
      sql: '(received_at < $4::bigint)',
      params: [1714521600000000n],
    });
  });

  it('reads attrs with #>> and a text[] path, guarding the numeric cast', () => {
    expect(compile('http.status:>=500', 'postgres', 1)).toEqual({
      sql:
        "((CASE WHEN (attrs #>> $1::text[]) ~ '^-?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$' " +
        'THEN ((attrs #>> $1::text[]))::double precision END) >= $2::double precision)',
      params: [['http', 'status'], 500],
    });
    expect(compile('-user:bob', 'postgres', 1)).toEqual({
      sql: "(NOT CASE WHEN strpos(attrs::text, $2) > 0 OR strpos(attrs::text, '\\u') > 0 THEN coalesce((attrs #>> $1::text[]) = $2, false) ELSE false END)",
      params: [['user'], 'bob'],
    });
    // A value JSON would escape is compared without the substring test.
    expect(compile('user:a/b', 'postgres', 1).sql).toBe('((attrs #>> $1::text[]) = $2)');
  });

  it('fieldSql formats timestamps like the API and reads attrs paths', () => {
    expect(fieldSql('ts', 'postgres')).toEqual({
      sql: `to_char((timestamptz 'epoch' + ts * interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
      params: [],
    });
    expect(fieldSql('severity', 'postgres')).toEqual({ sql: 'severity::text', params: [] });
    expect(fieldSql('attrs.http.status', 'postgres', 3)).toEqual({ sql: '(attrs #>> $3::text[])', params: [['http', 'status']] });
  });
});

describe('fieldSql', () => {
  it('accepts record fields, attrs paths and bare attrs keys, and nothing else', () => {
    expect(fieldSql('service', 'duckdb')).toEqual({ sql: 'service', params: [] });
    expect(fieldSql('user', 'duckdb')).toEqual(fieldSql('attrs.user', 'duckdb'));
    for (const bad of ['attrs', 'attrs.', 'attrs.a..b', 'attrs.a b', '']) {
      let err: unknown;
      try {
        fieldSql(bad, 'duckdb');
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(LhError);
      expect((err as LhError).code).toBe('LH_ERR_QUERY_FIELD');
      expect((err as LhError).details).toMatchObject({ field: bad, allowed: expect.arrayContaining(['host', 'attrs.<path>']) });
    }
  });
});

// ---- PostgreSQL, through psql -------------------------------------------------------------------

const PSQL = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'test'];
const PG_ENV = { ...process.env, PGCONNECT_TIMEOUT: '3' };

function psql(script: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync('psql', [...PSQL, '-f', '-'], { input: script, env: PG_ENV, encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: r.stderr ?? String(r.error ?? '') };
}

const pgReachable = psql('SELECT 1;').ok;

/** A parameter as a SQL literal, for EXECUTE (standard_conforming_strings: backslashes are literal). */
function literal(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (Array.isArray(v)) return `ARRAY[${v.map(literal).join(', ')}]::text[]`;
  throw new Error(`no literal for ${typeof v}`);
}

describe.skipIf(!pgReachable)('compileWhere on PostgreSQL (psql, PREPARE/EXECUTE with untyped parameters)', () => {
  // One psql session runs every case: a temporary `logs` table shadows any real one and vanishes
  // with the session, so concurrent suites on the same database are unaffected. PREPARE leaves the
  // parameter types to the server, as the pg driver does.
  const results = new Map<number, number[]>();
  let failure = '';

  beforeAll(() => {
    // As the PostgreSQL store lays them out: timestamps in integer µs, attrs as json text.
    const ts = (us: bigint) => `${us}`;
    const lines = [`CREATE TEMP TABLE logs (${DDL_COLUMNS('bigint', 'json')});`];
    for (const r of ROWS) {
      const vals = [r.seq, 'default', r.level, r.severity, r.service, r.host, r.category, r.source, r.message, r.trace_id, null];
      lines.push(
        `INSERT INTO logs VALUES (${r.seq}, ${ts(tsOf(r))}, ${ts(receivedOf(r))}, ${vals.slice(1).map(literal).join(', ')}, ${literal(JSON.stringify(r.attrs))}::json);`,
      );
    }
    CASES.forEach(([q], i) => {
      const c = compile(q, 'postgres');
      const params = ['default', 0, ...c.params];
      const sql = selectSql(c.sql).replace('SELECT string_agg', `SELECT '${i}:' || coalesce(string_agg`).replace(' FROM logs', ", '') FROM logs");
      lines.push(`PREPARE q${i} AS ${sql};`, `EXECUTE q${i}(${params.map(literal).join(', ')});`);
    });
    const r = psql(lines.join('\n'));
    if (!r.ok) failure = r.err;
    for (const line of r.out.split('\n')) {
      const m = /^(\d+):(.*)$/.exec(line);
      if (m) results.set(Number(m[1]), seqs(m[2]!));
    }
  });

  it('runs every case without an error', () => {
    expect(failure).toBe('');
    expect(results.size).toBe(CASES.length);
  });

  CASES.forEach(([q, expected], i) => {
    it(`${q} → [${expected.join(', ')}]`, () => {
      expect(results.get(i)).toEqual(expected);
    });
  });

  it('fieldSql runs and formats like formatMicros', () => {
    const ts = fieldSql('ts', 'postgres');
    const attr = fieldSql('attrs.a.b', 'postgres', 1);
    const r = psql(
      `SELECT ${ts.sql} FROM (SELECT 1714557900123456::bigint AS ts) t;\n` +
        `PREPARE f AS SELECT ${attr.sql} FROM (SELECT '{"a":{"b":7}}'::json AS attrs) t; EXECUTE f(${literal(attr.params[0])});`,
    );
    expect(r.err).toBe('');
    expect(r.out.trim().split('\n')).toEqual([formatMicros(1714557900123456n), '7']);
  });
});
