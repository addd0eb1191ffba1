// The lifecycle of a data directory's days, as configured: the archiver (archive.ts) and
// retention (retention.ts), shared by the server's schedule and the CLI on a stopped server.

import path from 'node:path';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../query/time.js';
import type { Store } from '../store/store.js';
import { Archiver } from './archive.js';
import { Retention } from './retention.js';

/** Where the archives are: `archive.dir`, or `DATA/archive` when it is empty. */
export function archiveDirOf(config: Config, dataDir: string): string {
  return config.archive.dir === '' ? path.join(dataDir, 'archive') : path.resolve(config.archive.dir);
}

export interface Lifecycle {
  archiver: Archiver | null;
  retention: Retention;
}

/** `files`: the running category file sink, whose files the archives take as they are when they hold a day exactly. */
export function createLifecycle(
  config: Config,
  store: Store,
  dataDir: string,
  log?: { info(o: object, m: string): void; error(o: object, m: string): void },
  files?: { writtenThrough: bigint } | null,
  ingestActive?: () => boolean,
): Lifecycle {
  const archiver = config.archive.enabled
    ? new Archiver({
        store,
        dir: archiveDirOf(config, dataDir),
        graceUs: parseDuration('lifecycle.grace', config.lifecycle.grace),
        keepDays: config.archive.keep_days,
        keepCount: config.archive.keep_count,
        categoryFiles: files ? { dir: path.join(dataDir, 'files'), through: () => files.writtenThrough } : null,
        ingestActive,
        log,
      })
    : null;
  const retention = new Retention({
    store,
    days: config.retention.days,
    rules: config.retention.rules,
    // With archiving on, nothing leaves the hot store before its archive is complete and current
    // (unless the archive would not be kept: keep_days or keep_count).
    archived: archiver === null ? null : (d) => archiver.isArchived(d) || !archiver.keeps()(d.tenant, d.day),
    held: archiver === null ? undefined : (tenant, day) => archiver.isHeld(tenant, day),
    filesDir: config.files.enabled ? path.join(dataDir, 'files') : null,
    maxDiskBytes: config.retention.max_disk_bytes,
    dataDir,
    archiveDir: archiveDirOf(config, dataDir),
    log,
  });
  return { archiver, retention };
}
