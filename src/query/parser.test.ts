import { describe, expect, it } from 'vitest';
import { LhError } from '../errors.js';
import type { QueryNode } from './ast.js';
import { MAX_QUERY_DEPTH, MAX_QUERY_LENGTH, parseQuery } from './parser.js';

const t = (value: string, phrase = false, prefix = false): QueryNode => ({ kind: 'text', value, phrase, prefix });
const not = (child: QueryNode): QueryNode => ({ kind: 'not', child });
const and = (...children: QueryNode[]): QueryNode => ({ kind: 'and', children });
const or = (...children: QueryNode[]): QueryNode => ({ kind: 'or', children });
const col = (name: string, op: string, value: string): QueryNode =>
  ({ kind: 'match', field: { kind: 'column', name }, op, value }) as QueryNode;
const attr = (path: string[], op: string, value: string): QueryNode =>
  ({ kind: 'match', field: { kind: 'attr', path }, op, value }) as QueryNode;

/** The LhError a query raises, for asserting its code, position and wording. */
function errorOf(q: string): LhError {
  try {
    parseQuery(q);
  } catch (e) {
    expect(e).toBeInstanceOf(LhError);
    return e as LhError;
  }
  throw new Error(`expected ${JSON.stringify(q)} to be rejected`);
}

describe('parseQuery: structure and precedence', () => {
  it('returns undefined for an empty or blank query', () => {
    expect(parseQuery('')).toBeUndefined();
    expect(parseQuery('  \t\n ')).toBeUndefined();
  });

  it('reads a single term, and ANDs adjacent terms', () => {
    expect(parseQuery('error')).toEqual(t('error'));
    expect(parseQuery('a b  c')).toEqual(and(t('a'), t('b'), t('c')));
    expect(parseQuery('a AND b')).toEqual(and(t('a'), t('b')));
  });

  it('binds AND tighter than OR, explicit or implicit', () => {
    expect(parseQuery('a b OR c')).toEqual(or(and(t('a'), t('b')), t('c')));
    expect(parseQuery('a OR b c')).toEqual(or(t('a'), and(t('b'), t('c'))));
    expect(parseQuery('a AND b OR c AND d')).toEqual(or(and(t('a'), t('b')), and(t('c'), t('d'))));
    expect(parseQuery('a OR b OR c')).toEqual(or(t('a'), t('b'), t('c')));
  });

  it('lets parentheses override precedence and flattens redundant groups', () => {
    expect(parseQuery('(a OR b) c')).toEqual(and(or(t('a'), t('b')), t('c')));
    expect(parseQuery('a (b c)')).toEqual(and(t('a'), t('b'), t('c')));
    expect(parseQuery('((a))')).toEqual(t('a'));
    expect(parseQuery('(a)(b)')).toEqual(and(t('a'), t('b')));
  });

  it('negates with NOT and -, binding tighter than AND', () => {
    expect(parseQuery('NOT a b')).toEqual(and(not(t('a')), t('b')));
    expect(parseQuery('-a OR b')).toEqual(or(not(t('a')), t('b')));
    expect(parseQuery('a -b')).toEqual(and(t('a'), not(t('b'))));
    expect(parseQuery('a AND NOT b')).toEqual(and(t('a'), not(t('b'))));
    expect(parseQuery('-(a OR b)')).toEqual(not(or(t('a'), t('b'))));
    expect(parseQuery('--a')).toEqual(not(not(t('a'))));
    expect(parseQuery('NOT -a')).toEqual(not(not(t('a'))));
    expect(parseQuery('-host:web1')).toEqual(not(col('host', 'eq', 'web1')));
    expect(parseQuery('-"a b"')).toEqual(not(t('a b', true)));
  });

  it('treats only upper-case AND/OR/NOT as keywords', () => {
    expect(parseQuery('a or b')).toEqual(and(t('a'), t('or'), t('b')));
    expect(parseQuery('"OR"')).toEqual(t('OR', true));
    expect(parseQuery('\\OR')).toEqual(t('OR'));
    expect(parseQuery('constructor toString')).toEqual(and(t('constructor'), t('toString')));
    expect(parseQuery('constructor:x')).toEqual(attr(['constructor'], 'eq', 'x'));
  });

  it('keeps a hyphen inside a word', () => {
    expect(parseQuery('api-gateway')).toEqual(t('api-gateway'));
  });
});

describe('parseQuery: terms, phrases and escapes', () => {
  it('reads quoted phrases with \\" and \\\\ escapes, other backslashes kept', () => {
    expect(parseQuery('"connection refused"')).toEqual(t('connection refused', true));
    expect(parseQuery('"say \\"hi\\" \\\\ bye"')).toEqual(t('say "hi" \\ bye', true));
    expect(parseQuery('"C:\\temp\\new"')).toEqual(t('C:\\temp\\new', true));
    expect(parseQuery('"a (b) OR c"')).toEqual(t('a (b) OR c', true));
  });

  it('escapes any character in a bare word with a backslash', () => {
    expect(parseQuery('foo\\:bar')).toEqual(t('foo:bar'));
    expect(parseQuery('\\-x')).toEqual(t('-x'));
    expect(parseQuery('a\\ b')).toEqual(t('a b'));
    expect(parseQuery('f\\(x\\)')).toEqual(t('f(x)'));
    expect(parseQuery('foo\\*')).toEqual(t('foo*'));
  });

  it('reads a trailing * of a free-text term or phrase as a prefix of its last word', () => {
    expect(parseQuery('time*')).toEqual(t('time', false, true));
    expect(parseQuery('"connection re"*')).toEqual(t('connection re', true, true));
    expect(parseQuery('a*b')).toEqual(t('a*b'));
  });

  it('reads a URL as a term, not as a field named after its scheme', () => {
    expect(parseQuery('https://example.com/a?b=c:d')).toEqual(t('https://example.com/a?b=c:d'));
    // …which also means an empty regex cannot be written: `message://` is a term.
    expect(parseQuery('message://')).toEqual(t('message://'));
  });
});

describe('parseQuery: field matches', () => {
  it('reads every operator', () => {
    expect(parseQuery('host:web1')).toEqual(col('host', 'eq', 'web1'));
    expect(parseQuery('host:"web 1"')).toEqual(col('host', 'eq', 'web 1'));
    expect(parseQuery('host:web*')).toEqual(col('host', 'prefix', 'web'));
    expect(parseQuery('message:"connection re"*')).toEqual(col('message', 'prefix', 'connection re'));
    expect(parseQuery('host:/^web[0-9]+$/')).toEqual(col('host', 'regex', '^web[0-9]+$'));
    expect(parseQuery('host:>m')).toEqual(col('host', 'gt', 'm'));
    expect(parseQuery('host:>=m')).toEqual(col('host', 'gte', 'm'));
    expect(parseQuery('host:<m')).toEqual(col('host', 'lt', 'm'));
    expect(parseQuery('host:<=m')).toEqual(col('host', 'lte', 'm'));
    expect(parseQuery('host:>="a b"')).toEqual(col('host', 'gte', 'a b'));
  });

  it('reads field:* as a prefix of nothing (the field is present)', () => {
    expect(parseQuery('host:*')).toEqual(col('host', 'prefix', ''));
    expect(parseQuery('host:\\*')).toEqual(col('host', 'eq', '*'));
    expect(parseQuery('host:a*b')).toEqual(col('host', 'eq', 'a*b'));
  });

  it('keeps colons inside a value and allows an empty quoted value', () => {
    expect(parseQuery('source:app.ts:12:3')).toEqual(col('source', 'eq', 'app.ts:12:3'));
    expect(parseQuery('host:""')).toEqual(col('host', 'eq', ''));
  });

  it('handles regex escapes: \\/ is a slash, other escapes stay, \\\\/ closes', () => {
    expect(parseQuery('message:/a\\/b/')).toEqual(col('message', 'regex', 'a/b'));
    expect(parseQuery('message:/\\d+\\.\\d/')).toEqual(col('message', 'regex', '\\d+\\.\\d'));
    expect(parseQuery('message:/a\\\\/ b')).toEqual(and(col('message', 'regex', 'a\\\\'), t('b')));
    expect(parseQuery('message:/a b/')).toEqual(col('message', 'regex', 'a b'));
    expect(parseQuery('(message:/x/)')).toEqual(col('message', 'regex', 'x'));
  });

  it('turns the i flag into a leading (?i), which both RE2 and PostgreSQL understand', () => {
    expect(parseQuery('message:/get/i')).toEqual(col('message', 'regex', '(?i)get'));
    expect(parseQuery('message:/(?i)get/')).toEqual(col('message', 'regex', '(?i)get'));
  });

  it('resolves attrs paths of any depth, and unknown names as attrs keys', () => {
    expect(parseQuery('attrs.http.status:500')).toEqual(attr(['http', 'status'], 'eq', '500'));
    expect(parseQuery('attrs.a-b@c.d_e.f:1')).toEqual(attr(['a-b@c', 'd_e', 'f'], 'eq', '1'));
    expect(parseQuery('user:bob')).toEqual(attr(['user'], 'eq', 'bob'));
    expect(parseQuery('http.status:>=500')).toEqual(attr(['http', 'status'], 'gte', '500'));
    expect(parseQuery('Level:warn')).toEqual(attr(['Level'], 'eq', 'warn'));
  });

  it('normalises level spellings and compares levels', () => {
    expect(parseQuery('level:warning')).toEqual(col('level', 'eq', 'warn'));
    expect(parseQuery('level:E')).toEqual(col('level', 'eq', 'error'));
    expect(parseQuery('level:ERR')).toEqual(col('level', 'eq', 'error'));
    expect(parseQuery('level:>=WARNING')).toEqual(col('level', 'gte', 'warn'));
    expect(parseQuery('level:<info')).toEqual(col('level', 'lt', 'info'));
  });

  it('accepts integer severities', () => {
    expect(parseQuery('severity:>=17')).toEqual(col('severity', 'gte', '17'));
    expect(parseQuery('severity:09')).toEqual(col('severity', 'eq', '9'));
  });

  it('normalises times to RFC 3339 UTC with microseconds', () => {
    expect(parseQuery('ts:>2024-05-01')).toEqual(col('ts', 'gt', '2024-05-01T00:00:00.000000Z'));
    expect(parseQuery('ts:2024-05-01T12:00:00.1234567+02:00')).toEqual(col('ts', 'eq', '2024-05-01T10:00:00.123456Z'));
    expect(parseQuery('received_at:<1714557600')).toEqual(col('received_at', 'lt', '2024-05-01T10:00:00.000000Z'));
    expect(parseQuery('ts:>="2024-05-01 10:00:00Z"')).toEqual(col('ts', 'gte', '2024-05-01T10:00:00.000000Z'));
  });
});

describe('parseQuery: errors name the position, what was expected and what was found', () => {
  const cases: Array<[query: string, position: number, expected: string, found: string]> = [
    ['a OR', 5, 'a term after "OR"', 'end of query'],
    ['OR a', 1, 'a term', '"OR"'],
    ['a OR OR b', 6, 'a term after "OR"', '"OR"'],
    ['a AND', 6, 'a term after "AND"', 'end of query'],
    ['a AND AND b', 7, 'a term after "AND"', '"AND"'],
    ['a AND OR b', 7, 'a term after "AND"', '"OR"'],
    ['NOT', 4, 'a term after "NOT"', 'end of query'],
    ['a NOT )', 7, 'a term after "NOT"', '")"'],
    ['foo -', 6, 'a term after "-"', 'end of query'],
    ['a - b', 4, 'a term after "-"', 'whitespace'],
    ['(a', 3, '")" to close the "(" at position 1', 'end of query'],
    ['(a OR (b)', 10, '")" to close the "(" at position 1', 'end of query'],
    ['a)', 2, 'end of query (this ")" closes no "(")', '")"'],
    ['a ()', 4, 'a term after "("', '")"'],
    [')', 1, 'a term', '")"'],
    ['say "hello', 11, `a closing '"' for the quote opened at position 5`, 'end of query'],
    ['host:"web', 10, `a closing '"' for the quote opened at position 6`, 'end of query'],
    ['""', 1, 'a non-empty phrase', '""'],
    ['*', 1, 'a term', '"*"'],
    ['host:', 6, 'a value after "host:"', 'end of query'],
    ['host: web', 6, 'a value after "host:"', 'whitespace'],
    ['host:>= 5', 8, 'a value after "host:>="', 'whitespace'],
    ['(host:)', 7, 'a value after "host:"', '")"'],
    [':x', 1, 'a field name before ":"', '":"'],
    ['message:/abc', 13, '"/" to close the regex opened at position 9', 'end of query'],
    ['message:/a/g', 12, 'whitespace, ")" or the flag "i" after the regex', '"g"'],
    ['foo(bar)', 4, 'whitespace, ")" or end of query after a term', '"("'],
    ['"a"b', 4, 'whitespace, ")" or end of query after a term', '"b"'],
    ['a\\', 3, 'a character after "\\"', 'end of query'],
    ['level:nope', 7, 'a level (trace, debug, info, warn, error, fatal, or a spelling such as WARNING, err, E)', '"nope"'],
    ['x level:>=loud', 11, 'a level (trace, debug, info, warn, error, fatal, or a spelling such as WARNING, err, E)', '"loud"'],
    ['severity:high', 10, 'an integer severity (1–24)', '"high"'],
    ['ts:yesterday', 4, 'a time (RFC 3339 such as 2024-05-01T12:00:00Z, or Unix s/ms/µs/ns)', '"yesterday"'],
    ['ts:2024-02-30', 4, 'a time (RFC 3339 such as 2024-05-01T12:00:00Z, or Unix s/ms/µs/ns)', '"2024-02-30"'],
  ];
  for (const [query, position, expected, found] of cases) {
    it(`${query} → position ${position}`, () => {
      const e = errorOf(query);
      expect(e.code).toBe('LH_ERR_QUERY_SYNTAX');
      expect(e.details).toEqual({ position, expected, found });
      expect(e.message).toBe(`query syntax error: at position ${position}: expected ${expected}, found ${found}`);
    });
  }

  it('rejects patterns on level, severity and time fields', () => {
    expect(errorOf('level:w*').details).toMatchObject({ position: 7, found: 'a prefix' });
    expect(errorOf('severity:/1/').details).toMatchObject({ position: 10, found: 'a regex' });
    expect(errorOf('ts:2024*').details).toMatchObject({ position: 4, found: 'a prefix' });
  });

  it('rejects invalid regexes and those only one backend could run', () => {
    const bad = errorOf('message:/a(b/');
    expect(bad.details).toMatchObject({ position: 9, found: '"/a(b/"' });
    expect(String(bad.details?.expected)).toMatch(/^a valid regular expression \(/);
    expect(errorOf('message:/(?=a)b/').details?.expected).toBe('a regex without lookaround or named groups');
    expect(errorOf('message:/(?<!a)b/').details?.expected).toBe('a regex without lookaround or named groups');
    expect(errorOf('message:/(a)\\1/').details?.expected).toBe('a regex without backreferences');
    // Inside a character class these are ordinary characters.
    expect(parseQuery('message:/[(?=]/')).toEqual(col('message', 'regex', '[(?=]'));
  });

  it('reports bad field names as LH_ERR_QUERY_FIELD with the allowed fields', () => {
    for (const [q, field] of [
      ['attrs:x', 'attrs'],
      ['attrs.:x', 'attrs.'],
      ['attrs.a..b:x', 'attrs.a..b'],
      ['a$b:x', 'a$b'],
    ] as const) {
      const e = errorOf(`y ${q}`);
      expect(e.code).toBe('LH_ERR_QUERY_FIELD');
      expect(e.details).toMatchObject({ position: 3, field, found: field });
      expect(e.details?.allowed).toContain('attrs.<path>');
      expect(e.details?.allowed).toContain('service');
      expect(e.message).toContain('at position 3');
    }
  });

  it('reports the first mistake in reading order', () => {
    expect(errorOf('a) "unterminated').details?.position).toBe(2);
  });
});

describe('parseQuery: limits', () => {
  it(`accepts ${MAX_QUERY_LENGTH} characters and rejects one more`, () => {
    expect(parseQuery('a'.repeat(MAX_QUERY_LENGTH))).toEqual(t('a'.repeat(MAX_QUERY_LENGTH)));
    const e = errorOf('a'.repeat(MAX_QUERY_LENGTH + 1));
    expect(e.code).toBe('LH_ERR_QUERY_SYNTAX');
    expect(e.details).toEqual({
      position: MAX_QUERY_LENGTH + 1,
      expected: `a query of at most ${MAX_QUERY_LENGTH} characters`,
      found: `${MAX_QUERY_LENGTH + 1} characters`,
    });
  });

  it(`accepts ${MAX_QUERY_DEPTH} levels of nesting and rejects one more`, () => {
    const nested = (n: number) => `${'('.repeat(n)}a${')'.repeat(n)}`;
    expect(parseQuery(nested(MAX_QUERY_DEPTH))).toEqual(t('a'));
    const e = errorOf(nested(MAX_QUERY_DEPTH + 1));
    expect(e.details).toEqual({
      position: MAX_QUERY_DEPTH + 1,
      expected: `at most ${MAX_QUERY_DEPTH} nested parentheses and negations`,
      found: 'deeper nesting',
    });
    expect(errorOf(`${'NOT '.repeat(MAX_QUERY_DEPTH + 1)}a`).code).toBe('LH_ERR_QUERY_SYNTAX');
    expect(errorOf(`${'-('.repeat(40)}a${')'.repeat(40)}`).details?.found).toBe('deeper nesting');
  });

  it('counts depth along one branch, not across siblings', () => {
    const siblings = Array.from({ length: 200 }, (_, i) => `(NOT x${i})`).join(' ');
    expect(() => parseQuery(siblings)).not.toThrow();
  });
});
