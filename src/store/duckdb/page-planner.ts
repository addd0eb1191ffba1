// One page of search results without reading the whole table. The candidates — blocks the time
// window and the token index do not rule out, whole segments not indexed yet, and the staged
// pieces of the hot tier — are read newest first (oldest first for `asc`) by the time range each
// may hold, a growing batch at a time; reading stops as soon as the page is full and no candidate
// left can hold a row that sorts before the last one kept. The latest rows need the newest piece
// or block; a rare word needs the few blocks that hold it. A page with no query takes the staged
// rows from memory instead (fresh-rows.ts), all at once, before it looks at any block.

import type { DuckDBValue } from '@duckdb/node-api';
import type { StoredRecord } from '../../model/record.js';
import { onlyTenant, type ReadUnit, type SegmentCatalog } from '../index/segment-catalog.js';
import type { SegmentTest } from '../index/segment-filter.js';
import type { Page, PageRequest } from '../store.js';
import { freshPage } from './fresh-rows.js';
import type { HotSnapshot } from './hot-tier.js';
import { SELECT_COLUMNS, WhereBuilder, mergeRanges, rangesFrom, toStoredRecord } from './read-sql.js';

/**
 * Rows of candidate blocks read by the first batch (at least the page); each later batch reads
 * four times more. When all candidates come to little more, they are read at once.
 */
const FIRST_BATCH_ROWS = 16_384;
const ALL_AT_ONCE_ROWS = 262_144;

export interface PageSources {
  catalog: SegmentCatalog;
  /** Highest sequence number in `logs`: rows up to here are read there, the rest in the hot tier. */
  loadedSeq: bigint;
  hot: HotSnapshot;
  /** Read the staged rows from memory (`hot.fresh`) rather than its pieces: only for a page with no query. */
  fresh: boolean;
  /** Which segments may hold matching rows. */
  test: SegmentTest;
  /** Runs a read of `logs` and returns its rows. */
  run(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]>;
  /** Runs a read of staged pieces (the hot tier's own engine). */
  runHot(sql: string, params: DuckDBValue[]): Promise<DuckDBValue[][]>;
}

/** A unit to read: of `logs`, or a staged part of the hot tier (its table). */
type Candidate = ReadUnit & { table?: string };

/** (ts, seq) of a in the page's order relative to b: negative when a comes first. */
function compare(a: { ts: bigint; seq: bigint }, b: { ts: bigint; seq: bigint }, desc: boolean): number {
  const c = a.ts === b.ts ? (a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1) : a.ts < b.ts ? -1 : 1;
  return desc ? -c : c;
}

export async function readPage(src: PageSources, req: PageRequest & { maxSeq: bigint }): Promise<Page> {
  const desc = req.order === 'desc';
  const need = req.limit + (req.offset ?? 0);
  const test = src.test;
  let from = req.from;
  let to = req.to;
  // A cursor bounds the time range too, so segments entirely before it are not candidates.
  if (req.after !== undefined) {
    if (desc) to = to === undefined || req.after.ts + 1n < to ? req.after.ts + 1n : to;
    else from = from === undefined || req.after.ts > from ? req.after.ts : from;
  }
  const loadedMax = req.maxSeq < src.loadedSeq ? req.maxSeq : src.loadedSeq;
  // The staged parts are candidates like the blocks, with the time bounds of what they hold.
  const candidates: Candidate[] = src.catalog.candidates({ from, to, maxSeq: loadedMax, test });
  for (const p of src.fresh ? [] : src.hot.parts) {
    if (p.firstSeq > req.maxSeq || (from !== undefined && p.maxTs < from) || (to !== undefined && p.minTs >= to)) continue;
    candidates.push({ firstSeq: p.firstSeq, lastSeq: p.lastSeq, rows: Number(p.lastSeq - p.firstSeq + 1n), minTs: p.minTs, maxTs: p.maxTs, table: p.table });
  }
  // Newest first: by the latest row a unit may hold (oldest first by the earliest for asc).
  candidates.sort((a, b) =>
    desc
      ? a.maxTs === b.maxTs ? (a.lastSeq < b.lastSeq ? 1 : -1) : a.maxTs < b.maxTs ? 1 : -1
      : a.minTs === b.minTs ? (a.firstSeq < b.firstSeq ? -1 : 1) : a.minTs < b.minTs ? -1 : 1,
  );
  let kept: StoredRecord[] = [];
  let scanned = 0;
  let next = 0;
  let total = 0;
  for (const c of candidates) total += c.rows;
  // Without a filter every row matches: the first batch needs no more rows than the page.
  let budget = total <= ALL_AT_ONCE_ROWS ? total : req.query === undefined ? need : Math.max(FIRST_BATCH_ROWS, need);
  let cutoff: StoredRecord | undefined;
  if (src.fresh) {
    const f = src.hot.fresh;
    kept = freshPage(f, { tenant: req.tenant, from: req.from, to: req.to, after: req.after, order: req.order, loadedSeq: src.loadedSeq, maxSeq: req.maxSeq, need });
    for (const c of f) scanned += c.rows;
    if (kept.length === need) cutoff = kept[need - 1];
  }
  for (;;) {
    const batch: ReadUnit[] = [];
    const staged: Candidate[] = [];
    let rows = 0;
    while (next < candidates.length && (batch.length + staged.length === 0 || rows + candidates[next]!.rows <= budget)) {
      const s = candidates[next++]!;
      // Past the cutoff: nothing in it can come before the rows kept.
      if (cutoff !== undefined && !mayPrecede(s, cutoff, desc)) continue;
      if (s.table === undefined) batch.push(s);
      else staged.push(s);
      rows += s.rows;
    }
    const reads: Promise<StoredRecord[]>[] = [];
    if (batch.length > 0) {
      const from = rangesFrom(mergeRanges(batch.map((s) => [s.firstSeq, s.lastSeq < loadedMax ? s.lastSeq : loadedMax])));
      reads.push(readRows(src.run, req, need, cutoff, from, onlyTenant(batch, req.tenant)));
    }
    if (staged.length > 0) {
      const scans = staged.map((p) => `SELECT * FROM ${p.table}`);
      const from = `(${scans.join(' UNION ALL ')}) AS hot WHERE seq > ${src.loadedSeq} AND `;
      reads.push(readRows(src.runHot, req, need, cutoff, from, false));
    }
    scanned += rows;
    if (reads.length === 0) break;
    for (const rowsRead of await Promise.all(reads)) kept = kept.concat(rowsRead);
    kept.sort((a, b) => compare(a, b, desc));
    if (kept.length > need) kept.length = need;
    if (kept.length === need) cutoff = kept[need - 1];
    if (next >= candidates.length) break;
    if (cutoff !== undefined && !candidates.slice(next).some((s) => mayPrecede(s, cutoff!, desc))) break;
    budget *= 4;
  }
  return { items: kept.slice(req.offset ?? 0), rowsScanned: scanned };
}

/** Whether segment s may hold a row that sorts before `row` in the page order. */
function mayPrecede(s: ReadUnit, row: { ts: bigint; seq: bigint }, desc: boolean): boolean {
  return desc ? compare({ ts: s.maxTs, seq: s.lastSeq }, row, true) < 0 : compare({ ts: s.minTs, seq: s.firstSeq }, row, false) < 0;
}

/** The first `need` matching rows, in order, of the rows `from` (a rangesFrom-style clause) reads. */
async function readRows(
  run: PageSources['run'],
  req: PageRequest & { maxSeq: bigint },
  need: number,
  cutoff: StoredRecord | undefined,
  from: string,
  tenantImplied: boolean,
): Promise<StoredRecord[]> {
  const where = new WhereBuilder(req, tenantImplied);
  where.add(`seq <= ${where.param(req.maxSeq)}`);
  if (req.after !== undefined) where.addAfter(req.after, req.order);
  // Rows after the cutoff cannot make the page; saying so lets the engine skip them.
  if (cutoff !== undefined) {
    const t = where.param(cutoff.ts);
    where.add(req.order === 'desc' ? `ts >= make_timestamp(${t})` : `ts <= make_timestamp(${t})`);
  }
  where.addQuery(req.query);
  const dir = req.order === 'desc' ? 'DESC' : 'ASC';
  const sql = `SELECT ${SELECT_COLUMNS} FROM ${from}${where.sql()} ORDER BY ts ${dir}, seq ${dir} LIMIT ${need}`;
  return (await run(sql, where.params)).map(toStoredRecord);
}
