// Long operations (archive runs, retention, restores) as jobs: the request that starts one is
// answered at once with the job, which the client follows at GET /api/v1/jobs/:id — its progress
// while it runs, then its result or its error. No HTTP request has to stay open for the minutes a
// day of millions of rows takes, and the CLI can draw a progress bar.

import type { FastifyInstance } from 'fastify';
import { LhError, isLhError } from '../../errors.js';
import { checkServerWide } from './ops-routes.js';

export interface JobProgress {
  done: number;
  total: number;
  /** What is being done now (`default 2026-11-20`). */
  what: string;
}

export interface Job {
  id: string;
  kind: string;
  state: 'running' | 'done' | 'failed';
  started_at: string;
  finished_at: string | null;
  progress: JobProgress | null;
  result: unknown;
  error: { code: string; message: string } | null;
}

/** Finished jobs kept for their clients to read. */
const KEEP_FINISHED = 64;

export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private next = 1;
  /** The key each job was started with (what makes two starts the same job). */
  private readonly keys = new Map<string, string>();

  /**
   * Starts `fn` as a job of `kind`, or answers the job of the same kind and key that is running
   * (two `archive run` at once are one run).
   */
  start(kind: string, key: string, fn: (progress: (p: JobProgress) => void) => Promise<unknown>): Job {
    for (const j of this.jobs.values()) if (j.state === 'running' && j.kind === kind && this.keys.get(j.id) === key) return j;
    const job: Job = { id: String(this.next++), kind, state: 'running', started_at: new Date().toISOString(), finished_at: null, progress: null, result: null, error: null };
    this.jobs.set(job.id, job);
    this.keys.set(job.id, key);
    fn((p) => (job.progress = p)).then(
      (result) => {
        job.state = 'done';
        job.result = result;
      },
      (e: unknown) => {
        job.state = 'failed';
        job.error = isLhError(e) ? { code: e.code, message: e.message } : { code: 'LH_ERR_INTERNAL', message: (e as Error).message };
      },
    ).finally(() => {
      job.finished_at = new Date().toISOString();
      this.forgetOld();
    });
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'running');
    for (const j of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.jobs.delete(j.id);
      this.keys.delete(j.id);
    }
  }
}

export async function jobRoutes(app: FastifyInstance, deps: { jobs: Jobs }): Promise<void> {
  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id', { config: { scope: 'admin' }, schema: { summary: 'A long operation: its progress, then its result or error', tags: ['lifecycle'] } }, async (req) => {
    checkServerWide(req.principal);
    const job = deps.jobs.get(req.params.id);
    if (job === undefined) throw new LhError('LH_ERR_NOT_FOUND', `no job ${req.params.id} (finished jobs are kept for a while, then forgotten)`);
    return job;
  });
}
