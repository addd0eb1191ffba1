// Archive endpoints (SPEC §7) behind `loghaven archive run|list|verify`: server-wide, for an
// admin key of every tenant.

import type { FastifyInstance } from 'fastify';
import { LhError } from '../../errors.js';
import { isDayName } from '../../model/record.js';
import type { Archiver } from '../../lifecycle/archive.js';
import type { JobProgress, Jobs } from './jobs.js';
import { checkServerWide } from './ops-routes.js';


export interface ArchiveRouteDeps {
  archiver: Archiver | null;
  jobs: Jobs;
  run: (progress: (p: JobProgress) => void) => Promise<unknown>;
  /** After a restore: cached answers over these days miss the rows that came back. */
  changed: (days: { tenant: string; day: string }[]) => Promise<void>;
}

export async function archiveRoutes(app: FastifyInstance, deps: ArchiveRouteDeps): Promise<void> {
  const archiver = () => {
    if (deps.archiver === null) throw new LhError('LH_ERR_BAD_PARAM', 'archiving is off on this server (archive.enabled = false)');
    return deps.archiver;
  };

  // A job (jobs.ts): answered at once, followed at GET /api/v1/jobs/:id.
  app.post('/api/v1/archive/run', { config: { scope: 'admin' }, schema: { summary: 'Archive every closed day now, then apply archive.keep_days (a job)', tags: ['lifecycle'] } }, async (req, reply) => {
    checkServerWide(req.principal);
    archiver();
    return reply.status(202).send({ job: deps.jobs.start('archive run', '', (progress) => deps.run(progress)) });
  });

  app.get('/api/v1/archive', { config: { scope: 'admin' }, schema: { summary: 'The archives, per tenant and day', tags: ['lifecycle'] } }, async (req) => {
    checkServerWide(req.principal);
    return { archives: archiver().list() };
  });

  app.post<{ Body: { day?: string; tenant?: string } | null }>(
    '/api/v1/archive/restore',
    { config: { scope: 'admin' }, schema: { summary: "Bring a day back into the hot store from its archive (every tenant's, or one; a job)", tags: ['lifecycle'] } },
    async (req, reply) => {
      checkServerWide(req.principal);
      const { day, tenant } = req.body ?? {};
      if (typeof day !== 'string' || !isDayName(day)) throw new LhError('LH_ERR_BAD_PARAM', `day=${JSON.stringify(day)}: expected a day as YYYY-MM-DD`, { param: 'day', value: String(day) });
      if (tenant !== undefined && typeof tenant !== 'string') throw new LhError('LH_ERR_BAD_PARAM', 'tenant: expected a string', { param: 'tenant' });
      const a = archiver();
      const job = deps.jobs.start('archive restore', `${day} ${tenant ?? '*'}`, async () => {
        const restored = await a.restore(day, tenant);
        await deps.changed(restored);
        return { restored };
      });
      return reply.status(202).send({ job });
    },
  );

  app.post<{ Body: { day?: string; tenant?: string } | null }>(
    '/api/v1/archive/verify',
    { config: { scope: 'admin' }, schema: { summary: 'Check archives against their manifests (every member, every sum; a job)', tags: ['lifecycle'] } },
    async (req, reply) => {
      checkServerWide(req.principal);
      const { day, tenant } = req.body ?? {};
      if (day !== undefined && (typeof day !== 'string' || !isDayName(day))) {
        throw new LhError('LH_ERR_BAD_PARAM', `day=${JSON.stringify(day)}: expected a day as YYYY-MM-DD`, { param: 'day', value: String(day) });
      }
      if (tenant !== undefined && typeof tenant !== 'string') throw new LhError('LH_ERR_BAD_PARAM', 'tenant: expected a string', { param: 'tenant' });
      const a = archiver();
      return reply.status(202).send({ job: deps.jobs.start('archive verify', `${day ?? '*'} ${tenant ?? '*'}`, () => a.verify({ day, tenant })) });
    },
  );
}
