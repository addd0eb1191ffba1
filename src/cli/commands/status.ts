// `loghaven status`: a one-screen summary of a running server from GET /api/v1/status — version,
// readiness, uptime, store size and ingest queue — as text or as the server's JSON.

import { Command, Option } from 'commander';
import { formatByteSize } from '../../config/size.js';
import { describeFailure, exitCodeFor, getJson } from '../http-client.js';
import { EXIT_OK, type ExitCode } from '../exit-codes.js';
import { serverUrlOption } from '../options.js';

/** The body of GET /api/v1/status, as the CLI reads it. */
export interface ServerStatus {
  version: string;
  uptime_s: number;
  ready: boolean;
  store: { backend: string; rows: number; bytes: number };
  ingest: { queue_records: number; queue_bytes: number };
  memory?: { rss_bytes: number };
}

interface StatusOptions {
  url: string;
  format: 'text' | 'json';
}

const STATUS_TIMEOUT_MS = 10_000;

function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = Math.floor(seconds % 60);
  const clock = `${String(hours).padStart(2, '0')}h ${String(minutes).padStart(2, '0')}m ${String(secs).padStart(2, '0')}s`;
  return days > 0 ? `${days}d ${clock}` : clock;
}

const count = (n: number | undefined): string => (typeof n === 'number' ? n.toLocaleString('en-US') : '-');
const bytes = (n: number | undefined): string => (typeof n === 'number' ? formatByteSize(n) : '-');

/** Tolerates missing fields, so an older or newer server still gets a readable summary. */
export function renderStatusText(url: string, status: Partial<ServerStatus>): string {
  const rows: Array<[string, string]> = [
    ['server', url],
    ['version', status.version ?? '-'],
    ['ready', status.ready === undefined ? '-' : status.ready ? 'yes' : 'NO (see GET /ready)'],
    ['uptime', typeof status.uptime_s === 'number' ? formatUptime(status.uptime_s) : '-'],
    ['store', `${status.store?.backend ?? '-'}: ${count(status.store?.rows)} rows, ${bytes(status.store?.bytes)}`],
    ['ingest queue', `${count(status.ingest?.queue_records)} records, ${bytes(status.ingest?.queue_bytes)}`],
  ];
  if (status.memory) rows.push(['memory (rss)', bytes(status.memory.rss_bytes)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

export async function runStatus(options: StatusOptions): Promise<ExitCode> {
  const answer = await getJson<Partial<ServerStatus>>(options.url, '/api/v1/status', { timeoutMs: STATUS_TIMEOUT_MS });
  if (!answer.ok) {
    process.stderr.write(`${describeFailure(answer.failure)}\n`);
    return exitCodeFor(answer.failure);
  }
  process.stdout.write(options.format === 'json' ? `${JSON.stringify(answer.value, null, 2)}\n` : renderStatusText(options.url, answer.value));
  return EXIT_OK;
}

export function statusCommand(): Command {
  return new Command('status')
    .description('summary of a running server: version, readiness, uptime, store size, ingest queue')
    .addOption(serverUrlOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (options: StatusOptions) => {
      process.exitCode = await runStatus(options);
    });
}
