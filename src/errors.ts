// Every error loghaven raises on purpose is declared here once, with a code and an HTTP status.
// Handlers throw `LhError`s; the HTTP layer maps them to status codes and a JSON body, the CLI to
// exit codes, so no module invents its own error strings or status mapping.

export const ERRORS = {
  LH_ERR_CONFIG_INVALID: { status: 500, message: 'invalid configuration' },
  LH_ERR_CONFIG_FILE: { status: 500, message: 'cannot read configuration file' },
  LH_ERR_QUERY_SYNTAX: { status: 400, message: 'query syntax error' },
  LH_ERR_QUERY_FIELD: { status: 400, message: 'unknown query field' },
  LH_ERR_BAD_PARAM: { status: 400, message: 'invalid request parameter' },
  LH_ERR_BAD_CURSOR: { status: 400, message: 'invalid cursor' },
  LH_ERR_BAD_TIME: { status: 400, message: 'invalid time' },
  LH_ERR_BAD_BODY: { status: 400, message: 'invalid request body' },
  LH_ERR_NOTHING_ACCEPTED: { status: 400, message: 'no record was accepted' },
  LH_ERR_UNSUPPORTED_MEDIA: { status: 415, message: 'unsupported content type or encoding' },
  LH_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large' },
  LH_ERR_OVERLOADED: { status: 429, message: 'ingest is full, retry later' },
  LH_ERR_SHUTTING_DOWN: { status: 503, message: 'server is shutting down' },
  LH_ERR_DISK_FULL: { status: 507, message: 'data directory is full' },
  LH_ERR_QUERY_TIMEOUT: { status: 504, message: 'query timed out' },
  LH_ERR_BUSY: { status: 503, message: 'too many queries, retry later' },
  LH_ERR_CLIENT_GONE: { status: 499, message: 'the client went away' },
  LH_ERR_RANGE_TOO_LARGE: { status: 400, message: 'time range too large' },
  LH_ERR_TOO_MANY_ROWS: { status: 413, message: 'too many rows' },
  LH_ERR_RESULT_TOO_LARGE: { status: 413, message: 'answer too large' },
  LH_ERR_QUERY_MEMORY: { status: 413, message: 'query needs more memory than allowed' },
  LH_ERR_TOO_MANY_TAILS: { status: 503, message: 'too many live tails' },
  LH_ERR_GRAPHQL_INVALID: { status: 400, message: 'invalid GraphQL request' },
  LH_ERR_GRAPHQL_DEPTH: { status: 400, message: 'GraphQL query nested too deeply' },
  LH_ERR_GRAPHQL_COST: { status: 400, message: 'GraphQL query asks for too much at once' },
  LH_ERR_STORE: { status: 500, message: 'store failure' },
  LH_ERR_STORE_CLOSED: { status: 503, message: 'store is closed' },
  LH_ERR_UNAUTHORIZED: { status: 401, message: 'no valid API key' },
  LH_ERR_FORBIDDEN: { status: 403, message: 'the API key does not allow this' },
  LH_ERR_RATE_LIMITED: { status: 429, message: 'the API key is over its rate limit, retry later' },
  LH_ERR_NOT_FOUND: { status: 404, message: 'not found' },
  LH_ERR_ARCHIVE_DAMAGED: { status: 409, message: 'the archive is incomplete or damaged' },
  LH_ERR_INTERNAL: { status: 500, message: 'internal error' },
  LH_ERR_MIGRATION: { status: 500, message: 'schema migration failed' },
  LH_ERR_UNSUPPORTED: { status: 501, message: 'not available on this storage backend' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class LhError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    const base = ERRORS[code].message;
    super(detail ? `${base}: ${detail}` : base, options);
    this.name = 'LhError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...(this.details ?? {}) };
  }
}

export function isLhError(e: unknown): e is LhError {
  return e instanceof LhError;
}
