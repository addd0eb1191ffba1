// `loghaven query`: one page of search results from GET /api/v1/logs, as a table sized to the
// terminal, the server's JSON, or one record per line (NDJSON) for piping into jq and friends.

import { Command, Option } from 'commander';
import { describeFailure, exitCodeFor, getJson } from '../http-client.js';
import { EXIT_OK, type ExitCode } from '../exit-codes.js';
import { parsePositiveInteger, serverUrlOption } from '../options.js';
import type { WireRecord } from '../../model/record.js';

/** One record as GET /api/v1/logs returns it. */
/** One item of GET /api/v1/logs: the wire form of a record. */
export type LogItem = WireRecord;

/** The body of GET /api/v1/logs. */
export interface LogsPage {
  items: LogItem[];
  next_cursor: string | null;
  stats?: Record<string, unknown>;
}

interface QueryOptions {
  url: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  order?: 'asc' | 'desc';
  format: 'table' | 'json' | 'ndjson';
}

const TABLE_COLUMNS = ['ts', 'level', 'service', 'host', 'message'] as const;
/** service and host rarely need more; the message gets the rest of the line. */
const NARROW_COLUMN_MAX = 24;
const MESSAGE_MIN_WIDTH = 20;

function truncate(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function cellText(item: LogItem, column: (typeof TABLE_COLUMNS)[number]): string {
  const value = item[column];
  return value === null || value === undefined ? '-' : String(value).replace(/\s*[\r\n]+\s*/g, ' ⏎ ');
}

/**
 * Rows of `ts level service host message`; with `terminalWidth` each line is cut to fit (the
 * message takes what is left), without it (output piped) nothing is cut.
 */
export function renderLogTable(items: readonly LogItem[], terminalWidth?: number): string {
  const rows = [[...TABLE_COLUMNS] as string[], ...items.map((item) => TABLE_COLUMNS.map((column) => cellText(item, column)))];
  const fixedWidths = TABLE_COLUMNS.slice(0, -1).map((_, index) => {
    const widest = Math.max(...rows.map((row) => [...row[index]].length));
    return index === 0 ? widest : Math.min(widest, NARROW_COLUMN_MAX);
  });
  const messageWidth =
    terminalWidth === undefined
      ? Infinity
      : Math.max(MESSAGE_MIN_WIDTH, terminalWidth - fixedWidths.reduce((sum, width) => sum + width + 2, 0));
  return rows
    .map((row) => {
      const fixed = fixedWidths.map((width, index) => truncate(row[index], width).padEnd(width));
      const line = [...fixed, truncate(row[row.length - 1], messageWidth)].join('  ').trimEnd();
      return terminalWidth === undefined ? line : truncate(line, terminalWidth);
    })
    .join('\n')
    .concat('\n');
}

function pageSummary(page: LogsPage): string {
  const parts = [`${page.items.length} ${page.items.length === 1 ? 'record' : 'records'}`];
  for (const [name, value] of Object.entries(page.stats ?? {})) {
    if (typeof value === 'number' || typeof value === 'string') parts.push(`${name} ${value}`);
  }
  const more = page.next_cursor ? `\nmore results: add --cursor ${page.next_cursor}` : '';
  return `${parts.join(', ')}${more}\n`;
}

export async function runQuery(query: string, options: QueryOptions): Promise<ExitCode> {
  const answer = await getJson<LogsPage>(options.url, '/api/v1/logs', {
    params: { q: query, from: options.from, to: options.to, limit: options.limit, cursor: options.cursor, order: options.order },
  });
  if (!answer.ok) {
    process.stderr.write(`${describeFailure(answer.failure)}\n`);
    return exitCodeFor(answer.failure);
  }
  const page = answer.value;
  if (options.format === 'json') {
    process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
  } else if (options.format === 'ndjson') {
    process.stdout.write(page.items.map((item) => `${JSON.stringify(item)}\n`).join(''));
  } else {
    process.stdout.write(renderLogTable(page.items, process.stdout.isTTY ? process.stdout.columns : undefined));
    process.stderr.write(pageSummary(page));
  }
  return EXIT_OK;
}

export function queryCommand(): Command {
  return new Command('query')
    .description('search logs (one page) and print them as a table, JSON or NDJSON')
    .argument('<query>', `query, e.g. 'level:error service:api "timed out"' ('' matches everything)`)
    .option('--from <time>', 'start of the time range, inclusive (RFC 3339, Unix time or now-15m)')
    .option('--to <time>', 'end of the time range, exclusive (RFC 3339, Unix time or now)')
    .addOption(new Option('-n, --limit <n>', 'records per page (server default when absent)').argParser(parsePositiveInteger))
    .option('--cursor <cursor>', 'continue after a previous page (its next_cursor)')
    .addOption(new Option('--order <order>', 'newest first (desc) or oldest first (asc)').choices(['desc', 'asc']))
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'ndjson']).default('table'))
    .addOption(serverUrlOption())
    .action(async (query: string, options: QueryOptions) => {
      process.exitCode = await runQuery(query, options);
    });
}
