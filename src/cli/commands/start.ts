// `loghaven start`: loads and validates the configuration (flags override file and environment),
// starts the server, and shuts it down gracefully on SIGTERM/SIGINT.

import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../../config/load.js';
import { formatConfigError, isConfigError } from '../config-errors.js';
import { EXIT_INVALID } from '../exit-codes.js';
import { configFileOption } from '../options.js';
import { closeOnSignals } from '../signals.js';

interface StartOptions {
  config?: string;
  port?: string;
  host?: string;
  dataDir?: string;
}

export async function runStart(options: StartOptions): Promise<void> {
  let config: Config;
  try {
    // Flags are passed as text on purpose: the loader coerces and validates them like env values,
    // so `--port abc` is reported as `http.port` with the allowed range.
    config = loadConfig({
      file: options.config,
      overrides: { 'http.port': options.port, 'http.host': options.host, data_dir: options.dataDir },
    });
  } catch (err) {
    if (!isConfigError(err)) throw err;
    process.stderr.write(`${formatConfigError(err)}\n`);
    process.exitCode = EXIT_INVALID;
    return;
  }

  // Imported late so `validate`, `status` and the other client commands never load the server.
  const { startServer } = await import('../../api/http/server.js');
  const server = await startServer(config);
  closeOnSignals(server);
  process.stderr.write(`loghaven listening on ${server.url} (profile ${config.profile}, data in ${config.data_dir})\n`);
}

export function startCommand(): Command {
  return new Command('start')
    .description('start the server; SIGTERM/SIGINT drain the queues and stop it (a second signal exits at once)')
    .addOption(configFileOption())
    .addOption(new Option('-p, --port <port>', 'HTTP port (overrides http.port)'))
    .addOption(new Option('--host <host>', 'address to bind (overrides http.host)'))
    .addOption(new Option('--data-dir <dir>', 'data directory (overrides data_dir)'))
    .action(runStart);
}
