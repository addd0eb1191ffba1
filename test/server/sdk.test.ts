// The SDK (`loghaven/sdk`) and the pino transport (`loghaven/pino`) against a real server, from
// real scripts that import the package by name: sources point at the exact file, line and column
// of each call, categories follow the rules, a logger started while the server is down delivers
// what its buffer kept once the server is up and counts what it dropped, and pino's levels map.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/sdk/index.js';
import { freePort, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let dir: string;
let server: ChildServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-sdk-'));
});

afterEach(async () => {
  await stopChild(server);
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** An application directory whose node_modules holds this package (as `npm install loghaven` would). */
function app(files: Record<string, string>): string {
  const root = path.join(dir, 'app');
  fs.mkdirSync(path.join(root, 'node_modules'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(root, 'node_modules', 'loghaven'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

async function records(url: string, q: string, n: number): Promise<Record<string, any>[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = (await (await fetch(`${url}/api/v1/logs?${new URLSearchParams({ q, limit: '1000', from: '2000-01-01T00:00:00Z' })}`)).json()) as { items: Record<string, any>[] };
    if (r.items.length >= n || Date.now() > deadline) return r.items;
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('loghaven/sdk', () => {
  it('sends each call with the file, line and column it was made from, and the category of the rules', { timeout: 60_000 }, async () => {
    server = await startChild(path.join(dir, 'data'));
    const root = app({
      'src/payments/charge.mjs': [
        'export function charge(log) {',
        "  log.info('charging', { order: 7 });",
        '  for (let i = 0; i < 3; i++) {',
        "    log.error('card declined', { attempt: i });",
        '  }',
        '}',
        '',
      ].join('\n'),
      'main.mjs': [
        "import { createLogger } from 'loghaven/sdk';",
        "import { charge } from './src/payments/charge.mjs';",
        'const log = createLogger({',
        '  url: process.argv[2],',
        "  service: 'shop',",
        "  rules: [{ source: 'src/payments/**', category: 'payments' }, { service: 'auth-*', category: 'auth' }],",
        '});',
        "log.info('started');",
        'charge(log);',
        "log.child({ service: 'auth-api', user: 'ann' }).warn('bad password');",
        "log.child({ category: 'audit' }).info('explicit');",
        'await log.close();',
        'console.log(JSON.stringify(log.stats()));',
        '',
      ].join('\n'),
    });
    const { stdout } = await run(process.execPath, ['main.mjs', server.url], { cwd: root });
    const stats = JSON.parse(stdout) as { sent: number; dropped: number; sourceCacheHits: number; sourceCacheMisses: number };
    expect(stats).toMatchObject({ sent: 7, dropped: 0, sourceCacheHits: 2, sourceCacheMisses: 5 });
    const got = await records(server.url, 'service:shop OR service:auth-api', 7);
    const by = (m: string) => got.filter((r) => r.message === m);
    expect(by('started')[0]).toMatchObject({ source: 'main.mjs:8:5', category: 'general', level: 'info', service: 'shop' });
    expect(by('charging')[0]).toMatchObject({ source: 'src/payments/charge.mjs:2:7 charge', category: 'payments', attrs: { order: 7 } });
    expect(by('card declined').map((r) => [r.source, r.category, r.level, r.attrs.attempt]).sort()).toEqual([
      ['src/payments/charge.mjs:4:9 charge', 'payments', 'error', 0],
      ['src/payments/charge.mjs:4:9 charge', 'payments', 'error', 1],
      ['src/payments/charge.mjs:4:9 charge', 'payments', 'error', 2],
    ]);
    expect(by('bad password')[0]).toMatchObject({ source: 'main.mjs:10:49', category: 'auth', service: 'auth-api', level: 'warn', attrs: { user: 'ann' } });
    expect(by('explicit')[0]).toMatchObject({ source: 'main.mjs:11:34', category: 'audit' });
  });

  it('started while the server is down, delivers what its buffer kept once the server is up, and counts the rest', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const kept = createLogger({ url, service: 'early', flushMs: 50 });
    const small = createLogger({ url, service: 'small', bufferSize: 4096, flushMs: 50 });
    for (let i = 0; i < 500; i++) {
      kept.info(`early ${i}`);
      small.info(`small ${i}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(kept.stats()).toMatchObject({ sent: 0, dropped: 0, buffered: 500 });
    const dropped = small.stats().dropped;
    expect(dropped).toBeGreaterThan(400);
    server = await startChild(path.join(dir, 'data'), { port });
    await Promise.all([kept.close(), small.close()]);
    expect(kept.stats()).toMatchObject({ sent: 500, dropped: 0, buffered: 0 });
    expect(small.stats()).toMatchObject({ sent: 500 - dropped, dropped, buffered: 0 });
    expect(await records(server.url, 'service:early', 500)).toHaveLength(500);
    expect(await records(server.url, 'service:small', 500 - dropped)).toHaveLength(500 - dropped);
  });

  it('ships over the ZeroMQ ROUTER socket too', { timeout: 60_000 }, async () => {
    const router = await freePort();
    server = await startChild(path.join(dir, 'data'), { env: { LOGHAVEN_ZEROMQ_ROUTER_PORT: String(router) } });
    const log = createLogger({ url: `tcp://127.0.0.1:${router}`, transport: 'zeromq', service: 'zmq-app', rules: [{ service: 'zmq-*', category: 'zmq' }] });
    for (let i = 0; i < 50; i++) log.warn(`over zeromq ${i}`, { i });
    await log.close();
    expect(log.stats()).toMatchObject({ sent: 50, dropped: 0 });
    const got = await records(server.url, 'service:zmq-app', 50);
    expect(got).toHaveLength(50);
    expect(got.every((r) => r.category === 'zmq' && r.level === 'warn' && /^test\/server\/sdk\.test\.ts:\d+:\d+/.test(r.source))).toBe(true);
  });

  it('caches call sites: 60 sites called 20 times each hit 95 %', async () => {
    const file = path.join(dir, 'sites.mjs');
    fs.writeFileSync(file, Array.from({ length: 60 }, (_, i) => `export function site${i}(log) { log.debug('x'); }`).join('\n'));
    const sites = Object.values((await import(file)) as Record<string, (l: unknown) => void>);
    const log = createLogger({ url: 'http://127.0.0.1:9', flushMs: 60_000 });
    for (let round = 0; round < 20; round++) for (const s of sites) s(log);
    const { sourceCacheHits, sourceCacheMisses } = log.stats();
    expect([sourceCacheHits, sourceCacheMisses]).toEqual([1140, 60]);
    await log.close(1);
  });
});

describe('loghaven/pino', () => {
  it('ships pino records with their levels, time, host and name mapped', { timeout: 60_000 }, async () => {
    server = await startChild(path.join(dir, 'data'));
    const root = app({
      'main.mjs': [
        "import pino from 'pino';",
        "const logger = pino({ name: 'billing', level: 'trace' }, pino.transport({ target: 'loghaven/pino', options: { url: process.argv[2] } }));",
        "for (const l of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) logger[l]({ n: l.length }, `pino ${l}`);",
        "await new Promise((r) => logger.flush(r));",
        '',
      ].join('\n'),
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules', 'pino'), path.join(root, 'node_modules', 'pino'));
    await run(process.execPath, ['main.mjs', server.url], { cwd: root });
    const got = await records(server.url, 'service:billing', 6);
    expect(got.map((r) => [r.message, r.level, r.host === os.hostname(), r.attrs.n]).sort()).toEqual(
      ['debug', 'error', 'fatal', 'info', 'trace', 'warn'].map((l) => [`pino ${l}`, l, true, l.length]),
    );
    expect(got.every((r) => typeof r.attrs.pid === 'number')).toBe(true);
  });
});
