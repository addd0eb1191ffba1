// The wire shapes of the REST read routes and of the native ingest answer, as TypeBox schemas:
// the routes validate their query strings with them and /docs publishes them, and the typed
// client (`loghaven/client`) derives its types from them with Static<>, so the three cannot
// drift apart. Answers are built as JSON text by the query service and sent as is (Fastify does
// not serialise strings), so the answer schemas document; they do not reshape.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LEVELS, type WireRecord } from '../../model/record.js';
import { NativeAnswerSchema } from '../../ingest/native/answer.js';

/** A string of one of `values`, written as a plain JSON-schema enum (what the routes validated before). */
function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/**
 * A number in the query string. The query service checks range and default (and names the
 * setting that bounds it), so the route accepts any text here, as it always has.
 */
function Count(description: string) {
  return Type.Optional(Type.Union([Type.String(), Type.Integer()], { description }));
}

const selection = {
  q: Type.Optional(Type.String({ description: 'Query (SPEC §5): words, "phrases", word*, field:value, OR, NOT, (...)' })),
  from: Type.Optional(Type.String({ description: 'Start (inclusive): RFC 3339, Unix time or now-15m' })),
  to: Type.Optional(Type.String({ description: 'End (exclusive): RFC 3339, Unix time or now' })),
};

const order = Type.Optional(StringEnum(['asc', 'desc'] as const, { description: 'Sort order by ts' }));

/** GET /api/v1/logs */
export const SearchQuerySchema = Type.Object({
  ...selection,
  limit: Count('Rows per page (default query.default_limit, at most query.max_limit)'),
  order,
  cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
  offset: Count('Rows to skip (without cursor)'),
});
export type SearchQuery = Static<typeof SearchQuerySchema>;

/** GET /api/v1/logs/export */
export const ExportQuerySchema = Type.Object({
  ...selection,
  format: Type.Optional(StringEnum(['ndjson', 'csv', 'json'] as const)),
  order,
});
export type ExportQuery = Static<typeof ExportQuerySchema>;

/** GET /api/v1/logs/histogram */
export const HistogramQuerySchema = Type.Object({
  ...selection,
  step: Type.Optional(Type.String({ description: 'Bucket width: 10s, 1m, 1h, 1d …' })),
  by: Type.Optional(Type.String({ description: '`level`: each bucket also counts its records per level (`none` for records without one)' })),
});
export type HistogramQuery = Static<typeof HistogramQuerySchema>;

/** GET /api/v1/logs/top */
export const TopQuerySchema = Type.Object({
  ...selection,
  field: Type.String({ description: 'A record field or attrs.a.b' }),
  limit: Count('Values to return (default 10, at most 1000)'),
});
export type TopQuery = Static<typeof TopQuerySchema>;

/** A record as every read route returns it (SPEC §1 field names, RFC 3339 µs UTC timestamps). */
export const WireRecordSchema = Type.Object({
  ts: Type.String({ description: 'Event time, RFC 3339 with six fractional digits, UTC' }),
  received_at: Type.String({ description: 'When the server accepted the record' }),
  tenant: Type.String(),
  level: Nullable(StringEnum(LEVELS)),
  severity: Nullable(Type.Integer({ description: 'OpenTelemetry severity number 1–24' })),
  service: Nullable(Type.String()),
  host: Nullable(Type.String()),
  category: Nullable(Type.String()),
  source: Nullable(Type.String()),
  message: Nullable(Type.String()),
  trace_id: Nullable(Type.String()),
  span_id: Nullable(Type.String()),
  attrs: Type.Record(Type.String(), Type.Unknown(), { description: 'Every other field of the record' }),
});

/** The answer of GET /api/v1/logs. */
export const SearchAnswerSchema = Type.Object({
  items: Type.Array(WireRecordSchema),
  next_cursor: Nullable(Type.String({ description: 'Pass as cursor for the next page; null after the last (a full page always has one)' })),
  stats: Type.Object({
    rows_scanned: Type.Integer({ description: 'Rows in the searched tenant and time window' }),
    elapsed_ms: Type.Number(),
  }),
});
export type SearchAnswer = Static<typeof SearchAnswerSchema>;

/** The answer of GET /api/v1/logs/histogram. */
export const HistogramAnswerSchema = Type.Object({
  step_ms: Type.Integer(),
  buckets: Type.Array(
    Type.Object({
      ts: Type.String({ description: 'Start of the bucket' }),
      count: Type.Integer(),
      levels: Type.Optional(Type.Record(Type.String(), Type.Integer(), { description: 'With by=level: records per level (trace … fatal, none)' })),
    }),
  ),
});
export type HistogramAnswer = Static<typeof HistogramAnswerSchema>;

/** The answer of GET /api/v1/logs/top. */
export const TopAnswerSchema = Type.Object({
  field: Type.String(),
  values: Type.Array(Type.Object({ value: Nullable(Type.String()), count: Type.Integer() })),
});
export type TopAnswer = Static<typeof TopAnswerSchema>;

/** The answer of POST /api/v1/logs (200, and 400 when nothing was accepted). */
export const IngestAnswerSchema = NativeAnswerSchema;
export type IngestAnswer = Static<typeof IngestAnswerSchema>;

/** Every error answer: the LH_ERR_ code, the message, and details such as `position` or `param`. */
export const ErrorAnswerSchema = Type.Object(
  { error: Type.String({ description: 'LH_ERR_… code' }), message: Type.String() },
  { additionalProperties: true },
);
export type ErrorAnswer = Static<typeof ErrorAnswerSchema>;

// The schema and the model must describe the same record: a compile error here means they drifted.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const wireRecordMatchesModel: Same<Static<typeof WireRecordSchema>, WireRecord> = true;
void wireRecordMatchesModel;

/** GET /api/v1/analytics/access/{kind} (every kind takes what applies to it). */
export const AccessQuerySchema = Type.Object({
  q: Type.Optional(Type.String({ description: 'Filter on access fields: status:>=500, path:/api/*, host:shop.example.com, method:POST, words of the request line' })),
  from: selection.from,
  to: selection.to,
  limit: Count('Items to return (urls, errors: default 50; sessions: entry and exit pages, default 20; flows: default 50)'),
  gap: Type.Optional(Type.String({ description: 'sessions, flows, funnel: inactivity that ends a session (default 30m)' })),
  max_sessions: Count('sessions, flows, funnel: sample clients past this many sessions (default 10000; 0 never samples)'),
  sample_rate: Type.Optional(Type.Union([Type.String(), Type.Number()], { description: 'sessions, flows, funnel: share of clients to analyse, (0, 1]; 1 analyses all' })),
  n: Count('flows: steps in a counted path (default 3)'),
  steps: Type.Optional(Type.String({ description: 'funnel: URL patterns, comma-separated, e.g. /,/products/{id},/cart' })),
});
export type AccessQuery = Static<typeof AccessQuerySchema>;
