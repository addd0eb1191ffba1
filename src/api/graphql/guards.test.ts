// The depth and cost rules against the real schema: what they count (fragments inline, aliases
// again, a variable limit as the largest allowed), what they let through, and their coded errors.

import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate, type GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, READ_COST, costLimitRule, depthLimitRule, type CostModel } from './guards.js';
import { maxCostFor } from './plugin.js';
import { typeDefs } from './schema.js';

const schema = buildSchema(typeDefs);
const model: CostModel = {
  reads: {
    logs: { arg: 'limit', fallback: 100, max: 10_000 },
    histogram: null,
    top: { arg: 'limit', fallback: 10, max: 1000 },
    status: null,
    ingest: null,
    tail: { arg: 'backfill', fallback: 0, max: 10_000 },
  },
  maxCost: maxCostFor(10_000),
};

function check(query: string, rules = [depthLimitRule(MAX_DEPTH), costLimitRule(model)]): readonly GraphQLError[] {
  return validate(schema, parse(query), [...specifiedRules, ...rules]);
}

/** The cost the rule computes, read from its error under a limit of 0. */
function costOf(query: string): number {
  const errors = validate(schema, parse(query), [costLimitRule({ ...model, maxCost: 0 })]);
  return errors[0]!.extensions.cost as number;
}

describe('cost', () => {
  it('counts 1 per field, READ_COST per read and the rows a limit may return', () => {
    expect(costOf('{ status { ready } }')).toBe(2 + READ_COST);
    expect(costOf('{ logs { pageInfo { hasNextPage } } }')).toBe(3 + READ_COST + 100);
    expect(costOf('{ logs(limit: 7) { pageInfo { hasNextPage } } }')).toBe(3 + READ_COST + 7);
    expect(costOf('{ top(field: "host") { field } }')).toBe(2 + READ_COST + 10);
    expect(costOf('{ histogram { stepMs } }')).toBe(2 + READ_COST);
  });

  it('counts an alias again, a fragment where it is spread, and a variable as the largest value', () => {
    const one = costOf('{ logs(limit: 5) { pageInfo { hasNextPage } } }');
    expect(costOf('{ a: logs(limit: 5) { pageInfo { hasNextPage } } b: logs(limit: 5) { pageInfo { hasNextPage } } }')).toBe(2 * one);
    expect(costOf('query { ...Q ...Q } fragment Q on Query { logs(limit: 5) { pageInfo { hasNextPage } } }')).toBe(2 * one);
    expect(costOf('query { ... on Query { logs(limit: 5) { pageInfo { hasNextPage } } } }')).toBe(one);
    expect(costOf('query ($n: Int = 5) { logs(limit: $n) { pageInfo { hasNextPage } } }')).toBe(3 + READ_COST + 10_000);
    expect(costOf('subscription ($b: Int) { tail(backfill: $b) { position } }')).toBe(2 + READ_COST + 10_000);
    // A literal over the maximum counts as the maximum: the query service refuses it, naming its own limit.
    expect(costOf('{ logs(limit: 99999999) { pageInfo { hasNextPage } } }')).toBe(3 + READ_COST + 10_000);
  });

  it('refuses past the limit with LH_ERR_GRAPHQL_COST naming it; two full pages pass', () => {
    const page = (alias: string) => `${alias}: logs(limit: 10000) { edges { node { ts message attrs } } }`;
    expect(check(`{ ${page('a')} ${page('b')} }`)).toEqual([]);
    const errors = check(`{ ${page('a')} ${page('b')} ${page('c')} }`);
    expect(errors.length).toBe(1);
    expect(errors[0]!.extensions).toMatchObject({ code: 'LH_ERR_GRAPHQL_COST', limit: 30_000 });
    expect(errors[0]!.message).toMatch(/more than the limit of 30000/);
  });

  it('gives a fragment cycle no cost (the standard rules refuse it)', () => {
    const errors = check('query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }');
    expect(errors.map((e) => e.extensions.code ?? 'standard')).not.toContain('LH_ERR_GRAPHQL_COST');
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('depth', () => {
  it('lets the standard introspection query through, at exactly the limit', () => {
    expect(check(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }))).toEqual([]);
  });

  it('refuses deeper operations with LH_ERR_GRAPHQL_DEPTH, counting fragments inline', () => {
    const deep = `{ __schema { types { fields { type { ...T } } } } } fragment T on __Type { ${'ofType { '.repeat(11)}name${' }'.repeat(11)} }`;
    const errors = check(deep);
    expect(errors.map((e) => e.extensions.code)).toEqual(['LH_ERR_GRAPHQL_DEPTH']);
    expect(errors[0]!.extensions).toMatchObject({ depth: 16, limit: MAX_DEPTH });
    expect(check('{ logs { edges { node { attrs } } } }', [depthLimitRule(3)])[0]!.extensions).toMatchObject({ code: 'LH_ERR_GRAPHQL_DEPTH', depth: 4, limit: 3 });
  });
});
