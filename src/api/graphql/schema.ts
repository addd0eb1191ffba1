// The GraphQL schema of /graphql (SPEC §5): the same questions as the REST read routes, a status
// summary, a bulk-ingest mutation and the live tail as a subscription. Field names are the REST
// names in camelCase (received_at → receivedAt, rows_scanned → rowsScanned); attrs and ingested
// records are free-form JSON. Counts of rows and bytes outgrow GraphQL's 32-bit Int, so they are
// SafeInt: whole numbers up to 2^53 - 1, sent as JSON numbers.

import { GraphQLError, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';

export const typeDefs = /* GraphQL */ `
  "Any JSON value: a record's attrs, a record to ingest."
  scalar JSON

  "A whole number from -(2^53 - 1) to 2^53 - 1, sent as a JSON number (row and byte counts)."
  scalar SafeInt

  enum SortOrder {
    asc
    desc
  }

  enum Level {
    trace
    debug
    info
    warn
    error
    fatal
  }

  "A stored record (SPEC §1): the fields of a REST search item, in camelCase."
  type LogRecord {
    "Event time, RFC 3339 with six fractional digits, UTC."
    ts: String!
    "When the server accepted the record."
    receivedAt: String!
    tenant: String!
    level: Level
    "OpenTelemetry severity number 1–24."
    severity: Int
    service: String
    host: String
    category: String
    source: String
    message: String
    traceId: String
    spanId: String
    "Every other field of the record, as a JSON object."
    attrs: JSON!
  }

  type LogEdge {
    "Only the page's last edge has one (pageInfo.endCursor): a cursor pins the end of a whole page."
    cursor: String
    node: LogRecord!
  }

  type PageInfo {
    "True when the page is full: the next page (after endCursor) may hold more, or be empty."
    hasNextPage: Boolean!
    "Pass as logs(cursor:) for the next page, with the same q, from, to and order."
    endCursor: String
  }

  type SearchStats {
    "Rows in the searched tenant and time window."
    rowsScanned: SafeInt!
    elapsedMs: Float!
  }

  type LogConnection {
    edges: [LogEdge!]!
    pageInfo: PageInfo!
    stats: SearchStats!
  }

  type HistogramBucket {
    "Start of the bucket."
    ts: String!
    count: SafeInt!
    "With by: LEVEL, the bucket's records per level (level null: records without one)."
    levels: [LevelCount!]
  }

  type LevelCount {
    level: String
    count: SafeInt!
  }

  "What a histogram's buckets are also split by."
  enum HistogramBy {
    LEVEL
  }

  type Histogram {
    stepMs: SafeInt!
    buckets: [HistogramBucket!]!
  }

  type TopValue {
    value: String
    count: SafeInt!
  }

  type TopValues {
    field: String!
    values: [TopValue!]!
  }

  type StoreStatus {
    backend: String!
    rows: SafeInt!
    bytes: SafeInt!
  }

  type QueryIndexStatus {
    segments: SafeInt!
    indexedSegments: SafeInt!
    pendingSegments: SafeInt!
  }

  type QueriesStatus {
    running: Int!
    queued: Int!
    maxConcurrent: Int!
    queueSize: Int!
  }

  type CacheStatus {
    enabled: Boolean!
    "memory or redis; null when the cache is off."
    backend: String
    hitRatio: Float
    lookups: SafeInt
    failure: String
  }

  type Alert {
    name: String!
    message: String!
  }

  type IngestStatus {
    queueRecords: SafeInt!
    queueBytes: SafeInt!
    spoolBacklogBytes: SafeInt!
  }

  type MemoryStatus {
    rssBytes: SafeInt!
    heapUsedBytes: SafeInt!
    heapTotalBytes: SafeInt!
    externalBytes: SafeInt!
    arrayBuffersBytes: SafeInt!
  }

  "What GET /api/v1/status answers."
  type Status {
    version: String!
    uptimeS: SafeInt!
    ready: Boolean!
    store: StoreStatus!
    queryIndex: QueryIndexStatus!
    queries: QueriesStatus!
    cache: CacheStatus!
    alerts: [Alert!]!
    ingest: IngestStatus!
    memory: MemoryStatus!
  }

  type LineError {
    "1-based position of the record in the records argument."
    line: Int!
    error: String!
  }

  type IngestResult {
    accepted: Int!
    rejected: Int!
    "Why records were refused (the first 1000)."
    errors: [LineError!]!
  }

  "One event of a live tail: a record, or how many records this reader missed."
  type TailEvent {
    "The record; null on a dropped notice."
    record: LogRecord
    "The record's position; pass it as tail(after:) to resume right after it."
    position: String
    "Records skipped (because this reader was slow) before this event; 0 on a record."
    dropped: Int!
  }

  type Query {
    "Search, newest first by default; page on with cursor: pageInfo.endCursor (GET /api/v1/logs)."
    logs(q: String, from: String, to: String, limit: Int, order: SortOrder, cursor: String, offset: Int): LogConnection!
    "Record counts per time bucket (GET /api/v1/logs/histogram)."
    histogram(q: String, from: String, to: String, step: String, by: HistogramBy): Histogram!
    "Most frequent values of a field, a record field or attrs.a.b (GET /api/v1/logs/top)."
    top(field: String!, q: String, from: String, to: String, limit: Int): TopValues!
    "Server summary (GET /api/v1/status)."
    status: Status!
    "Access-log analytics, the answer of GET /api/v1/analytics/access/{kind} as JSON."
    accessAnalytics(
      kind: AccessAnalysis!
      q: String
      from: String
      to: String
      limit: Int
      "sessions, flows, funnel: inactivity that ends a session (default 30m)."
      gap: String
      "sessions, flows, funnel: sample clients past this many sessions (0: never)."
      maxSessions: Int
      "sessions, flows, funnel: share of clients to analyse, (0, 1]."
      sampleRate: Float
      "flows: steps in a counted path (default 3)."
      n: Int
      "funnel: URL patterns, comma-separated."
      steps: String
    ): JSON!
  }

  enum AccessAnalysis {
    summary
    hourly
    urls
    sessions
    flows
    errors
    funnel
  }

  type Mutation {
    "Stores records as POST /api/v1/logs does; answers once the accepted ones are durable."
    ingest(records: [JSON!]!): IngestResult!
  }

  type Subscription {
    "Matching records as they arrive; backfill: the last N stored first; after: resume after a position."
    tail(q: String, backfill: Int, after: String): TailEvent!
  }
`;

/**
 * How the two scalars read and write values (given to mercurius as resolvers, which set them on
 * the scalars of the SDL above and keep the descriptions).
 */
export const scalarResolvers = {
  JSON: {
    serialize: (v: unknown) => v,
    parseValue: (v: unknown) => v,
    parseLiteral: (ast: ValueNode, variables?: Maybe<ObjMap<unknown>>) => valueFromASTUntyped(ast, variables),
  },
  SafeInt: {
    serialize: (v: unknown): number => {
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      throw new GraphQLError(`SafeInt cannot represent ${String(v)}`);
    },
    parseValue: (v: unknown): number => {
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      throw new GraphQLError(`SafeInt cannot represent ${JSON.stringify(v)}`);
    },
    parseLiteral: (ast: ValueNode): number => {
      const n = ast.kind === Kind.INT ? Number(ast.value) : NaN;
      if (Number.isSafeInteger(n)) return n;
      throw new GraphQLError('SafeInt: expected a whole number up to 2^53 - 1', { nodes: ast });
    },
  },
};

type Maybe<T> = T | null | undefined;
type ObjMap<T> = { [key: string]: T };
