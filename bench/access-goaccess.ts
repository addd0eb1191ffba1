// GoAccess on the same ALB file: the baseline of the access-analytics benchmark. It reads the
// file and writes its standard JSON report (every panel), the way a person would run it.
//
// Flags, for GoAccess 1.7 (Debian's; it has no --jobs, parsing is one thread):
// - `--log-format=AWSALB`, its predefined ALB format (date and time formats come with it). It reads
//   the fields up to the user agent and skips the rest, so the fields ALB added since (up to the
//   2025 transform fields) do not disturb it.
// - `--no-ip-validation`: AWSALB reads the client as `%h:%^`, the host ending at the first colon.
//   ALB writes IPv6 clients without brackets (`2001:db8::1:443`), so the host is `2001`, which
//   fails validation and the whole line is counted as failed (3% of our lines). Without the check
//   the line is parsed, its visitor counted under the address's first group; IPv4 is unaffected.
// - `--no-global-config`: /etc/goaccess/goaccess.conf would otherwise add its own settings.
// - `--no-progress`: no progress output.
//
//   node --import tsx bench/access-goaccess.ts FILE [OUT.json]

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const GOACCESS_FLAGS = ['--log-format=AWSALB', '--no-ip-validation', '--no-global-config', '--no-progress'];

/** `1.7` from "GoAccess - 1.7." */
export async function goaccessVersion(): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await exec('goaccess', ['--version']));
  } catch (err) {
    throw new Error(`goaccess is not installed or does not run (apt-get install -y goaccess): ${(err as Error).message}`);
  }
  const m = /GoAccess - ([\d.]*\d)/.exec(stdout);
  if (m === null) throw new Error(`goaccess --version said ${JSON.stringify(stdout.slice(0, 80))}`);
  return m[1]!;
}

/**
 * Runs GoAccess on `file`, its JSON report written to `outJson`. `ms` is the wall time of the
 * whole run (parsing and the report). `requests` is the report's general.valid_requests, the
 * lines it parsed (its total_requests counts the failed ones too), `rejected` its
 * failed_requests; null when the report lacks them.
 */
export async function runGoAccess(file: string, outJson: string): Promise<{ ms: number; requests: number | null; rejected: number | null; version: string }> {
  const version = await goaccessVersion();
  const t0 = performance.now();
  await exec('goaccess', [file, ...GOACCESS_FLAGS, '-o', outJson], { maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  const report = JSON.parse(await readFile(outJson, 'utf8')) as { general?: { valid_requests?: unknown; failed_requests?: unknown } };
  const count = (v: unknown) => (typeof v === 'number' ? v : null);
  return { ms, requests: count(report.general?.valid_requests), rejected: count(report.general?.failed_requests), version };
}

async function main(): Promise<void> {
  const [file, out = '/tmp/goaccess-report.json'] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: access-goaccess.ts FILE [OUT.json]');
  console.log(JSON.stringify({ ...(await runGoAccess(file, out)), flags: GOACCESS_FLAGS, report: out }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
