// bench:protocols measures each protocol against native NDJSON lines that store the same rows
// (bench/lib/protocol-payloads.ts): Loki with structured metadata against lines with the trace
// context, Elasticsearch bulk against lines with `_index`, OTLP against lines with the severity
// number, flat attributes and the scope (OTLP in JSON and in protobuf), and Loki protobuf against
// plain native lines. Here each group goes
// through a real server and every row must come out once through each route of its group: a
// yardstick that drifts from what its protocol stores would make the ratio compare different work.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  corpus,
  esBulkBodies,
  lokiMetadataBodies,
  lokiProtobufBodies,
  ndjsonIndexPayloads,
  ndjsonMetadataPayloads,
  ndjsonOtlpPayloads,
  ndjsonPayloads,
  otlpJsonBodies,
  otlpProtobufBodies,
  type Bodies,
  type Corpus,
} from '../../bench/lib/protocol-payloads.js';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-payloads-'));
  server = await startChild(dataDir);
});
afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const RECORDS = 500;

interface Route {
  path: string;
  contentType: string;
  bodies: (c: Corpus, batch: number) => Bodies;
}

const native = (bodies: Route['bodies']): Route => ({ path: '/api/v1/logs', contentType: 'application/x-ndjson', bodies });

/** Each yardstick and the protocols measured against it. */
const GROUPS: [string, Route[]][] = [
  ['Loki', [native(ndjsonPayloads), { path: '/loki/api/v1/push', contentType: 'application/x-protobuf', bodies: lokiProtobufBodies }]],
  ['Loki + metadata', [native(ndjsonMetadataPayloads), { path: '/loki/api/v1/push', contentType: 'application/json', bodies: lokiMetadataBodies }]],
  ['Elasticsearch bulk', [native(ndjsonIndexPayloads), { path: '/_bulk', contentType: 'application/x-ndjson', bodies: esBulkBodies }]],
  [
    'OTLP',
    [
      native(ndjsonOtlpPayloads),
      { path: '/v1/logs', contentType: 'application/json', bodies: otlpJsonBodies },
      { path: '/v1/logs', contentType: 'application/x-protobuf', bodies: otlpProtobufBodies },
    ],
  ],
];

/** Every stored row as exported, without the time it was received (which differs between the two). */
async function exportedRows(): Promise<string[]> {
  const r = await fetch(`${server.url}/api/v1/logs/export?format=ndjson&from=2000-01-01T00:00:00Z`);
  expect(r.status).toBe(200);
  return (await r.text())
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const { received_at: _received, ...row } = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(row);
    });
}

it('each protocol and its native yardstick store the same rows', async () => {
  const c = corpus(RECORDS);
  const seen = new Set<string>();
  for (const [name, routes] of GROUPS) {
    for (const route of routes) {
      const { bodies } = route.bodies(c, RECORDS);
      expect(bodies).toHaveLength(1);
      const r = await fetch(`${server.url}${route.path}`, { method: 'POST', headers: { 'content-type': route.contentType }, body: bodies[0] });
      expect(r.status, `${route.path}: ${await r.text()}`).toBeLessThan(300);
    }
    // The group's rows differ from the other groups' (trace ids, `_index`, scope), and the corpus
    // records from each other: each new row is there once per route when each yardstick matches.
    const times = new Map<string, number>();
    for (const row of await exportedRows()) if (!seen.has(row)) times.set(row, (times.get(row) ?? 0) + 1);
    const unmatched = [...times].filter(([, n]) => n !== routes.length);
    expect(unmatched.slice(0, 3), name).toEqual([]);
    expect(times.size, name).toBe(RECORDS);
    for (const row of times.keys()) seen.add(row);
  }
});
