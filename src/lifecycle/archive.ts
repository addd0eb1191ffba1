// Daily archives (SPEC §7). A day closes at UTC midnight plus the grace; each closed day of each
// tenant is written under DATA/archive/<tenant>/ as three files:
//
//   YYYY-MM-DD.parquet   every column of every row, zstd, sorted by category, ts, seq (the store
//                        writes it: the one read of the live table);
//   YYYY-MM-DD.tar.gz    the day's JSONL as the category files hold it — YYYY-MM-DD/<category>.jsonl,
//                        error.jsonl, warning.jsonl — rendered from the Parquet file by an engine
//                        of the archiver's own, then manifest.json with every member's sum;
//   YYYY-MM-DD.json      the manifest again, with the tar.gz's own size and SHA-256: written
//                        last, it is what makes the day archived.
//
// Everything is made in a staging folder and renamed into place, the manifest last, so a crash at
// any moment leaves either the previous complete archive or none that `verify` accepts, and the
// next run does the day again. A day whose rows changed since (late records) is archived again.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LhError } from '../errors.js';
import { DEFAULT_CATEGORY } from '../pipeline/routing.js';
import { categoryFileName, escapeFileName } from '../sinks/category-files.js';
import { DAY_MICROS, dayStartMicros, formatMicros, isDayName } from '../model/record.js';
import { JSON_LINE_SQL, ROW_FORMAT_SQL, sqlString } from '../store/duckdb/read-sql.js';
import { summariseRowFile } from '../store/index/segment-index.js';
import type { DayCount, Store } from '../store/store.js';
import { ParallelGzipFile } from './parallel-gzip.js';
import { TarWriter, readTar } from './tar.js';

export const ARCHIVE_FORMAT = 'loghaven-archive/1';
/** The level copies of the category files, as members. */
const LEVEL_MEMBERS = [
  ['error.jsonl', ['error', 'fatal']],
  ['warning.jsonl', ['warn']],
] as const;
/** The files of an archived day (its summary and restore mark aside), `m[1]` the day. */
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.(json|tar\.gz|parquet)$/;
/** Days a restored day is kept out of retention. */
export const RESTORE_HOLD_DAYS = 7;

export interface ArchiveMember {
  /** Path inside the tar: `YYYY-MM-DD/<file>.jsonl`. */
  name: string;
  /** The category of a category member; null for error.jsonl and warning.jsonl. */
  category: string | null;
  /** The levels of error.jsonl and warning.jsonl. */
  levels?: string[];
  records: number;
  bytes: number;
  sha256: string;
  first_ts: string | null;
  last_ts: string | null;
}

export interface FileSum {
  name: string;
  bytes: number;
  sha256: string;
}

/** manifest.json in the tar; the YYYY-MM-DD.json beside it adds `tar`. */
export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  tenant: string;
  day: string;
  created_at: string;
  records: number;
  /** The highest sequence number archived: rows of the day loaded later make the archive stale. */
  max_seq: string;
  first_ts: string | null;
  last_ts: string | null;
  members: ArchiveMember[];
  parquet: FileSum & { rows: number };
  tar?: FileSum;
}

export interface ArchivedDay {
  tenant: string;
  day: string;
  records: number;
  tar_bytes: number;
  parquet_bytes: number;
  /** JSONL bytes of the category members (the day's records once each). */
  jsonl_bytes: number;
  ms: number;
  /** Where the JSONL came from: the category files of the day as they are, or rendered from the store's rows. */
  members_from: 'category files' | 'store';
  /** Where the time went: the store's Parquet file, the JSONL members, the tar.gz (sums included), the token summary. */
  phases_ms: { parquet: number; members: number; tar_gz: number; index: number };
}

export interface ArchiveRunResult {
  archived: ArchivedDay[];
  /** Archives deleted by `archive.keep_days`. */
  removed: { tenant: string; day: string }[];
  failed: { tenant: string; day: string; error: string }[];
  /** Closed days with a complete, current archive before the run. */
  upToDate: number;
  /** Seconds since the oldest closed day still not archived after the run closed (0: none). */
  lag_seconds: number;
}

export interface ArchiveListEntry {
  tenant: string;
  day: string;
  /** False: files of an archive that never finished (no manifest); the next run does it again. */
  complete: boolean;
  records: number | null;
  /** Bytes of the day's records as JSONL (the category members; the level copies not counted). */
  jsonl_bytes: number | null;
  tar_bytes: number | null;
  parquet_bytes: number | null;
  created_at: string | null;
}

export interface ArchiveProblem {
  tenant: string;
  day: string;
  /** The file, relative to the archive directory. */
  file: string;
  member: string | null;
  problem: string;
}

export interface ArchiverOptions {
  store: Store;
  /** DATA/archive */
  dir: string;
  /** How long after UTC midnight a day stays open, µs. */
  graceUs: bigint;
  /** Archives of days older than this many days are deleted; 0 keeps them. */
  keepDays: number;
  /** Archives beyond this many days (the newest kept), per tenant, are deleted; 0 keeps them all. */
  keepCount?: number;
  /** Whether records are arriving now: the archive then compresses on one core, not both. */
  ingestActive?: () => boolean;
  /** The category files (DATA/files), and the sequence number they are written through. */
  categoryFiles?: { dir: string; through: () => bigint } | null;
  now?: () => number;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class Archiver {
  private running: Promise<ArchiveRunResult> | null = null;
  private stopped = false;
  /** The last run's outcome, for metrics and /ready. */
  last: { at: number; ok: boolean; result: ArchiveRunResult | null; error: string | null } | null = null;

  constructor(private readonly opts: ArchiverOptions) {}

  private readonly ingestActive = () => this.opts.ingestActive?.() ?? false;

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Archives every closed day that needs it, then applies keep_days. One run at a time: a second call waits for the first, then runs. */
  run(progress?: (p: { done: number; total: number; what: string }) => void): Promise<ArchiveRunResult> {
    const previous = this.running ?? Promise.resolve(null);
    const run = previous
      .catch(() => null)
      .then(() => this.runOnce(progress))
      .then(
        (result) => {
          this.last = { at: this.now(), ok: result.failed.length === 0, result, error: result.failed[0]?.error ?? null };
          return result;
        },
        (e: unknown) => {
          this.last = { at: this.now(), ok: false, result: null, error: (e as Error).message };
          throw e;
        },
      )
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    this.running = run;
    return run;
  }

  /** Stops after the day being archived (if any); later runs do nothing. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async runOnce(progress?: (p: { done: number; total: number; what: string }) => void): Promise<ArchiveRunResult> {
    const now = this.now();
    const closedBefore = BigInt(now) * 1000n - this.opts.graceUs;
    const days = (await this.opts.store.dayCounts()).filter((d) => isDayName(d.day) && dayStartMicros(d.day) + DAY_MICROS <= closedBefore);
    const result: ArchiveRunResult = { archived: [], removed: [], failed: [], upToDate: 0, lag_seconds: 0 };
    let engine: Engine | null = null;
    try {
      // A day keep_days or keep_count would delete at once is not archived.
      const kept = this.keeps(days);
      const todo = days.filter((d) => !this.isArchived(d) && kept(d.tenant, d.day));
      result.upToDate = days.length - todo.length;
      for (const [i, d] of todo.entries()) {
        if (this.stopped) break;
        progress?.({ done: i, total: todo.length, what: `${d.tenant} ${d.day}` });
        try {
          engine ??= await Engine.open();
          const alone = days.every((o) => o.day !== d.day || o.tenant === d.tenant);
          const through = this.opts.categoryFiles?.through() ?? 0n;
          result.archived.push(await this.archiveDay(engine, d.tenant, d.day, alone && through >= d.maxSeq));
        } catch (e) {
          const error = (e as Error).message;
          this.opts.log?.error({ tenant: d.tenant, day: d.day, err: error }, 'archiving a day failed');
          result.failed.push({ tenant: d.tenant, day: d.day, error });
          const closedAt = Number((dayStartMicros(d.day) + DAY_MICROS + this.opts.graceUs) / 1000n);
          result.lag_seconds = Math.max(result.lag_seconds, Math.round((now - closedAt) / 1000));
        }
      }
    } finally {
      engine?.close();
    }
    result.removed = this.removeOld();
    return result;
  }

  /**
   * Archives one tenant's day, replacing an older archive of it. `filesHoldIt`: the category
   * files of the day are this tenant's alone and written through its last row, so the tar takes
   * them as they are (their lines counted against the Parquet file's; on any difference the
   * members are rendered from the Parquet file instead).
   */
  async archiveDay(engine: Engine, tenant: string, day: string, filesHoldIt = false): Promise<ArchivedDay> {
    const started = performance.now();
    const dir = this.tenantDir(tenant);
    const staging = path.join(dir, `.staging-${day}`);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(path.join(staging, day), { recursive: true });
    const parquetTmp = path.join(staging, `${day}.parquet`);
    const from = dayStartMicros(day);
    const rows = await this.opts.store.writeDayParquet({ tenant, from, to: from + DAY_MICROS, file: parquetTmp });
    const parquetMs = performance.now() - started;
    const { members, maxSeq } = await engine.members(parquetTmp, day);
    const filesDir = this.opts.categoryFiles?.dir;
    let source: 'category files' | 'store' = filesHoldIt && filesDir !== undefined && members.every((m) => fs.existsSync(path.join(filesDir, m.name))) ? 'category files' : 'store';
    if (source === 'store') await engine.render(parquetTmp, members, path.join(staging, day));
    const membersMs = performance.now() - started - parquetMs;
    const sourceOf = (m: ArchiveMember) => path.join(source === 'store' ? staging : filesDir!, m.name);
    for (const m of members) m.bytes = fs.statSync(sourceOf(m)).size;
    const categories = members.filter((m) => m.category !== null);
    const firsts = categories.map((m) => m.first_ts).filter((t): t is string => t !== null).sort();
    const lasts = categories.map((m) => m.last_ts).filter((t): t is string => t !== null).sort();
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      tenant,
      day,
      created_at: new Date(this.now()).toISOString(),
      records: rows,
      max_seq: String(maxSeq),
      first_ts: firsts[0] ?? null,
      last_ts: lasts[lasts.length - 1] ?? null,
      members,
      parquet: { name: `${day}.parquet`, rows, bytes: fs.statSync(parquetTmp).size, sha256: await sha256Of(parquetTmp) },
    };
    const tarTmp = path.join(staging, `${day}.tar.gz`);
    const tarStarted = performance.now();
    // The members' sums are taken as they go into the tar; the manifest follows them.
    const lines = await writeTarGz(tarTmp, manifest, sourceOf, this.ingestActive);
    if (source === 'category files' && members.some((m, i) => lines[i] !== m.records)) {
      // Not the day the store has (a late record, a file someone changed): from the store, then.
      this.opts.log?.info({ tenant, day }, 'the category files differ from the store for this day; archiving it from the store');
      source = 'store';
      await engine.render(parquetTmp, members, path.join(staging, day));
      for (const m of members) m.bytes = fs.statSync(sourceOf(m)).size;
      await writeTarGz(tarTmp, manifest, sourceOf, this.ingestActive);
    }
    const tarMs = performance.now() - tarStarted;
    // The token summary of the Parquet file's rows (derived data: without it, cold reads of the
    // day read it whole), built from the rows in the file's order on the index worker.
    const indexStarted = performance.now();
    const rowsTmp = path.join(staging, `${day}.rows`);
    const indexTmp = path.join(staging, `${day}.idx`);
    await engine.rowFile(parquetTmp, rowsTmp);
    await summariseRowFile(rowsTmp, indexTmp, rows);
    const indexMs = performance.now() - indexStarted;
    fsyncFile(parquetTmp);
    manifest.tar = { name: `${day}.tar.gz`, bytes: fs.statSync(tarTmp).size, sha256: await sha256Of(tarTmp) };
    const sidecarTmp = path.join(staging, `${day}.json`);
    fs.writeFileSync(sidecarTmp, `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncFile(sidecarTmp);
    // The manifest goes first and comes back last: between the two the day has no archive.
    fs.rmSync(path.join(dir, `${day}.json`), { force: true });
    fsyncDir(dir);
    fs.renameSync(parquetTmp, path.join(dir, `${day}.parquet`));
    fs.renameSync(indexTmp, path.join(dir, `${day}.idx`));
    fs.renameSync(tarTmp, path.join(dir, `${day}.tar.gz`));
    fsyncDir(dir);
    fs.renameSync(sidecarTmp, path.join(dir, `${day}.json`));
    fsyncDir(dir);
    fs.rmSync(staging, { recursive: true, force: true });
    const archived: ArchivedDay = {
      tenant,
      day,
      records: rows,
      tar_bytes: manifest.tar.bytes,
      parquet_bytes: manifest.parquet.bytes,
      jsonl_bytes: jsonlBytes(manifest),
      ms: Math.round(performance.now() - started),
      members_from: source,
      phases_ms: { parquet: Math.round(parquetMs), members: Math.round(membersMs), tar_gz: Math.round(tarMs), index: Math.round(indexMs) },
    };
    this.opts.log?.info(archived, 'day archived');
    return archived;
  }

  /** Whether a tenant day has a complete archive holding every row it has now (retention may have removed some since). */
  isArchived(d: DayCount): boolean {
    const m = readManifest(this.tenantDir(d.tenant), d.day);
    return m !== null && typeof m.max_seq === 'string' && BigInt(m.max_seq) >= d.maxSeq;
  }

  list(): ArchiveListEntry[] {
    return listArchives(this.opts.dir);
  }

  /**
   * Brings a day back into the hot store from its Parquet archive, for every tenant archived
   * that day or the one given: the rows the store no longer has, exactly as they were. The
   * archive's sum is checked first. The day is then held back from retention for
   * RESTORE_HOLD_DAYS (a `YYYY-MM-DD.restored` file beside the archive says since when).
   */
  async restore(day: string, tenant?: string): Promise<{ tenant: string; day: string; restored: number; present: number }[]> {
    const entries = this.list().filter((e) => e.day === day && (tenant === undefined || e.tenant === tenant));
    if (entries.length === 0) throw new LhError('LH_ERR_NOT_FOUND', `no archive of ${day}${tenant === undefined ? '' : ` for tenant ${tenant}`}`);
    const out = [];
    for (const e of entries) {
      const dir = this.tenantDir(e.tenant);
      const manifest = readManifest(dir, day);
      if (manifest === null) throw new LhError('LH_ERR_ARCHIVE_DAMAGED', `the archive of ${e.tenant} ${day} is incomplete (no manifest): run \`loghaven archive run\` first`);
      const parquet = path.join(dir, `${day}.parquet`);
      if (!fs.existsSync(parquet) || (await sha256Of(parquet)) !== manifest.parquet.sha256) {
        throw new LhError('LH_ERR_ARCHIVE_DAMAGED', `${path.relative(this.opts.dir, parquet)} does not match its manifest (missing or damaged): nothing restored; see \`loghaven archive verify\``);
      }
      const from = dayStartMicros(day);
      fs.writeFileSync(path.join(dir, `${day}.restored`), `${JSON.stringify({ restored_at: new Date(this.now()).toISOString() })}\n`);
      const done = await this.opts.store.restoreDay({ tenant: e.tenant, from, to: from + DAY_MICROS, file: parquet });
      this.opts.log?.info({ tenant: e.tenant, day, ...done }, 'day restored from its archive');
      out.push({ tenant: e.tenant, day, ...done });
    }
    return out;
  }

  /** Whether a tenant day was restored lately, and so is kept out of retention. */
  isHeld(tenant: string, day: string): boolean {
    try {
      const { restored_at } = JSON.parse(fs.readFileSync(path.join(this.tenantDir(tenant), `${day}.restored`), 'utf8')) as { restored_at: string };
      return this.now() - Date.parse(restored_at) < RESTORE_HOLD_DAYS * 86_400_000;
    } catch {
      return false;
    }
  }

  verify(filter: { tenant?: string; day?: string } = {}): Promise<{ days: number; problems: ArchiveProblem[] }> {
    return verifyArchives(this.opts.dir, filter);
  }

  /** Closed days with rows in the store and no complete, current archive: seconds since the oldest closed. */
  async lagSeconds(): Promise<number> {
    const now = this.now();
    const closedBefore = BigInt(now) * 1000n - this.opts.graceUs;
    let oldest: bigint | null = null;
    for (const d of await this.opts.store.dayCounts()) {
      const end = dayStartMicros(d.day) + DAY_MICROS;
      if (end > closedBefore) continue;
      if (this.isArchived(d)) continue;
      if (oldest === null || end < oldest) oldest = end;
    }
    return oldest === null ? 0 : Math.max(0, Math.round((now - Number((oldest + this.opts.graceUs) / 1000n)) / 1000));
  }

  /**
   * Which tenant days keep_days and keep_count keep an archive of, as the archives are now and
   * with the `coming` days archived too: a day newer than keep_days, and among the keep_count
   * newest archived days of its tenant (or newer).
   */
  keeps(coming: readonly { tenant: string; day: string }[] = []): (tenant: string, day: string) => boolean {
    const { keepDays, keepCount = 0 } = this.opts;
    const oldest = keepDays > 0 ? new Date(this.now() - keepDays * 86_400_000).toISOString().slice(0, 10) : '';
    const nth = new Map<string, string>();
    return (tenant, day) => {
      if (day < oldest) return false;
      if (keepCount === 0) return true;
      if (!nth.has(tenant)) {
        const archived = [
          ...new Set([
            // Days with a manifest: complete archives.
            ...safeReaddir(this.tenantDir(tenant)).flatMap((f) => {
              const m = DAY_FILE.exec(f);
              return m !== null && m[2] === 'json' ? [m[1]!] : [];
            }),
            ...coming.filter((c) => c.tenant === tenant).map((c) => c.day),
          ]),
        ]
          .sort()
          .reverse();
        nth.set(tenant, archived.length < keepCount ? '' : archived[keepCount - 1]!);
      }
      return day >= nth.get(tenant)!;
    };
  }

  /** Deletes the archives keep_days and keep_count no longer keep. */
  private removeOld(): { tenant: string; day: string }[] {
    if (this.opts.keepDays === 0 && !this.opts.keepCount) return [];
    const kept = this.keeps();
    const removed: { tenant: string; day: string }[] = [];
    for (const e of this.list()) {
      if (kept(e.tenant, e.day)) continue;
      removeArchiveDay(this.opts.dir, e.tenant, e.day);
      removed.push({ tenant: e.tenant, day: e.day });
    }
    if (removed.length > 0) this.opts.log?.info({ removed: removed.length, keep_days: this.opts.keepDays, keep_count: this.opts.keepCount ?? 0 }, 'old archives removed');
    return removed;
  }

  private tenantDir(tenant: string): string {
    return tenantArchiveDir(this.opts.dir, tenant);
  }
}

/** The day's records once each as JSONL: its category members (error and warning hold copies). */
function jsonlBytes(m: ArchiveManifest): number {
  return m.members.filter((x) => x.category !== null).reduce((n, x) => n + x.bytes, 0);
}

/** The manifest of a complete archive, or null. */
function readManifest(dir: string, day: string): ArchiveManifest | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `${day}.json`), 'utf8')) as ArchiveManifest;
  } catch {
    return null;
  }
}

/**
 * The members, each summed as it is read into the tar, then manifest.json with the sums; gzip
 * on both cores (parallel-gzip.ts), synced to disk when it resolves.
 */
async function writeTarGz(file: string, manifest: ArchiveManifest, sourceOf: (m: ArchiveMember) => string, ingestActive: () => boolean): Promise<number[]> {
  // Both cores when the server is otherwise quiet; one, leaving the other to ingest, when not.
  const out = new ParallelGzipFile(file, { level: 6, parallel: () => (ingestActive() ? 1 : 3) });
  const written = new Promise<void>((resolve, reject) => out.on('finish', resolve).on('error', reject));
  const tar = new TarWriter(out, Date.parse(manifest.created_at));
  const lines: number[] = [];
  for (const m of manifest.members) {
    const hash = crypto.createHash('sha256');
    let n = 0;
    await tar.addFile(m.name, sourceOf(m), m.bytes, (chunk) => {
      hash.update(chunk);
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
    });
    m.sha256 = hash.digest('hex');
    lines.push(n);
  }
  await tar.addBuffer('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  await tar.end();
  await written;
  return lines;
}

/**
 * The archiver's own engine: an in-memory DuckDB that reads the day's Parquet file and writes its
 * JSONL members (never the live database).
 */
export class Engine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(): Promise<Engine> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '512MB', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    return new Engine(instance, await instance.connect());
  }

  /**
   * Writes a member per category (records without one are `general`, as in the category files),
   * then error.jsonl and warning.jsonl, each in (ts, seq) order; sizes and sums are left to the caller.
   */
  /**
   * The day's members as the category files hold it — a member per category (records without
   * one are `general`), then error.jsonl and warning.jsonl — with their record counts and time
   * spans, from the Parquet file; sizes and sums are left to the caller.
   */
  async members(parquet: string, day: string): Promise<{ members: ArchiveMember[]; maxSeq: bigint }> {
    const src = `read_parquet(${sqlString(parquet)})`;
    const maxSeq = ((await this.conn.runAndReadAll(`SELECT coalesce(max(seq), 0) FROM ${src}`)).getRows()[0]![0] as bigint) ?? 0n;
    const groups = await this.conn.runAndReadAll(
      `SELECT coalesce(category, ${sqlString(DEFAULT_CATEGORY)}) AS c, count(*), min(epoch_us(ts)), max(epoch_us(ts)) FROM ${src} GROUP BY c ORDER BY c`,
    );
    const member = (name: string, category: string | null, levels: string[] | undefined, records: bigint, first: bigint | null, last: bigint | null): ArchiveMember => ({
      name: `${day}/${name}`,
      category,
      ...(levels ? { levels } : {}),
      records: Number(records),
      bytes: 0,
      sha256: '',
      first_ts: first === null ? null : formatMicros(first),
      last_ts: last === null ? null : formatMicros(last),
    });
    const members = (groups.getRows() as [string, bigint, bigint, bigint][]).map(([c, n, first, last]) => member(categoryFileName(c), c, undefined, n, first, last));
    for (const [file, levels] of LEVEL_MEMBERS) {
      const r = await this.conn.runAndReadAll(`SELECT count(*), min(epoch_us(ts)), max(epoch_us(ts)) FROM ${src} WHERE level IN (${levels.map(sqlString).join(', ')})`);
      const [n, first, last] = r.getRows()[0] as [bigint, bigint | null, bigint | null];
      if (n > 0n) members.push(member(file, null, [...levels], n, first, last));
    }
    return { members, maxSeq };
  }

  /** Writes the members' lines into `dir` from the Parquet file, each in (ts, seq) order. */
  async render(parquet: string, members: readonly ArchiveMember[], dir: string): Promise<void> {
    const src = `read_parquet(${sqlString(parquet)})`;
    for (const m of members) {
      const where =
        m.levels !== undefined
          ? `level IN (${m.levels.map(sqlString).join(', ')})`
          : m.category === DEFAULT_CATEGORY
            ? `coalesce(category, ${sqlString(m.category)}) = ${sqlString(m.category)}`
            : `category = ${sqlString(m.category!)}`;
      // The file is sorted by category, ts, seq: a category's rows come in order as they are;
      // general (with the records of no category) and the level files are sorted.
      const sorted = m.levels !== undefined || m.category === DEFAULT_CATEGORY;
      await this.copyLines(`SELECT ${JSON_LINE_SQL} FROM ${src} WHERE ${where}${sorted ? ' ORDER BY ts, seq' : ''}`, path.join(dir, path.basename(m.name)));
    }
  }

  /** The Parquet file's rows in the row format (row-format.ts), in the file's order: what the token summary is built from. */
  async rowFile(parquet: string, file: string): Promise<void> {
    await this.conn.run(`COPY (SELECT ${ROW_FORMAT_SQL} FROM read_parquet(${sqlString(parquet)})) TO ${sqlString(file)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')`);
  }

  /** One string column written as lines, as they are (JSON lines hold no raw tab or newline). */
  private async copyLines(select: string, file: string): Promise<void> {
    await this.conn.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t')`);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** A tenant's folder of archives under `dir` (DATA/archive): its name as a file name. */
export function tenantArchiveDir(dir: string, tenant: string): string {
  return path.join(dir, escapeFileName(tenant));
}

/** Deletes a tenant day's archive: the manifest first, so a crash half way leaves files that are not an archive, not a damaged one. */
export function removeArchiveDay(dir: string, tenant: string, day: string): void {
  const tdir = tenantArchiveDir(dir, tenant);
  for (const ext of ['json', 'tar.gz', 'parquet', 'idx', 'restored']) fs.rmSync(path.join(tdir, `${day}.${ext}`), { force: true });
}

/** Every archive under `dir` (DATA/archive, each tenant a folder), complete or not. */
export function listArchives(dir: string): ArchiveListEntry[] {
  const out: ArchiveListEntry[] = [];
  for (const t of safeReaddir(dir)) {
    const tdir = path.join(dir, t);
    if (t.startsWith('.') || !fs.statSync(tdir).isDirectory()) continue;
    const days = new Set<string>();
    for (const f of safeReaddir(tdir)) {
      const m = DAY_FILE.exec(f);
      if (m) days.add(m[1]!);
    }
    for (const day of [...days].sort()) {
      const manifest = readManifest(tdir, day);
      const size = (ext: string) => {
        try {
          return fs.statSync(path.join(tdir, `${day}.${ext}`)).size;
        } catch {
          return null;
        }
      };
      out.push({
        tenant: manifest?.tenant ?? unescapeFileName(t),
        day,
        complete: manifest !== null,
        records: manifest?.records ?? null,
        jsonl_bytes: manifest === null ? null : jsonlBytes(manifest),
        tar_bytes: size('tar.gz'),
        parquet_bytes: size('parquet'),
        created_at: manifest?.created_at ?? null,
      });
    }
  }
  return out;
}

/** The name a folder was made for (escapeFileName's inverse), for archives without a manifest. */
function unescapeFileName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * Checks archives against their manifests: every member of the tar.gz (its SHA-256 and lines),
 * the manifest inside the tar against the one beside it, and the tar.gz and Parquet files' own
 * sizes and sums. `dir` is DATA/archive, or one tenant's folder of it.
 */
export async function verifyArchives(dir: string, filter: { tenant?: string; day?: string } = {}): Promise<{ days: number; problems: ArchiveProblem[] }> {
  const problems: ArchiveProblem[] = [];
  // A tenant's folder given directly holds the days themselves.
  const tenantDirs = safeReaddir(dir).some((f) => DAY_FILE.test(f))
    ? [dir]
    : safeReaddir(dir)
        .filter((t) => !t.startsWith('.'))
        .map((t) => path.join(dir, t))
        .filter((d) => fs.statSync(d).isDirectory());
  let days = 0;
  for (const tdir of tenantDirs) {
    if (filter.tenant !== undefined && path.basename(tdir) !== escapeFileName(filter.tenant)) continue;
    const rel = (f: string) => path.relative(dir, path.join(tdir, f)) || f;
    const dayFiles = new Set<string>();
    for (const f of safeReaddir(tdir)) {
      const m = DAY_FILE.exec(f);
      if (m) dayFiles.add(m[1]!);
    }
    for (const day of [...dayFiles].sort()) {
      if (filter.day !== undefined && day !== filter.day) continue;
      days++;
      const manifest = readManifest(tdir, day);
      const tenant = manifest?.tenant ?? path.basename(tdir);
      const problem = (file: string, member: string | null, text: string) => problems.push({ tenant, day, file: rel(file), member, problem: text });
      if (manifest === null) {
        problem(`${day}.json`, null, fs.existsSync(path.join(tdir, `${day}.json`)) ? 'the manifest is not valid JSON' : 'incomplete archive: no manifest (the next `loghaven archive run` makes it again)');
        continue;
      }
      await verifyTar(tdir, day, manifest, problem);
      for (const [file, sum] of [
        [`${day}.tar.gz`, manifest.tar],
        [`${day}.parquet`, manifest.parquet],
      ] as const) {
        const full = path.join(tdir, file);
        if (sum === undefined) problem(file, null, 'the manifest has no size and SHA-256 for it');
        else if (!fs.existsSync(full)) problem(file, null, 'missing');
        else if (fs.statSync(full).size !== sum.bytes) problem(file, null, `${fs.statSync(full).size} bytes, the manifest says ${sum.bytes}`);
        else if ((await sha256Of(full)) !== sum.sha256) problem(file, null, 'SHA-256 differs from the manifest');
      }
    }
  }
  if (filter.day !== undefined && days === 0) problems.push({ tenant: filter.tenant ?? '*', day: filter.day, file: '', member: null, problem: 'no archive of this day' });
  return { days, problems };
}

async function verifyTar(tdir: string, day: string, manifest: ArchiveManifest, problem: (file: string, member: string | null, text: string) => void): Promise<void> {
  const file = `${day}.tar.gz`;
  const full = path.join(tdir, file);
  if (!fs.existsSync(full)) return; // reported with the file sums
  const expected = new Map(manifest.members.map((m) => [m.name, m]));
  const seen = new Set<string>();
  let current: { name: string; hash: crypto.Hash; lines: number; bytes: number; inner: Buffer[] | null } | null = null;
  const finish = () => {
    if (current === null) return;
    const c = current;
    current = null;
    if (c.name === 'manifest.json') {
      const { tar: _tar, ...outside } = manifest;
      let inside: unknown = null;
      try {
        inside = JSON.parse(Buffer.concat(c.inner!).toString('utf8'));
      } catch {
        return problem(file, c.name, 'not valid JSON');
      }
      if (JSON.stringify(inside) !== JSON.stringify(outside)) problem(file, c.name, `differs from ${day}.json`);
      return;
    }
    const m = expected.get(c.name);
    if (m === undefined) return problem(file, c.name, 'not in the manifest');
    if (c.hash.digest('hex') !== m.sha256) problem(file, c.name, `SHA-256 differs from the manifest (${c.bytes} bytes, ${c.lines} lines; the manifest says ${m.bytes} bytes, ${m.records} records)`);
    else if (c.lines !== m.records) problem(file, c.name, `${c.lines} lines, the manifest says ${m.records} records`);
  };
  try {
    await readTar(
      fs.createReadStream(full).pipe(zlib.createGunzip()),
      (m) => {
        finish();
        seen.add(m.name);
        current = { name: m.name, hash: crypto.createHash('sha256'), lines: 0, bytes: 0, inner: m.name === 'manifest.json' ? [] : null };
      },
      (chunk) => {
        const c = current!;
        c.hash.update(chunk);
        c.bytes += chunk.length;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) c.lines++;
        c.inner?.push(Buffer.from(chunk));
      },
    );
    finish();
  } catch (e) {
    const member = (e as { member?: string | null }).member ?? null;
    problem(file, member, `cannot be read: ${(e as Error).message}`);
    return;
  }
  if (!seen.has('manifest.json')) problem(file, 'manifest.json', 'missing');
  for (const name of expected.keys()) if (!seen.has(name)) problem(file, name, 'missing');
}
