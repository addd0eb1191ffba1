// Versioned schema of the DuckDB store. A migration runs once, in a transaction with the row
// that records it, so a crash mid-migration leaves the previous version intact.

import { ACCESS_MIGRATION_SQL, BACKFILL_ACCESS_SQL, REBUILD_AGGREGATES_SQL } from './access-tables.js';

export interface Migration {
  version: number;
  name: string;
  sql: string[];
}

/** The layout of `logs`: a new database's, and what the database rewrite (DuckDbStore.optimize) writes. */
export const LOGS_DDL = `CREATE TABLE logs (
        seq BIGINT NOT NULL,
        ts TIMESTAMP NOT NULL,
        received_at TIMESTAMP NOT NULL,
        tenant VARCHAR NOT NULL,
        level VARCHAR,
        severity UTINYINT,
        service VARCHAR,
        host VARCHAR,
        category VARCHAR,
        source VARCHAR,
        -- DuckDB's own choice (dictionary, FSST) and not zstd: templated messages, the usual
        -- kind, take a sixth of zstd's room in a dictionary (zstd wins by a fifth only on
        -- messages that are mostly unique).
        message VARCHAR,
        trace_id VARCHAR,
        span_id VARCHAR,
        -- JSON objects with repeated keys: zstd stores them in about half the space of the
        -- default dictionary/FSST choice (it needs the storage format of 1.2 or later; a file
        -- made with an older format keeps the default).
        attrs JSON NOT NULL USING COMPRESSION zstd
      )`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'logs table',
    sql: [LOGS_DDL],
  },
  {
    version: 2,
    name: 'spool segments loaded',
    sql: [
      // One row per spool segment loaded into logs, written in the same transaction as its rows:
      // what makes replay after a crash load every segment exactly once.
      `CREATE TABLE spool_segments (
        id BIGINT PRIMARY KEY,
        rows BIGINT NOT NULL,
        loaded_at TIMESTAMP NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'segment extents',
    sql: [
      // One row per loaded range of sequence numbers (a spool segment, one row group), written in
      // the same transaction as its rows: the time range a search uses to skip it and order its
      // reads. Ranges loaded before this table existed are measured once at start-up.
      `CREATE TABLE segments (
        first_seq BIGINT PRIMARY KEY,
        last_seq BIGINT NOT NULL,
        rows BIGINT NOT NULL,
        min_ts TIMESTAMP NOT NULL,
        max_ts TIMESTAMP NOT NULL
      )`,
    ],
  },
  {
    version: 4,
    name: 'api keys',
    sql: [
      // One row per API key (src/auth): the scrypt hash of its secret, never the secret.
      `CREATE TABLE api_keys (
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        tenant VARCHAR NOT NULL,
        scopes VARCHAR NOT NULL,
        secret_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP,
        revoked_at TIMESTAMP,
        ingest_bytes_per_s BIGINT,
        queries_per_s DOUBLE
      )`,
    ],
  },
  {
    version: 5,
    name: 'access logs and their aggregates',
    // access-tables.ts; the access records already stored are typed and aggregated once.
    sql: [...ACCESS_MIGRATION_SQL, BACKFILL_ACCESS_SQL, ...REBUILD_AGGREGATES_SQL],
  },
];

export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name VARCHAR NOT NULL,
  applied_at TIMESTAMP NOT NULL
)`;
