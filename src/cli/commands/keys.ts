// `loghaven keys create|list|revoke`: API keys, either in a data directory whose server is
// stopped (how the first admin key is made: `--data-dir`, or the configuration's data_dir), or
// through a running server (`--url`, with an admin key in LOGHAVEN_API_KEY). `create` prints the
// key once; nothing else ever shows it.

import { Command, Option } from 'commander';
import { LhError, isLhError } from '../../errors.js';
import { createKey, listKeys, revokeKey, type CreateKeyRequest, type KeyView } from '../../auth/key-admin.js';
import type { KeyTable } from '../../auth/key-table.js';
import { formatConfigError, isConfigError } from '../config-errors.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from '../exit-codes.js';
import { API_KEY_ENV, describeFailure, exitCodeFor, sendJson } from '../http-client.js';
import { configFileOption, parseServerUrl } from '../options.js';
import { withLocalStore } from '../local-store.js';

interface Where {
  url?: string;
  dataDir?: string;
  config?: string;
  format: 'text' | 'json';
}

interface CreateOptions extends Where {
  tenant: string;
  scopes: string;
  name?: string;
  expires?: string;
  ingestBytesPerS?: string;
  queriesPerS?: string;
}

/** Runs `fn` on the key table of the data directory (the server must be stopped). */
function withLocalKeys<T>(where: Where, fn: (keys: KeyTable) => Promise<T>): Promise<T> {
  return withLocalStore(where, (store) => fn(store.keys));
}

function print(where: Where, json: unknown, text: string): void {
  process.stdout.write(where.format === 'json' ? `${JSON.stringify(json)}\n` : text);
}

function keyLines(k: KeyView): string {
  const rate = [k.rate.ingest_bytes_per_s === null ? null : `${k.rate.ingest_bytes_per_s} ingest bytes/s`, k.rate.queries_per_s === null ? null : `${k.rate.queries_per_s} queries/s`]
    .filter((r) => r !== null)
    .join(', ');
  return [
    `id       ${k.id}${k.name ? `  (${k.name})` : ''}`,
    `tenant   ${k.tenant}`,
    `scopes   ${k.scopes.join(',')}`,
    `status   ${k.status}${k.revoked_at ? ` since ${k.revoked_at}` : ''}`,
    `created  ${k.created_at}`,
    `expires  ${k.expires_at ?? 'never'}`,
    ...(rate ? [`rate     ${rate}`] : []),
  ].join('\n');
}

/** Runs a subcommand, mapping failures to a message on stderr and an exit code. */
async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (e) {
    if (isConfigError(e)) {
      process.stderr.write(`${formatConfigError(e)}\n`);
      process.exitCode = EXIT_INVALID;
      return;
    }
    if (isLhError(e)) {
      process.stderr.write(`${e.message}\n`);
      process.exitCode = e.status < 500 ? EXIT_INVALID : EXIT_FAILURE;
      return;
    }
    throw e;
  }
}

async function remote<T>(where: Where, method: 'GET' | 'POST' | 'DELETE', p: string, body?: unknown): Promise<T | null> {
  const r = await sendJson<T>(where.url!, method, p, body);
  if (r.ok) return r.value;
  process.stderr.write(`${describeFailure(r.failure)}\n`);
  process.exitCode = exitCodeFor(r.failure);
  return null;
}

function optionalNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new LhError('LH_ERR_BAD_PARAM', `--${name} must be a number of at least 0, got ${JSON.stringify(text)}`);
  return n;
}

function whereOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', `a running server (with an admin key in ${API_KEY_ENV}); without it, the data directory`).argParser(parseServerUrl))
    .addOption(new Option('--data-dir <dir>', 'data directory of a stopped server (overrides data_dir)').conflicts('url'))
    .addOption(configFileOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('create, list and revoke API keys');

  whereOptions(
    keys
      .command('create')
      .description('create a key and print it (the only time it is shown)')
      .requiredOption('--tenant <tenant>', 'tenant the key reads and writes, or "*" for every tenant (operations)')
      .requiredOption('--scopes <scopes>', 'comma-separated: ingest, query, admin')
      .option('--name <name>', 'what the key is for')
      .option('--expires <duration>', 'lifetime such as 90d, 12h, 2w, 1y (default: until revoked)')
      .option('--ingest-bytes-per-s <n>', 'rate limit of this key (overrides auth.rate.ingest_bytes_per_s)')
      .option('--queries-per-s <n>', 'rate limit of this key (overrides auth.rate.queries_per_s)'),
  ).action((o: CreateOptions) =>
    run(async () => {
      const request: CreateKeyRequest = {
        tenant: o.tenant,
        scopes: o.scopes,
        name: o.name,
        expires: o.expires,
        ingestBytesPerS: optionalNumber(o.ingestBytesPerS, 'ingest-bytes-per-s'),
        queriesPerS: optionalNumber(o.queriesPerS, 'queries-per-s'),
      };
      let made: KeyView & { key: string };
      if (o.url !== undefined) {
        const body = { tenant: request.tenant, scopes: request.scopes, name: request.name, expires: request.expires, ingest_bytes_per_s: request.ingestBytesPerS, queries_per_s: request.queriesPerS };
        const answer = await remote<KeyView & { key: string }>(o, 'POST', '/api/v1/keys', body);
        if (answer === null) return;
        made = answer;
      } else {
        const r = await withLocalKeys(o, (table) => createKey(table, request));
        made = { ...r.view, key: r.key };
      }
      print(o, made, `${made.key}\n\nThe key above is shown this once: store it now.\n${keyLines(made)}\n`);
      process.exitCode = EXIT_OK;
    }),
  );

  whereOptions(keys.command('list').description('list keys (never their secrets)')).action((o: Where) =>
    run(async () => {
      let list: KeyView[];
      if (o.url !== undefined) {
        const answer = await remote<{ keys: KeyView[] }>(o, 'GET', '/api/v1/keys');
        if (answer === null) return;
        list = answer.keys;
      } else {
        list = await withLocalKeys(o, (table) => listKeys(table));
      }
      print(o, { keys: list }, list.length === 0 ? 'no keys\n' : `${list.map(keyLines).join('\n\n')}\n`);
    }),
  );

  whereOptions(keys.command('revoke').description('revoke a key (its id, as `keys list` shows)').argument('<id>', 'key id')).action((id: string, o: Where) =>
    run(async () => {
      let view: KeyView;
      if (o.url !== undefined) {
        const answer = await remote<KeyView>(o, 'DELETE', `/api/v1/keys/${encodeURIComponent(id)}`);
        if (answer === null) return;
        view = answer;
      } else {
        view = await withLocalKeys(o, (table) => revokeKey(table, id));
      }
      print(o, view, `revoked ${view.id} (tenant ${view.tenant})\n`);
    }),
  );
  return keys;
}
