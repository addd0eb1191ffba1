// Opens the store the configuration names (`store.backend`): the embedded DuckDB file under the
// data directory, or the PostgreSQL database that several instances share. The server and the
// commands that work on a data directory open it the same way.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Store } from './store.js';
import type { DuckDbStoreOptions } from './duckdb/duckdb-store.js';

export interface OpenStoreOptions {
  /** DuckDB options the caller sets beyond the configuration (memory boosts, row size, log). */
  duckdb?: Partial<DuckDbStoreOptions>;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /**
   * false: no token index of PostgreSQL's segments in this process (a command-line tool beside a
   * running server on the same data directory must not build into its index).
   */
  tokenIndex?: boolean;
}

export async function openStore(config: Config, dataDir: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (config.store.backend === 'postgres') {
    const { PostgresStore } = await import('./postgres/pg-store.js');
    const p = config.store.postgres;
    return PostgresStore.open({
      url: p.url,
      instance: instanceId(dataDir),
      poolMax: p.pool_max,
      idleTimeoutMs: p.idle_timeout_ms,
      connectTimeoutMs: p.connect_timeout_ms,
      acquireTimeoutMs: p.acquire_timeout_ms,
      queryTimeoutMs: config.query.timeout_ms,
      ...(opts.tokenIndex === false ? {} : { indexDir: path.join(dataDir, 'index') }),
      log: opts.log,
    });
  }
  const { DuckDbStore } = await import('./duckdb/duckdb-store.js');
  return DuckDbStore.open({
    file: path.join(dataDir, 'loghaven.duckdb'),
    loadDir: path.join(dataDir, 'load'),
    indexDir: path.join(dataDir, 'index'),
    threads: config.store.duckdb.threads,
    memoryLimit: config.store.duckdb.memory_limit,
    maxMemoryLimit: config.store.duckdb.max_memory_limit,
    queryTimeoutMs: config.query.timeout_ms,
    ...opts.duckdb,
  });
}

/**
 * This instance's name among those sharing a database: made once, kept in the data directory
 * with the spool it names (segment ids are unique per instance, so a restarted instance must
 * keep its name to replay its own segments).
 */
export function instanceId(dataDir: string): string {
  const file = path.join(dataDir, 'instance-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_.-]{1,64}$/.test(id)) return id;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const id = `${sanitise(process.env.HOSTNAME ?? 'lh')}-${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(file, `${id}\n`, { flag: 'wx' });
  return id;
}

function sanitise(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40) || 'lh';
}
