// `loghaven db maintain`: database upkeep — retention applied now (lifecycle/retention.ts), and
// the access-log aggregates rebuilt from the typed access table (merging the partial rows every
// load appends). Through a running server (`--url`, an admin key of every tenant in
// LOGHAVEN_API_KEY) or on a stopped server's data directory (`--data-dir`, or the
// configuration's data_dir).

import { Command, Option } from 'commander';
import { isLhError } from '../../errors.js';
import { formatConfigError, isConfigError } from '../config-errors.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from '../exit-codes.js';
import { API_KEY_ENV, describeFailure, exitCodeFor, sendJson } from '../http-client.js';
import { withLocalStore } from '../local-store.js';
import { configFileOption, parseServerUrl } from '../options.js';
import { createLifecycle } from '../../lifecycle/lifecycle.js';
import type { RetentionResult } from '../../lifecycle/retention.js';

interface MaintainOptions {
  url?: string;
  dataDir?: string;
  config?: string;
  format: 'text' | 'json';
}

interface MaintainAnswer {
  retention: RetentionResult;
  access_aggregates: { rows: number; ms: number };
}

async function maintain(o: MaintainOptions): Promise<number> {
  let answer: MaintainAnswer;
  if (o.url !== undefined) {
    const r = await sendJson<MaintainAnswer>(o.url, 'POST', '/api/v1/db/maintain', {}, 30 * 60_000);
    if (!r.ok) {
      process.stderr.write(`${describeFailure(r.failure)}\n`);
      return exitCodeFor(r.failure);
    }
    answer = r.value;
  } else {
    try {
      answer = await withLocalStore(o, async (store, config, dataDir) => {
        const retention = await createLifecycle(config, store, dataDir).retention.run();
        return { retention, access_aggregates: await store.access.rebuildAggregates() };
      });
    } catch (e) {
      if (isConfigError(e)) {
        process.stderr.write(`${formatConfigError(e)}\n`);
        return EXIT_INVALID;
      }
      if (isLhError(e)) {
        process.stderr.write(`${e.message}\n`);
        return e.status < 500 ? EXIT_INVALID : EXIT_FAILURE;
      }
      throw e;
    }
  }
  const a = answer.access_aggregates;
  const r = answer.retention;
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(answer)}\n`);
  else {
    for (const d of r.expired) process.stdout.write(`expired ${d.tenant} ${d.day}: ${d.rows} rows\n`);
    for (const d of r.waiting_for_archive) process.stdout.write(`kept ${d.tenant} ${d.day} for now: ${d.rows} rows to expire once the day is archived\n`);
    for (const d of r.files_removed) process.stdout.write(`removed category files of ${d}\n`);
    process.stdout.write(`retention: ${r.rows} rows expired from ${r.expired.length} tenant days in ${r.ms} ms\naccess aggregates rebuilt from ${a.rows} rows in ${a.ms} ms\n`);
  }
  return EXIT_OK;
}

export function dbCommand(): Command {
  const db = new Command('db').description('database upkeep');
  db.command('maintain')
    .description('apply retention now (what it removed is reported), and rebuild the access-log aggregates from the access table')
    .addOption(new Option('--url <url>', `a running server (with an admin key in ${API_KEY_ENV}); without it, the data directory`).argParser(parseServerUrl))
    .addOption(new Option('--data-dir <dir>', 'data directory of a stopped server (overrides data_dir)').conflicts('url'))
    .addOption(configFileOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: MaintainOptions) => {
      process.exitCode = await maintain(o);
    });
  return db;
}
