// `loghaven db migrate` through the real CLI: a DuckDB store with two tenants, several days, a gap
// that retention left and API keys, copied into an empty PostgreSQL database (created for the
// run), which then answers with the same rows, the same sequence numbers and the same keys.
// LOGHAVEN_REQUIRE_SERVICES=1 turns a missing PostgreSQL into a failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbStore } from '../../src/store/duckdb/duckdb-store.js';
import { PostgresStore } from '../../src/store/postgres/pg-store.js';
import { rowsOf } from '../../src/store/row-format.js';
import type { StoredRecord } from '../../src/model/record.js';
import { runCli } from '../helpers/child-server.js';
import { record } from './conformance.js';

const PG_ADMIN = process.env.LOGHAVEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const required = process.env.LOGHAVEN_REQUIRE_SERVICES === '1';
const DB = `lh_migrate_${process.pid}`;
const dbUrl = PG_ADMIN.replace(/\/[^/]*$/, `/${DB}`);
const DAY = 86_400_000_000n;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const available = await admin('SELECT 1').then(
  () => true,
  () => false,
);
if (!available) {
  if (required) throw new Error(`PostgreSQL is required (LOGHAVEN_REQUIRE_SERVICES=1) but ${PG_ADMIN} does not answer`);
  console.warn(`skipping the db migrate suite: ${PG_ADMIN} does not answer`);
}

describe.runIf(available)('db migrate --from duckdb: --to postgres:', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-migrate-'));
  let source: StoredRecord[] = [];
  let keyIds: string[] = [];

  beforeAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${DB}`);
    await admin(`CREATE DATABASE ${DB}`);
    const store = await DuckDbStore.open({ file: path.join(dir, 'loghaven.duckdb'), threads: 1, memoryLimit: '256MB', indexDir: path.join(dir, 'index'), loadDir: path.join(dir, 'load') });
    await store.migrate();
    for (let d = 0n; d < 3n; d++) {
      await store.append(rowsOf(Array.from({ length: 700 }, (_, i) => record(i, { ts: record(i).ts + d * DAY, tenant: i % 5 === 0 ? 'acme' : 'default', message: `day ${d} line ${i} ünï "q" \\ back` }))));
    }
    // A gap in the sequence numbers: the first day of acme expired.
    await store.expire({ rules: [{ match: { tenant: 'acme' }, before: record(0).ts + DAY }], defaultBefore: null }, [{ tenant: 'acme', day: '2023-11-14' }]);
    const now = new Date(Date.UTC(2026, 0, 1));
    for (const [id, revoked] of [['0123456789abcdef', false], ['fedcba9876543210', true]] as const) {
      await store.keys.insertKey({ id, name: `key ${id}`, tenant: 'acme', scopes: ['ingest', 'query'], secretHash: `scrypt$hash-of-${id}`, createdAt: now, expiresAt: null, revokedAt: null, ingestBytesPerS: 1000, queriesPerS: 2.5 });
      if (revoked) await store.keys.revokeKey(id, now);
    }
    keyIds = (await store.keys.listKeys()).map((k) => k.id);
    for (const tenant of ['default', 'acme']) source.push(...(await store.queryPage({ tenant, limit: 10_000, order: 'asc' })).items);
    await store.close();
  }, 120_000);

  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (available) await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
  });

  it('copies every row with its sequence number, and the keys, and checks the counts', async () => {
    const r = await runCli(['db', 'migrate', '--from', `duckdb:${dir}`, '--to', dbUrl, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { rows: number; keys: number; mismatches: unknown[] };
    expect(result).toMatchObject({ rows: source.length, keys: 2, mismatches: [] });
    const target = await PostgresStore.open({ url: dbUrl, instance: 'check', poolMax: 2, idleTimeoutMs: 1000, connectTimeoutMs: 5000, acquireTimeoutMs: 5000 });
    try {
      const copied: StoredRecord[] = [];
      for (const tenant of ['default', 'acme']) copied.push(...(await target.queryPage({ tenant, limit: 10_000, order: 'asc' })).items);
      expect(copied).toEqual(source);
      const keys = await target.keys.listKeys();
      expect(keys.map((k) => k.id)).toEqual(keyIds);
      expect(keys.find((k) => k.id === 'fedcba9876543210')!.revokedAt).not.toBeNull();
      expect(keys[0]).toMatchObject({ tenant: 'acme', scopes: ['ingest', 'query'], ingestBytesPerS: 1000, queriesPerS: 2.5 });
      // New rows are numbered after the copied ones.
      const max = source.reduce((m, x) => (x.seq > m ? x.seq : m), 0n);
      expect((await target.append(rowsOf([record(1)]))).firstSeq).toBe(max + 1n);
    } finally {
      await target.close();
    }
  });

  it('refuses a database that already holds rows, and a source that is not a DuckDB store', async () => {
    const again = await runCli(['db', 'migrate', '--from', `duckdb:${dir}`, '--to', dbUrl]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds rows/);
    const nothing = await runCli(['db', 'migrate', '--from', `duckdb:${path.join(dir, 'nope')}`, '--to', dbUrl]);
    expect(nothing.stderr).toMatch(/no DuckDB store at/);
    const wrong = await runCli(['db', 'migrate', '--from', dir, '--to', dbUrl]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--from must be duckdb:PATH/);
  });
});
