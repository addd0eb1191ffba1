// npm run bench:sdk — the SDK logger's own costs, beside pino's in the same run:
//
// - a log call with source capture, warm call-site cache: 60 call sites (an app's worth), each a
//   function of its own, called round-robin; the records go to the SDK's buffer in its usual
//   batches of 1,000, aimed at a port nobody listens on, and the buffer is large enough that
//   nothing is dropped (what is measured is the caller's cost, not the shipping);
// - pino's own call cost, no caller info, writing to /dev/null through its buffered destination;
// - the call-site cache's hit rate over that app;
// - the SDK's memory while the server is down: 2,000,000 records into a logger whose buffer is
//   8 MiB, aimed at a port nobody listens on — resident memory must stay near the buffer.
//
//   npm run bench:sdk -- [--calls 1000000] [--runs 5]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createLogger, type Logger } from '../src/sdk/index.js';
import { freePort } from '../test/helpers/child-server.js';
import { machine } from './lib/report.js';

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } });
const CALLS = Number(args.calls);
const RUNS = Number(args.runs);
const SITES = 60;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Site = () => void;

/**
 * SITES handlers in a module of their own (a file, as an app's are), each calling `logger.info`
 * from its own line — with the SDK's arguments (message, attrs) or pino's (attrs, message).
 */
async function app(logger: object, order: 'sdk' | 'pino'): Promise<Site[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-sdk-'));
  const file = path.join(dir, `handlers-${order}.mjs`);
  const call = (i: number) => (order === 'sdk' ? `log.info('request handled', { route: ${i}, ok: true })` : `log.info({ route: ${i}, ok: true }, 'request handled')`);
  fs.writeFileSync(file, Array.from({ length: SITES }, (_, i) => `export function handler${i}(log) { ${call(i)}; }`).join('\n'));
  const handlers = Object.values((await import(file)) as Record<string, (l: object) => void>);
  return handlers.map((h) => () => h(logger));
}

function timeCalls(sites: Site[], calls: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sites[i % SITES]!();
  return Number(process.hrtime.bigint() - t) / calls / 1000;
}

async function main(): Promise<void> {
  console.log(`bench:sdk — ${machine()}; ${CALLS.toLocaleString('en-US')} calls over ${SITES} call sites, ${RUNS} runs`);
  const port = await freePort();
  const sdkUs: number[] = [];
  const pinoUs: number[] = [];
  const bareUs: number[] = [];
  let sdk: Logger | null = null;
  for (let run = 0; run < RUNS; run++) {
    // Big enough that the timed calls never drop; the batches wait for a server that is not there.
    sdk = createLogger({ url: `http://127.0.0.1:${port}`, service: 'bench', bufferSize: 2 ** 31 });
    const sdkSites = await app(sdk, 'sdk');
    timeCalls(sdkSites, 50_000); // warm: every call site cached, the code optimised
    sdkUs.push(timeCalls(sdkSites, CALLS));
    // The same calls without source capture: what is left is the SDK's own work, the rest is V8's.
    const bare = createLogger({ url: `http://127.0.0.1:${port}`, service: 'bench', bufferSize: 2 ** 31, captureSource: false });
    const bareSites = await app(bare, 'sdk');
    timeCalls(bareSites, 50_000);
    bareUs.push(timeCalls(bareSites, CALLS));
    await bare.close(1);
    const p = pino({ level: 'info', base: { service: 'bench' } }, pino.destination({ dest: '/dev/null', minLength: 4096, sync: false }));
    const pinoSites = await app(p, 'pino');
    timeCalls(pinoSites, 50_000);
    pinoUs.push(timeCalls(pinoSites, CALLS));
    const s = sdk.stats();
    if (run < RUNS - 1) await sdk.close(1);
    console.log(`  run ${run + 1}: sdk ${sdkUs[run]!.toFixed(2)} µs/call (${bareUs[run]!.toFixed(2)} without source capture), pino ${pinoUs[run]!.toFixed(2)} µs/call; cache ${s.sourceCacheHits} hits, ${s.sourceCacheMisses} misses`);
  }
  const s = sdk!.stats();
  const hitRate = s.sourceCacheHits / (s.sourceCacheHits + s.sourceCacheMisses);
  void sdk!.close(1);

  // Memory while the server is down.
  global.gc?.();
  const before = process.memoryUsage().rss;
  const down = createLogger({ url: `http://127.0.0.1:${port}`, service: 'bench', bufferSize: 8 * 2 ** 20, flushMs: 50 });
  let peak = before;
  for (let i = 0; i < 2_000_000; i++) {
    down.info('request handled while the server is away', { i, route: i % SITES });
    if (i % 50_000 === 0) {
      peak = Math.max(peak, process.memoryUsage().rss);
      await new Promise((r) => setImmediate(r));
    }
  }
  const ds = down.stats();
  void down.close(1);

  const sdkMedian = median(sdkUs);
  const pinoMedian = median(pinoUs);
  console.log('\n| measure | figure | target | met |\n|---|---|---|---|');
  console.log(`| SDK log call, source capture, warm cache | ${sdkMedian.toFixed(2)} µs (${sdkUs.map((x) => x.toFixed(2)).join(' · ')}) | ≤ 3 µs | ${sdkMedian <= 3 ? 'yes' : 'no'} |`);
  console.log(`| SDK log call without source capture, same runs | ${median(bareUs).toFixed(2)} µs (${bareUs.map((x) => x.toFixed(2)).join(' · ')}) | | |`);
  console.log(`| pino's own call, no caller info, same runs | ${pinoMedian.toFixed(2)} µs (${pinoUs.map((x) => x.toFixed(2)).join(' · ')}) | | |`);
  console.log(`| SDK / pino | ${(sdkMedian / pinoMedian).toFixed(2)}× | ≤ 2× | ${sdkMedian <= 2 * pinoMedian ? 'yes' : 'no'} |`);
  console.log(`| source cache hit rate, ${SITES} call sites | ${(hitRate * 100).toFixed(3)} % | ≥ 95 % | ${hitRate >= 0.95 ? 'yes' : 'no'} |`);
  console.log(
    `| RSS growth while the server is down, 8 MiB buffer, 2M records | ${((peak - before) / 2 ** 20).toFixed(0)} MiB; ${ds.buffered.toLocaleString('en-US')} buffered, ${ds.dropped.toLocaleString('en-US')} dropped and counted | bounded by the buffer | ${peak - before < 64 * 2 ** 20 ? 'yes' : 'no'} |`,
  );
}

await main();
