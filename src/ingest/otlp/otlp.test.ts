// OTLP/HTTP logs against the OpenTelemetry JavaScript SDK's own exporters, JSON and protobuf:
// every record they send comes back with its ts, level, service, host and message; records that
// cannot be stored are counted in partialSuccess while the rest are.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../../../test/helpers/child-server.js';
import { searchLogs, type LogItem as Item } from '../../../test/helpers/logs-api.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-otlp-'));
  server = await startChild(dataDir);
});

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});


const search = (q: string) => searchLogs(server.url, q);

const SEVERITIES = [
  [SeverityNumber.INFO, 'INFO', 'info'],
  [SeverityNumber.WARN, 'WARN', 'warn'],
  [SeverityNumber.ERROR, 'ERROR', 'error'],
  [SeverityNumber.DEBUG2, 'DEBUG', 'debug'],
] as const;
const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);

async function sendThroughSdk(exporter: JsonExporter | ProtoExporter, service: string): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.name': `${service}-host`, 'deployment.environment': 'test' }),
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 256, scheduledDelayMillis: 50, maxQueueSize: 2048 })],
  });
  const logger = provider.getLogger('otlp-test', '1.2.3');
  for (let i = 0; i < 1000; i++) {
    const [severityNumber, severityText] = SEVERITIES[i % 4]!;
    logger.emit({
      timestamp: T0 + i,
      severityNumber,
      severityText,
      body: `otlp message ${i}`,
      attributes: { order: i, 'http.route': '/api/items' },
      context: undefined,
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

function expectRecords(items: Item[], service: string): void {
  expect(items.length).toBe(1000);
  for (const it of items) {
    const i = it.attrs.order as number;
    const [severityNumber, , level] = SEVERITIES[i % 4]!;
    expect(it).toMatchObject({
      ts: `${new Date(T0 + i).toISOString().slice(0, -1)}000Z`,
      level,
      severity: severityNumber,
      service,
      host: `${service}-host`,
      message: `otlp message ${i}`,
    });
    expect(it.attrs).toMatchObject({
      'http.route': '/api/items',
      resource: { 'deployment.environment': 'test' },
      scope: { name: 'otlp-test', version: '1.2.3' },
    });
  }
}

describe('OTLP/HTTP logs', () => {
  it('takes 1,000 records from the OTLP/HTTP JSON exporter', async () => {
    await sendThroughSdk(new JsonExporter({ url: `${server.url}/v1/logs` }), 'otel-json');
    expectRecords(await search('service:otel-json'), 'otel-json');
  });

  it('takes 1,000 records from the OTLP/HTTP protobuf exporter', async () => {
    await sendThroughSdk(new ProtoExporter({ url: `${server.url}/v1/logs` }), 'otel-proto');
    expectRecords(await search('service:otel-proto'), 'otel-proto');
  });

  it('stores the good records of a mixed request and counts the bad in partialSuccess (JSON)', async () => {
    const r = await fetch(`${server.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-mixed' } }] },
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: '1795000000000000000', severityNumber: 9, body: { stringValue: 'good' }, traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708' },
                  { timeUnixNano: '99999999999999999999', body: { stringValue: 'beyond uint64' } },
                  { severityText: 'Warning', body: { kvlistValue: { values: [{ key: 'k', value: { intValue: '7' } }] } } },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ partialSuccess: { rejectedLogRecords: '1', errorMessage: 'log record 2: "99999999999999999999" is not a uint64 of nanoseconds' } });
    const items = await search('service:otlp-mixed');
    expect(items.map((i) => [i.message, i.level, i.trace_id, i.span_id])).toEqual([
      ['good', 'info', '0102030405060708090a0b0c0d0e0f10', '0102030405060708'],
      [null, 'warn', null, null],
    ]);
    expect(items[1]!.attrs.body).toEqual({ k: 7 });
  });

  it('takes the category and the code location (source) from attributes', async () => {
    const attr = (key: string, value: object) => ({ key, value });
    const r = await fetch(`${server.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [attr('service.name', { stringValue: 'otlp-source' }), attr('category', { stringValue: 'from-resource' })] },
            scopeLogs: [
              {
                logRecords: [
                  {
                    body: { stringValue: 'new names' },
                    attributes: [attr('code.file.path', { stringValue: 'src/app.ts' }), attr('code.line.number', { intValue: '42' }), attr('code.function.name', { stringValue: 'handle' }), attr('category', { stringValue: 'audit' })],
                  },
                  { body: { stringValue: 'old names' }, attributes: [attr('code.filepath', { stringValue: 'lib/x.py' }), attr('code.lineno', { intValue: '7' }), attr('other', { stringValue: 'kept' })] },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(r.status).toBe(200);
    const items = (await search('service:otlp-source')) as (Item & { category: string | null; source: string | null })[];
    expect(items.map((i) => [i.message, i.category, i.source])).toEqual([
      ['new names', 'audit', 'src/app.ts:42 handle'],
      ['old names', 'from-resource', 'lib/x.py:7'],
    ]);
    expect(items[0]!.attrs).not.toHaveProperty('code.file.path');
    expect(items[1]!.attrs.other).toBe('kept');
  });

  it('names the reason of every refused record in partialSuccess, the first 20 of them', async () => {
    const logRecords = [
      { timeUnixNano: '1795000000000000000', body: { stringValue: 'the good one' } },
      { timeUnixNano: 'soon', body: { stringValue: 'bad time' } },
      ...Array.from({ length: 24 }, (_, i) => ({ timeUnixNano: '99999999999999999999', body: { stringValue: `beyond ${i}` } })),
    ];
    const r = await fetch(`${server.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-reasons' } }] }, scopeLogs: [{ logRecords }] }] }),
    });
    expect(r.status).toBe(200);
    const { partialSuccess } = (await r.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(partialSuccess.rejectedLogRecords).toBe('25');
    const reasons = partialSuccess.errorMessage.split('; ');
    expect(reasons).toHaveLength(21);
    expect(reasons[0]).toBe('log record 2: "soon" is not a uint64 of nanoseconds');
    expect(reasons.slice(1, 20)).toEqual(Array.from({ length: 19 }, (_, i) => `log record ${i + 3}: "99999999999999999999" is not a uint64 of nanoseconds`));
    expect(reasons[20]).toBe('and 5 more');
    expect((await search('service:otlp-reasons')).map((i) => i.message)).toEqual(['the good one']);
  });

  it('parses large JSON bodies on the parse workers with the same answers: partialSuccess, and 400 for a broken body', async () => {
    // Over the 32 KiB from which JSON bodies are parsed off the main thread.
    const records = Array.from({ length: 400 }, (_, i) => ({
      timeUnixNano: i === 123 ? 'not a time' : String(1_795_000_000_000_000_000n + BigInt(i) * 1_000_000n),
      severityNumber: 13,
      body: { stringValue: `worker record ${i} ${'x'.repeat(60)}` },
      attributes: [{ key: 'n', value: { intValue: String(i) } }],
    }));
    const body = JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-worker' } }] }, scopeLogs: [{ logRecords: records }] }] });
    expect(body.length).toBeGreaterThan(32 * 1024);
    const r = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ partialSuccess: { rejectedLogRecords: '1', errorMessage: 'log record 124: "not a time" is not a uint64 of nanoseconds' } });
    const items = await search('service:otlp-worker');
    expect(items.length).toBe(399);
    expect(items.map((i) => i.attrs.n)).toEqual(Array.from({ length: 400 }, (_, i) => i).filter((i) => i !== 123));
    expect(items.every((i) => i.level === 'warn')).toBe(true);
    const broken = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.slice(0, -10) });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ code: 3, message: expect.stringMatching(/^invalid request body: body is not JSON: /) });
  });

  it('refuses AnyValues nested past 128 levels: the record alone, or the request when they are resource attributes', async () => {
    // 10,000 levels, written as text (JSON.stringify itself would run out of stack).
    const deep = '{"kvlistValue":{"values":[{"key":"k","value":'.repeat(10_000) + '{"stringValue":"bottom"}' + '}]}}'.repeat(10_000);
    const flat = '{"stringValue":"x"}';
    const request = (resourceValue: string, recordValue: string) =>
      `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"otlp-deep"}},{"key":"r","value":${resourceValue}}]},` +
      `"scopeLogs":[{"logRecords":[{"body":{"stringValue":"shallow"}},{"body":${recordValue}}]}]}]}`;
    const inRecord = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(flat, deep) });
    expect(inRecord.status).toBe(200);
    expect(await inRecord.json()).toEqual({ partialSuccess: { rejectedLogRecords: '1', errorMessage: expect.stringMatching(/^log record 2: .*nested more than 128 deep$/) } });
    expect((await search('service:otlp-deep')).map((i) => i.message)).toEqual(['shallow']);
    const inResource = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(deep, flat) });
    expect(inResource.status).toBe(400);
    expect(await inResource.json()).toMatchObject({ code: 3, message: expect.stringMatching(/nested more than 128 deep/) });
  });

  it('answers an undecodable body with 400 and a google.rpc.Status in its encoding', async () => {
    const json = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceLogs":7}' });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: 3, message: expect.stringMatching(/resourceLogs must be an array/) });
    const pb = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([0x0a, 0xff]) });
    expect(pb.status).toBe(400);
    const Status = protobuf.parse('syntax = "proto3"; message Status { int32 code = 1; string message = 2; }').root.lookupType('Status');
    const status = Status.decode(Buffer.from(await pb.arrayBuffer())) as unknown as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/invalid protobuf/);
  });
});
