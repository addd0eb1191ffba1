// GET /api/v1/logs/tail: the live tail over Server-Sent Events (SPEC §5). Each record is one event,
// `id:` its position (sequence number) and `data:` the record as in search results; a reconnecting
// client's Last-Event-ID resumes right after it. A reader that cannot keep up gets `event: dropped`
// with how many records it missed, and a comment every 15 s keeps proxies from closing the stream.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { LhError } from '../../errors.js';
import type { TailHub, TailRecord } from '../../query/tail.js';
import { queryContext } from './logs-routes.js';

export interface TailRouteDeps {
  tails: TailHub;
}

/** Bytes a reader may leave unread before it counts as slow and records are dropped for it. */
const MAX_UNREAD_BYTES = 4 * 2 ** 20;
const HEARTBEAT_MS = 15_000;
const POSITION = /^\d{1,19}$/;

export async function tailRoutes(app: FastifyInstance, deps: TailRouteDeps): Promise<void> {
  const open = new Set<FastifyReply>();
  app.addHook('preClose', async () => {
    for (const reply of open) reply.raw.end();
  });

  app.get(
    '/api/v1/logs/tail',
    {
      config: { scope: 'query' },
      schema: {
        summary: 'Live tail over Server-Sent Events; Last-Event-ID resumes after a record',
        tags: ['query'],
        querystring: {
          type: 'object',
          properties: {
            q: { type: 'string', description: 'Query (SPEC §5)' },
            backfill: { type: 'string', description: 'Send the last N matching records first (at most 10000)' },
            last_event_id: { type: 'string', description: 'Resume after this record position (what the Last-Event-ID header does)' },
          },
        },
      },
    },
    async (req, reply) => {
      const p = req.query as Record<string, string | undefined>;
      const last = (req.headers['last-event-id'] as string | undefined) ?? p.last_event_id;
      let afterSeq: bigint | undefined;
      if (last !== undefined && last !== '') {
        if (!POSITION.test(last)) throw new LhError('LH_ERR_BAD_PARAM', `Last-Event-ID must be a record position (digits), got ${JSON.stringify(last)}`);
        afterSeq = BigInt(last);
      }
      const ctx = queryContext(req, reply);
      const raw = reply.raw;
      // Records pushed before the stream has begun (the backfill) wait here.
      let pending: string[] | null = [];
      const write = (text: string): boolean => {
        if (pending !== null) {
          pending.push(text);
          return true;
        }
        raw.write(text);
        return raw.writableLength <= MAX_UNREAD_BYTES;
      };
      const handle = await deps.tails.open(ctx, { q: p.q, backfill: p.backfill, afterSeq }, {
        push: (records: TailRecord[]) => write(records.map((r) => `id: ${r.seq}\ndata: ${r.json}\n\n`).join('')),
        dropped: (count: number) => void write(`event: dropped\ndata: {"count":${count}}\n\n`),
      });
      // The client may have gone while the tail opened: its close event has passed already.
      if (raw.destroyed || ctx.signal?.aborted) {
        handle.close();
        return reply.hijack();
      }
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // After the backfill (records in position order), an id-only event: a client that
      // reconnects before its next record resumes from where the tail began, not a later "now".
      raw.write(`retry: 1000\n: loghaven tail\n\n${pending.join('')}id: ${handle.position}\n\n`);
      pending = null;
      open.add(reply);
      raw.on('drain', () => handle.resume());
      const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
      raw.once('close', () => {
        clearInterval(heartbeat);
        handle.close();
        open.delete(reply);
      });
    },
  );
}
