// `loghaven health-check`: exit 0 when GET /health answers 200 within the timeout, else exit 1 with
// a one-line reason. Made for container HEALTHCHECKs and process supervisors.

import { Command, Option } from 'commander';
import { describeFailure, sendGet } from '../http-client.js';
import { EXIT_FAILURE, EXIT_OK, type ExitCode } from '../exit-codes.js';
import { parsePositiveInteger, serverUrlOption } from '../options.js';

interface HealthCheckOptions {
  url: string;
  timeout: number;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 3000;

export async function runHealthCheck(options: HealthCheckOptions): Promise<ExitCode> {
  const started = performance.now();
  const sent = await sendGet(options.url, '/health', { timeoutMs: options.timeout });
  const elapsedMs = Math.round(performance.now() - started);
  if (!sent.ok) {
    process.stderr.write(`unhealthy: ${describeFailure(sent.failure)}\n`);
    return EXIT_FAILURE;
  }
  const response = sent.value;
  await response.body?.cancel();
  if (response.status !== 200) {
    process.stderr.write(`unhealthy: ${response.url} answered ${response.status} instead of 200\n`);
    return EXIT_FAILURE;
  }
  process.stdout.write(`healthy: ${response.url} answered 200 in ${elapsedMs} ms\n`);
  return EXIT_OK;
}

export function healthCheckCommand(): Command {
  return new Command('health-check')
    .description('exit 0 if GET /health answers 200 within the timeout, else exit 1 with the reason')
    .addOption(serverUrlOption())
    .addOption(
      new Option('--timeout <ms>', 'give up after this many milliseconds').argParser(parsePositiveInteger).default(DEFAULT_HEALTH_TIMEOUT_MS),
    )
    .action(async (options: HealthCheckOptions) => {
      process.exitCode = await runHealthCheck(options);
    });
}
