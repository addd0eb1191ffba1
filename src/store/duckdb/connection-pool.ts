// A fixed set of DuckDB read connections handed out one query at a time. A DuckDB connection
// runs one statement at a time, so concurrent HTTP reads each need their own.

import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export class ConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiters: ((c: DuckDBConnection) => void)[] = [];
  private opening = 0;

  constructor(
    private readonly instance: DuckDBInstance,
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
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(conn: DuckDBConnection): void {
    const next = this.waiters.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }

  async close(): Promise<void> {
    for (const c of this.all) c.closeSync();
    this.all.length = 0;
    this.idle.length = 0;
  }
}
