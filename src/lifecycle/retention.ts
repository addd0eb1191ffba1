// Retention (SPEC §7): how long records stay in the hot store — `retention.days` for all, and
// `[[retention.rules]]` by tenant, level, category or service, the first matching rule deciding.
// Expiry works in whole UTC days: the store deletes a tenant day's expiring rows reading that
// day's time range alone (never a scan of the live table), and with archiving on, a day leaves
// the hot store only once its archive is complete and current. Category file folders of days
// nothing is kept of any more go too. Then the size bound (size-bound.ts), when one is set.

import fs from 'node:fs';
import path from 'node:path';
import { isDayName } from '../model/record.js';
import { globFieldProblems, globRegExp } from '../pipeline/routing.js';
import type { DayCount, ExpiryPlan, OptimizeResult, Store } from '../store/store.js';
import { applySizeBound, type SizeBoundResult } from './size-bound.js';

export const RETENTION_FIELDS = ['tenant', 'level', 'category', 'service'] as const;
export type RetentionField = (typeof RETENTION_FIELDS)[number];

export interface RetentionRule extends Partial<Record<RetentionField, string>> {
  days: number;
}

const DAY_MS = 86_400_000;

/** Why a rule list cannot be used (config validation), one message per problem. */
export function retentionRuleProblems(rules: readonly RetentionRule[]): string[] {
  const problems: string[] = [];
  rules.forEach((rule, i) => {
    const at = `retention.rules[${i}]`;
    if (!Number.isInteger(rule.days) || rule.days < 0) problems.push(`${at}: days must be a whole number of at least 0 (0 keeps for ever)`);
    problems.push(...globFieldProblems(at, rule, RETENTION_FIELDS));
  });
  return problems;
}

/** The start of the first UTC day kept when `days` days are kept (µs), or null for "for ever". */
function cutoff(days: number, nowMs: number): bigint | null {
  if (days <= 0) return null;
  const first = new Date(nowMs - days * DAY_MS);
  return BigInt(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate())) * 1000n;
}

/** What the configuration expires at `nowMs`. */
export function expiryPlan(days: number, rules: readonly RetentionRule[], nowMs: number): ExpiryPlan {
  return {
    rules: rules.map((r) => ({
      // Globs as RE2 patterns, '.' matching newlines too as in routing.
      match: Object.fromEntries(RETENTION_FIELDS.filter((f) => r[f] !== undefined).map((f) => [f, `(?s)${globRegExp(r[f]!).source.slice(1, -1)}`])),
      before: cutoff(r.days, nowMs),
    })),
    defaultBefore: cutoff(days, nowMs),
  };
}

export interface RetentionResult {
  /** Rows deleted, by tenant day. */
  expired: { tenant: string; day: string; rows: number }[];
  rows: number;
  /** Tenant days with rows to expire that wait for their archive first. */
  waiting_for_archive: { tenant: string; day: string; rows: number }[];
  /** Tenant days with rows to expire that were restored lately (archive restore), kept for now. */
  held: { tenant: string; day: string; rows: number }[];
  /** Category file day folders removed (DATA/files/YYYY-MM-DD). */
  files_removed: string[];
  /** What `retention.max_disk_bytes` removed (its hot rows are in `expired` and `rows` too); null without a bound. */
  size: SizeBoundResult | null;
  /** The store's checkpoint after the rules expired rows (its file rewritten when that gave back a fifth of it). */
  optimized: OptimizeResult | null;
  ms: number;
}

export interface RetentionOptions {
  store: Store;
  days: number;
  rules: readonly RetentionRule[];
  /** Whether a tenant day is archived as it is now (null: archiving is off, nothing to wait for). */
  archived: ((day: DayCount) => boolean) | null;
  /** Tenant days kept out of retention for now (restored from their archive lately). */
  held?: (tenant: string, day: string) => boolean;
  /** DATA/files, when the category files are on. */
  filesDir: string | null;
  /** `retention.max_disk_bytes` (0: no bound) and the data directory it bounds, with the archives (`archive.dir`). */
  maxDiskBytes?: number;
  dataDir?: string;
  archiveDir?: string;
  now?: () => number;
  log?: { info(obj: object, msg: string): void };
}

export class Retention {
  /** The last run's outcome, for /ready. */
  last: { at: number; result: RetentionResult | null; error: string | null } | null = null;

  constructor(private readonly opts: RetentionOptions) {}

  /** Whether anything can ever expire. */
  get active(): boolean {
    return this.opts.days > 0 || this.opts.rules.some((r) => r.days > 0) || this.sizeBound > 0;
  }

  private get sizeBound(): number {
    return this.opts.dataDir === undefined ? 0 : (this.opts.maxDiskBytes ?? 0);
  }

  async run(): Promise<RetentionResult> {
    const now = this.opts.now?.() ?? Date.now();
    try {
      const result = await this.apply(now);
      this.last = { at: now, result, error: null };
      return result;
    } catch (e) {
      this.last = { at: now, result: null, error: (e as Error).message };
      throw e;
    }
  }

  private async apply(now: number): Promise<RetentionResult> {
    const started = performance.now();
    const result: RetentionResult = { expired: [], rows: 0, waiting_for_archive: [], held: [], files_removed: [], size: null, optimized: null, ms: 0 };
    if (!this.active) return result;
    await this.applyRules(now, result);
    // The space of what went is reused by later loads; when it is a fifth of the file, given back.
    if (result.rows > 0) result.optimized = await this.opts.store.optimize({ rewrite: 'auto' });
    result.files_removed = this.removeFileDays(now);
    if (this.sizeBound > 0) {
      const size = await applySizeBound({ store: this.opts.store, maxBytes: this.sizeBound, dataDir: this.opts.dataDir!, archiveDir: this.opts.archiveDir, now });
      result.size = size;
      result.expired.push(...size.expired);
      result.rows += size.expired.reduce((n, d) => n + d.rows, 0);
      if (size.days.length > 0) this.opts.log?.info({ days: size.days.map((d) => d.day), bytes_before: size.bytes_before, bytes_after: size.bytes_after, max_bytes: size.max_bytes }, 'oldest days removed for retention.max_disk_bytes');
    }
    result.ms = Math.round(performance.now() - started);
    if (result.rows > 0 || result.files_removed.length > 0) this.opts.log?.info({ rows: result.rows, days: result.expired.length, files_removed: result.files_removed.length }, 'retention applied');
    return result;
  }

  /** The rules and `retention.days`: what they expire, day by day, into `result`. */
  private async applyRules(now: number, result: RetentionResult): Promise<void> {
    const plan = expiryPlan(this.opts.days, this.opts.rules, now);
    const candidates = [];
    for (const c of await this.opts.store.expiryCandidates(plan)) {
      if (this.opts.held?.(c.tenant, c.day)) result.held.push({ tenant: c.tenant, day: c.day, rows: c.rows });
      else candidates.push(c);
    }
    let ready = candidates;
    if (this.opts.archived !== null && candidates.length > 0) {
      // The archive must hold the whole day as it is: judged on the day's own count and last row.
      const whole = new Map((await this.opts.store.dayCounts()).map((d) => [`${d.tenant}\u0000${d.day}`, d]));
      ready = [];
      for (const c of candidates) {
        const day = whole.get(`${c.tenant}\u0000${c.day}`);
        if (day !== undefined && this.opts.archived(day)) ready.push(c);
        else result.waiting_for_archive.push({ tenant: c.tenant, day: c.day, rows: c.rows });
      }
    }
    if (ready.length > 0) {
      result.rows = await this.opts.store.expire(plan, ready);
      result.expired = ready.map((c) => ({ tenant: c.tenant, day: c.day, rows: c.rows }));
    }
  }

  /** Category file folders of days older than the longest retention anything has. */
  private removeFileDays(now: number): string[] {
    if (this.opts.filesDir === null) return [];
    const longest = [this.opts.days, ...this.opts.rules.map((r) => r.days)];
    if (longest.some((d) => d === 0)) return [];
    const before = cutoff(Math.max(...longest), now)!;
    const firstKept = new Date(Number(before / 1000n)).toISOString().slice(0, 10);
    const removed: string[] = [];
    let days: string[] = [];
    try {
      days = fs.readdirSync(this.opts.filesDir);
    } catch {
      return [];
    }
    for (const day of days.sort()) {
      if (!isDayName(day) || day >= firstKept) continue;
      fs.rmSync(path.join(this.opts.filesDir, day), { recursive: true, force: true });
      removed.push(day);
    }
    return removed;
  }
}
