// How GraphQL answers carry loghaven's errors: the LH_ERR_ code and details in extensions, and,
// when nothing could be answered, the HTTP status and Retry-After REST would send.

import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { LhError } from '../../errors.js';
import { codedError, formatErrors } from './coded-errors.js';

/** What the formatter does to a reply: its status comes back in the result, headers land here. */
function replyStub() {
  const headers: Record<string, string> = {};
  return { headers, reply: { header: (k: string, v: string) => (headers[k] = v), log: { error: () => undefined } } };
}

function located(e: unknown, path: string[]): GraphQLError {
  return new GraphQLError(e instanceof Error ? e.message : String(e), { path, originalError: e instanceof Error ? e : undefined });
}

describe('formatErrors', () => {
  it('answers a busy engine with 503 and Retry-After when there is no data, keeping the code and details', () => {
    const { headers, reply } = replyStub();
    const busy = codedError(new LhError('LH_ERR_BUSY', '2 running', { retry_after_s: 5 }));
    const out = formatErrors({ data: null, errors: [located(busy, ['logs'])] }, { reply: reply as never });
    expect(out.statusCode).toBe(503);
    expect(headers['retry-after']).toBe('5');
    expect(out.response.errors![0]).toMatchObject({ path: ['logs'], extensions: { code: 'LH_ERR_BUSY', retry_after_s: 5 } });
  });

  it('keeps 200 when some data was answered, and codes an error thrown by anything as LH_ERR_INTERNAL', () => {
    const { headers, reply } = replyStub();
    const timeout = codedError(new LhError('LH_ERR_QUERY_TIMEOUT'));
    const out = formatErrors({ data: { a: 1 }, errors: [located(timeout, ['b']), located(new TypeError('oops'), ['c'])] }, { reply: reply as never });
    expect(out.statusCode).toBe(200);
    expect(headers['retry-after']).toBeUndefined();
    expect(out.response.errors!.map((e) => e.extensions!.code)).toEqual(['LH_ERR_QUERY_TIMEOUT', 'LH_ERR_INTERNAL']);
  });

  it('answers 429 with Retry-After for a full ingest queue, and 504 for a query timeout', () => {
    const a = replyStub();
    expect(formatErrors({ data: null, errors: [located(codedError(new LhError('LH_ERR_OVERLOADED')), ['ingest'])] }, { reply: a.reply as never }).statusCode).toBe(429);
    expect(a.headers['retry-after']).toBe('1');
    const b = replyStub();
    expect(formatErrors({ data: null, errors: [located(codedError(new LhError('LH_ERR_QUERY_TIMEOUT')), ['logs'])] }, { reply: b.reply as never }).statusCode).toBe(504);
  });

  it("unwraps mercurius' validation errors and codes them LH_ERR_GRAPHQL_INVALID with its status", () => {
    const wrapper = Object.assign(new Error('Graphql validation error'), { statusCode: 400, errors: [new GraphQLError('Cannot query field "x" on type "Query".')] });
    const out = formatErrors({ errors: [new GraphQLError(wrapper.message, { originalError: wrapper })] }, {});
    expect(out.statusCode).toBe(400);
    expect(out.response.errors).toEqual([expect.objectContaining({ message: 'Cannot query field "x" on type "Query".', extensions: { code: 'LH_ERR_GRAPHQL_INVALID' } })]);
  });
});
