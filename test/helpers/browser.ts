// A real Chromium for the web UI suites: Debian's /usr/bin/chromium, driven by playwright-core.
// CI machines have apt and the Debian mirror but no browser, so the set-up installs it when it
// is missing. LOGHAVEN_REQUIRE_SERVICES=1 turns a browser that still cannot be had into a
// failure; otherwise the suite is skipped, saying why (as with Redis and PostgreSQL).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.LOGHAVEN_CHROMIUM ?? '/usr/bin/chromium';

/** Where the suites save their screenshots (gitignored). */
export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results/screenshots');

const required = process.env.LOGHAVEN_REQUIRE_SERVICES === '1';

/** apt-get's download and unpack of chromium and its libraries, with room for a slow mirror. */
export const INSTALL_TIMEOUT_MS = 10 * 60_000;

function runs(file: string): boolean {
  return spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000 }).status === 0;
}

/**
 * Installs chromium with apt-get. Suites run in parallel: flock makes the second wait for the
 * first's install instead of failing on dpkg's lock, then finds the browser there.
 */
async function install(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'installing it needs root (apt-get)';
  if (spawnSync('apt-get', ['--version']).status !== 0) return 'apt-get is not available to install it';
  const lock = path.join(os.tmpdir(), 'loghaven-chromium-install.lock');
  const script = `test -x '${CHROMIUM}' || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }`;
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('flock', [lock, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), INSTALL_TIMEOUT_MS);
    child.on('error', (e) => (out += e.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  if (result.code !== 0) return `apt-get install chromium failed (exit ${result.code}): ${result.out.trim().split('\n').slice(-5).join(' | ')}`;
  return null;
}

/**
 * Whether `suite` can run a browser: installs chromium when missing. Throws when the browser is
 * required and cannot be had; otherwise warns and answers false.
 */
export async function chromiumFor(suite: string): Promise<boolean> {
  let why: string | null = null;
  if (!fs.existsSync(CHROMIUM)) {
    const failed = await install();
    if (failed !== null) why = `${CHROMIUM} is missing and ${failed}`;
  }
  if (why === null && !runs(CHROMIUM)) why = `${CHROMIUM} does not run (${CHROMIUM} --version failed)`;
  if (why !== null) {
    if (required) throw new Error(`Chromium is required (LOGHAVEN_REQUIRE_SERVICES=1) but ${why}`);
    console.warn(`skipping ${suite}: ${why}`);
    return false;
  }
  return true;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/**
 * Everything a page reports as going wrong: console errors, uncaught exceptions and failed
 * requests. A suite asserts the list is empty; `allow` names messages a test provokes on purpose.
 */
export function collectPageErrors(page: Page, allow: RegExp[] = []): string[] {
  const errors: string[] = [];
  const keep = (text: string) => {
    if (!allow.some((re) => re.test(text))) errors.push(text);
  };
  page.on('console', (m) => {
    if (m.type() === 'error') keep(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => keep(`page error: ${e.message}`));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Waits (at most `timeoutMs`) until `read()` satisfies `ok`; returns the last value read either way. */
export async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
