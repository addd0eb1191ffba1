// The read side of the REST API (SPEC §5): search with cursor paging, streaming export,
// histogram and top values. Parameters are checked here; the store does the work.

import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LhError } from '../../errors.js';
import { formatMicros, nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import { decodeCursor, encodeCursor, queryHash } from '../../query/cursor.js';
import { parseQuery } from '../../query/parser.js';
import { CSV_HEADER, recordToJson } from '../../query/record-format.js';
import { parseStep, parseTimeParam } from '../../query/time.js';
import type { Selection, SortOrder, Store } from '../../store/store.js';

export interface LogsRouteDeps {
  store: Store;
  /** Resolves once everything acknowledged so far is queryable (read-your-writes). */
  visible: (mode?: 'staged' | 'loaded') => Promise<void>;
  metrics: Metrics;
  defaultLimit: number;
  maxLimit: number;
  exportChunkRows: number;
}

type Params = Record<string, string | undefined>;

const selectionParams = {
  q: { type: 'string', description: 'Query (SPEC §5): terms, "phrases", field:value, OR, NOT, (...)' },
  from: { type: 'string', description: 'Start (inclusive): RFC 3339, Unix time or now-15m' },
  to: { type: 'string', description: 'End (exclusive): RFC 3339, Unix time or now' },
} as const;

const MAX_HISTOGRAM_BUCKETS = 10_000;

export async function logsRoutes(app: FastifyInstance, deps: LogsRouteDeps): Promise<void> {
  app.get(
    '/api/v1/logs',
    {
      schema: {
        summary: 'Search logs, newest first by default, with an opaque cursor for the next page',
        tags: ['query'],
        querystring: {
          type: 'object',
          properties: {
            ...selectionParams,
            limit: { type: 'string', description: `Rows per page (default ${deps.defaultLimit}, max ${deps.maxLimit})` },
            order: { type: 'string', enum: ['asc', 'desc'] },
            cursor: { type: 'string', description: 'next_cursor of the previous page' },
            offset: { type: 'string', description: 'Rows to skip (without cursor)' },
          },
        },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      const p = req.query as Params;
      const sel = selection(p);
      await deps.visible();
      const order = sortOrder(p.order, 'desc');
      const limit = intParam('limit', p.limit, deps.defaultLimit, 1, deps.maxLimit);
      const hash = queryHash([p.q ?? '', p.from ?? '', p.to ?? '', order]);
      let after: { ts: bigint; seq: bigint } | undefined;
      let maxSeq: bigint;
      let offset: number | undefined;
      if (p.cursor) {
        const c = decodeCursor(p.cursor);
        if (c.qh !== hash || c.order !== order) {
          throw new LhError('LH_ERR_BAD_CURSOR', 'the cursor belongs to a different query, time range or order');
        }
        after = { ts: c.ts, seq: c.seq };
        maxSeq = c.maxSeq;
      } else {
        maxSeq = await deps.store.maxSeq();
        offset = p.offset === undefined ? undefined : intParam('offset', p.offset, 0, 0, 10_000_000);
      }
      const page = await deps.store.queryPage({ ...sel, order, limit, after, maxSeq, offset });
      const last = page.items[page.items.length - 1];
      const next =
        page.items.length === limit && last ? encodeCursor({ ts: last.ts, seq: last.seq, maxSeq, order, qh: hash }) : null;
      const elapsed = performance.now() - started;
      deps.metrics.queryDuration.observe({ route: 'search' }, elapsed / 1000);
      // Records are serialised by hand (attrs spliced in as stored), so the body is built as text.
      const items = page.items.map(recordToJson).join(',');
      const stats = JSON.stringify({ rows_scanned: page.rowsScanned, elapsed_ms: Math.round(elapsed * 100) / 100 });
      return reply
        .type('application/json; charset=utf-8')
        .send(`{"items":[${items}],"next_cursor":${JSON.stringify(next)},"stats":${stats}}`);
    },
  );

  app.get(
    '/api/v1/logs/export',
    {
      schema: {
        summary: 'Stream every matching record as NDJSON, CSV or a JSON array (gzip when accepted)',
        tags: ['query'],
        querystring: {
          type: 'object',
          properties: {
            ...selectionParams,
            format: { type: 'string', enum: ['ndjson', 'csv', 'json'] },
            order: { type: 'string', enum: ['asc', 'desc'] },
          },
        },
      },
    },
    async (req, reply) => {
      const p = req.query as Params;
      const sel = selection(p);
      await deps.visible('loaded');
      const order = sortOrder(p.order, 'asc');
      const format = p.format || 'ndjson';
      if (format !== 'ndjson' && format !== 'csv' && format !== 'json') {
        throw new LhError('LH_ERR_BAD_PARAM', `format must be ndjson, csv or json, got ${JSON.stringify(format)}`);
      }
      const maxSeq = await deps.store.maxSeq();
      // The response closing before it finished means the client went away: stop reading.
      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) {
          abort.abort();
          deps.metrics.exportsCancelled.inc();
        }
      });
      const chunks = deps.store.exportText(
        { ...sel, order, maxSeq, format: format === 'csv' ? 'csv' : 'ndjson', chunkRows: deps.exportChunkRows },
        abort.signal,
      );
      const started = performance.now();
      async function* encode(): AsyncGenerator<string> {
        if (format === 'csv') yield CSV_HEADER;
        if (format === 'json') yield '[\n';
        let first = true;
        for await (const chunk of chunks) {
          if (abort.signal.aborted) return;
          if (format !== 'json') {
            yield chunk.text;
            continue;
          }
          // JSON strings never hold a raw newline, so newlines are exactly the record boundaries.
          const body = chunk.text.slice(0, -1).replaceAll('\n', ',\n');
          yield first ? body : `,\n${body}`;
          first = false;
        }
        if (format === 'json') yield '\n]\n';
        deps.metrics.queryDuration.observe({ route: 'export' }, (performance.now() - started) / 1000);
      }
      const contentType =
        format === 'csv' ? 'text/csv; charset=utf-8' : format === 'json' ? 'application/json' : 'application/x-ndjson';
      let body: Readable = Readable.from(encode(), { objectMode: false, highWaterMark: 1 });
      reply.header('content-type', contentType);
      reply.header('content-disposition', `attachment; filename="logs.${format}"`);
      if (acceptsGzip(req)) {
        reply.header('content-encoding', 'gzip');
        // pipeline, not pipe: an error of the source (a failing page query) must reach the
        // stream Fastify sends, which then ends the response; with pipe it would go unhandled
        // and take the process down.
        body = pipeline(body, zlib.createGzip(), () => undefined);
      }
      // Once the answer has begun, a failure can only cut it short: say why in the log.
      body.once('error', (e: Error) => req.log.error({ err: e }, 'export failed after the answer began; response cut short'));
      return reply.send(body);
    },
  );

  app.get(
    '/api/v1/logs/histogram',
    {
      schema: {
        summary: 'Record counts per time bucket',
        tags: ['query'],
        querystring: {
          type: 'object',
          properties: { ...selectionParams, step: { type: 'string', description: 'Bucket width: 10s, 1m, 1h, 1d …' } },
        },
      },
    },
    async (req) => {
      const started = performance.now();
      const p = req.query as Params;
      const sel = selection(p);
      await deps.visible();
      const step = p.step ? parseStep(p.step) : autoStep(sel);
      const found = await deps.store.histogram({ ...sel, stepMicros: step });
      let buckets = found;
      if (sel.from !== undefined && sel.to !== undefined) {
        const first = (sel.from / step) * step;
        const n = (sel.to - first + step - 1n) / step;
        if (n <= BigInt(MAX_HISTOGRAM_BUCKETS)) {
          const counts = new Map(found.map((b) => [b.ts, b.count]));
          buckets = [];
          for (let t = first; t < sel.to; t += step) buckets.push({ ts: t, count: counts.get(t) ?? 0 });
        }
      }
      deps.metrics.queryDuration.observe({ route: 'histogram' }, (performance.now() - started) / 1000);
      return {
        step_ms: Number(step / 1000n),
        buckets: buckets.map((b) => ({ ts: formatMicros(b.ts), count: b.count })),
      };
    },
  );

  app.get(
    '/api/v1/logs/top',
    {
      schema: {
        summary: 'Most frequent values of a field (a record field or attrs.a.b)',
        tags: ['query'],
        querystring: {
          type: 'object',
          required: ['field'],
          properties: { ...selectionParams, field: { type: 'string' }, limit: { type: 'string' } },
        },
      },
    },
    async (req) => {
      const started = performance.now();
      const p = req.query as Params;
      const sel = selection(p);
      await deps.visible();
      const limit = intParam('limit', p.limit, 10, 1, 1000);
      const values = await deps.store.topValues({ ...sel, field: p.field!, limit });
      deps.metrics.queryDuration.observe({ route: 'top' }, (performance.now() - started) / 1000);
      return { field: p.field, values };
    },
  );
}

function selection(p: Params): Selection {
  const now = nowMicros();
  const from = parseTimeParam('from', p.from, now);
  const to = parseTimeParam('to', p.to, now);
  if (from !== undefined && to !== undefined && from >= to) {
    throw new LhError('LH_ERR_BAD_TIME', `"from" (${p.from}) must be before "to" (${p.to})`);
  }
  return { tenant: 'default', from, to, query: parseQuery(p.q ?? '') };
}

function sortOrder(v: string | undefined, fallback: SortOrder): SortOrder {
  if (v === undefined || v === '') return fallback;
  if (v === 'asc' || v === 'desc') return v;
  throw new LhError('LH_ERR_BAD_PARAM', `order must be "asc" or "desc", got ${JSON.stringify(v)}`);
}

function intParam(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LhError('LH_ERR_BAD_PARAM', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** About a hundred buckets over the requested window, on a round step. */
function autoStep(sel: Selection): bigint {
  const steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800].map(
    (s) => BigInt(s) * 1_000_000n,
  );
  if (sel.from === undefined || sel.to === undefined) return 60_000_000n;
  const span = sel.to - sel.from;
  return steps.find((s) => span / s <= 100n) ?? steps[steps.length - 1]!;
}

function acceptsGzip(req: FastifyRequest): boolean {
  const ae = req.headers['accept-encoding'];
  return typeof ae === 'string' && /\bgzip\b/.test(ae);
}
