// `loghaven db stats`: what the data directory holds, tier by tier — the hot store (rows, days,
// bytes), the archives (tar.gz and Parquet), the days only the archives hold now (the cold
// tier), the category files — and the ratios that say how well each tier packs the records.

import fs from 'node:fs';
import path from 'node:path';
import { isDayName } from '../model/record.js';
import type { Store } from '../store/store.js';
import { listArchives } from './archive.js';

export interface DbStats {
  hot: { backend: string; rows: number; days: number; tenants: number; first_day: string | null; last_day: string | null; bytes: number; bytes_per_row: number | null };
  archive: { days: number; incomplete: number; records: number; tar_bytes: number; parquet_bytes: number; jsonl_bytes: number; tar_ratio: number | null; parquet_ratio: number | null };
  /** Archived tenant days no longer in the hot store (retention took them): reads over them go to the archives. */
  cold: { days: number; records: number };
  files: { days: number; bytes: number };
  /** Each tenant day, the tiers that hold it. */
  by_day: { tenant: string; day: string; hot_rows: number; archived_records: number | null }[];
}

/** Bytes of the files under `dir`, all the way down (0 when it does not exist). */
export function dirBytes(dir: string): number {
  let n = 0;
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

/** `archiveDir`: `archive.dir` when set (lifecycle.ts archiveDirOf), else `DATA/archive`. */
export async function dbStats(store: Store, dataDir: string, archiveDir = path.join(dataDir, 'archive')): Promise<DbStats> {
  const days = await store.dayCounts();
  const storeStats = await store.stats();
  const rows = days.reduce((n, d) => n + d.rows, 0);
  const archives = listArchives(archiveDir);
  const complete = archives.filter((a) => a.complete);
  const hotOf = new Map(days.map((d) => [`${d.tenant}\u0000${d.day}`, d.rows]));
  const archivedOf = new Map(complete.map((a) => [`${a.tenant}\u0000${a.day}`, a.records ?? 0]));
  let jsonl = 0;
  let coldDays = 0;
  let coldRecords = 0;
  for (const a of complete) {
    jsonl += a.jsonl_bytes ?? 0;
    const hot = hotOf.get(`${a.tenant}\u0000${a.day}`) ?? 0;
    if (hot === 0) {
      coldDays++;
      coldRecords += a.records ?? 0;
    }
  }
  const tar = complete.reduce((n, a) => n + (a.tar_bytes ?? 0), 0);
  const parquet = complete.reduce((n, a) => n + (a.parquet_bytes ?? 0), 0);
  const filesDir = path.join(dataDir, 'files');
  let fileDays = 0;
  try {
    fileDays = fs.readdirSync(filesDir).filter(isDayName).length;
  } catch {
    // no category files
  }
  const keys = new Set([...hotOf.keys(), ...archivedOf.keys()]);
  const sortedDays = [...new Set(days.map((d) => d.day))].sort();
  return {
    hot: {
      backend: store.backend,
      rows,
      days: sortedDays.length,
      tenants: new Set(days.map((d) => d.tenant)).size,
      first_day: sortedDays[0] ?? null,
      last_day: sortedDays[sortedDays.length - 1] ?? null,
      bytes: storeStats.bytes,
      bytes_per_row: rows > 0 ? Math.round((storeStats.bytes / rows) * 10) / 10 : null,
    },
    archive: {
      days: complete.length,
      incomplete: archives.length - complete.length,
      records: complete.reduce((n, a) => n + (a.records ?? 0), 0),
      tar_bytes: tar,
      parquet_bytes: parquet,
      jsonl_bytes: jsonl,
      tar_ratio: jsonl > 0 ? Math.round((tar / jsonl) * 1000) / 1000 : null,
      parquet_ratio: jsonl > 0 ? Math.round((parquet / jsonl) * 1000) / 1000 : null,
    },
    cold: { days: coldDays, records: coldRecords },
    files: { days: fileDays, bytes: dirBytes(filesDir) - dirBytes(path.join(filesDir, '.segments')) },
    by_day: [...keys]
      .map((k) => {
        const [tenant, day] = k.split('\u0000') as [string, string];
        return { tenant, day, hot_rows: hotOf.get(k) ?? 0, archived_records: archivedOf.get(k) ?? null };
      })
      .sort((a, b) => a.day.localeCompare(b.day) || a.tenant.localeCompare(b.tenant)),
  };
}
