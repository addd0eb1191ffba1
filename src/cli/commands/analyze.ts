// `loghaven analyze summary|hourly|urls|errors|sessions|flows|funnel`: access-log analytics from
// a running server (GET /api/v1/analytics/access/<kind>) as text tables, the server's JSON, or
// CSV. While a workflow analysis runs on a terminal, its stage and time show on stderr.

import { Command, Option } from 'commander';
import { describeFailure, exitCodeFor, getJson } from '../http-client.js';
import { EXIT_INVALID, EXIT_OK, type ExitCode } from '../exit-codes.js';
import { parsePositiveInteger, serverUrlOption } from '../options.js';
import { ACCESS_KINDS, type AccessKind } from '../../query/access-analytics.js';

interface AnalyzeOptions {
  url: string;
  query?: string;
  from?: string;
  to?: string;
  limit?: number;
  gap?: string;
  steps?: string;
  n?: number;
  maxSessions?: string;
  sampleRate?: string;
  format: 'table' | 'json' | 'csv';
}

type Json = Record<string, unknown>;

/** A table: a header row and rows of cells. */
interface Table {
  title?: string;
  header: string[];
  rows: unknown[][];
}

const LATENCY = ['p50', 'p90', 'p99'] as const;

function classes(o: Json): unknown[] {
  const c = (o.status_classes ?? {}) as Json;
  return [c['2xx'], c['3xx'], c['4xx'], c['5xx']];
}

function latency(o: Json, keys: readonly string[] = LATENCY): unknown[] {
  const l = (o.latency_ms ?? {}) as Json;
  return keys.map((k) => l[k]);
}

/** The tables of an answer of `kind`. */
export function tablesOf(kind: AccessKind, a: Json): Table[] {
  const items = (a.items ?? []) as Json[];
  switch (kind) {
    case 'summary':
      return [
        {
          header: ['figure', 'value'],
          rows: [
            ['requests', a.requests],
            ['2xx / 3xx / 4xx / 5xx', classes(a).join(' / ')],
            ['ELB errors / target errors', `${String(a.elb_errors)} / ${String(a.target_errors)}`],
            ['clients', a.clients],
            ['received bytes', a.received_bytes],
            ['sent bytes', a.sent_bytes],
            ['latency ms p50 / p90 / p99', latency(a).join(' / ')],
            ['first / last', `${String(a.first_ts)} / ${String(a.last_ts)}`],
          ],
        },
      ];
    case 'hourly':
      return [{ header: ['hour', 'requests', '2xx', '3xx', '4xx', '5xx', 'p50 ms', 'p90 ms', 'p99 ms', 'received', 'sent'], rows: items.map((i) => [i.hour, i.requests, ...classes(i), ...latency(i), i.received_bytes, i.sent_bytes]) }];
    case 'urls':
      return [
        {
          header: ['method', 'pattern', 'count', '2xx', '3xx', '4xx', '5xx', 'min', 'avg', 'p50', 'p90', 'p95', 'p99', 'max', 'sent'],
          rows: items.map((i) => [i.method, i.pattern, i.count, ...classes(i), ...latency(i, ['min', 'avg', 'p50', 'p90', 'p95', 'p99', 'max']), i.sent_bytes]),
        },
      ];
    case 'errors':
      return [{ header: ['status', 'error_reason', 'pattern', 'target', 'count'], rows: items.map((i) => [i.status, i.error_reason, i.pattern, i.target, i.count]) }];
    case 'sessions': {
      const len = (a.length ?? {}) as Json;
      const dur = (a.duration_s ?? {}) as Json;
      return [
        {
          header: ['figure', 'value'],
          rows: [
            ['sessions', a.sessions],
            ['requests', a.requests],
            ['length p50 / p90 / max', `${String(len.p50)} / ${String(len.p90)} / ${String(len.max)}`],
            ['duration s p50 / p90 / max', `${String(dur.p50)} / ${String(dur.p90)} / ${String(dur.max)}`],
            ['sample rate', a.sample_rate],
          ],
        },
        { title: 'entry pages', header: ['pattern', 'sessions'], rows: ((a.entry_pages ?? []) as Json[]).map((e) => [e.pattern, e.count]) },
        { title: 'exit pages', header: ['pattern', 'sessions'], rows: ((a.exit_pages ?? []) as Json[]).map((e) => [e.pattern, e.count]) },
      ];
    }
    case 'flows':
      return [
        { title: 'paths', header: ['path', 'count'], rows: ((a.paths ?? []) as Json[]).map((p) => [(p.steps as string[]).join(' → '), p.count]) },
        { title: 'transitions', header: ['from', 'to', 'count', 'probability'], rows: ((a.transitions ?? []) as Json[]).map((t) => [t.from, t.to, t.count, t.probability]) },
      ];
    case 'funnel':
      return [
        {
          header: ['step', 'pattern', 'sessions', 'conversion', 'drop-off'],
          rows: ((a.steps ?? []) as Json[]).map((s, i) => [i + 1, s.pattern, s.sessions, s.conversion, s.drop_off]),
        },
      ];
  }
}

function cell(v: unknown): string {
  return v === null || v === undefined ? '-' : String(v);
}

export function renderTables(tables: Table[]): string {
  return tables
    .map((t) => {
      const rows = [t.header, ...t.rows.map((r) => r.map(cell))];
      const widths = t.header.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
      const numeric = t.header.map((_, i) => t.rows.length > 0 && t.rows.every((r) => typeof r[i] === 'number' || r[i] === null));
      const lines = rows.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
      return `${t.title ? `${t.title}\n` : ''}${lines.join('\n')}\n`;
    })
    .join('\n');
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The answer's main table as CSV (for sessions and flows: every table, one after another). */
export function renderCsv(tables: Table[]): string {
  return tables
    .map((t) => [t.header, ...t.rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n')
    .join('\n');
}

/** On a terminal: the stage of the running analysis, refreshed until `done` settles. */
function showProgress(url: string, kind: AccessKind, done: Promise<unknown>): () => void {
  if (!process.stderr.isTTY || !['sessions', 'flows', 'funnel'].includes(kind)) return () => undefined;
  const started = performance.now();
  let stage = 'waiting for the server';
  let stopped = false;
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let frame = 0;
  const draw = () => {
    const s = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r\x1b[2K${frames[frame++ % frames.length]} ${kind}: ${stage} (${s} s)`);
  };
  const poll = setInterval(() => {
    void getJson<{ running: { kind: string; stage: string; sample_rate: number | null }[] }>(url, '/api/v1/analytics/access/progress', { timeoutMs: 2000 }).then((r) => {
      if (stopped || !r.ok) return;
      const mine = r.value.running.find((x) => x.kind === kind);
      if (mine) stage = `${mine.stage}${mine.sample_rate !== null && mine.sample_rate < 1 ? `, sampling ${(mine.sample_rate * 100).toFixed(1)} % of clients` : ''}`;
    });
  }, 500);
  const tick = setInterval(draw, 100);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(poll);
    clearInterval(tick);
    process.stderr.write('\r\x1b[2K');
  };
  void done.finally(stop);
  return stop;
}

export async function runAnalyze(kind: AccessKind, o: AnalyzeOptions): Promise<ExitCode> {
  const request = getJson<Json>(o.url, `/api/v1/analytics/access/${kind}`, {
    params: { q: o.query, from: o.from, to: o.to, limit: o.limit, gap: o.gap, steps: o.steps, n: o.n, max_sessions: o.maxSessions, sample_rate: o.sampleRate },
  });
  const stop = showProgress(o.url, kind, request);
  const answer = await request;
  stop();
  if (!answer.ok) {
    process.stderr.write(`${describeFailure(answer.failure)}\n`);
    return exitCodeFor(answer.failure);
  }
  const a = answer.value;
  if (o.format === 'json') {
    process.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
    return EXIT_OK;
  }
  const tables = tablesOf(kind, a);
  if (o.format === 'csv') {
    process.stdout.write(renderCsv(tables));
    return EXIT_OK;
  }
  process.stdout.write(renderTables(tables));
  const rate = typeof a.sample_rate === 'number' ? a.sample_rate : 1;
  if (rate < 1) process.stderr.write(`sampled: ${(rate * 100).toFixed(2)} % of clients; counts are estimates of the whole\n`);
  return EXIT_OK;
}

export function analyzeCommand(): Command {
  return new Command('analyze')
    .description('access-log analytics: summary, hourly, urls, errors, sessions, flows, funnel')
    .argument('<kind>', ACCESS_KINDS.join(' | '))
    .option('-q, --query <query>', 'filter, e.g. status:>=500 path:/api/* host:shop.example.com')
    .option('--from <time>', 'start of the time range, inclusive (RFC 3339, Unix time or now-24h)')
    .option('--to <time>', 'end of the time range, exclusive')
    .addOption(new Option('-n, --limit <n>', 'items to list').argParser(parsePositiveInteger))
    .option('--gap <duration>', 'sessions, flows, funnel: inactivity that ends a session (default 30m)')
    .option('--steps <patterns>', 'funnel: URL patterns, comma-separated, e.g. /,/products/{id},/cart')
    .addOption(new Option('--path-length <n>', 'flows: steps in a counted path (default 3)').argParser(parsePositiveInteger))
    .option('--max-sessions <n>', 'sessions, flows, funnel: sample clients past this many sessions (0: never)')
    .option('--sample-rate <rate>', 'sessions, flows, funnel: share of clients to analyse, (0, 1]')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .addOption(serverUrlOption())
    .action(async (kind: string, o: AnalyzeOptions & { pathLength?: number }) => {
      if (!(ACCESS_KINDS as readonly string[]).includes(kind)) {
        process.stderr.write(`unknown analysis "${kind}": expected one of ${ACCESS_KINDS.join(', ')}\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      process.exitCode = await runAnalyze(kind as AccessKind, { ...o, n: o.pathLength });
    });
}
