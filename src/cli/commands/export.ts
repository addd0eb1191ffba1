// `loghaven export`: streams every matching record from GET /api/v1/logs/export to a file or stdout
// without holding the body in memory. A file is written under a temporary name and renamed when
// complete, so a failed export never leaves a truncated file behind (or clobbers an older one).

import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { Command, Option } from 'commander';
import { formatByteSize } from '../../config/size.js';
import { describeFailure, exitCodeFor, sendGet } from '../http-client.js';
import { EXIT_FAILURE, EXIT_OK, type ExitCode } from '../exit-codes.js';
import { serverUrlOption } from '../options.js';

export const EXPORT_FORMATS = ['ndjson', 'csv', 'json'] as const;

interface ExportOptions {
  url: string;
  format: (typeof EXPORT_FORMATS)[number];
  output?: string;
  from?: string;
  to?: string;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runExport(query: string, options: ExportOptions): Promise<ExitCode> {
  const sent = await sendGet(options.url, '/api/v1/logs/export', {
    params: { q: query, from: options.from, to: options.to, format: options.format },
  });
  if (!sent.ok) {
    process.stderr.write(`${describeFailure(sent.failure)}\n`);
    return exitCodeFor(sent.failure);
  }
  const body = sent.value.body ? Readable.fromWeb(sent.value.body as NodeWebReadableStream<Uint8Array>) : Readable.from([]);

  if (options.output === undefined) {
    try {
      // stdout stays open (end: false): it belongs to the process, not to this stream.
      await pipeline(body, process.stdout, { end: false });
    } catch (err) {
      // The reader went away (`| head`): not an error of the export.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return EXIT_OK;
      process.stderr.write(`export interrupted: ${errorText(err)}\n`);
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  }

  const partialFile = `${options.output}.partial`;
  const file = createWriteStream(partialFile);
  try {
    await pipeline(body, file);
    await rename(partialFile, options.output);
  } catch (err) {
    await rm(partialFile, { force: true });
    process.stderr.write(`export to ${options.output} failed: ${errorText(err)}\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`exported ${formatByteSize(file.bytesWritten)} to ${options.output}\n`);
  return EXIT_OK;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('stream every matching record to a file or stdout as NDJSON, CSV or a JSON array')
    .argument('<query>', `query, e.g. 'service:api level:error' ('' matches everything)`)
    .addOption(new Option('-f, --format <format>', 'output format').choices(EXPORT_FORMATS).default('ndjson'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--from <time>', 'start of the time range, inclusive (RFC 3339, Unix time or now-15m)')
    .option('--to <time>', 'end of the time range, exclusive (RFC 3339, Unix time or now)')
    .addOption(serverUrlOption())
    .action(async (query: string, options: ExportOptions) => {
      process.exitCode = await runExport(query, options);
    });
}
