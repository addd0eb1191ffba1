// Starting a module of ours as a worker thread, and giving a background thread a lower CPU
// priority than the main thread, which answers requests.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module at `moduleUrl` (pass `import.meta.url`). Built, the module is
 * JavaScript and runs as it is; under the test runner it is TypeScript, so the worker first
 * registers tsx's loader and imports it through that.
 */
export function startModuleWorker(moduleUrl: string, options: WorkerOptions): Worker {
  let url = new URL(moduleUrl);
  if (url.pathname.endsWith('.ts')) {
    const api = pathToFileURL(createRequire(moduleUrl).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const boot = `const { tsImport } = await import(${JSON.stringify(api)}); await tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)});`;
    url = new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
  }
  return new Worker(url, options);
}

/**
 * Lowers the CPU priority of the calling thread alone (Linux gives each thread its own): `nice`,
 * and with `idle` the SCHED_IDLE policy as well (`chrt --idle`, util-linux), under which the thread
 * runs only on a core nothing else wants. Where either is missing or not allowed, the thread keeps
 * the priority it has.
 */
export function lowerThreadPriority(nice: number, opts: { idle?: boolean } = {}): void {
  let tid: number;
  try {
    tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return;
    os.setPriority(tid, nice);
  } catch {
    return; // Not Linux, or not allowed: normal priority.
  }
  if (opts.idle === true) spawnSync('chrt', ['--idle', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5_000 });
}
