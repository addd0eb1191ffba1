// ZeroMQ against the shipped client (`loghaven/zmq-client`) and raw zeromq sockets: records sent
// to the ROUTER are acknowledged once durable and survive kill -9; bad envelopes are refused with
// their sequence number and reason while the good ones around them are stored; PULL takes
// fire-and-forget frames and counts the ones it refuses.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { freePort, startChild, stopChild, type ChildServer } from '../../../test/helpers/child-server.js';
import { searchLogs, waitForLogs, metricValue, type LogItem as Item } from '../../../test/helpers/logs-api.js';
import { LoghavenZmqClient, LoghavenZmqPusher, ZmqNackError } from './client.js';
import { NackReason, decodeReply, encodeEnvelope, HEADER_BYTES } from './envelope.js';

const dirs: string[] = [];
let server: ChildServer;
let pullEndpoint: string;
let routerEndpoint: string;

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-zmq-'));
  dirs.push(d);
  return d;
}

async function zmqServer(dataDir: string, env: Record<string, string> = {}): Promise<{ server: ChildServer; pull: string; router: string }> {
  const [pullPort, routerPort] = [await freePort(), await freePort()];
  const s = await startChild(dataDir, { env: { LOGHAVEN_ZEROMQ_PULL_PORT: String(pullPort), LOGHAVEN_ZEROMQ_ROUTER_PORT: String(routerPort), ...env } });
  return { server: s, pull: `tcp://127.0.0.1:${pullPort}`, router: `tcp://127.0.0.1:${routerPort}` };
}

beforeAll(async () => {
  const started = await zmqServer(tmp());
  [server, pullEndpoint, routerEndpoint] = [started.server, started.pull, started.router];
});

afterAll(async () => {
  await stopChild(server);
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});


const metric = (name: string, labels: string) => metricValue(server.url, name, labels);

const LEVELS = ['info', 'warn', 'error', 'debug'] as const;
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const record = (service: string, i: number) => ({
  ts: new Date(T0 + i * 1000).toISOString(),
  level: LEVELS[i % 4],
  service,
  host: `host-${i % 3}`,
  message: `${service} message ${i}`,
  order: i,
});

function expectRoundTrip(items: Item[], service: string): void {
  expect(items.length).toBe(1000);
  const byOrder = new Map(items.map((it) => [it.attrs.order as number, it]));
  for (let i = 0; i < 1000; i++) {
    const r = record(service, i);
    expect(byOrder.get(i)).toMatchObject({ ts: r.ts.replace(/\.(\d{3})Z$/, '.$1000Z'), level: r.level, service, host: r.host, message: r.message });
  }
}

describe('ZeroMQ ROUTER with acknowledgements', () => {
  it('acknowledges 1,000 records from the client, single and batched, gzip or not, and stores them', async () => {
    const client = await LoghavenZmqClient.connect(routerEndpoint, { gzipAbove: 2000 });
    const acks = await Promise.all([
      // 500 one at a time, 500 in batches of 100 (gzipped: over 2,000 bytes).
      ...Array.from({ length: 500 }, (_, i) => client.send(record('zmq-router', i))),
      ...Array.from({ length: 5 }, (_, b) => client.send(Array.from({ length: 100 }, (_, j) => record('zmq-router', 500 + b * 100 + j)))),
    ]);
    await client.close();
    expect(acks.reduce((n, a) => n + a.accepted, 0)).toBe(1000);
    expect(acks.every((a) => a.rejected === 0)).toBe(true);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(505);
    // Acknowledged means stored: searchable at once.
    expectRoundTrip(await searchLogs(server.url, 'service:zmq-router'), 'zmq-router');
  });

  it('stores the good lines of a batch and reports the bad ones in the acknowledgement', async () => {
    const client = await LoghavenZmqClient.connect(routerEndpoint);
    const ndjson = ['{"message":"mixed good 1","service":"zmq-mixed"}', '{not json', '{"message":"mixed good 2","service":"zmq-mixed"}', '[1,2]'].join('\n');
    const ack = await client.send(ndjson);
    await client.close();
    expect(ack).toMatchObject({ accepted: 2, rejected: 2 });
    expect(ack.errors.map((e) => e.line)).toEqual([2, 4]);
    expect((await searchLogs(server.url, 'service:zmq-mixed')).map((it) => it.message)).toEqual(['mixed good 1', 'mixed good 2']);
  });

  it('refuses bad envelopes with their sequence number and reason, and still takes the good ones sent with them', async () => {
    const client = await LoghavenZmqClient.connect(routerEndpoint);
    const payload = Buffer.from('{"message":"checked","service":"zmq-checks"}');
    const corrupt = encodeEnvelope(101n, payload, {});
    corrupt[HEADER_BYTES + 3] ^= 0x20; // one bit of the payload changed after the checksum
    const badVersion = encodeEnvelope(102n, payload, {});
    badVersion[0] = 9;
    const badFlags = encodeEnvelope(103n, payload, {});
    badFlags[1] = 0x80;
    const notGzip = encodeEnvelope(104n, payload, { gzip: true });
    const noRecords = encodeEnvelope(105n, Buffer.from('{"ts":"yesterday-ish"}\nnot json'), { batch: true });
    const good = [1n, 2n, 3n].map((seq) => encodeEnvelope(200n + seq, Buffer.from(`{"message":"good ${seq}","service":"zmq-checks"}`), {}));
    const results = await Promise.allSettled([
      client.sendFrame(good[0]!, 201n),
      client.sendFrame(corrupt, 101n),
      client.sendFrame(badVersion, 102n),
      client.sendFrame(good[1]!, 202n),
      client.sendFrame(badFlags, 103n),
      client.sendFrame(notGzip, 104n),
      client.sendFrame(noRecords, 105n),
      client.sendFrame(good[2]!, 203n),
    ]);
    await client.close();
    const refusals = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ZmqNackError);
    expect(refusals.map((e) => [e.seq, e.reason])).toEqual([
      [101n, NackReason.BadChecksum],
      [102n, NackReason.BadVersion],
      [103n, NackReason.BadFlags],
      [104n, NackReason.BadPayload],
      [105n, NackReason.BadPayload],
    ]);
    expect(refusals[0]!.message).toMatch(/^loghaven refused envelope 101: bad_checksum: CRC32C of the payload is 0x[0-9a-f]{8}, the envelope says 0x[0-9a-f]{8}$/);
    expect(refusals[1]!.detail).toBe('envelope version 9 is not supported; this server speaks version 1');
    expect(refusals[3]!.detail).toMatch(/flagged gzip but cannot be decompressed/);
    expect(refusals[4]!.detail).toMatch(/^line 1: .*ts.*; line 2: /);
    expect((await searchLogs(server.url, 'service:zmq-checks')).map((it) => it.message)).toEqual(['good 1', 'good 2', 'good 3']);
  });

  it('answers raw DEALER and REQ sockets, and names a frame too short to be an envelope', async () => {
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(routerEndpoint);
    await dealer.send(Buffer.from([1, 0, 0]));
    expect(decodeReply((await dealer.receive())[0]!)).toEqual({
      kind: 'nack',
      seq: 0n,
      reason: NackReason.BadFrame,
      message: 'frame of 3 bytes is shorter than the 14-byte envelope header',
    });
    dealer.close();
    const req = new zmq.Request({ linger: 0 });
    req.connect(routerEndpoint);
    await req.send(encodeEnvelope(7n, zlib.gzipSync('{"message":"from REQ","service":"zmq-req"}'), { gzip: true }));
    expect(decodeReply((await req.receive())[0]!)).toEqual({ kind: 'ack', seq: 7n, accepted: 1, rejected: 0, errors: [] });
    req.close();
    expect((await searchLogs(server.url, 'service:zmq-req')).map((it) => it.message)).toEqual(['from REQ']);
  });

  it('keeps every acknowledged record across kill -9', async () => {
    const dir = tmp();
    const first = await zmqServer(dir);
    const client = await LoghavenZmqClient.connect(first.router, { timeoutMs: 5000, retryForMs: 0 });
    const acked: number[] = [];
    let next = 0;
    let stop = false;
    const senders = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const start = next;
        next += 200;
        try {
          await client.send(Array.from({ length: 200 }, (_, i) => ({ message: `durable ${start + i}`, service: 'zmq-durable', n: start + i })));
          for (let i = 0; i < 200; i++) acked.push(start + i);
        } catch {
          return; // the server is gone
        }
      }
    });
    while (acked.length < 20_000) await new Promise((r) => setTimeout(r, 20));
    first.server.proc.kill('SIGKILL');
    await first.server.exited;
    stop = true;
    await Promise.all(senders);
    await client.close();
    const again = await startChild(dir);
    try {
      const r = await fetch(`${again.url}/api/v1/logs/export?q=${encodeURIComponent('service:zmq-durable')}&format=ndjson`);
      const stored = new Set((await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l).attrs.n as number));
      expect(acked.filter((n) => !stored.has(n))).toEqual([]);
    } finally {
      await stopChild(again);
    }
  });

  it('is refused as overloaded when ingest is full, and the client sends again until all is stored; PULL holds frames instead', async () => {
    const dir = tmp();
    // The smallest queue, and a spool bound that one load of the backlog exceeds.
    const small = await zmqServer(dir, { LOGHAVEN_INGEST_QUEUE_MAX_BYTES: '1MiB', LOGHAVEN_INGEST_SPOOL_MAX_BYTES: '1MiB' });
    try {
      const client = await LoghavenZmqClient.connect(small.router, { retryForMs: 120_000 });
      const filler = 'x'.repeat(400);
      const acks = await Promise.all(
        Array.from({ length: 40 }, (_, b) => client.send(Array.from({ length: 500 }, (_, i) => ({ message: `load ${b * 500 + i}`, service: 'zmq-load', filler })))),
      );
      await client.close();
      expect(acks.reduce((n, a) => n + a.accepted, 0)).toBe(20_000);
      const text = await (await fetch(`${small.server.url}/metrics`)).text();
      expect(text).toMatch(/loghaven_ingest_refused_requests_total\{protocol="zeromq",reason="overloaded"\} [1-9]/);
      const r = await fetch(`${small.server.url}/api/v1/logs/export?q=${encodeURIComponent('service:zmq-load')}&format=ndjson`);
      expect(new Set((await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l).message)).size).toBe(20_000);
      // PULL cannot refuse: it holds each frame until there is room, and reads no more meanwhile.
      const pusher = await LoghavenZmqPusher.connect(small.pull);
      for (let b = 0; b < 40; b++) await pusher.push(Array.from({ length: 500 }, (_, i) => ({ message: `pushed ${b * 500 + i}`, service: 'zmq-push-load', filler })));
      await pusher.close();
      let stored = 0;
      for (let tries = 0; tries < 600 && stored < 20_000; tries++) {
        const page = await fetch(`${small.server.url}/api/v1/logs/export?q=${encodeURIComponent('service:zmq-push-load')}&format=ndjson`);
        stored = new Set((await page.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l).message)).size;
        if (stored < 20_000) await new Promise((r) => setTimeout(r, 100));
      }
      expect(stored).toBe(20_000);
    } finally {
      await stopChild(small.server);
    }
  });
});

describe('ZeroMQ PULL, fire and forget', () => {
  it('stores 1,000 records pushed one at a time and in batches', async () => {
    const pusher = await LoghavenZmqPusher.connect(pullEndpoint);
    for (let i = 0; i < 500; i++) await pusher.push(record('zmq-pull', i));
    for (let b = 0; b < 5; b++) await pusher.push(Array.from({ length: 100 }, (_, j) => record('zmq-pull', 500 + b * 100 + j)), { gzipAbove: 1000 });
    await pusher.close();
    expectRoundTrip(await waitForLogs(server.url, 'service:zmq-pull', 1000), 'zmq-pull');
  });

  it('counts the frames it refuses and stores the good ones around them', async () => {
    const before = await metric('loghaven_ingest_refused_requests_total', 'protocol="zeromq",reason="bad_checksum"');
    const push = new zmq.Push({ linger: 5000 });
    push.connect(pullEndpoint);
    for (let i = 0; i < 10; i++) {
      await push.send(encodeEnvelope(BigInt(i), Buffer.from(`{"message":"pull good ${i}","service":"zmq-pull-mixed"}`), {}));
      const bad = encodeEnvelope(BigInt(100 + i), Buffer.from('{"message":"bad"}'), {});
      bad[10] ^= 1;
      await push.send(bad);
    }
    push.close();
    const items = await waitForLogs(server.url, 'service:zmq-pull-mixed', 10);
    expect(items.map((it) => it.message).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `pull good ${i}`).sort());
    let after = before;
    for (let tries = 0; tries < 50 && after < before + 10; tries++) {
      after = await metric('loghaven_ingest_refused_requests_total', 'protocol="zeromq",reason="bad_checksum"');
      if (after < before + 10) await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toBe(before + 10);
  });
});

describe('the package', () => {
  it('exports the client as loghaven/zmq-client', () => {
    const root = path.resolve(import.meta.dirname, '../../..');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('loghaven/zmq-client'); console.log(Object.keys(m).sort().join(','))"], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out.trim().split(',')).toEqual(expect.arrayContaining(['LoghavenZmqClient', 'LoghavenZmqPusher', 'ZmqNackError', 'encodeEnvelope', 'NackReason']));
  });
});
