// What makes a cached answer safe to serve: the record of which time ranges new data has touched,
// and when. Every acknowledged group of rows is recorded (before its acknowledgement is sent)
// with a version number; a cached answer carries the version at which its query began, and is
// served only if no later change touched its tenant and time range. So an answer never misses a
// record acknowledged before the request that reads it, whether it comes from the cache or not.

/** A shared implementation (Redis) lives beside this one; both answer the same three questions. */
export interface ChangeJournal {
  /** The version now: every change recorded from here on gets a higher one. */
  version(): Promise<number>;
  /** Rows with ts in [from, to] (µs, inclusive) arrived for `tenant` (null: any tenant). */
  record(tenant: string | null, from: bigint, to: bigint): Promise<void>;
  /** Whether a change after `version` touched `tenant` in [from, to) (undefined: unbounded). */
  changedSince(tenant: string, from: bigint | undefined, to: bigint | undefined, version: number): Promise<boolean>;
}

interface Change {
  version: number;
  tenant: string | null;
  from: bigint;
  to: bigint;
  /** When it was recorded (ms): changes of one second are merged into one. */
  at: number;
}

/** Changes within this long of each other (and of the same tenant) are kept as one. */
const MERGE_MS = 1000;

export class MemoryChangeJournal implements ChangeJournal {
  private current = 0;
  private readonly changes: Change[] = [];

  /** `keepMs`: how long a change matters, the longest time-to-live of a cached answer. */
  constructor(private readonly keepMs: number) {}

  version(): Promise<number> {
    return Promise.resolve(this.current);
  }

  record(tenant: string | null, from: bigint, to: bigint): Promise<void> {
    const now = Date.now();
    const version = ++this.current;
    const last = this.changes[this.changes.length - 1];
    if (last !== undefined && last.tenant === tenant && now - last.at < MERGE_MS) {
      if (from < last.from) last.from = from;
      if (to > last.to) last.to = to;
      last.version = version;
    } else {
      this.changes.push({ version, tenant, from, to, at: now });
      // Forget what no live cached answer can predate.
      let old = 0;
      while (old < this.changes.length && now - this.changes[old]!.at > this.keepMs + MERGE_MS) old++;
      if (old > 0) this.changes.splice(0, old);
    }
    return Promise.resolve();
  }

  changedSince(tenant: string, from: bigint | undefined, to: bigint | undefined, version: number): Promise<boolean> {
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const c = this.changes[i]!;
      if (c.version <= version) break;
      if (c.tenant !== null && c.tenant !== tenant) continue;
      if ((from === undefined || c.to >= from) && (to === undefined || c.from < to)) return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }
}

/**
 * The time range of rows in the row format (row-format.ts): the first column of each row is its
 * ts in integer µs; widened by `margin` µs on each side (read as doubles, times past 2^53 µs —
 * the year 2255 — may be up to 32 µs off). Null for no rows.
 */
export function rowsTimeRange(bytes: Uint8Array, end = bytes.length, margin = 1_000_000n): { from: bigint; to: bigint } | null {
  let min = Infinity;
  let max = -Infinity;
  let i = 0;
  while (i < end) {
    let neg = false;
    if (bytes[i] === 45) {
      neg = true;
      i++;
    }
    let v = 0;
    for (let c = bytes[i]!; c >= 48 && c <= 57; c = bytes[++i]!) v = v * 10 + (c - 48);
    if (neg) v = -v;
    if (v < min) min = v;
    if (v > max) max = v;
    const nl = indexOfNewline(bytes, i, end);
    if (nl === -1) break;
    i = nl + 1;
  }
  if (min === Infinity) return null;
  return { from: BigInt(Math.floor(min)) - margin, to: BigInt(Math.ceil(max)) + margin };
}

function indexOfNewline(bytes: Uint8Array, from: number, end: number): number {
  const i = Buffer.prototype.indexOf.call(bytes, 10, from) as number;
  return i === -1 || i >= end ? -1 : i;
}
