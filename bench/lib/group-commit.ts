// The disk's own floor for an fsync-per-acknowledgement design: requests arrive at a fixed rate,
// each appends its bytes to one file, and a request is done once an fdatasync that began after
// its append has returned. One fdatasync at a time; what arrives while one runs waits for it and
// goes in the next group, as in the spool's group commit (src/pipeline/ingest-pipeline.ts). No
// parsing, no HTTP, no other writer: what is left is the file system and the device's flush.

import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { percentile } from './report.js';

const fdatasync = promisify(fs.fdatasync);

/** Latency percentiles in ms, as wrk's open-loop script reports them (bench/lib/wrk-open-loop.lua). */
export interface LatencyPercentiles {
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  max: number;
}

export interface CommitLatency extends LatencyPercentiles {
  requests: number;
  fsyncs: number;
}

/**
 * Appends `bodies` in turn (one every 1000 / `perSecond` ms, timed from its slot) to a file in
 * `dir` for `seconds`; returns the latency from each slot to the end of the fdatasync covering it, in ms.
 */
export async function groupCommitLatency(dir: string, bodies: Buffer[], perSecond: number, seconds: number): Promise<CommitLatency> {
  const file = path.join(dir, 'group-commit-probe');
  const fd = fs.openSync(file, 'a');
  const intervalMs = 1000 / perSecond;
  const latencies: number[] = [];
  let waiting: number[] = [];
  let syncing = false;
  let fsyncs = 0;
  let next = 0;
  const commit = async (): Promise<void> => {
    syncing = true;
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      await fdatasync(fd);
      fsyncs++;
      const now = performance.now();
      for (const t of group) latencies.push(now - t);
    }
    syncing = false;
  };
  const start = performance.now();
  const end = start + seconds * 1000;
  try {
    await new Promise<void>((resolve, reject) => {
      let slot = start;
      const tick = (): void => {
        const now = performance.now();
        for (; slot <= now && slot < end; slot += intervalMs) {
          fs.writeSync(fd, bodies[next++ % bodies.length]!);
          waiting.push(slot);
        }
        if (!syncing && waiting.length > 0) commit().catch(reject);
        if (slot < end) setTimeout(tick, Math.max(0, slot - performance.now()));
        else {
          const settle = (): void => (syncing || waiting.length > 0 ? void setTimeout(settle, 1) : resolve());
          settle();
        }
      };
      tick();
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    p99_9: percentile(latencies, 99.9),
    max: latencies[latencies.length - 1] ?? NaN,
    requests: latencies.length,
    fsyncs,
  };
}
