// The one path from every protocol to the store: a bounded queue (in bytes) in front of a group
// committer. Requests that arrive while a commit is running are written together in the next one,
// so one fsync covers many requests; a request's promise resolves only once its rows are durable.

import { LhError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { AppendResult, RecordBatch, Store } from '../store/store.js';
import { appendBatch, emptyBatch } from '../store/store.js';

export interface IngestPipelineOptions {
  /** Bound on the bytes of requests queued and in flight; past it, submissions are refused. */
  queueMaxBytes: number;
  /** Most rows written in one commit. */
  maxBatchRows: number;
  /** How long the committer waits for more requests before writing a small batch. */
  flushIntervalMs: number;
}

interface Pending {
  batch: RecordBatch;
  bytes: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export class IngestPipeline {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private queuedRecords = 0;
  private inFlightBytes = 0;
  private running: Promise<void> | null = null;
  private closing = false;

  constructor(
    private readonly store: Store,
    private readonly options: IngestPipelineOptions,
    private readonly metrics: Metrics,
  ) {}

  get queueBytes(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  get queueRecords(): number {
    return this.queuedRecords;
  }

  /** True when a new request of `bytes` would be refused. */
  isFull(bytes = 0): boolean {
    return this.queueBytes > 0 && this.queueBytes + bytes > this.options.queueMaxBytes;
  }

  /** Queues a batch; resolves once every row in it is durable in the store. */
  submit(batch: RecordBatch, bytes: number): Promise<AppendResult> {
    if (this.closing) return Promise.reject(new LhError('LH_ERR_SHUTTING_DOWN'));
    if (batch.rows.length === 0) return Promise.resolve({ firstSeq: 0n, count: 0 });
    if (this.isFull(bytes)) {
      this.metrics.overloaded.inc();
      return Promise.reject(
        new LhError('LH_ERR_OVERLOADED', `${this.queueBytes} bytes queued, limit ${this.options.queueMaxBytes}`),
      );
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ batch, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.queuedRecords += batch.rows.length;
      this.updateGauges();
      this.running ??= this.commitLoop().finally(() => {
        this.running = null;
      });
    });
  }

  /** Refuses new submissions and waits until everything queued is committed. */
  async drain(): Promise<void> {
    this.closing = true;
    while (this.running) await this.running;
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.options.flushIntervalMs > 0 && this.queuedRecords < this.options.maxBatchRows && !this.closing) {
        await new Promise((r) => setTimeout(r, this.options.flushIntervalMs));
      }
      const group = this.takeGroup();
      const merged = group.length === 1 ? group[0]!.batch : mergeBatches(group.map((p) => p.batch));
      const bytes = group.reduce((n, p) => n + p.bytes, 0);
      this.inFlightBytes += bytes;
      const started = process.hrtime.bigint();
      try {
        const res = await this.store.append(merged);
        this.metrics.flushSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        this.metrics.ingestBatches.inc();
        this.metrics.batchRows.observe(merged.rows.length);
        let seq = res.firstSeq;
        for (const p of group) {
          p.resolve({ firstSeq: seq, count: p.batch.rows.length });
          seq += BigInt(p.batch.rows.length);
        }
      } catch (e) {
        for (const p of group) p.reject(e);
      } finally {
        this.inFlightBytes -= bytes;
        this.updateGauges();
      }
    }
  }

  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (group.length > 0 && rows + next.batch.rows.length > this.options.maxBatchRows) break;
      this.queue.shift();
      group.push(next);
      rows += next.batch.rows.length;
      this.queuedBytes -= next.bytes;
      this.queuedRecords -= next.batch.rows.length;
    }
    return group;
  }

  private updateGauges(): void {
    this.metrics.queueBytes.set(this.queueBytes);
    this.metrics.queueRecords.set(this.queuedRecords);
  }
}

function mergeBatches(batches: RecordBatch[]): RecordBatch {
  const out = emptyBatch();
  for (const b of batches) appendBatch(out, b);
  return out;
}
