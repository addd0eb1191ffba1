// Debian packages that tests and benchmarks run against (rsyslog): found on PATH, or installed
// with apt-get when running as root. Where they cannot be had, the caller skips saying why —
// unless LOGHAVEN_REQUIRE_SERVICES=1 (CI), where that is a failure.

import { execFileSync, spawnSync } from 'node:child_process';

function which(binary: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${binary} || ls /usr/sbin/${binary} 2>/dev/null`], { encoding: 'utf8' });
  const found = r.stdout.trim().split('\n')[0];
  return found ? found : null;
}

/** The binary's path, installing `pkg` first when it is missing; or throws saying why it cannot. */
export function ensureDebianPackage(pkg: string, binary: string): string {
  const present = which(binary);
  if (present) return present;
  if (process.getuid?.() !== 0) throw new Error(`${binary} is not installed and installing ${pkg} needs root: apt-get install ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'pipe', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, stdio: 'pipe', timeout: 300_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`apt-get install ${pkg} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
  const installed = which(binary);
  if (!installed) throw new Error(`apt-get installed ${pkg} but ${binary} is still not found`);
  return installed;
}

/** Like ensureDebianPackage, but gives the reason instead of throwing when tests may skip. */
export function debianPackageOrSkip(pkg: string, binary: string): { path: string } | { skip: string } {
  try {
    return { path: ensureDebianPackage(pkg, binary) };
  } catch (e) {
    if (process.env.LOGHAVEN_REQUIRE_SERVICES === '1') throw e;
    return { skip: (e as Error).message };
  }
}
