// The typed client `loghaven/client` against a real server process: search, every page and
// record, exports streamed and parsed, histogram and top, coded errors, one-shot and batched
// ingest (with retries through a real HTTP front that answers 429/503 first, and a bounded
// buffer when the server is down), and the live tail: against the real SSE route (through a TCP
// proxy that cuts the connection mid-stream) and against a scripted SSE server (ids, dropped
// events, heartbeats, a cut inside an event, a repeated record, 503, a silent connection).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ingester, LoghavenClient, LoghavenError, type LogRecord } from '../../src/client/index.js';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

let server: ChildServer;
let dataDir: string;
let client: LoghavenClient;

const TOTAL = 2500;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-client-'));
  server = await startChild(dataDir);
  client = new LoghavenClient({ url: server.url, headers: { 'user-agent': 'loghaven-client-test' } });
}, 120_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A local HTTP server for the duration of `fn`. */
async function withServer<T>(handler: http.RequestListener, fn: (url: string) => Promise<T>): Promise<T> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    return await fn(`http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`);
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
}

async function bodyOf(req: http.IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += c;
  return s;
}

describe('reads', () => {
  it('ingests, then reads every record back page by page, each once', async () => {
    const lines = Array.from({ length: TOTAL }, (_, i) => JSON.parse(logLine(i, 'c').text) as object);
    const answer = await client.ingest(lines);
    expect(answer).toEqual({ accepted: TOTAL, rejected: 0, errors: [] });
    const page = await client.search({ q: 'id:c-*', limit: 10 });
    expect(page.items.length).toBe(10);
    expect(typeof page.next_cursor).toBe('string');
    expect(page.stats.rows_scanned).toBeGreaterThanOrEqual(TOTAL);
    let pages = 0;
    for await (const p of client.pages({ q: 'id:c-*', limit: 300, order: 'asc' })) {
      pages++;
      expect(p.items.length).toBeLessThanOrEqual(300);
    }
    expect(pages).toBe(Math.ceil(TOTAL / 300));
    const ids: string[] = [];
    for await (const r of client.records({ q: 'id:c-*', limit: 200, from: new Date(Date.UTC(2026, 0, 15)), to: 'now' })) ids.push(r.attrs.id as string);
    expect(ids.length).toBe(TOTAL);
    expect(new Set(ids).size).toBe(TOTAL);
  });

  it('streams an export record by record, and as raw text', async () => {
    let n = 0;
    let prev = '';
    for await (const r of client.export({ q: 'id:c-*' })) {
      expect(r.ts >= prev).toBe(true); // oldest first
      prev = r.ts;
      n++;
    }
    expect(n).toBe(TOTAL);
    let csv = '';
    for await (const chunk of client.exportText({ q: 'id:c-1*', format: 'csv' })) csv += chunk;
    expect(csv.split('\n')[0]).toBe('ts,received_at,tenant,level,severity,service,host,category,source,message,trace_id,span_id,attrs');
    // Stopping early cancels the download.
    const first: LogRecord[] = [];
    for await (const r of client.export({ q: 'id:c-*', order: 'desc' })) {
      first.push(r);
      if (first.length === 3) break;
    }
    expect(first.length).toBe(3);
  });

  it('answers histogram and top as the routes do', async () => {
    const h = await client.histogram({ q: 'id:c-*', from: '2026-01-15T12:00:00Z', to: '2026-01-15T12:01:00Z', step: '10s' });
    expect(h.step_ms).toBe(10_000);
    expect(h.buckets.reduce((a, b) => a + b.count, 0)).toBe(TOTAL);
    const t = await client.top({ field: 'service', q: 'id:c-*', limit: 2 });
    expect(t).toEqual(await (await fetch(`${server.url}/api/v1/logs/top?field=service&q=id:c-*&limit=2`)).json());
  });

  it('throws LoghavenError with the server code, message and details', async () => {
    const err = await client.search({ q: 'level:error AND (' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoghavenError);
    expect(err).toMatchObject({ code: 'LH_ERR_QUERY_SYNTAX', status: 400, details: { position: expect.any(Number) } });
    expect((err as LoghavenError).message).toMatch(/position \d+/);
    await expect(client.search({ limit: 0 })).rejects.toMatchObject({ code: 'LH_ERR_BAD_PARAM', details: { param: 'limit' } });
    await expect(client.top({ field: 'service', from: 'now', to: 'now-1h' })).rejects.toMatchObject({ code: 'LH_ERR_BAD_TIME' });
  });
});

describe('ingest', () => {
  it('one-shot: reports bad records by line, and returns (not throws) an answer with nothing accepted', async () => {
    const a = await client.ingest([{ msg: 'fine', id: 'one-1' }, { ts: 'nope' }]);
    expect(a).toMatchObject({ accepted: 1, rejected: 1, errors: [{ line: 2 }] });
    const none = await client.ingest('not json\n');
    expect(none).toMatchObject({ accepted: 0, rejected: 1 });
    const nothing = await client.ingest([]);
    expect(nothing.errors).toEqual([{ line: 1, error: 'body contains no records' }]);
  });

  it('batches: every record logged arrives once, in batches of maxRecords', async () => {
    const bodies: number[] = [];
    const rejected: number[] = [];
    await withServer(
      async (req, res) => {
        // A real HTTP front that passes every batch on to the server and notes its size.
        const body = await bodyOf(req);
        bodies.push(body.split('\n').filter((l) => l !== '').length);
        const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
      },
      async (url) => {
        const ing = new LoghavenClient({ url }).ingester({ maxRecords: 500, flushMs: 50, onRejected: (errors) => rejected.push(...errors.map((e) => e.line)) });
        for (let i = 0; i < 2200; i++) expect(ing.log(i === 7 ? { ts: 'bad' } : { msg: `batched ${i}`, id: `b-${i}` })).toBe(true);
        await ing.close();
        expect(ing.stats).toMatchObject({ accepted: 2199, rejected: 1, dropped: 0, failed: 0, buffered: 0 });
      },
    );
    expect(bodies).toEqual([500, 500, 500, 500, 200]);
    expect(rejected).toEqual([8]);
    const ids = new Set<string>();
    for await (const r of client.records({ q: 'id:b-*', limit: 1000 })) ids.add(r.attrs.id as string);
    expect(ids.size).toBe(2199);
  });

  it('sends a batch again after 429 and 503 with Retry-After, and the one-shot ingest too', async () => {
    let calls = 0;
    const refusals = [429, 503];
    await withServer(
      async (req, res) => {
        const body = await bodyOf(req);
        calls++;
        const refusal = refusals.shift();
        if (refusal !== undefined) {
          res.writeHead(refusal, { 'content-type': 'application/json', 'retry-after': '0' }).end(JSON.stringify({ error: refusal === 429 ? 'LH_ERR_OVERLOADED' : 'LH_ERR_SHUTTING_DOWN', message: 'later' }));
          return;
        }
        const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body });
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
      },
      async (url) => {
        const c = new LoghavenClient({ url });
        const ing = c.ingester({ maxRecords: 100, flushMs: 10, retryBaseMs: 10 });
        for (let i = 0; i < 100; i++) ing.log({ msg: `retried ${i}`, id: `rt-${i}` });
        await ing.flush();
        expect(ing.stats).toMatchObject({ accepted: 100, retries: 2, failed: 0 });
        expect(calls).toBe(3);
        refusals.push(429);
        expect(await c.ingest({ msg: 'one more', id: 'rt-100' })).toMatchObject({ accepted: 1 });
        refusals.push(429, 429);
        await expect(c.ingest({ msg: 'gives up' }, { attempts: 2 })).rejects.toMatchObject({ code: 'LH_ERR_OVERLOADED', status: 429, retryAfterMs: 0 });
        await ing.close();
      },
    );
    const back = [];
    for await (const r of client.records({ q: 'id:rt-*', limit: 1000 })) back.push(r);
    expect(back.length).toBe(101);
  });

  it('keeps its buffer bounded while the server is down, and gives up what is left on close', async () => {
    const failed: number[] = [];
    await withServer(
      (_req, res) => void res.writeHead(503, { 'retry-after': '1' }).end('down'),
      async (url) => {
        const ing = new LoghavenClient({ url }).ingester({ maxRecords: 10, maxBufferedBytes: 4096, flushMs: 10, onError: (_e, records) => failed.push(records.length) });
        let kept = 0;
        for (let i = 0; i < 1000; i++) if (ing.log({ msg: `while down ${i}`, pad: 'x'.repeat(20) })) kept++;
        expect(kept).toBeLessThan(100);
        expect(ing.stats.dropped).toBe(1000 - kept);
        expect(ing.stats.buffered).toBe(kept);
        await ing.close(200);
        expect(ing.stats.failed).toBe(kept);
        expect(failed.reduce((a, b) => a + b, 0)).toBe(kept);
        expect(ing.log({ msg: 'after close' })).toBe(false);
      },
    );
  });

  it('is an Ingester from the package entry point', () => {
    expect(client.ingester()).toBeInstanceOf(Ingester);
  });
});

/** A TCP proxy to the real server that can cut every connection through it. */
async function cuttingProxy(target: number): Promise<{ url: string; connections: () => number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const srv = net.createServer((down) => {
    connections++;
    const up = net.connect(target, '127.0.0.1');
    sockets.add(down).add(up);
    down.pipe(up).pipe(down);
    const drop = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    connections: () => connections,
    cut: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

describe('tail against the real server', () => {
  it('yields matching records live, and after a cut connection resumes without a gap or a repeat', async () => {
    const proxy = await cuttingProxy(server.port);
    const stop = new AbortController();
    const post = (from: number, n: number) =>
      client.ingest(Array.from({ length: n }, (_, i) => ({ service: 'tailc', id: `t-${from + i}`, msg: `tail ${from + i}` })));
    await post(0, 3);
    const tailer = new LoghavenClient({ url: proxy.url });
    const got: string[] = [];
    const positions: string[] = [];
    try {
      for await (const r of tailer.tail({ q: 'service:tailc', backfill: 3, signal: stop.signal, onPosition: (p) => positions.push(p) })) {
        got.push(r.attrs.id as string);
        if (got.length === 3) await post(3, 10);
        if (got.length === 6) {
          proxy.cut(); // the records after t-5 are on their way or not yet read: resumed by position
          await post(13, 10);
        }
        if (got.length === 23) break;
      }
    } finally {
      stop.abort();
      await proxy.close();
    }
    expect(proxy.connections()).toBeGreaterThanOrEqual(2);
    expect(got).toEqual(Array.from({ length: 23 }, (_, i) => `t-${i}`));
    expect(new Set(positions).size).toBe(23);
  });
});

interface ScriptedConnection {
  lastEventId: string | undefined;
  query: URLSearchParams;
}

describe('tail against a scripted SSE server', () => {
  it('follows ids, reports dropped records, skips heartbeats and a repeat, and reconnects after a cut, a 503 and an end', async () => {
    const seen: ScriptedConnection[] = [];
    const rec = (n: number) => JSON.stringify({ ts: '2026-01-01T00:00:00.000000Z', message: `m${n}`, attrs: { n } });
    const script: ((res: http.ServerResponse) => void)[] = [
      (res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`retry: 20\n: loghaven tail\n\nid: 1\ndata: ${rec(1)}\n\n: heartbeat\n\nid: 2\ndata: ${rec(2)}\n\n`);
        res.write(`event: dropped\ndata: {"count":3}\n\nid: 6\ndata: ${rec(6)}\n\nid: 7\ndata: {"message":"cut in the mi`);
        setTimeout(() => res.socket?.destroy(), 20);
      },
      (res) => {
        // Resumed after 6; sends 6 again (the client must not yield it twice), then ends the stream.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`id: 6\ndata: ${rec(6)}\n\nid: 7\ndata: ${rec(7)}\n\nid: 8\ndata: ${rec(8)}\n\n`);
      },
      (res) => void res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":"LH_ERR_TOO_MANY_TAILS","message":"busy"}'),
      (res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`id: 9\ndata: ${rec(9)}\n\n`);
      },
    ];
    const dropped: number[] = [];
    await withServer(
      (req, res) => {
        const url = new URL(req.url!, 'http://x');
        seen.push({ lastEventId: req.headers['last-event-id'] as string | undefined, query: url.searchParams });
        script.shift()?.(res);
      },
      async (url) => {
        const got: number[] = [];
        for await (const r of new LoghavenClient({ url }).tail({ q: 'level:error', backfill: 5, onDropped: (n) => dropped.push(n) })) {
          got.push(r.attrs.n as number);
          if (got.length === 6) break;
        }
        expect(got).toEqual([1, 2, 6, 7, 8, 9]);
      },
    );
    expect(dropped).toEqual([3]);
    expect(seen.map((c) => c.lastEventId)).toEqual([undefined, '6', '8', '8']);
    // The backfill is asked only by the first connection; the query by every one.
    expect(seen.map((c) => c.query.get('backfill'))).toEqual(['5', null, null, null]);
    expect(seen.every((c) => c.query.get('q') === 'level:error')).toBe(true);
  });

  it('drops a connection that goes silent and resumes; throws an answer that retrying cannot change', async () => {
    const seen: (string | undefined)[] = [];
    let n = 0;
    await withServer(
      (req, res) => {
        seen.push(req.headers['last-event-id'] as string | undefined);
        n++;
        if (n === 3) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"LH_ERR_QUERY_SYNTAX","message":"query syntax error: at position 1","position":1}');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`retry: 10\nid: ${n}\ndata: {"message":"r${n}","attrs":{}}\n\n`); // then silence
      },
      async (url) => {
        const got: string[] = [];
        const err = await (async () => {
          for await (const r of new LoghavenClient({ url }).tail({ idleTimeoutMs: 150 })) got.push(r.message!);
        })().catch((e: unknown) => e);
        expect(got).toEqual(['r1', 'r2']);
        expect(err).toBeInstanceOf(LoghavenError);
        expect(err).toMatchObject({ code: 'LH_ERR_QUERY_SYNTAX', status: 400, details: { position: 1 } });
      },
    );
    expect(seen).toEqual([undefined, '1', '2']);
  });

  it('ends when its signal aborts', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
      },
      async (url) => {
        const stop = new AbortController();
        setTimeout(() => stop.abort(), 50);
        const got: unknown[] = [];
        for await (const r of new LoghavenClient({ url }).tail({ signal: stop.signal })) got.push(r);
        expect(got).toEqual([]);
      },
    );
  });
});

describe('package entry point', () => {
  it('loghaven/client resolves to the built client with its types', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('loghaven/client'); console.log(Object.keys(m).sort().join(','))"], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('Ingester,LoghavenClient,LoghavenError');
    expect(fs.existsSync(path.join(ROOT, 'dist/client/index.d.ts'))).toBe(true);
  });
});
