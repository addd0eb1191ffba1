// The Elasticsearch bulk API against the shippers' own clients: the official JavaScript client
// (which checks the product header and speaks the 8.x media types) and pino-elasticsearch. Every
// document they send comes back with its ts, level, service, host and message; a bad document
// fails its own item while the rest are stored.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import pino from 'pino';
import pinoElastic from 'pino-elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../../../test/helpers/child-server.js';
import { searchLogs, type LogItem as Item } from '../../../test/helpers/logs-api.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-es-'));
  server = await startChild(dataDir);
});

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});


const search = (q: string) => searchLogs(server.url, q);

const LEVELS = ['info', 'warn', 'error', 'debug'] as const;
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

describe('Elasticsearch bulk API', () => {
  it('takes 1,000 documents from the official client with Elastic Common Schema fields', async () => {
    const client = new Client({ node: server.url });
    const info = await client.info();
    expect(info.version.number).toMatch(/^8\./);
    const docs = Array.from({ length: 1000 }, (_, i) => ({
      '@timestamp': new Date(T0 + i).toISOString(),
      message: `es client message ${i}`,
      log: { level: LEVELS[i % 4], logger: 'test' },
      host: { name: `es-host-${i % 5}` },
      order: i,
    }));
    const stats = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'es-client' } }), flushBytes: 50_000 });
    expect(stats).toMatchObject({ total: 1000, successful: 1000, failed: 0 });
    await client.close();

    const items = await search('service:es-client');
    expect(items.length).toBe(1000);
    for (const it of items) {
      const i = it.attrs.order as number;
      expect(it).toMatchObject({
        ts: `${new Date(T0 + i).toISOString().slice(0, -1)}000Z`,
        level: LEVELS[i % 4],
        service: 'es-client',
        host: `es-host-${i % 5}`,
        message: `es client message ${i}`,
      });
      expect(it.attrs.log).toEqual({ logger: 'test' });
      expect(it.attrs.host).toBeUndefined();
    }
  });

  it('answers a mixed bulk item by item: the good documents are stored, each bad one fails alone', async () => {
    const client = new Client({ node: server.url });
    const r = await client.bulk({
      operations: [
        { index: { _index: 'es-mixed' } },
        { message: 'good one', level: 'info' },
        { index: { _index: 'es-mixed' } },
        { message: 'bad time', '@timestamp': 'yesterday' },
        { delete: { _index: 'es-mixed', _id: 'x' } },
        { create: { _index: 'es-mixed' } },
        { message: 'good two', level: 'warn' },
      ],
    });
    await client.close();
    expect(r.errors).toBe(true);
    expect(r.items.map((i) => Object.values(i)[0]!.status)).toEqual([201, 400, 400, 201]);
    expect(r.items[1]!.index!.error!.reason).toMatch(/invalid timestamp "yesterday"/);
    expect((await search('service:es-mixed')).map((i) => i.message)).toEqual(['good one', 'good two']);
  });

  it("answers with only the parts filter_path asks for, as Filebeat asks", async () => {
    const body = ['{"create":{"_index":"es-filter"}}', '{"message":"kept"}', '{"create":{"_index":"es-filter"}}', '{"message":"bad","@timestamp":"yesterday"}', ''].join('\n');
    const r = await fetch(`${server.url}/_bulk?filter_path=errors,items.*.error,items.*.status`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    expect(r.status).toBe(200);
    const answer = (await r.json()) as { errors: boolean; items: { create: { status: number; error?: { reason: string } } }[] };
    expect(answer.errors).toBe(true);
    expect(answer.items.map((i) => Object.keys(i.create).sort())).toEqual([['status'], ['error', 'status']]);
    expect(answer.items.map((i) => i.create.status)).toEqual([201, 400]);
    expect(answer.items[1]!.create.error!.reason).toMatch(/invalid timestamp "yesterday"/);
    expect(Object.keys(answer).sort()).toEqual(['errors', 'items']);
  });

  it('refuses a bulk request without actions as Elasticsearch does', async () => {
    const r = await fetch(`${server.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '\n' });
    expect(r.status).toBe(400);
    expect(r.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(await r.json()).toMatchObject({ error: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: no requests added;' }, status: 400 });
  });

  it('takes 1,000 pino logs through pino-elasticsearch', async () => {
    const stream = pinoElastic({ index: 'pino-es', node: server.url, esVersion: 8, flushBytes: 20_000, flushInterval: 100 });
    const failures: unknown[] = [];
    stream.on('insertError', (e: unknown) => failures.push(e));
    stream.on('error', (e: unknown) => failures.push(e));
    const logger = pino({ level: 'trace' }, stream);
    const methods = ['info', 'warn', 'error', 'debug'] as const;
    for (let i = 0; i < 1000; i++) logger[methods[i % 4]]({ order: i }, `pino es message ${i}`);
    // The transport flushes by size and every 100 ms; the records appear once they are in.
    let items: Item[] = [];
    for (let tries = 0; tries < 200 && items.length < 1000; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      items = await search('service:pino-es');
    }
    // On close the bulk helper refreshes the index (`refreshOnCompletion`): no error, and the
    // transport reports its totals.
    const closed = new Promise<{ total: number; failed: number }>((resolve) => stream.on('insert', resolve));
    stream.end();
    expect(await closed).toMatchObject({ total: 1000, failed: 0 });
    expect(failures).toEqual([]);
    expect(items.length).toBe(1000);
    const host = os.hostname();
    for (const it of items) {
      const i = it.attrs.order as number;
      expect(it).toMatchObject({ level: methods[i % 4], service: 'pino-es', host, message: `pino es message ${i}` });
      expect(Date.parse(it.ts)).toBeGreaterThan(Date.now() - 600_000);
    }
  });

  it('keeps the _id a shipper gave and the _index of a document with its own service, and answers _refresh and _flush', async () => {
    const client = new Client({ node: server.url });
    const r = await client.bulk({
      operations: [
        { index: { _index: 'es-ids', _id: 'order-42' } },
        { message: 'order placed', level: 'info' },
        { create: { _index: 'es-ids', _id: 7 } },
        { message: 'numeric id', service: 'checkout' },
        { index: { _index: 'es-ids' } },
        { message: 'no id', service: 'billing' },
      ],
    });
    expect(r.errors).toBe(false);
    expect(r.items.map((i) => Object.values(i)[0]!._id)).toEqual(['order-42', '7', expect.stringMatching(/^\w{20}$/)]);
    expect(await client.indices.refresh({ index: 'es-ids' })).toMatchObject({ _shards: { failed: 0 } });
    expect(await client.indices.flush({ index: 'es-ids' })).toMatchObject({ _shards: { failed: 0 } });
    expect(await client.indices.refresh()).toMatchObject({ _shards: { failed: 0 } });
    await client.close();

    const [byId] = await search('attrs._id:"order-42"');
    expect(byId).toMatchObject({ service: 'es-ids', message: 'order placed', attrs: { _id: 'order-42', _index: 'es-ids' } });
    const [numeric] = await search('attrs._id:"7"');
    expect(numeric).toMatchObject({ service: 'checkout', message: 'numeric id', attrs: { _id: '7', _index: 'es-ids' } });
    const [noId] = await search('service:billing');
    expect(noId!.attrs).toEqual({ _index: 'es-ids' });
  });

  it('keeps an answer whole while its client is slow to read it, as others are answered', async () => {
    // 30,000 items answer with about 5.7 MB: more than the socket buffers take while the client
    // does not read, so the server's write of it stays pending while a second request is answered.
    const bulk = (index: string) => {
      const lines: string[] = [];
      for (let i = 0; i < 30_000; i++) lines.push(`{"create":{"_index":"${index}"}}`, `{"message":"slow ${i}"}`);
      return Buffer.from(`${lines.join('\n')}\n`);
    };
    const body = bulk('es-slow-reader');
    const { port } = new URL(server.url);
    const slow = net.connect(Number(port), '127.0.0.1');
    slow.pause();
    const chunks: Buffer[] = [];
    slow.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((resolve) => slow.once('end', resolve));
    slow.write(`POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    slow.write(body);
    // Answered (the documents are stored) while the client reads nothing yet.
    for (let tries = 0; (await search('service:es-slow-reader')).length === 0; tries++) {
      expect(tries, 'the slow reader\'s documents were stored').toBeLessThan(300);
      await new Promise((r) => setTimeout(r, 100));
    }
    const other = await fetch(`${server.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: bulk('es-quick-reader') });
    expect(((await other.json()) as { items: unknown[] }).items).toHaveLength(30_000);
    slow.resume();
    await ended;
    const text = Buffer.concat(chunks).toString();
    const answer = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { errors: boolean; items: { create: { _index: string; status: number } }[] };
    expect(answer.errors).toBe(false);
    expect(answer.items).toHaveLength(30_000);
    expect(answer.items.every((it) => it.create._index === 'es-slow-reader' && it.create.status === 201)).toBe(true);
  });

  it('takes the message of a Fluent Bit record from `log`', async () => {
    const body = [
      JSON.stringify({ create: { _index: 'fluent-bit' } }),
      JSON.stringify({ log: 'GET /health 200 1ms', stream: 'stdout', time: '2026-11-24T12:00:00.5Z' }),
    ].join('\n');
    const r = await fetch(`${server.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${body}\n` });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { errors: boolean }).errors).toBe(false);
    const [item] = await search('service:fluent-bit');
    expect(item).toMatchObject({ message: 'GET /health 200 1ms', ts: '2026-11-24T12:00:00.500000Z', attrs: { stream: 'stdout', _index: 'fluent-bit' } });
  });
});
