// The real PostgreSQL of the store tests (127.0.0.1:5432, database `test`, or
// LOGHAVEN_TEST_PG_URL), a schema per store so that suites running at once never meet.
// LOGHAVEN_REQUIRE_SERVICES=1 turns a missing PostgreSQL into a failure; otherwise a suite that
// needs it is skipped, saying why.

import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/pg-store.js';

export const PG_URL = process.env.LOGHAVEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Whether the suite named `suite` can run: throws when PostgreSQL is required and absent. */
export async function postgresFor(suite: string): Promise<boolean> {
  const available = await reachable();
  if (!available) {
    if (process.env.LOGHAVEN_REQUIRE_SERVICES === '1') throw new Error(`PostgreSQL is required (LOGHAVEN_REQUIRE_SERVICES=1) but ${PG_URL} does not answer`);
    console.warn(`skipping ${suite}: ${PG_URL} does not answer`);
  }
  return available;
}

/** Schemas made by pgSchema, dropped by dropPgSchemas. */
const schemas: string[] = [];
let n = 0;

/** A schema name of its own (created by the store's migrate). */
export function pgSchema(prefix = 'lh_test'): string {
  const schema = `${prefix}_${process.pid}_${++n}`;
  schemas.push(schema);
  return schema;
}

export function openPgStore(schema: string, instance = 'test'): Promise<PostgresStore> {
  return PostgresStore.open({ url: PG_URL, instance, schema, poolMax: 5, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000, queryTimeoutMs: 60_000 });
}

/** Runs `fn` on a connection of its own whose search path is `schema`. */
export async function withPgSchema<T>(schema: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropPgSchemas(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(s)} CASCADE`);
  } finally {
    await c.end();
  }
}
