import { describe, expect, it } from 'vitest';
import { decodeRow, rowsOf } from '../store/row-format.js';
import type { LogRecord } from '../model/record.js';
import { BufferPool } from './buffer-pool.js';
import { Router, globRegExp, ruleProblems, sourcePath } from './routing.js';

function rec(over: Partial<LogRecord>): LogRecord {
  return { ts: 1n, receivedAt: 1n, tenant: 'default', level: 'info', severity: 9, service: null, host: null, category: null, source: null, message: 'm', traceId: null, spanId: null, attrs: '{}', ...over };
}

const RULES = [
  { source: 'src/payments/**', category: 'payments' },
  { service: 'auth-*', category: 'auth' },
  { service: 'api', level: 'error', category: 'api-errors' },
  { host: 'web?', tenant: 'acme', category: 'acme-web' },
];

describe('globs', () => {
  it('reads * within a path segment, ** across them, ? as one character, classes and escapes', () => {
    expect(globRegExp('src/*.ts').test('src/a.ts')).toBe(true);
    expect(globRegExp('src/*.ts').test('src/a/b.ts')).toBe(false);
    expect(globRegExp('src/**').test('src/a/b.ts')).toBe(true);
    expect(globRegExp('src/**/b.ts').test('src/b.ts')).toBe(true);
    expect(globRegExp('src/**/b.ts').test('src/x/y/b.ts')).toBe(true);
    expect(globRegExp('web?').test('web1')).toBe(true);
    expect(globRegExp('web?').test('web12')).toBe(false);
    expect(globRegExp('[ab]x').test('bx')).toBe(true);
    expect(globRegExp('[!ab]x').test('bx')).toBe(false);
    expect(globRegExp('a\\*').test('a*')).toBe(true);
    expect(globRegExp('a.b(c)').test('a.b(c)')).toBe(true);
    expect(globRegExp('a.b').test('axb')).toBe(false);
  });

  it('takes the path of a source location', () => {
    expect(sourcePath('src/payments/charge.ts:42:7 chargeCard')).toBe('src/payments/charge.ts');
    expect(sourcePath('src/a.ts:3')).toBe('src/a.ts');
    expect(sourcePath('C:\\app\\a.ts:3:1')).toBe('C:\\app\\a.ts');
    expect(sourcePath('alb')).toBe('alb');
  });

  it('names what is wrong with a rule', () => {
    expect(ruleProblems([{ category: 'x' }])).toEqual(['routing.rules[0]: a rule needs at least one of source, service, host, tenant, level to match']);
    expect(ruleProblems([{ category: '', service: 'a' }])).toEqual(['routing.rules[0]: category must be a non-empty string']);
    expect(ruleProblems([{ category: 'x', service: 'a[b' }])[0]).toMatch(/routing\.rules\[0\]\.service: "a\[b" is not a valid glob/);
    expect(() => new Router([{ category: 'x' }])).toThrow(/at least one/);
  });
});

describe('Router', () => {
  const router = new Router(RULES);
  const pool = new BufferPool();
  const route = (records: LogRecord[], r = router) =>
    r
      .route(rowsOf(records), pool)
      .bytes.toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => decodeRow(l).category);

  it('gives the first matching rule, else general, to records without a category, and keeps the others', () => {
    expect(
      route([
        rec({ source: 'src/payments/charge.ts:42:7 chargeCard', service: 'auth-api' }),
        rec({ service: 'auth-api' }),
        rec({ service: 'api', level: 'error' }),
        rec({ service: 'api', level: 'warn' }),
        rec({ host: 'web1', tenant: 'acme' }),
        rec({ host: 'web1', tenant: 'other' }),
        rec({ service: 'auth-api', category: 'mine' }),
        rec({}),
      ]),
    ).toEqual(['payments', 'auth', 'api-errors', 'general', 'acme-web', 'general', 'mine', 'general']);
  });

  it('reads escaped values as they were logged, and writes categories that need escapes', () => {
    const r = new Router([{ service: 'a"b*', category: 'tab\there' }]);
    expect(route([rec({ service: 'a"b\\c' }), rec({ service: 'x' })], r)).toEqual(['tab\there', 'general']);
    expect(route([rec({})], new Router())).toEqual(['general']);
  });

  it('leaves a batch whose rows all have categories as it is', () => {
    const batch = rowsOf([rec({ category: 'a' }), rec({ category: 'b' })]);
    expect(router.route(batch, pool)).toBe(batch);
  });

  it('keeps every other column and the row count', () => {
    const records = [rec({ service: 'auth-x', message: 'hello\tworld', attrs: '{"a":1}' }), rec({ category: 'k', message: 'second' })];
    const routed = router.route(rowsOf(records), pool);
    expect(routed.count).toBe(2);
    const rows = routed.bytes.toString('utf8').split('\n').filter(Boolean).map(decodeRow);
    expect(rows[0]).toEqual({ ...records[0], category: 'auth' });
    expect(rows[1]).toEqual(records[1]);
  });
});
