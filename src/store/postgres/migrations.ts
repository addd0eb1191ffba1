// Versioned schema of the PostgreSQL store. Several instances may start at once on one empty
// database: migrations run under an advisory lock, each in a transaction with the row that
// records it, so exactly one instance applies each and the others find it done.
//
// Timestamps are integer µs (bigint), as the row format carries them: COPY takes them without
// parsing, and they are exact. attrs is `json`, not `jsonb`: the text is kept as it came (key
// order, spacing), as the DuckDB store keeps it, so both answer the same bytes.

import { ACCESS_MIGRATION_SQL } from './access-tables.js';

export interface PgMigration {
  version: number;
  name: string;
  sql: string[];
}

/** Key of the advisory lock held while migrating ('lgh1'). */
export const MIGRATION_LOCK = 0x6c676831;

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export const PG_MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    name: 'logs, daily partitions, sequence counter, segments, keys, instances',
    sql: [
      // One partition per UTC day (PostgresStore.ensurePartitions creates them before a load):
      // retention drops whole days, and a search of a time range reads only its days.
      `CREATE TABLE logs (
        seq bigint NOT NULL,
        ts bigint NOT NULL,
        received_at bigint NOT NULL,
        tenant text NOT NULL,
        level text,
        severity smallint,
        service text,
        host text,
        category text,
        source text,
        message text,
        trace_id text,
        span_id text,
        attrs json NOT NULL
      ) PARTITION BY RANGE (ts)`,
      // Pages of a tenant in time order (search, export, histogram and top of a window).
      'CREATE INDEX logs_tenant_ts_seq ON logs (tenant, ts, seq)',
      // Reads by sequence number (tails, category files, cursors' snapshot bound).
      'CREATE INDEX logs_seq ON logs (seq)',
      // Time ranges across tenants (retention, counts of a window), at a few pages per day.
      'CREATE INDEX logs_ts_brin ON logs USING brin (ts)',
      // The last sequence number given. A load takes its numbers by updating this row and holds
      // the row lock until it commits, so loads commit in the order of their numbers: every number
      // up to the committed value belongs to committed rows (the snapshot bound of cursors).
      `CREATE TABLE seq_counter (
        id integer PRIMARY KEY CHECK (id = 1),
        last bigint NOT NULL
      )`,
      'INSERT INTO seq_counter VALUES (1, 0)',
      // Spool segments loaded, per instance (each has its own spool and numbers its own
      // segments), written in the load's transaction: replay after a crash loads each once.
      `CREATE TABLE spool_segments (
        instance text NOT NULL,
        id bigint NOT NULL,
        rows bigint NOT NULL,
        first_seq bigint NOT NULL,
        loaded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (instance, id)
      )`,
      // Rows per tenant and UTC day, kept by every load, expiry and restore: stats, retention
      // and archives read these instead of counting the table.
      `CREATE TABLE log_days (
        tenant text NOT NULL,
        day integer NOT NULL,
        rows bigint NOT NULL,
        max_seq bigint NOT NULL,
        min_ts bigint NOT NULL,
        max_ts bigint NOT NULL,
        PRIMARY KEY (tenant, day)
      )`,
      `CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        tenant text NOT NULL,
        scopes text NOT NULL,
        secret_hash text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint,
        revoked_at bigint,
        ingest_bytes_per_s bigint,
        queries_per_s double precision
      )`,
      // The instances running on this database, as their heartbeats say: who a read waits for
      // before it answers (peers.ts).
      `CREATE TABLE instances (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        seen_at timestamptz NOT NULL DEFAULT now()
      )`,
    ],
  },
  {
    version: 2,
    name: 'access logs and their aggregates',
    // access-tables.ts; the access records already stored are typed and aggregated once.
    sql: ACCESS_MIGRATION_SQL,
  },
  {
    version: 3,
    name: 'rows per tenant hour',
    sql: [
      // Kept by every load, expiry and restore, like log_days: a count over time without a query
      // (the volume histogram) reads these instead of every row of the window.
      `CREATE TABLE log_hours (
        tenant text NOT NULL,
        hour integer NOT NULL,
        rows bigint NOT NULL,
        PRIMARY KEY (tenant, hour)
      )`,
      'INSERT INTO log_hours SELECT tenant, floor(ts::numeric / 3600000000)::integer, count(*) FROM logs GROUP BY 1, 2',
    ],
  },
  {
    version: 4,
    name: 'segment extents',
    sql: [
      // One row per load, written in its transaction: its range of sequence numbers and of
      // times. Each instance keeps a token summary of every segment (store/index/, built from its
      // own spool files or from these rows) to skip the blocks a search cannot match.
      `CREATE TABLE segments (
        first_seq bigint PRIMARY KEY,
        last_seq bigint NOT NULL,
        rows bigint NOT NULL,
        min_ts bigint NOT NULL,
        max_ts bigint NOT NULL
      )`,
    ],
  },
];
