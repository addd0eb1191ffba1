// Starting a module of ours as a worker thread. Built, the module is JavaScript and runs as it is;
// under the test runner it is TypeScript, so the worker first registers tsx's loader and imports
// it through that.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker thread running the module at `moduleUrl` (pass `import.meta.url`). */
export function startModuleWorker(moduleUrl: string, options: WorkerOptions): Worker {
  let url = new URL(moduleUrl);
  if (url.pathname.endsWith('.ts')) {
    const api = pathToFileURL(createRequire(moduleUrl).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const boot = `const { tsImport } = await import(${JSON.stringify(api)}); await tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)});`;
    url = new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
  }
  return new Worker(url, options);
}
