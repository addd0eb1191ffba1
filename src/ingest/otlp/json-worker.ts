// OTLP/JSON bodies of some size are parsed on a worker thread. OTLP/JSON is the one format whose
// parse is a full JSON.parse of the body into objects (half of its cost), and on the main thread
// it left the HTTP layer, the spool and everything else waiting; the worker uses the core the
// main thread cannot. The rows come back as bytes (transferred, not copied), to the same pipeline.
// This module is both sides: imported, it is the client; run as the worker, it parses.

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { LhError, isLhError, type ErrorCode } from '../../errors.js';
import type { BufferSource, RowBatch } from '../../store/row-format.js';
import type { NormaliseContext } from '../common/normalise.js';
import { parseOtlpJson, type ParsedLogs } from './logs-body.js';

const ROLE = 'loghaven-otlp-json';

interface Request {
  id: number;
  body: ArrayBuffer;
  tenant: string;
  receivedAt: bigint;
}

type Answer =
  | { id: number; ok: true; rows: ArrayBuffer; offset: number; length: number; count: number; longestRow: number; rejected: number; errorMessage: string }
  | { id: number; ok: false; code: ErrorCode | null; message: string };

/** Rows built in buffers of their own, so that they can be transferred whole. */
const OWN_BUFFERS: BufferSource = { take: (n) => Buffer.allocUnsafeSlow(n), give: () => undefined };

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort!;
  port.on('message', (req: Request) => {
    let answer: Answer;
    const transfer: ArrayBuffer[] = [];
    try {
      const parsed = parseOtlpJson(Buffer.from(req.body), { tenant: req.tenant, receivedAt: req.receivedAt }, OWN_BUFFERS);
      const bytes = parsed.batch.bytes;
      const rows = bytes.buffer as ArrayBuffer;
      transfer.push(rows);
      answer = {
        id: req.id,
        ok: true,
        rows,
        offset: bytes.byteOffset,
        length: bytes.length,
        count: parsed.batch.count,
        longestRow: parsed.batch.longestRow,
        rejected: parsed.rejected,
        errorMessage: parsed.errorMessage,
      };
    } catch (e) {
      // LhError messages start with their code's text; the detail alone is sent back.
      answer = isLhError(e)
        ? { id: req.id, ok: false, code: e.code, message: e.message.replace(/^[^:]*: /, '') }
        : { id: req.id, ok: false, code: null, message: (e as Error).message };
    }
    port.postMessage(answer, transfer);
  });
}

/** Bodies smaller than this are parsed on the spot: the hand-off would cost more than it saves. */
export const OFF_THREAD_MIN_BYTES = 32 * 1024;

/**
 * The parse workers: as many as there are cores, up to four. The main thread mostly waits on them
 * (it reads bodies, spools rows and answers), so they may take every core between them.
 */
const WORKERS = Math.min(4, Math.max(1, availableParallelism()));

export class OtlpJsonWorker {
  private readonly workers: (Worker | null)[] = new Array<Worker | null>(WORKERS).fill(null);
  private readonly load = new Array<number>(WORKERS).fill(0);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (p: ParsedLogs) => void; reject: (e: Error) => void; worker: number }>();

  /** Parses a body like parseOtlpJson, on the worker thread when it is large enough. */
  parse(body: Buffer, ctx: NormaliseContext, buffers?: BufferSource): Promise<ParsedLogs> {
    if (body.length < OFF_THREAD_MIN_BYTES) return Promise.resolve(parseOtlpJson(body, ctx, buffers));
    // A copy of its own for the worker: the caller's buffer goes back to the pool at once.
    const copy = new ArrayBuffer(body.length);
    new Uint8Array(copy).set(body);
    const id = this.nextId++;
    // The worker with the fewest bytes waiting.
    let w = 0;
    for (let i = 1; i < WORKERS; i++) if (this.load[i]! < this.load[w]!) w = i;
    this.load[w]! += body.length;
    const bytes = body.length;
    return new Promise<ParsedLogs>((resolve, reject) => {
      const done = () => (this.load[w]! -= bytes);
      this.pending.set(id, { resolve: (p) => (done(), resolve(p)), reject: (e) => (done(), reject(e)), worker: w });
      this.started(w).postMessage({ id, body: copy, tenant: ctx.tenant, receivedAt: ctx.receivedAt } satisfies Request, [copy]);
    });
  }

  private started(index: number): Worker {
    const running = this.workers[index];
    if (running) return running;
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE } });
    worker.unref();
    worker.on('message', (a: Answer) => {
      const p = this.pending.get(a.id);
      if (!p) return;
      this.pending.delete(a.id);
      if (!a.ok) return p.reject(a.code !== null ? new LhError(a.code, a.message) : new LhError('LH_ERR_INTERNAL', a.message));
      const batch: RowBatch = { bytes: Buffer.from(a.rows, a.offset, a.length), count: a.count, longestRow: a.longestRow, release: () => undefined };
      p.resolve({ batch, rejected: a.rejected, errorMessage: a.errorMessage });
    });
    const fail = (e: Error) => {
      this.workers[index] = null;
      for (const [id, p] of this.pending) {
        if (p.worker !== index) continue;
        this.pending.delete(id);
        p.reject(new LhError('LH_ERR_INTERNAL', `OTLP/JSON parse worker failed: ${e.message}`));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.workers[index] === worker) fail(new Error(`exited with code ${code}`));
    });
    this.workers[index] = worker;
    return worker;
  }

  async close(): Promise<void> {
    const running = this.workers.filter((w): w is Worker => w !== null);
    this.workers.fill(null);
    await Promise.all(running.map((w) => w.terminate()));
  }
}
