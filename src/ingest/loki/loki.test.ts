// Loki's push API against its shippers: pino-loki (JSON; each pino log is a JSON line, with
// `level` and `hostname` labels), and a snappy protobuf PushRequest built the way Promtail builds
// one — with protobufjs from Loki's push.proto and snappyjs, independent of loghaven's decoders.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import protobuf from 'protobufjs';
import snappyjs from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../../../test/helpers/child-server.js';
import { searchLogs, type LogItem as Item } from '../../../test/helpers/logs-api.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-loki-'));
  server = await startChild(dataDir);
});

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});


const search = (q: string) => searchLogs(server.url, q);

/** Loki's push.proto, the part a push uses. */
const PUSH_PROTO = `
syntax = "proto3";
package logproto;
message PushRequest { repeated StreamAdapter streams = 1; }
message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
message EntryAdapter { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
message LabelPairAdapter { string name = 1; string value = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;
const PushRequest = protobuf.parse(PUSH_PROTO).root.lookupType('logproto.PushRequest');

async function pushProtobuf(message: object): Promise<Response> {
  const bytes = PushRequest.encode(PushRequest.fromObject(message)).finish();
  return fetch(`${server.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(snappyjs.compress(bytes)),
  });
}

const T0 = 1_795_000_000; // seconds

describe('Loki push API', () => {
  it('takes 1,000 pino logs from pino-loki', async () => {
    const transport = pinoLoki({ host: server.url, batching: { interval: 0.1 }, labels: { service_name: 'pino-loki' } });
    const logger = pino({ level: 'trace' }, transport);
    const methods = ['info', 'warn', 'error', 'debug'] as const;
    for (let i = 0; i < 1000; i++) logger[methods[i % 4]]({ order: i }, `pino loki message ${i}`);
    let items: Item[] = [];
    for (let tries = 0; tries < 200 && items.length < 1000; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      items = await search('service:pino-loki');
    }
    transport.end();
    expect(items.length).toBe(1000);
    const host = os.hostname();
    for (const it of items) {
      const i = it.attrs.order as number;
      expect(it).toMatchObject({ level: methods[i % 4], service: 'pino-loki', host, message: `pino loki message ${i}` });
      expect(Date.parse(it.ts)).toBeGreaterThan(Date.now() - 600_000);
    }
  });

  it('takes 1,000 entries as snappy protobuf, labels and structured metadata mapped', async () => {
    const entries = (stream: number) =>
      Array.from({ length: 500 }, (_, k) => {
        const i = stream * 500 + k;
        return {
          timestamp: { seconds: T0 + i, nanos: 123_456_789 },
          line: `protobuf line ${i} "quoted"\tand tabbed`,
          structuredMetadata: i % 10 === 0 ? [{ name: 'trace_id', value: `t${i}` }, { name: 'detected_level', value: 'error' }] : [],
        };
      });
    const r = await pushProtobuf({
      streams: [
        { labels: '{service_name="pb-api", host="pb-1", level="info", env="prod"}', entries: entries(0) },
        { labels: '{job="pb-api", instance="pb-2:9100", level="warn"}', entries: entries(1) },
      ],
    });
    expect(r.status).toBe(204);
    const items = await search('service:pb-api');
    expect(items.length).toBe(1000);
    items.forEach((it, i) => {
      expect(it).toMatchObject({
        ts: `${new Date((T0 + i) * 1000).toISOString().slice(0, -5)}.123456Z`,
        service: 'pb-api',
        host: i < 500 ? 'pb-1' : 'pb-2:9100',
        level: i % 10 === 0 ? 'error' : i < 500 ? 'info' : 'warn',
        message: `protobuf line ${i} "quoted"\tand tabbed`,
        trace_id: i % 10 === 0 ? `t${i}` : null,
      });
      // A label the entry's metadata overrides (level, here) stays in attrs: nothing is lost.
      const shadowed = i % 10 === 0 ? { level: i < 500 ? 'info' : 'warn' } : {};
      expect(it.attrs).toEqual(i < 500 ? { env: 'prod', ...shadowed } : shadowed);
    });
  });

  it('keeps in attrs the labels a JSON line overrides with values of its own', async () => {
    const r = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: [
          {
            stream: { service_name: 'loki-own', host: 'node-7', level: 'info', env: 'prod' },
            values: [
              [`${T0}000000000`, JSON.stringify({ msg: 'own host and level', host: 'pod-3', level: 'error' })],
              [`${T0}000000001`, JSON.stringify({ msg: 'same values', host: 'node-7', level: 'info' })],
              [`${T0}000000002`, 'plain line'],
            ],
          },
        ],
      }),
    });
    expect(r.status).toBe(204);
    const items = await search('service:loki-own');
    expect(items.map((i) => [i.message, i.host, i.level, i.attrs])).toEqual([
      ['own host and level', 'pod-3', 'error', { env: 'prod', host: 'node-7', level: 'info' }],
      ['same values', 'node-7', 'info', { env: 'prod' }],
      ['plain line', 'node-7', 'info', { env: 'prod' }],
    ]);
  });

  it('maps the category and source labels onto the record', async () => {
    const r = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // A label named __proto__ is a label like any other (written by hand: an object literal would make it the prototype).
      body: `{"streams":[{"stream":{"service":"loki-cat","category":"audit","source":"main.go:12","__proto__":"kept"},"values":[["${T0}000000000","categorised"]]}]}`,
    });
    expect(r.status).toBe(204);
    const [item] = (await search('service:loki-cat')) as (Item & { category: string | null; source: string | null })[];
    expect(item).toMatchObject({ message: 'categorised', category: 'audit', source: 'main.go:12' });
    expect(Object.entries(item!.attrs)).toEqual([['__proto__', 'kept']]);
  });

  it('stores the good entries of a mixed push and names each bad stream and entry in a 400', async () => {
    const json = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: [
          { stream: { service: 'mixed' }, values: [[`${T0}000000000`, 'good 1'], ['yesterday', 'bad time'], [`${T0}000000001`, { not: 'a line' }]] },
          { stream: { service: 'mixed', n: 1 }, values: [[`${T0}000000002`, 'in a bad stream']] },
          { stream: { service: 'mixed' }, values: [[`${T0}000000003`, 'good 2']] },
        ],
      }),
    });
    expect(json.status).toBe(400);
    const text = await json.text();
    expect(text).toMatch(/^2 entries accepted, 3 refused:/);
    expect(text).toContain('entry 2 of stream {service="mixed"}: timestamp "yesterday" is not a Unix time in nanoseconds');
    expect(text).toContain('entry 3 of stream {service="mixed"}: line must be a string');
    expect(text).toContain('stream streams[1]: stream labels must be an object of strings');
    const pb = await pushProtobuf({
      streams: [
        { labels: 'not labels', entries: [{ timestamp: { seconds: T0 }, line: 'lost' }] },
        { labels: '{service="mixed"}', entries: [{ line: 'no time' }, { timestamp: { seconds: T0 + 5 }, line: 'good 3' }] },
      ],
    });
    expect(pb.status).toBe(400);
    expect(await pb.text()).toContain('entry 1 of stream {service="mixed"}: timestamp missing');
    expect((await search('service:mixed')).map((i) => i.message)).toEqual(['good 1', 'good 2', 'good 3']);
  });

  it('refuses only the protobuf entry or stream whose own bytes do not decode', async () => {
    const Entry = PushRequest.lookupType('logproto.EntryAdapter');
    const entry = (seconds: number, line: string) => Entry.encode(Entry.fromObject({ timestamp: { seconds }, line })).finish();
    const LEN = (field: number) => (field << 3) | 2;
    // The second entry's timestamp claims 5 bytes and has 1; the second stream's labels run past its end.
    const goodStream = protobuf.Writer.create()
      .uint32(LEN(1)).string('{service="pb-broken"}')
      .uint32(LEN(2)).bytes(entry(T0 + 10, 'pb good 1'))
      .uint32(LEN(2)).bytes(Buffer.from([0x0a, 0x05, 0x08]))
      .uint32(LEN(2)).bytes(entry(T0 + 11, 'pb good 2'))
      .finish();
    const brokenStream = Buffer.from([0x0a, 0x40, 0x7b]);
    const body = protobuf.Writer.create().uint32(LEN(1)).bytes(goodStream).uint32(LEN(1)).bytes(brokenStream).uint32(LEN(1)).bytes(goodStream).finish();
    const r = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(snappyjs.compress(body)),
    });
    expect(r.status).toBe(400);
    const text = await r.text();
    expect(text).toMatch(/^4 entries accepted, 3 refused:/);
    expect(text).toContain('entry 2 of stream {service="pb-broken"}:');
    expect(text).toContain('stream 2');
    expect((await search('service:pb-broken')).map((i) => i.message)).toEqual(['pb good 1', 'pb good 1', 'pb good 2', 'pb good 2']);
     // Every ingest route's acknowledgement latency is measured, not only the native one's.
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^loghaven_ingest_request_seconds_count\{protocol="loki"\} [1-9]/m);
  });
});
