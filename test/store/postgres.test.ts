// The PostgreSQL backend against the real PostgreSQL at 127.0.0.1:5432 (database `test`): the
// conformance suite every backend passes, each store in a schema of its own so that suites running
// at once never meet. LOGHAVEN_REQUIRE_SERVICES=1 turns a missing PostgreSQL into a failure.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/pg-store.js';
import { rowsOf } from '../../src/store/row-format.js';
import { describeStoreConformance, record } from './conformance.js';

export const PG_URL = process.env.LOGHAVEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.LOGHAVEN_REQUIRE_SERVICES === '1';

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

const available = await reachable();
if (!available) {
  if (required) throw new Error(`PostgreSQL is required (LOGHAVEN_REQUIRE_SERVICES=1) but ${PG_URL} does not answer`);
  console.warn(`skipping the PostgreSQL store suite: ${PG_URL} does not answer`);
}

const schemas: string[] = [];
let n = 0;

function open(instance = 'conformance'): Promise<PostgresStore> {
  const schema = `lh_test_${process.pid}_${++n}`;
  schemas.push(schema);
  return PostgresStore.open({ url: PG_URL, instance, schema, poolMax: 5, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000, queryTimeoutMs: 30_000 });
}

afterAll(async () => {
  if (!available) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(s)} CASCADE`);
  await c.end();
});

describe.runIf(available)('PostgreSQL store', () => {
  describeStoreConformance('postgres', () => open());

  it('refuses a second running instance with the same name (a copied data directory)', async () => {
    const first = await open('twin');
    await first.migrate();
    // The same database schema, the same instance name.
    const schema = schemas[schemas.length - 1]!;
    const second = await PostgresStore.open({ url: PG_URL, instance: 'twin', schema, poolMax: 3, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000 });
    try {
      await first.peers.start();
      await expect(second.peers.start()).rejects.toThrow(/another running instance already has the name twin/);
      expect(await first.liveInstances()).toEqual(['twin']);
      // Once the first is gone, the name is free again (a restart after a crash).
      await first.close();
      const third = await PostgresStore.open({ url: PG_URL, instance: 'twin', schema, poolMax: 3, idleTimeoutMs: 10_000, connectTimeoutMs: 5000, acquireTimeoutMs: 10_000 });
      await third.peers.start();
      await third.close();
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('turns U+0000, which PostgreSQL text cannot hold, into U+FFFD and keeps everything else', async () => {
    const store = await open();
    try {
      await store.migrate();
      await store.append(rowsOf([record(1, { message: 'nul \u0000 here', attrs: '{"a":"\\u0000"}' })]));
      const [got] = (await store.queryPage({ tenant: 'default', limit: 1, order: 'asc' })).items;
      expect(got!.message).toBe('nul \uFFFD here');
      expect(JSON.parse(got!.attrs)).toEqual({ a: '\u0000' });
    } finally {
      await store.close();
    }
  });
});
