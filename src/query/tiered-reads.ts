// The query service's reads across the tiers: the hot store, and the cold tier (lifecycle/
// cold-tier.ts) for the days retention took out of the hot store but their archives keep. A
// range with no cold day goes to the store alone. Otherwise it is cut into runs of whole days,
// each read from its own tier; the runs never overlap in time, so pages and exports are the runs'
// rows one run after the other, and histograms and top values the runs' counts added up.

import type { ColdTier } from '../lifecycle/cold-tier.js';
import type { ExportChunk, ExportRequest, HistogramBucket, HistogramRequest, Page, PageRequest, Store, TopRequest, TopValue } from '../store/store.js';

/** Values each tier gives for a merged top: far more than asked, so that the sums rank as the whole would. */
const TOP_PER_TIER = 1000;

export class TieredReads {
  constructor(
    private readonly store: Store,
    private readonly cold: ColdTier | null,
  ) {}

  /** A page, and how many cold days it read (0: the hot store alone). */
  async queryPage(req: PageRequest): Promise<Page & { coldDays: number }> {
    const runs = this.cold?.runs(req) ?? null;
    if (runs === null) return { ...(await this.store.queryPage(req)), coldDays: 0 };
    const offset = req.offset ?? 0;
    let need = req.limit + offset;
    const items: Page['items'] = [];
    let scanned = 0;
    let coldDays = 0;
    for (const run of req.order === 'desc' ? [...runs].reverse() : runs) {
      if (need <= 0) break;
      // Runs wholly on the near side of the cursor hold nothing after it.
      if (req.after !== undefined && (req.order === 'desc' ? run.from !== undefined && run.from > req.after.ts : run.to !== undefined && run.to <= req.after.ts)) continue;
      const sub: PageRequest = { ...req, from: run.from, to: run.to, limit: need, offset: undefined };
      const page = run.cold ? await this.cold!.page(run.files, sub) : await this.store.queryPage(sub);
      items.push(...page.items);
      scanned += page.rowsScanned;
      need -= page.items.length;
      if (run.cold) coldDays += run.files.length;
    }
    return { items: items.slice(offset, offset + req.limit), rowsScanned: scanned, coldDays };
  }

  async histogram(req: HistogramRequest): Promise<HistogramBucket[]> {
    const runs = this.cold?.runs(req) ?? null;
    if (runs === null) return this.store.histogram(req);
    // A bucket (and with byLevel, a level within it) can span a day of each tier: counts add up.
    const sums = new Map<string, HistogramBucket>();
    for (const run of runs) {
      const sub = { ...req, from: run.from, to: run.to };
      for (const b of run.cold ? await this.cold!.histogram(run.files, sub) : await this.store.histogram(sub)) {
        const key = `${b.ts} ${b.level ?? ''}`;
        const sum = sums.get(key);
        if (sum === undefined) sums.set(key, { ...b });
        else sum.count += b.count;
      }
    }
    return [...sums.values()].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  }

  async topValues(req: TopRequest): Promise<TopValue[]> {
    const runs = this.cold?.runs(req) ?? null;
    if (runs === null) return this.store.topValues(req);
    const sums = new Map<string | null, number>();
    for (const run of runs) {
      const sub = { ...req, from: run.from, to: run.to, limit: Math.max(req.limit, TOP_PER_TIER) };
      for (const v of run.cold ? await this.cold!.topValues(run.files, sub) : await this.store.topValues(sub)) sums.set(v.value, (sums.get(v.value) ?? 0) + v.count);
    }
    return [...sums]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value === null ? 1 : b.value === null ? -1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .slice(0, req.limit);
  }

  async *exportText(req: ExportRequest, signal?: AbortSignal): AsyncIterable<ExportChunk> {
    const runs = this.cold?.runs(req) ?? null;
    if (runs === null) {
      yield* this.store.exportText(req, signal);
      return;
    }
    for (const run of req.order === 'desc' ? [...runs].reverse() : runs) {
      if (signal?.aborted) return;
      const sub = { ...req, from: run.from, to: run.to };
      yield* run.cold ? this.cold!.exportText(run.files, sub, signal) : this.store.exportText(sub, signal);
    }
  }
}
