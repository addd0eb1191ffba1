// `loghaven tail QUERY`: follows GET /api/v1/logs/tail (Server-Sent Events) and prints each record
// as it arrives — one line of `ts level service host message`, or NDJSON for piping. A dropped
// connection is resumed after the last record printed (Last-Event-ID), so nothing is missed or
// printed twice; Ctrl-C stops.

import { Command, Option } from 'commander';
import { describeFailure, exitCodeFor, sendGet } from '../http-client.js';
import { EXIT_OK, type ExitCode } from '../exit-codes.js';
import { parsePositiveInteger, serverUrlOption } from '../options.js';
import type { WireRecord } from '../../model/record.js';

interface TailOptions {
  url: string;
  backfill?: number;
  format: 'line' | 'ndjson';
}

/** Pause before reconnecting after the stream was cut. */
const RECONNECT_MS = 1000;

function line(r: WireRecord): string {
  const text = (v: unknown) => (v === null || v === undefined ? '-' : String(v).replace(/\s*[\r\n]+\s*/g, ' ⏎ '));
  return `${r.ts}  ${text(r.level).padEnd(5)}  ${text(r.service)}  ${text(r.host)}  ${text(r.message)}\n`;
}

export async function runTail(query: string, options: TailOptions, signal?: AbortSignal): Promise<ExitCode> {
  let lastId: string | undefined;
  let first = true;
  while (!signal?.aborted) {
    const params: Record<string, string | number | undefined> = { q: query };
    if (first && options.backfill !== undefined) params.backfill = options.backfill;
    if (lastId !== undefined) params.last_event_id = lastId;
    const sent = await sendGet(options.url, '/api/v1/logs/tail', { params, accept: 'text/event-stream' });
    if (!sent.ok) {
      // A refused query will not get better; a server that went away may come back.
      if (sent.failure.kind === 'status' && sent.failure.status < 500) {
        process.stderr.write(`${describeFailure(sent.failure)}\n`);
        return exitCodeFor(sent.failure);
      }
      if (first) {
        process.stderr.write(`${describeFailure(sent.failure)}\n`);
        return exitCodeFor(sent.failure);
      }
      process.stderr.write(`tail interrupted (${describeFailure(sent.failure)}); reconnecting\n`);
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
      continue;
    }
    first = false;
    const reader = sent.value.body!.getReader();
    signal?.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let id: string | undefined;
          let event = 'message';
          let data = '';
          for (const l of block.split('\n')) {
            if (l.startsWith('id: ')) id = l.slice(4);
            else if (l.startsWith('event: ')) event = l.slice(7);
            else if (l.startsWith('data: ')) data += l.slice(6);
          }
          // An id-only event moves the resume position too.
          if (data === '') {
            if (id !== undefined) lastId = id;
            continue;
          }
          if (event === 'dropped') {
            process.stderr.write(`… ${(JSON.parse(data) as { count: number }).count} records skipped (the terminal could not keep up)\n`);
            continue;
          }
          if (id !== undefined) lastId = id;
          process.stdout.write(options.format === 'ndjson' ? `${data}\n` : line(JSON.parse(data) as WireRecord));
        }
      }
    } catch {
      // The connection was cut: resume after the last record printed.
    }
    if (signal?.aborted) break;
    process.stderr.write('tail connection closed; reconnecting\n');
    await new Promise((r) => setTimeout(r, RECONNECT_MS));
  }
  return EXIT_OK;
}

export function tailCommand(): Command {
  return new Command('tail')
    .description('follow matching records live, as they arrive (reconnects without losing any)')
    .argument('[query]', `query, e.g. 'level:error service:api' (default: everything)`, '')
    .addOption(new Option('-n, --backfill <n>', 'first print the last N matching records').argParser(parsePositiveInteger))
    .addOption(new Option('-f, --format <format>', 'output format').choices(['line', 'ndjson']).default('line'))
    .addOption(serverUrlOption())
    .action(async (query: string, options: TailOptions) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.exitCode = await runTail(query, options, stop.signal);
    });
}
