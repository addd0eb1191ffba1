// `loghaven validate`: loads the configuration exactly as `start` would (file, profile, LOGHAVEN_*
// environment) and reports every problem, without starting anything.

import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { loadConfig, resolveConfigFile } from '../../config/load.js';
import { formatConfigError, isConfigError } from '../config-errors.js';
import { EXIT_INVALID, EXIT_OK, type ExitCode } from '../exit-codes.js';
import { configFileOption } from '../options.js';

interface ValidateOptions {
  config?: string;
}

export function runValidate(options: ValidateOptions): ExitCode {
  try {
    const config = loadConfig({ file: options.config });
    const file = resolveConfigFile(options.config, process.cwd());
    const fileNote = options.config !== undefined || existsSync(file.path) ? `file ${file.label}` : 'no config file';
    process.stdout.write(`config OK (profile ${config.profile}, ${fileNote})\n`);
    return EXIT_OK;
  } catch (err) {
    if (!isConfigError(err)) throw err;
    process.stderr.write(`${formatConfigError(err)}\n`);
    return EXIT_INVALID;
  }
}

export function validateCommand(): Command {
  return new Command('validate')
    .description('check the configuration (loghaven.toml, LOGHAVEN_* environment) and list every problem; exit 2 when invalid')
    .addOption(configFileOption())
    .action((options: ValidateOptions) => {
      process.exitCode = runValidate(options);
    });
}
