// `loghaven import PATH...`: log files into a running server (POST /api/v1/ingest). Reads files,
// directories (recursively: ALB writes AWSLogs/…/yyyy/mm/dd/*.log.gz), `.gz` files and stdin
// (`-`); tells each file's format from its first lines unless --format names it; sends complete
// lines in chunks of a few MB, several at once. On a terminal a progress bar shows lines/s, bytes
// and the time left; at the end a summary: lines, stored, rejected by reason, time (`--json`:
// the summary as JSON, with the first 100 bad lines as {file, line, reason}).

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { INGEST_FORMATS, detectFormat, type IngestFormat } from '../../ingest/access/detect.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from '../exit-codes.js';
import { requestHeaders } from '../http-client.js';
import { serverUrlOption } from '../options.js';

interface ImportOptions {
  url: string;
  format: IngestFormat;
  json?: boolean;
  chunkBytes: number;
  parallel: number;
  tenant?: string;
}

export interface ImportError {
  file: string;
  line: number;
  reason: string;
}

export interface ImportSummary {
  files: number;
  lines: number;
  accepted: number;
  rejected: number;
  bytes: number;
  seconds: number;
  lines_per_s: number;
  rejected_by_reason: Record<string, number>;
  /** The first 100 bad lines. */
  errors: ImportError[];
  formats: Record<string, number>;
  /** Files left out whole (their format could not be told). */
  skipped_files: ImportError[];
}

const MAX_ERRORS = 100;

/** Every file under the paths, in order; `-` is stdin. */
function* filesOf(paths: string[]): Generator<string> {
  for (const p of paths) {
    if (p === '-') {
      yield p;
      continue;
    }
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      const entries = fs.readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
      yield* filesOf(entries.filter((e) => !e.name.startsWith('.')).map((e) => path.join(p, e.name)));
    } else {
      yield p;
    }
  }
}

/** A file's lines (gunzipped for `.gz`), and how many bytes of the file itself are read so far. */
function openLines(file: string): { stream: Readable; fileBytesRead: () => number } {
  const raw = file === '-' ? process.stdin : fs.createReadStream(file);
  const fileBytesRead = () => (raw instanceof fs.ReadStream ? raw.bytesRead : 0);
  return { stream: file.endsWith('.gz') ? raw.pipe(zlib.createGunzip()) : raw, fileBytesRead };
}

/** Why a server refused a line, without the parts that differ from line to line. */
function reasonKind(reason: string): string {
  return reason.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 120);
}

export async function runImport(paths: string[], o: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const files = [...filesOf(paths.length === 0 ? ['-'] : paths)];
  const totalBytes = files.reduce((n, f) => n + (f === '-' ? 0 : fs.statSync(f).size), 0);
  const summary: ImportSummary = { files: files.length, lines: 0, accepted: 0, rejected: 0, bytes: 0, seconds: 0, lines_per_s: 0, rejected_by_reason: {}, errors: [], formats: {}, skipped_files: [] };
  const bar =
    process.stderr.isTTY && !o.json
      ? new cliProgress.SingleBar(
          { format: ' {bar} {percentage}% | {lines} lines | {rate} lines/s | {done}/{size} MB | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        )
      : null;
  bar?.start(Math.max(1, totalBytes), 0, { lines: 0, rate: 0, done: '0', size: (totalBytes / 2 ** 20).toFixed(0) });
  let readBytes = 0;
  // The bar counts bytes of the files as stored (compressed for .gz), as its total does.
  let filesDone = 0;
  const headers: Record<string, string> = { ...requestHeaders('application/json'), 'content-type': 'text/plain' };
  if (o.tenant) headers['x-scope-orgid'] = o.tenant;
  const inflight = new Set<Promise<void>>();

  const send = async (file: string, format: string, firstLine: number, body: string, lines: number) => {
    const r = await fetchWithRetry(`${o.url}/api/v1/ingest?format=${format}`, { method: 'POST', headers, body });
    const text = await r.text();
    let answer: { accepted?: number; rejected?: number; errors?: { line: number; error: string }[]; message?: string };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new Error(`the server answered ${r.status}: ${text.slice(0, 200)}`);
    }
    if (r.status !== 200 && r.status !== 400) throw new Error(`the server answered ${r.status}: ${answer.message ?? text.slice(0, 200)}`);
    if (r.status === 400 && answer.accepted === undefined) throw new Error(`${file}: ${answer.message ?? text.slice(0, 200)}`);
    summary.lines += lines;
    summary.accepted += answer.accepted ?? 0;
    summary.rejected += answer.rejected ?? 0;
    for (const e of answer.errors ?? []) {
      const kind = reasonKind(e.error);
      summary.rejected_by_reason[kind] = (summary.rejected_by_reason[kind] ?? 0) + 1;
      if (summary.errors.length < MAX_ERRORS) summary.errors.push({ file, line: firstLine + e.line - 1, reason: e.error });
    }
  };

  for (const file of files) {
    const { stream, fileBytesRead } = openLines(file);
    const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
    let format: string | null = o.format === 'auto' ? null : o.format;
    const head: string[] = [];
    let chunk: string[] = [];
    let chunkBytes = 0;
    let chunkFirst = 1;
    let lineNo = 0;
    let skipped = false;
    const flush = async () => {
      if (chunk.length === 0) return;
      if (skipped) return;
      if (format === null) {
        format = detectFormat(head);
        if (format === null) {
          // The file is reported and left; the import goes on with the others.
          skipped = true;
          summary.skipped_files.push({ file, line: 0, reason: 'cannot tell the format of its first lines (alb, alb-connection, combined, common, ndjson, syslog): use --format' });
          chunk = [];
          return;
        }
      }
      summary.formats[format] = (summary.formats[format] ?? 0) + 1;
      const p = send(file, format, chunkFirst, chunk.join('\n') + '\n', chunk.length).finally(() => inflight.delete(p));
      inflight.add(p);
      chunk = [];
      chunkBytes = 0;
      chunkFirst = lineNo + 1;
      if (inflight.size >= o.parallel) await Promise.race(inflight);
    };
    for await (const line of rl) {
      lineNo++;
      if (skipped) continue;
      if (head.length < 20 && line.trim() !== '') head.push(line);
      chunk.push(line);
      chunkBytes += line.length + 1;
      readBytes += line.length + 1;
      if (chunkBytes >= o.chunkBytes) {
        await flush();
        const secs = (performance.now() - started) / 1000;
        bar?.update(Math.min(filesDone + fileBytesRead(), totalBytes), {
          lines: summary.lines.toLocaleString('en-US'),
          rate: Math.round(summary.lines / Math.max(secs, 0.001)).toLocaleString('en-US'),
          done: ((filesDone + fileBytesRead()) / 2 ** 20).toFixed(0),
        });
      }
    }
    await flush();
    if (format !== null && summary.formats[format] === undefined) summary.formats[format] = 0;
    filesDone += fileBytesRead();
  }
  await Promise.all(inflight);
  summary.bytes = readBytes;
  summary.seconds = (performance.now() - started) / 1000;
  summary.lines_per_s = Math.round(summary.lines / Math.max(summary.seconds, 0.001));
  bar?.update(totalBytes, { lines: summary.lines.toLocaleString('en-US'), rate: summary.lines_per_s.toLocaleString('en-US'), done: (totalBytes / 2 ** 20).toFixed(0) });
  bar?.stop();
  return summary;
}

/** POST, retried while the server says it is busy (429/503 with Retry-After). */
async function fetchWithRetry(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, init);
    if ((r.status !== 429 && r.status !== 503) || attempt >= 60) return r;
    await r.arrayBuffer();
    const wait = Number(r.headers.get('retry-after') ?? 1);
    await new Promise((res) => setTimeout(res, Math.min(10, Math.max(0.1, wait)) * 1000));
  }
}

function renderSummary(s: ImportSummary): string {
  const lines = [
    `${s.lines.toLocaleString('en-US')} lines from ${s.files} file${s.files === 1 ? '' : 's'} (${Object.entries(s.formats).map(([f, n]) => `${f}: ${n} chunk${n === 1 ? '' : 's'}`).join(', ') || 'none'})`,
    `${s.accepted.toLocaleString('en-US')} stored, ${s.rejected.toLocaleString('en-US')} rejected, in ${s.seconds.toFixed(1)} s (${s.lines_per_s.toLocaleString('en-US')} lines/s, ${(s.bytes / 2 ** 20).toFixed(1)} MB)`,
  ];
  for (const [reason, n] of Object.entries(s.rejected_by_reason).sort((a, b) => b[1] - a[1])) lines.push(`  ${n.toLocaleString('en-US')} × ${reason}`);
  for (const e of s.skipped_files) lines.push(`  skipped ${e.file}: ${e.reason}`);
  for (const e of s.errors.slice(0, 10)) lines.push(`  ${e.file}:${e.line}: ${e.reason}`);
  if (s.errors.length > 10) lines.push(`  … (--json lists the first ${MAX_ERRORS})`);
  return lines.join('\n') + '\n';
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1`);
    return n;
  };
}

export function importCommand(): Command {
  return new Command('import')
    .description('send log files (files, directories, .gz, - for stdin) to a running server; ALB, common, combined, NDJSON or syslog lines')
    .argument('[paths...]', 'files or directories (recursively); - or nothing reads stdin')
    .addOption(serverUrlOption())
    .addOption(new Option('--format <format>', 'line format; auto tells it from each file').choices([...INGEST_FORMATS]).default('auto'))
    .addOption(new Option('--json', 'print the summary as JSON (lines, accepted, rejected, errors)'))
    .addOption(new Option('--tenant <tenant>', 'tenant to write to, for a key of every tenant (X-Scope-OrgID)'))
    .addOption(new Option('--chunk-bytes <n>', 'bytes of lines per request').argParser(positiveInt('--chunk-bytes')).default(4 * 2 ** 20))
    .addOption(new Option('--parallel <n>', 'requests in flight at once').argParser(positiveInt('--parallel')).default(4))
    .action(async (paths: string[], o: ImportOptions) => {
      try {
        const summary = await runImport(paths, o);
        process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : renderSummary(summary));
        process.exitCode = summary.skipped_files.length > 0 || (summary.accepted === 0 && summary.lines > 0) ? EXIT_FAILURE : EXIT_OK;
      } catch (e) {
        process.stderr.write(`import failed: ${(e as Error).message}\n`);
        process.exitCode = (e as NodeJS.ErrnoException).code === 'ENOENT' ? EXIT_INVALID : EXIT_FAILURE;
      }
    });
}
