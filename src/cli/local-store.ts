// The store of a stopped server's data directory, for the commands that work on it directly
// (`keys … --data-dir`, `db maintain --data-dir`). A running server holds the database's lock:
// that is reported as such, with the way round it (`--url`).

import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { LhError } from '../errors.js';
import type { Store } from '../store/store.js';
import { openStore } from '../store/open.js';
import { API_KEY_ENV } from './http-client.js';

export interface LocalStoreWhere {
  dataDir?: string;
  config?: string;
}

/** Runs `fn` on the (migrated) store of the data directory, and closes it. */
export async function withLocalStore<T>(where: LocalStoreWhere, fn: (store: Store, config: Config, dataDir: string) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: where.config, overrides: { data_dir: where.dataDir } });
  const dir = path.resolve(config.data_dir);
  let store;
  try {
    store = await openStore(config, dir, { duckdb: { threads: 1 }, tokenIndex: false });
  } catch (e) {
    if (/lock/i.test((e as Error).message)) {
      throw new LhError('LH_ERR_STORE', `the data directory ${dir} is in use, probably by a running server: use --url with an admin key in ${API_KEY_ENV}`);
    }
    throw e;
  }
  try {
    await store.migrate();
    return await fn(store, config, dir);
  } finally {
    await store.close();
  }
}
