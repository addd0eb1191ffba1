// What the SDK logger puts on the wire: each record one JSON object with no key twice, the
// logger's own fields winning over bound fields and attributes of the same name, as a merged
// object would have it; and the ingester's byte batches: every record once, in order, within the
// request size and the buffer's bytes. A small real HTTP server stands in for loghaven and keeps
// the bodies it was sent.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ingester } from '../client/ingester.js';
import { createLogger } from './index.js';

let server: http.Server;
let url: string;
const bodies: string[] = [];
let refuse = false;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (refuse) return void res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":"LH_ERR_SHUTTING_DOWN","message":"later"}');
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString();
      bodies.push(body);
      const n = body.split('\n').filter((l) => l !== '').length;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: n, rejected: 0, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The lines sent since `from`. */
const linesSince = (from: number) => bodies.slice(from).flatMap((b) => b.split('\n').filter((l) => l !== ''));

/** The keys of a JSON object's text in order, repeats included (JSON.parse would keep only the last). */
function keysOf(line: string): string[] {
  const keys: string[] = [];
  JSON.parse(line, function (this: unknown, key: string, value: unknown) {
    if (this !== null && typeof this === 'object' && !Array.isArray(this) && key !== '' && Object.getPrototypeOf(this) === Object.prototype) keys.push(key);
    return value;
  });
  return keys;
}

describe('the SDK logger', () => {
  it("writes each record once with its own fields winning, as a merged object would", async () => {
    const from = bodies.length;
    const log = createLogger({ url, service: 'shop', host: 'web-1', category: 'orders' });
    const before = Date.now();
    log.info('plain', { order: 7, nested: { a: [1, 'x'] }, gone: undefined });
    log.warn('clashes', { level: 'debug', message: 'not me', service: 'other', ts: 1, host: 'h', category: 'c', source: 's', kept: true });
    const child = log.child({ request_id: 'r-1', ts: 5, level: 'trace', tenant_hint: 'a' });
    child.error('bound');
    child.error('bound, overridden', { request_id: 'r-2' });
    log.debug('snowman ☃ and 🦊 "quoted" \\ back\nslash', { 'ключ': 'значение' });
    log.info('an array for attrs', ['zero', 'one'] as unknown as Record<string, unknown>);
    log.info('a date for attrs', new Date(0) as unknown as Record<string, unknown>);
    log.fatal(42 as unknown as string, { why: 'not a string' });
    await log.close();
    const records = linesSince(from).map((l) => {
      const keys = keysOf(l);
      expect(new Set(keys).size, l).toBe(keys.length);
      return JSON.parse(l) as Record<string, unknown>;
    });
    expect(records).toHaveLength(8);
    for (const r of records) {
      expect(r).toMatchObject({ service: 'shop', host: 'web-1', category: 'orders' });
      expect(r.ts as number).toBeGreaterThanOrEqual(before);
      expect(r.source).toMatch(/^src\/sdk\/logger\.test\.ts:\d+:\d+/);
    }
    const strip = ({ ts: _t, service: _s, host: _h, category: _c, source: _src, ...rest }: Record<string, unknown>) => rest;
    expect(records.map(strip)).toEqual([
      { level: 'info', message: 'plain', order: 7, nested: { a: [1, 'x'] } },
      { level: 'warn', message: 'clashes', kept: true },
      { level: 'error', message: 'bound', request_id: 'r-1', tenant_hint: 'a' },
      { level: 'error', message: 'bound, overridden', request_id: 'r-2', tenant_hint: 'a' },
      { level: 'debug', message: 'snowman ☃ and 🦊 "quoted" \\ back\nslash', 'ключ': 'значение' },
      { level: 'info', message: 'an array for attrs', 0: 'zero', 1: 'one' },
      { level: 'info', message: 'a date for attrs' },
      { level: 'fatal', message: 42, why: 'not a string' },
    ]);
  });

  it('takes the category from the rules per call site, level and service, and leaves it to the server when none matches', async () => {
    const from = bodies.length;
    const log = createLogger({ url, service: 'auth-api', rules: [{ level: 'error', category: 'errors' }, { service: 'auth-*', category: 'auth' }] });
    for (let i = 0; i < 3; i++) {
      log.info('in');
      log.error('out');
    }
    const other = log.child({ service: 'billing' });
    other.info('billing info');
    other.error('billing error');
    await log.close();
    expect(linesSince(from).map((l) => (JSON.parse(l) as { category?: string }).category ?? null)).toEqual(['auth', 'errors', 'auth', 'errors', 'auth', 'errors', null, 'errors']);
  });
});

describe('the ingester', () => {
  it('sends every record once, in order, each request within maxBytes unless one record is larger', async () => {
    const from = bodies.length;
    const ing = new Ingester(async (ndjson) => {
      const r = await fetch(url, { method: 'POST', body: ndjson });
      return (await r.json()) as { accepted: number; rejected: number; errors: [] };
    }, { maxRecords: 1000, maxBytes: 300, flushMs: 5 });
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      // Several bytes per character, and now and then a record larger than a request.
      const line = JSON.stringify({ i, text: i % 50 === 7 ? 'é'.repeat(400) : '☃'.repeat(i % 13) });
      sent.push(line);
      expect(ing.logLine(line)).toBe(true);
    }
    await ing.close();
    const got = bodies.slice(from);
    expect(got.flatMap((b) => b.split('\n').filter((l) => l !== ''))).toEqual(sent);
    for (const b of got) if (b.split('\n').length > 2) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(300);
    expect(ing.stats).toMatchObject({ accepted: 200, dropped: 0, buffered: 0 });
  });

  it('holds at most maxBufferedBytes of records while the server refuses them, counting what it drops', async () => {
    refuse = true;
    const from = bodies.length;
    const ing = new Ingester(async (ndjson, signal) => {
      const r = await fetch(url, { method: 'POST', body: ndjson, signal });
      if (!r.ok) throw Object.assign(new (await import('../client/errors.js')).LoghavenError(r.status, 'LH_ERR_SHUTTING_DOWN', 'later'), {});
      return (await r.json()) as { accepted: number; rejected: number; errors: [] };
    }, { maxRecords: 10, maxBufferedBytes: 1000, flushMs: 5, retryBaseMs: 5, retryMaxMs: 20 });
    const line = JSON.stringify({ message: 'ü'.repeat(40) }); // 97 bytes with its newline
    let kept = 0;
    for (let i = 0; i < 100; i++) if (ing.logLine(line)) kept++;
    expect(kept).toBe(10);
    expect(ing.stats).toMatchObject({ dropped: 90, buffered: 10 });
    refuse = false;
    await ing.close();
    expect(ing.stats).toMatchObject({ accepted: 10, buffered: 0 });
    expect(linesSince(from)).toEqual(Array(10).fill(line));
  });
});
