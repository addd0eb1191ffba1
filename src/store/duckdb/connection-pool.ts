// A fixed set of DuckDB read connections handed out one query at a time. A DuckDB connection
// runs one statement at a time, so concurrent HTTP reads each need their own.

import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LhError } from '../../errors.js';

/** Longest close() waits for interrupted queries to hand their connections back. */
const CLOSE_WAIT_MS = 10_000;

export class ConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiters: { resolve: (c: DuckDBConnection) => void; reject: (e: Error) => void }[] = [];
  private opening = 0;
  private closing = false;
  /** While set, connections are not handed out (the database is being swapped). */
  private paused: { drained: () => void } | null = null;

  constructor(
    private instance: DuckDBInstance,
    private readonly size: number,
  ) {}

  async with<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      return await fn(conn);
    } finally {
      this.release(conn);
    }
  }

  private async acquire(): Promise<DuckDBConnection> {
    if (this.closing) throw new LhError('LH_ERR_STORE_CLOSED');
    if (this.paused !== null) return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    const free = this.idle.pop();
    if (free) return free;
    if (this.all.length + this.opening < this.size) {
      this.opening++;
      try {
        const conn = await this.instance.connect();
        this.all.push(conn);
        return conn;
      } finally {
        this.opening--;
      }
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(conn: DuckDBConnection): void {
    const next = this.closing || this.paused !== null ? undefined : this.waiters.shift();
    if (next) next.resolve(conn);
    else this.idle.push(conn);
    if (this.paused !== null && this.allIdle) this.paused.drained();
  }

  /**
   * Stops handing out connections and resolves once every query running has ended (those still
   * running after `waitMs` are interrupted); the reads that ask meanwhile wait for resume().
   */
  async pause(waitMs: number): Promise<void> {
    if (this.paused !== null) throw new Error('connection pool already paused');
    const drained = new Promise<void>((resolve) => (this.paused = { drained: resolve }));
    if (this.allIdle) this.paused!.drained();
    const timer = setTimeout(() => {
      for (const c of this.all) if (!this.idle.includes(c)) c.interrupt();
    }, waitMs);
    try {
      await drained;
    } finally {
      clearTimeout(timer);
    }
  }

  /** No connection out, none being opened. */
  private get allIdle(): boolean {
    return this.idle.length === this.all.length && this.opening === 0;
  }

  /** While paused: closes every connection (before their instance closes). */
  closeIdle(): void {
    for (const c of this.idle) c.closeSync();
    this.all.length = 0;
    this.idle.length = 0;
  }

  /** After pause(): hands out connections of `instance` (the same, or the one that replaced it) again. */
  resume(instance: DuckDBInstance): void {
    this.instance = instance;
    this.paused = null;
    for (const w of this.waiters.splice(0)) this.acquire().then(w.resolve, w.reject);
  }

  /**
   * Interrupts the queries still running, waits for their connections to come back, then closes
   * every connection; false if some did not come back in time. Never closes a busy one: closing a connection synchronously while its query
   * runs blocks the event loop until the query ends, and that query's end needs the event loop.
   */
  async close(): Promise<boolean> {
    this.closing = true;
    for (const w of this.waiters.splice(0)) w.reject(new LhError('LH_ERR_STORE_CLOSED'));
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (!this.allIdle && Date.now() < deadline) {
      for (const c of this.all) if (!this.idle.includes(c)) c.interrupt();
      await new Promise((r) => setTimeout(r, 20));
    }
    const allBack = this.idle.length === this.all.length;
    for (const c of this.idle) c.closeSync();
    this.all.length = 0;
    this.idle.length = 0;
    return allBack;
  }
}
