// GraphQL errors carry loghaven's error codes: every error of an answer has `extensions.code`
// (an LH_ERR_ code) plus the error's details (`position` of a query syntax error, `limit` of a
// guard, `retry_after_s` of a busy engine). When an operation produced no data at all, the HTTP
// status and Retry-After are those REST would send for the same error, so a 503 for a busy
// engine or a 504 for a timed-out query keeps its meaning for clients and proxies.

import { GraphQLError, type ExecutionResult } from 'graphql';
import type { FastifyBaseLogger, FastifyError, FastifyReply } from 'fastify';
import { ERRORS, LhError, type ErrorCode } from '../../errors.js';
import { retryAfterOf, toLhError } from '../http/error-handler.js';

/** `e` as a GraphQL error with its LH_ERR_ code and details in `extensions` (to throw from resolvers). */
export function codedError(e: unknown): GraphQLError {
  if (e instanceof GraphQLError && typeof e.extensions.code === 'string') return e;
  const lh = e instanceof LhError ? e : toLhError(e as FastifyError);
  return new GraphQLError(lh.message, { originalError: lh, extensions: { code: lh.code, ...lh.details } });
}

interface FormatterContext {
  reply?: FastifyReply;
  app?: { log: FastifyBaseLogger };
}

interface Formatted {
  statusCode: number;
  response: ExecutionResult;
}

/** mercurius' errorFormatter: codes every error and picks the HTTP status of an answer. */
export function formatErrors(execution: ExecutionResult & { statusCode?: number }, context: FormatterContext): Formatted {
  const log = context.reply?.log ?? context.app?.log;
  const coded: GraphQLError[] = [];
  let requestStatus: number | undefined;
  for (const error of execution.errors ?? []) {
    // mercurius wraps a document's validation errors (and a few refusals) in one error.
    const wrapped = (error.originalError as { errors?: unknown; statusCode?: unknown } | undefined) ?? {};
    if (Array.isArray(wrapped.errors)) {
      if (typeof wrapped.statusCode === 'number') requestStatus ??= wrapped.statusCode;
      for (const inner of wrapped.errors) coded.push(invalidRequestError(inner));
    } else {
      coded.push(fieldError(error));
    }
  }
  const first = coded[0];
  const code = first?.extensions.code as ErrorCode | undefined;
  let statusCode = 200;
  if (execution.data == null && code !== undefined && code in ERRORS) {
    statusCode = requestStatus ?? ERRORS[code].status;
    const lh = lhErrorOf(first);
    const retryAfter = lh === null ? null : retryAfterOf(lh);
    if (retryAfter !== null) context.reply?.header('retry-after', retryAfter);
  }
  for (const e of coded) {
    const status = ERRORS[e.extensions.code as ErrorCode]?.status ?? 500;
    if (status >= 500 && status !== 503 && status !== 504 && status !== 507) log?.error({ err: e.originalError ?? e }, e.message);
  }
  return { statusCode, response: { data: execution.data ?? null, errors: coded.map((e) => e.toJSON()) as unknown as GraphQLError[] } };
}

/** An error about the request itself (its document, variables or method), with its code. */
export function invalidRequestError(e: unknown): GraphQLError {
  const cause = e instanceof GraphQLError ? e.originalError : e;
  if (cause instanceof LhError || (cause as FastifyError | undefined)?.code !== undefined) return codedError(cause);
  if (e instanceof GraphQLError) return typeof e.extensions.code === 'string' ? e : withCode(e, 'LH_ERR_GRAPHQL_INVALID');
  const message = e instanceof Error ? e.message : String(e);
  return new GraphQLError(message, { originalError: e instanceof Error ? e : undefined, extensions: { code: 'LH_ERR_GRAPHQL_INVALID' } });
}

/** An error raised while executing: a resolver's (already coded), or GraphQL's own. */
function fieldError(e: GraphQLError): GraphQLError {
  if (typeof e.extensions.code === 'string') return e;
  // No original error: GraphQL itself refused the request (an argument or variable of the wrong type).
  if (e.originalError === undefined) return withCode(e, 'LH_ERR_GRAPHQL_INVALID');
  const lh = codedError(e.originalError);
  return new GraphQLError(lh.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: lh.originalError, extensions: lh.extensions });
}

function withCode(e: GraphQLError, code: ErrorCode): GraphQLError {
  return new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: e.originalError, extensions: { ...e.extensions, code } });
}

function lhErrorOf(e: GraphQLError): LhError | null {
  let cause: unknown = e;
  for (let i = 0; i < 4 && cause !== undefined && cause !== null; i++) {
    if (cause instanceof LhError) return cause;
    cause = (cause as { originalError?: unknown }).originalError;
  }
  return null;
}
