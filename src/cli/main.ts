#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=262144 node --max-semi-space-size=4 --heap-growing-percent=50
// The `loghaven` command: wires the subcommands (one module each under commands/) into commander
// and maps anything they did not handle to an exit code: 2 for usage and configuration errors, 1
// for everything else.

import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { exportCommand } from './commands/export.js';
import { healthCheckCommand } from './commands/health-check.js';
import { queryCommand } from './commands/query.js';
import { tailCommand } from './commands/tail.js';
import { startCommand } from './commands/start.js';
import { keysCommand } from './commands/keys.js';
import { importCommand } from './commands/import.js';
import { analyzeCommand } from './commands/analyze.js';
import { dbCommand } from './commands/db.js';
import { archiveCommand } from './commands/archive.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';
import { formatConfigError, isConfigError } from './config-errors.js';
import { EXIT_FAILURE, EXIT_INVALID } from './exit-codes.js';

function buildProgram(): Command {
  const program = new Command('loghaven')
    .description('loghaven: a self-hosted log server')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    // Throw instead of exiting so usage errors get exit code 2, like other invalid input.
    .exitOverride();
  for (const command of [startCommand(), validateCommand(), statusCommand(), healthCheckCommand(), queryCommand(), tailCommand(), exportCommand(), keysCommand(), importCommand(), analyzeCommand(), archiveCommand(), dbCommand()]) {
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has printed the message (or the help / version, which exit 0).
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_INVALID;
  } else if (isConfigError(err)) {
    process.stderr.write(`${formatConfigError(err)}\n`);
    process.exitCode = EXIT_INVALID;
  } else {
    process.stderr.write(`loghaven: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}
