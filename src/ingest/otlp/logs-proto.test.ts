// The byte path of OTLP/protobuf log records (logs-proto.ts) against the object path it stands in
// for (logs-body.ts): the records it takes are written byte for byte as the object path writes
// them, and the ones it leaves are left whole (the fuzz test, test/fuzz/otlp.fuzz.test.ts, does
// the same for generated and mutated requests).

import { describe, expect, it } from 'vitest';
import { CTX, ProtoWriter } from '../../../test/fuzz/arbitraries.js';
import { LogsWriter, parseOtlpProtobuf } from './logs-body.js';
import { ProtoRecordWriter } from './logs-proto.js';

type Build = (r: ProtoWriter) => void;

const NOW_NS = 1_751_328_000_123_456_789n;

const str = (field: number, s: string): Build => (r) => r.string(field, s);
const attr =
  (key: string, value: Build | null): Build =>
  (r) =>
    r.message(6, (kv) => {
      kv.string(1, key);
      if (value !== null) kv.message(2, value);
    });
const body = (s: string): Build => (r) => r.message(5, (v) => v.string(1, s));

/** A request of one resource (service, host, one more attribute) and scope, holding `records`. */
function request(records: Build[][]): Buffer {
  const w = new ProtoWriter();
  w.message(1, (rl) => {
    rl.message(1, (res) => {
      res.message(1, (p) => p.string(1, 'service.name').message(2, (v) => v.string(1, 'checkout')));
      res.message(1, (p) => p.string(1, 'host.name').message(2, (v) => v.string(1, 'web-1')));
      res.message(1, (p) => p.string(1, 'deployment').message(2, (v) => v.string(1, 'eu"1')));
    });
    rl.message(2, (sl) => {
      sl.message(1, (sc) => sc.string(1, 'app').string(2, '1.0'));
      for (const parts of records) sl.message(2, (lr) => parts.forEach((p) => p(lr)));
    });
  });
  return w.finish();
}

/** Which of a request's records the byte path takes, and that the rows are the object path's. */
function check(records: Build[][]): boolean[] {
  const buf = request(records);
  const both = parseOtlpProtobuf(buf, CTX);
  const objects = parseOtlpProtobuf(buf, CTX, undefined, true);
  expect(both.batch.bytes.toString()).toBe(objects.batch.bytes.toString());
  expect([both.rejected, both.errorMessage]).toEqual([objects.rejected, objects.errorMessage]);
  // Which records it takes: each alone, on a writer of its own.
  return records.map((parts) => {
    const one = request([parts]);
    const w = new LogsWriter(one.length * 2, CTX, undefined);
    w.setResource({ 'service.name': 'checkout', 'host.name': 'web-1', deployment: 'eu"1' });
    w.scope = { name: 'app', version: '1.0', attributes: {} };
    // The record is the last field of the request: find its bytes by building it alone.
    const rec = new ProtoWriter();
    parts.forEach((p) => p(rec));
    const bytes = rec.finish();
    const at = one.lastIndexOf(bytes);
    return new ProtoRecordWriter(one, w).write(at, at + bytes.length);
  });
}

describe('OTLP/protobuf records written from the bytes', () => {
  it('takes plain records and writes them as the object path does', () => {
    const taken = check([
      [(r) => r.fixed64(1, NOW_NS), (r) => r.uint(2, 9), str(3, 'INFO'), body('request handled in 12 ms')],
      [(r) => r.fixed64(11, NOW_NS), (r) => r.uint(2, 17), body('quote " backslash \\ tab \t newline \n bell \u0007 bs \b ff \f del \u007f')],
      [body('unicode: é ✓ 😀 \u2028'), attr('http.method', (v) => v.string(1, 'GET')), attr('status', (v) => v.uint(3, 200))],
      [attr('ok', (v) => v.uint(2, 1)), attr('no', (v) => v.uint(2, 0)), attr('ratio', (v) => v.double(4, 0.25)), attr('big', (v) => v.double(4, 1e21))],
      [attr('nan', (v) => v.double(4, NaN)), attr('inf', (v) => v.double(4, -Infinity)), attr('negzero', (v) => v.double(4, -0)), attr('int', (v) => v.uint(3, 2 ** 48))],
      [attr('', (v) => v.string(1, 'empty key')), attr('missing', null), attr('emptyvalue', () => undefined), attr('k\u00e9y "q"', (v) => v.string(1, ''))],
      [(r) => r.raw(9, Buffer.alloc(16, 0xab)), (r) => r.raw(10, Buffer.alloc(8, 0)), (r) => r.fixed32(8, 1), body('ids and flags')],
      [(r) => r.raw(9, Buffer.alloc(0)), (r) => r.uint(2, 0), (r) => r.uint(7, 3), (r) => r.string(12, '')],
      [(r) => r.fixed64(1, NOW_NS), (r) => r.fixed64(1, 2n ** 62n - 1n), body('first'), body('last body wins')],
      [],
    ]);
    expect(taken).toEqual(Array(10).fill(true));
  });

  it('leaves to the object path what it treats specially, and writes the same rows', () => {
    const taken = check([
      [attr('category', (v) => v.string(1, 'audit'))],
      [attr('code.file.path', (v) => v.string(1, 'a.ts')), attr('code.line.number', (v) => v.uint(3, 3))],
      [attr('resource', (v) => v.string(1, 'mine'))],
      [attr('flags', (v) => v.uint(3, 1))],
      [attr('__proto__', (v) => v.string(1, 'x'))],
      [attr('2', (v) => v.string(1, 'index-like')), attr('b', (v) => v.string(1, 'y'))],
      [attr('k', (v) => v.string(1, 'one')), attr('k', (v) => v.string(1, 'two'))],
      [attr('nested', (v) => v.message(6, (l) => l.message(1, (kv) => kv.string(1, 'a').message(2, (x) => x.string(1, 'b')))))],
      [attr('bytes', (v) => v.raw(7, Buffer.from([1, 2, 3])))],
      [attr('neg', (v) => v.uint(3, -5))],
      [(r) => r.message(5, (v) => v.uint(3, 42))],
      [(r) => r.raw(5, Buffer.from([0x0a, 0x02, 0xc3, 0x28]))],
      [(r) => r.uint(2, 99), str(3, 'warning')],
      [(r) => r.string(12, 'user.login')],
      [(r) => r.fixed64(1, 2n ** 62n)],
    ]);
    expect(taken).toEqual(Array(15).fill(false));
  });

  it('leaves a record that does not decode to the object path, which refuses it', () => {
    const w = new ProtoWriter();
    w.message(1, (rl) => rl.message(2, (sl) => sl.message(2, (lr) => lr.uint(1, 5)).message(2, (lr) => lr.verbatim([0x2a, 0x05, 0x0a]))));
    const buf = w.finish();
    const both = parseOtlpProtobuf(buf, CTX);
    expect(both.rejected).toBe(2);
    expect(both.errorMessage).toBe(parseOtlpProtobuf(buf, CTX, undefined, true).errorMessage);
  });
});
