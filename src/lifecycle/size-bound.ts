// Retention by size (`retention.max_disk_bytes`, SPEC §7): when the data directory holds more
// than the bound, whole closed UTC days go, oldest first, from every tier at once — the day's
// archives (all tenants), its category files, its rows in the hot store — until what is left
// fits. A day goes whole because a day kept in one tier alone would come back (the archiver
// archives a hot day again) or could not leave (retention waits for an archive). The oldest days
// are usually in the archives alone, so those go first. The day still open never goes.
//
// The hot store's file keeps the space of deleted rows (DuckDB reuses it, never returns it),
// so after deleting rows the store rewrites its file; the bytes freed are then measured, and a
// second round takes more days when the estimate fell short.

import fs from 'node:fs';
import path from 'node:path';
import { DAY_MICROS, dayStartMicros, isDayName } from '../model/record.js';
import type { DayCount, Store } from '../store/store.js';
import { listArchives, removeArchiveDay } from './archive.js';
import { dirBytes } from './stats.js';

/** Rounds of estimate, removal and measurement before a run gives up for now. */
const MAX_ROUNDS = 3;

/** Days are removed until the estimate is at this share of the bound: the estimate is an estimate. */
const AIM = 0.95;

export interface SizeBoundResult {
  max_bytes: number;
  bytes_before: number;
  bytes_after: number;
  /** Whole days removed, oldest first, with what each tier lost. */
  days: { day: string; hot_rows: number; archives: number; files: boolean }[];
  /** Tenant days whose rows left the hot store. */
  expired: { tenant: string; day: string; rows: number }[];
  /** Every tenant day removed from any tier (hot rows or archive): for the caches and the cold tier. */
  gone: { tenant: string; day: string }[];
  /** Still over the bound: nothing closed was left to remove. */
  over: boolean;
}

export interface SizeBoundOptions {
  store: Store;
  maxBytes: number;
  dataDir: string;
  /** The archives: `DATA/archive` unless `archive.dir` puts them elsewhere, where they count too. */
  archiveDir?: string;
  now: number;
}

export async function applySizeBound(o: SizeBoundOptions): Promise<SizeBoundResult> {
  const archiveDir = o.archiveDir ?? path.join(o.dataDir, 'archive');
  const filesDir = path.join(o.dataDir, 'files');
  const today = new Date(o.now).toISOString().slice(0, 10);
  const inside = !path.relative(o.dataDir, archiveDir).startsWith('..') && !path.isAbsolute(path.relative(o.dataDir, archiveDir));
  const measure = () => dirBytes(o.dataDir) + (inside ? 0 : dirBytes(archiveDir));
  const before = measure();
  const result: SizeBoundResult = { max_bytes: o.maxBytes, bytes_before: before, bytes_after: before, days: [], expired: [], gone: [], over: false };
  let size = before;
  for (let round = 0; round < MAX_ROUNDS && size > o.maxBytes; round++) {
    const hot = await o.store.dayCounts();
    const archives = listArchives(archiveDir);
    const fileDays = new Set(readDays(filesDir));
    // Each day's hot tenant days and archives, gathered once.
    const hotOf = groupByDay(hot);
    const archivesOf = groupByDay(archives);
    const hotRows = hot.reduce((n, d) => n + d.rows, 0);
    // What the hot store takes: everything that is not an archive, a category file or the spool
    // (the database file, its token index, its load files), shared among its rows.
    const hotBytes = Math.max(0, size - dirBytes(archiveDir) - dirBytes(filesDir) - dirBytes(path.join(o.dataDir, 'spool')));
    const days = [...new Set([...hotOf.keys(), ...archivesOf.keys(), ...fileDays])].filter((d) => d < today).sort();
    let estimate = size;
    const chosen: string[] = [];
    for (const day of days) {
      if (estimate <= o.maxBytes * AIM) break;
      const rows = (hotOf.get(day) ?? []).reduce((n, d) => n + d.rows, 0);
      const archived = (archivesOf.get(day) ?? []).reduce((n, a) => n + (a.tar_bytes ?? 0) + (a.parquet_bytes ?? 0), 0);
      estimate -= archived + dirBytes(path.join(filesDir, day)) + (hotRows > 0 ? (hotBytes * rows) / hotRows : 0);
      chosen.push(day);
    }
    if (chosen.length === 0) break;
    const expiring: DayCount[] = [];
    for (const day of chosen) {
      const dayHot = hotOf.get(day) ?? [];
      const dayArchives = archivesOf.get(day) ?? [];
      for (const a of dayArchives) removeArchiveDay(archiveDir, a.tenant, a.day);
      for (const tenant of new Set([...dayArchives.map((a) => a.tenant), ...dayHot.map((d) => d.tenant)])) result.gone.push({ tenant, day });
      const files = fileDays.has(day);
      if (files) fs.rmSync(path.join(filesDir, day), { recursive: true, force: true });
      result.days.push({ day, hot_rows: dayHot.reduce((n, d) => n + d.rows, 0), archives: dayArchives.length, files });
      expiring.push(...dayHot);
    }
    if (expiring.length > 0) {
      // Every row of those days: a plan whose one cutoff is the end of the newest of them.
      const last = chosen[chosen.length - 1]!;
      await o.store.expire({ rules: [], defaultBefore: dayStartMicros(last) + DAY_MICROS }, expiring.map((d) => ({ tenant: d.tenant, day: d.day })));
      await o.store.optimize({ rewrite: true });
      result.expired.push(...expiring.map((d) => ({ tenant: d.tenant, day: d.day, rows: d.rows })));
    }
    size = measure();
  }
  result.bytes_after = size;
  result.over = size > o.maxBytes;
  return result;
}

function groupByDay<T extends { day: string }>(items: readonly T[]): Map<string, T[]> {
  const by = new Map<string, T[]>();
  for (const x of items) {
    const list = by.get(x.day);
    if (list === undefined) by.set(x.day, [x]);
    else list.push(x);
  }
  return by;
}

function readDays(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter(isDayName);
  } catch {
    return [];
  }
}
