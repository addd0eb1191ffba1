// The alerts of SPEC §8, worked out from what the server measures: memory above 85 % of its
// budget, the cache hit ratio under 50 % once it has been warmed, queries using more than 95 % of
// the concurrency limit over the last minute, slow queries in the last five minutes, and a nearly
// full disk. Reported in /health and /api/v1/status, and as the loghaven_alert gauge.

import fs from 'node:fs';
import type { Metrics } from './metrics.js';

export interface Alert {
  name: 'memory' | 'cache_hit_ratio' | 'concurrency' | 'slow_queries' | 'disk';
  message: string;
}

export interface AlertSources {
  metrics: Metrics;
  memoryBudget: number;
  diskFreePercent: number;
  dataDir: string;
  /** Hits over lookups, and how many lookups there were. */
  cache: () => { ratio: number | null; lookups: number } | null;
  /** Share of the concurrency limit in use now. */
  utilisation: () => number;
}

/** Lookups before the hit ratio is judged: a cold cache misses by nature. */
const CACHE_WARM_LOOKUPS = 100;
const SAMPLE_MS = 1000;
const CONCURRENCY_WINDOW = 60;
const SLOW_WINDOW_MS = 5 * 60_000;

export class AlertMonitor {
  private readonly busy: number[] = [];
  private lastSlow = 0;
  private slowCount = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly src: AlertSources) {
    this.timer = setInterval(() => {
      this.busy.push(src.utilisation());
      if (this.busy.length > CONCURRENCY_WINDOW) this.busy.shift();
    }, SAMPLE_MS);
    this.timer.unref();
  }

  /** Told of each slow query. */
  slowQuery(): void {
    this.lastSlow = Date.now();
    this.slowCount++;
  }

  check(): Alert[] {
    const alerts: Alert[] = [];
    const rss = process.memoryUsage.rss();
    if (rss > 0.85 * this.src.memoryBudget) {
      alerts.push({ name: 'memory', message: `resident memory ${mb(rss)} MB is above 85 % of alerts.memory_budget (${mb(this.src.memoryBudget)} MB)` });
    }
    const cache = this.src.cache();
    if (cache !== null && cache.ratio !== null && cache.lookups >= CACHE_WARM_LOOKUPS && cache.ratio < 0.5) {
      alerts.push({ name: 'cache_hit_ratio', message: `cache hit ratio ${(cache.ratio * 100).toFixed(0)} % is under 50 %` });
    }
    if (this.busy.length >= 10) {
      const avg = this.busy.reduce((a, b) => a + b, 0) / this.busy.length;
      if (avg > 0.95) alerts.push({ name: 'concurrency', message: `queries used ${(avg * 100).toFixed(0)} % of query.max_concurrent over the last minute` });
    }
    if (this.lastSlow > 0 && Date.now() - this.lastSlow < SLOW_WINDOW_MS) {
      alerts.push({ name: 'slow_queries', message: `${this.slowCount} queries slower than query.slow_ms since start, the last ${Math.round((Date.now() - this.lastSlow) / 1000)} s ago` });
    }
    try {
      const s = fs.statfsSync(this.src.dataDir);
      const free = (s.bavail / s.blocks) * 100;
      if (free < this.src.diskFreePercent) {
        alerts.push({ name: 'disk', message: `${free.toFixed(1)} % of the disk of ${this.src.dataDir} is free, under alerts.disk_free_percent (${this.src.diskFreePercent} %)` });
      }
    } catch {
      // The readiness check reports an unreadable data directory.
    }
    for (const name of ['memory', 'cache_hit_ratio', 'concurrency', 'slow_queries', 'disk'] as const) {
      this.src.metrics.alerts.set({ alert: name }, alerts.some((a) => a.name === name) ? 1 : 0);
    }
    return alerts;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function mb(n: number): number {
  return Math.round(n / 2 ** 20);
}
