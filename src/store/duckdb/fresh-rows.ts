// Acknowledged rows not loaded yet, as the hot tier holds them in JavaScript: the bytes of each
// staged run of rows (row-format.ts) with where each row starts, its time and its tenant. A page
// with no query (the latest rows of a log view, the most frequent read there is) takes its
// newest rows from here directly, with no engine in the way; everything else reads the copy the
// hot tier makes of them in its own engine (hot-tier.ts).

import type { StoredRecord } from '../../model/record.js';
import { decodeRow } from '../row-format.js';
import type { PageAfter } from '../store.js';

const TAB = 9;
const NL = 10;
const MINUS = 45;

/** Doubles hold every integer up to this exactly; times (µs) beyond it are left to the engine. */
const EXACT_LIMIT = Number.MAX_SAFE_INTEGER;

/** Consecutive rows of one spool segment, as one stage brought them. */
export class FreshChunk {
  private constructor(
    readonly firstSeq: bigint,
    readonly rows: number,
    /** The rows' bytes, each row ending in a newline. */
    readonly bytes: Buffer,
    /** Byte offset of each row, and the end of the last (rows + 1 entries). */
    readonly starts: Uint32Array,
    /** Each row's ts in µs. */
    readonly ts: Float64Array,
    /** Each row's tenant, as an index into `tenants`. */
    readonly tenantOf: Uint16Array,
    readonly tenants: string[],
    /** Every ts is an exact double (within ±2^53 µs, the year 2255): the JavaScript reader can order them. */
    readonly exact: boolean,
    readonly minTs: number,
    readonly maxTs: number,
  ) {}

  /** Indexes `rows` rows in `bytes`, the first of them numbered `firstSeq`. */
  static of(bytes: Buffer, firstSeq: bigint, rows: number): FreshChunk {
    const starts = new Uint32Array(rows + 1);
    const ts = new Float64Array(rows);
    const tenantOf = new Uint16Array(rows);
    const tenants: string[] = [];
    const tenantIds = new Map<string, number>();
    let exact = true;
    let min = Infinity;
    let max = -Infinity;
    // The tenant of the previous row, by its bytes: consecutive rows mostly share it.
    let prevFrom = 0;
    let prevTo = 0;
    let prevId = -1;
    let at = 0;
    for (let i = 0; i < rows; i++) {
      if (at >= bytes.length) throw new Error(`fresh rows: ${rows} rows expected, ${i} found`);
      starts[i] = at;
      let neg = false;
      if (bytes[at] === MINUS) {
        neg = true;
        at++;
      }
      let v = 0;
      for (let c = bytes[at]!; c >= 48 && c <= 57; c = bytes[++at]!) v = v * 10 + (c - 48);
      if (v > EXACT_LIMIT) exact = false;
      if (neg) v = -v;
      ts[i] = v;
      if (v < min) min = v;
      if (v > max) max = v;
      // ts TAB received_at TAB tenant TAB …
      const t1 = bytes.indexOf(TAB, at + 1);
      const from = t1 + 1;
      const to = bytes.indexOf(TAB, from);
      if (t1 === -1 || to === -1) throw new Error(`fresh rows: row ${i} has too few columns`);
      let id: number;
      if (prevId !== -1 && to - from === prevTo - prevFrom && bytes.compare(bytes, prevFrom, prevTo, from, to) === 0) id = prevId;
      else {
        const raw = bytes.toString('utf8', from, to);
        const name = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        id = tenantIds.get(name) ?? -1;
        if (id === -1) {
          id = tenants.length;
          if (id > 0xffff) throw new Error('fresh rows: more than 65,536 tenants in one stage');
          tenants.push(name);
          tenantIds.set(name, id);
        }
      }
      tenantOf[i] = id;
      prevFrom = from;
      prevTo = to;
      prevId = id;
      const nl = bytes.indexOf(NL, to);
      if (nl === -1) throw new Error(`fresh rows: row ${i} has no newline`);
      at = nl + 1;
    }
    if (at !== bytes.length) throw new Error(`fresh rows: bytes left after ${rows} rows`);
    starts[rows] = at;
    return new FreshChunk(firstSeq, rows, bytes, starts, ts, tenantOf, tenants, exact, min, max);
  }

  get lastSeq(): bigint {
    return this.firstSeq + BigInt(this.rows) - 1n;
  }

  /** Row i, decoded as reads return it. */
  record(i: number): StoredRecord {
    // Without the newline; text columns unescape as the engine's loader does (JSON string rules).
    return { ...decodeRow(this.bytes.toString('utf8', this.starts[i]!, this.starts[i + 1]! - 1)), seq: this.firstSeq + BigInt(i) };
  }
}

export interface FreshPageRequest {
  tenant: string;
  from?: bigint;
  to?: bigint;
  after?: PageAfter;
  order: 'asc' | 'desc';
  /** Only rows with loadedSeq < seq <= maxSeq. */
  loadedSeq: bigint;
  maxSeq: bigint;
  /** Rows wanted: the first `need` in the page order. */
  need: number;
}

/** Whether the JavaScript reader can order these rows (see FreshChunk.exact). */
export function freshReadable(chunks: readonly FreshChunk[]): boolean {
  return chunks.every((c) => c.exact);
}

/**
 * The first `need` rows in (ts, seq) page order among `chunks` (in sequence order, all exact)
 * that belong to the tenant, fall in [from, to), come after the cursor and lie in the sequence
 * window: every row of the selection there, as a query with no condition reads them.
 */
export function freshPage(chunks: readonly FreshChunk[], req: FreshPageRequest): StoredRecord[] {
  const desc = req.order === 'desc';
  const need = req.need;
  // Bounds as doubles: exact while within ±2^53, and beyond it still on the right side of every row.
  const from = req.from === undefined ? -Infinity : Number(req.from);
  const to = req.to === undefined ? Infinity : Number(req.to);
  const afterTs = req.after === undefined ? NaN : Number(req.after.ts);
  // Kept rows as a heap whose root is the one that sorts last in the page; a row's key in
  // sequence order is (chunk, row), since chunks are in sequence order.
  const hTs = new Float64Array(need);
  const hChunk = new Int32Array(need);
  const hRow = new Int32Array(need);
  let size = 0;
  // Whether (ts a, key a) sorts after (ts b, key b) in the page.
  const later = (ta: number, ca: number, ra: number, tb: number, cb: number, rb: number): boolean => {
    if (ta !== tb) return desc ? ta < tb : ta > tb;
    if (ca !== cb) return desc ? ca < cb : ca > cb;
    return desc ? ra < rb : ra > rb;
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < size && later(hTs[l]!, hChunk[l]!, hRow[l]!, hTs[top]!, hChunk[top]!, hRow[top]!)) top = l;
      if (r < size && later(hTs[r]!, hChunk[r]!, hRow[r]!, hTs[top]!, hChunk[top]!, hRow[top]!)) top = r;
      if (top === i) return;
      swap(i, top);
      i = top;
    }
  };
  const swap = (a: number, b: number): void => {
    const t = hTs[a]!;
    hTs[a] = hTs[b]!;
    hTs[b] = t;
    const c = hChunk[a]!;
    hChunk[a] = hChunk[b]!;
    hChunk[b] = c;
    const r = hRow[a]!;
    hRow[a] = hRow[b]!;
    hRow[b] = r;
  };
  // Chunks that may hold the first rows of the page first; once the heap is full, a chunk whose
  // every row sorts after its root (and so every chunk after it) is passed over.
  const order = chunks.map((_, i) => i);
  order.sort(desc ? (a, b) => chunks[b]!.maxTs - chunks[a]!.maxTs : (a, b) => chunks[a]!.minTs - chunks[b]!.minTs);
  for (const ci of order) {
    const c = chunks[ci]!;
    if (size === need && (desc ? c.maxTs < hTs[0]! : c.minTs > hTs[0]!)) break;
    if (c.maxTs < from || c.minTs >= to) continue;
    const tenant = c.tenants.indexOf(req.tenant);
    if (tenant === -1) continue;
    // The rows of the chunk inside the sequence window.
    const lo = req.loadedSeq >= c.firstSeq ? Number(req.loadedSeq - c.firstSeq) + 1 : 0;
    const hi = req.maxSeq >= c.firstSeq ? Math.min(c.rows, Number(req.maxSeq - c.firstSeq) + 1) : 0;
    for (let i = lo; i < hi; i++) {
      if (c.tenantOf[i] !== tenant) continue;
      const ts = c.ts[i]!;
      if (ts < from || ts >= to) continue;
      if (req.after !== undefined) {
        if (desc ? ts > afterTs : ts < afterTs) continue;
        if (ts === afterTs) {
          const seq = c.firstSeq + BigInt(i);
          if (desc ? seq >= req.after.seq : seq <= req.after.seq) continue;
        }
      }
      if (size < need) {
        // Sift up.
        let k = size++;
        hTs[k] = ts;
        hChunk[k] = ci;
        hRow[k] = i;
        while (k > 0) {
          const p = (k - 1) >> 1;
          if (!later(hTs[k]!, hChunk[k]!, hRow[k]!, hTs[p]!, hChunk[p]!, hRow[p]!)) break;
          swap(k, p);
          k = p;
        }
      } else if (later(hTs[0]!, hChunk[0]!, hRow[0]!, ts, ci, i)) {
        hTs[0] = ts;
        hChunk[0] = ci;
        hRow[0] = i;
        siftDown(0);
      }
    }
  }
  // Pop the heap: the last in the page first.
  const out: StoredRecord[] = new Array<StoredRecord>(size);
  for (let k = size - 1; k >= 0; k--) {
    out[k] = chunks[hChunk[0]!]!.record(hRow[0]!);
    size--;
    if (size > 0) {
      hTs[0] = hTs[size]!;
      hChunk[0] = hChunk[size]!;
      hRow[0] = hRow[size]!;
      siftDown(0);
    }
  }
  return out;
}
