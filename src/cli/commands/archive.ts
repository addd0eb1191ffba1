// `loghaven archive run|list|verify|restore`: the daily archives (lifecycle/archive.ts) of a running server
// (`--url`, an admin key of every tenant in LOGHAVEN_API_KEY); `verify --dir` checks an archive
// folder on its own, no server needed. Exit codes: 0 all is well, 1 a day failed or an archive
// is damaged, 2 the command was wrong.

import { Command, InvalidArgumentError, Option } from 'commander';
import type { ArchiveListEntry, ArchiveProblem, ArchiveRunResult } from '../../lifecycle/archive.js';
import { verifyArchives } from '../../lifecycle/archive.js';
import { formatByteSize } from '../../config/size.js';
import { isDayName } from '../../model/record.js';
import { EXIT_FAILURE, EXIT_OK, type ExitCode } from '../exit-codes.js';
import { runJob, sendJson, valueOrExit } from '../http-client.js';
import { serverUrlOption } from '../options.js';

interface CommonOptions {
  url: string;
  format: 'text' | 'json';
}

const formatOption = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

function parseDay(text: string): string {
  if (!isDayName(text)) throw new InvalidArgumentError('expected a day as YYYY-MM-DD');
  return text;
}

async function call<T>(o: CommonOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ value: T } | { code: ExitCode }> {
  return valueOrExit(await sendJson<T>(o.url, method, path, body, 60_000));
}

/** A job on the server (an archive run of every closed day takes minutes): followed with a progress bar. */
async function job<T>(o: CommonOptions, path: string, body: unknown, label: string): Promise<{ value: T } | { code: ExitCode }> {
  return valueOrExit(await runJob<T>(o.url, path, body, label));
}

const bytes = (n: number | null) => (n === null ? '-' : formatByteSize(n));

async function run(o: CommonOptions): Promise<ExitCode> {
  const r = await job<ArchiveRunResult>(o, '/api/v1/archive/run', {}, 'archiving');
  if ('code' in r) return r.code;
  const result = r.value;
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    for (const a of result.archived) {
      const ratio = a.tar_bytes > 0 ? ` (1/${(a.jsonl_bytes / a.tar_bytes).toFixed(1)} of its JSONL)` : '';
      process.stdout.write(`archived ${a.tenant} ${a.day}: ${a.records} records, tar.gz ${bytes(a.tar_bytes)}${ratio}, parquet ${bytes(a.parquet_bytes)}, ${a.ms} ms\n`);
    }
    for (const d of result.removed) process.stdout.write(`removed ${d.tenant} ${d.day} (archive.keep_days)\n`);
    for (const f of result.failed) process.stderr.write(`failed ${f.tenant} ${f.day}: ${f.error}\n`);
    process.stdout.write(`${result.archived.length} days archived, ${result.upToDate} already archived, ${result.removed.length} removed, ${result.failed.length} failed\n`);
  }
  return result.failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
}

async function list(o: CommonOptions): Promise<ExitCode> {
  const r = await call<{ archives: ArchiveListEntry[] }>(o, 'GET', '/api/v1/archive');
  if ('code' in r) return r.code;
  const archives = r.value.archives;
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(archives)}\n`);
  else if (archives.length === 0) process.stdout.write('no archives\n');
  else {
    const rows = [['tenant', 'day', 'records', 'tar.gz', 'parquet', 'state'], ...archives.map((a) => [a.tenant, a.day, String(a.records ?? '-'), bytes(a.tar_bytes), bytes(a.parquet_bytes), a.complete ? 'complete' : 'incomplete'])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  }
  return EXIT_OK;
}

interface VerifyOptions extends CommonOptions {
  dir?: string;
  tenant?: string;
}

async function verify(day: string | undefined, o: VerifyOptions): Promise<ExitCode> {
  let answer: { days: number; problems: ArchiveProblem[] };
  if (o.dir !== undefined) answer = await verifyArchives(o.dir, { day, tenant: o.tenant });
  else {
    const r = await job<{ days: number; problems: ArchiveProblem[] }>(o, '/api/v1/archive/verify', { day, tenant: o.tenant }, 'verifying');
    if ('code' in r) return r.code;
    answer = r.value;
  }
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(answer)}\n`);
  else {
    for (const p of answer.problems) process.stdout.write(`${p.file || `${p.tenant} ${p.day}`}${p.member === null ? '' : `: member ${p.member}`}: ${p.problem}\n`);
    process.stdout.write(answer.problems.length === 0 ? `${answer.days} archived days verified, no problems\n` : `${answer.problems.length} problems in ${answer.days} archived days\n`);
  }
  return answer.problems.length === 0 ? EXIT_OK : EXIT_FAILURE;
}

async function restore(day: string, o: VerifyOptions): Promise<ExitCode> {
  const r = await job<{ restored: { tenant: string; day: string; restored: number; present: number }[] }>(o, '/api/v1/archive/restore', { day, tenant: o.tenant }, 'restoring');
  if ('code' in r) return r.code;
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(r.value)}\n`);
  else for (const d of r.value.restored) process.stdout.write(`restored ${d.tenant} ${d.day}: ${d.restored} rows back in the hot store, ${d.present} were still there\n`);
  return EXIT_OK;
}

export function archiveCommand(): Command {
  const archive = new Command('archive').description('daily archives: tar.gz of JSONL with a manifest, and Parquet');
  archive
    .command('run')
    .description('archive every closed day now (per tenant), then delete archives older than archive.keep_days')
    .addOption(serverUrlOption())
    .addOption(formatOption())
    .action(async (o: CommonOptions) => {
      process.exitCode = await run(o);
    });
  archive
    .command('list')
    .description('the archives, per tenant and day')
    .addOption(serverUrlOption())
    .addOption(formatOption())
    .action(async (o: CommonOptions) => {
      process.exitCode = await list(o);
    });
  archive
    .command('restore')
    .description('bring a day back into the hot store from its archive, rows exactly as they were (kept out of retention for 7 days)')
    .argument('<day>', 'the day (YYYY-MM-DD)', parseDay)
    .option('--tenant <tenant>', "one tenant only (default: every tenant's archive of the day)")
    .addOption(serverUrlOption())
    .addOption(formatOption())
    .action(async (day: string, o: VerifyOptions) => {
      process.exitCode = await restore(day, o);
    });
  archive
    .command('verify')
    .description('check archives against their manifests: every member of every tar.gz, every file sum; exit 1 naming what is damaged')
    .argument('[day]', 'one day (YYYY-MM-DD); every day by default', parseDay)
    .option('--tenant <tenant>', 'one tenant only')
    .addOption(new Option('--dir <dir>', 'an archive folder (DATA/archive, or one tenant of it), checked without a server').conflicts('url'))
    .addOption(serverUrlOption())
    .addOption(formatOption())
    .action(async (day: string | undefined, o: VerifyOptions) => {
      process.exitCode = await verify(day, o);
    });
  return archive;
}
