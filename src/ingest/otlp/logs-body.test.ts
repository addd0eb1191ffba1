// The attrs the object decoders (logs-body.ts) write: a record's own attributes, then the resource
// and the scope shared by every record under them, each member once and in that order.

import { describe, expect, it } from 'vitest';
import { decodeRows } from '../../store/row-format.js';
import { CTX, ProtoWriter } from '../../../test/fuzz/arbitraries.js';
import { parseOtlpJson, parseOtlpProtobuf } from './logs-body.js';

const RESOURCE = [
  ['service.name', 'checkout'],
  ['telemetry.sdk.language', 'nodejs'],
  ['deployment', 'eu-1'],
];

/** Two resources (the second without attributes beyond its service), each with a named scope. */
const REQUEST = [
  { resource: RESOURCE, scope: 'app', records: [[['x', 'one']], [['resource', 'mine'], ['x', 'two'], ['scope', 'mine too']], []] },
  { resource: [['service.name', 'billing']], scope: '', records: [[['resource', 'kept'], ['x', 'three']]] },
];

const ATTRS = [
  '{"x":"one","resource":{"telemetry.sdk.language":"nodejs","deployment":"eu-1"},"scope":{"name":"app"}}',
  '{"resource":{"telemetry.sdk.language":"nodejs","deployment":"eu-1"},"x":"two","scope":{"name":"app"}}',
  '{"resource":{"telemetry.sdk.language":"nodejs","deployment":"eu-1"},"scope":{"name":"app"}}',
  '{"resource":"kept","x":"three"}',
];

function protobufBody(): Buffer {
  const w = new ProtoWriter();
  for (const r of REQUEST) {
    w.message(1, (rl) => {
      rl.message(1, (res) => r.resource.forEach(([k, v]) => res.message(1, (p) => p.string(1, k!).message(2, (e) => e.string(1, v!)))));
      rl.message(2, (sl) => {
        if (r.scope !== '') sl.message(1, (sc) => sc.string(1, r.scope));
        for (const attrs of r.records) {
          sl.message(2, (lr) => {
            lr.message(5, (b) => b.string(1, 'hello'));
            attrs.forEach(([k, v]) => lr.message(6, (p) => p.string(1, k!).message(2, (e) => e.string(1, v!))));
          });
        }
      });
    });
  }
  return w.finish();
}

function jsonBody(): Buffer {
  const kvs = (pairs: string[][]) => pairs.map(([key, v]) => ({ key, value: { stringValue: v } }));
  return Buffer.from(
    JSON.stringify({
      resourceLogs: REQUEST.map((r) => ({
        resource: { attributes: kvs(r.resource) },
        scopeLogs: [{ ...(r.scope !== '' ? { scope: { name: r.scope } } : {}), logRecords: r.records.map((a) => ({ body: { stringValue: 'hello' }, attributes: kvs(a) })) }],
      })),
    }),
  );
}

describe('OTLP object decoders: attrs', () => {
  it.each([
    ['protobuf', () => parseOtlpProtobuf(protobufBody(), CTX)],
    ['JSON', () => parseOtlpJson(jsonBody(), CTX)],
  ])('end with the resource and the scope, which take the place of a record attribute of their name (%s)', (_, parse) => {
    const parsed = parse();
    expect(parsed.rejected).toBe(0);
    const rows = decodeRows(parsed.batch);
    expect(rows.map((r) => r.attrs)).toEqual(ATTRS);
    expect(rows.map((r) => r.service)).toEqual(['checkout', 'checkout', 'checkout', 'billing']);
  });
});
