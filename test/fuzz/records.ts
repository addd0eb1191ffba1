// JSON log records for the protocols that carry them (native NDJSON and arrays, Elasticsearch
// documents, Loki JSON lines): a generated record, its JSON text, and the record loghaven must
// make of it; and lines that must be refused, each for a different reason.

import fc from 'fast-check';
import type { Level } from '../../src/model/record.js';
import { attrs, badTsValue, CTX, levelSpelling, lineText, tag, text, tsForm, wellFormed, type TsForm } from './arbitraries.js';

export interface RecordSpec {
  message: string;
  messageKey: 'message' | 'msg' | '@m' | 'text';
  /** How the service is given: `service`, `app`, or nested as `service.name`. */
  service: { text: string; as: 'service' | 'app' | 'nested' } | null;
  level: readonly [string | number, Level] | null;
  ts: TsForm | null;
  tsKey: 'ts' | 'timestamp' | 'time' | '@timestamp';
  extra: Record<string, unknown>;
  /** Tabs and spaces between the tokens (whitespace a row must not carry). */
  blanks: boolean;
}

export const recordSpec: fc.Arbitrary<RecordSpec> = fc.record({
  message: text(30),
  messageKey: fc.constantFrom('message', 'msg', '@m', 'text'),
  service: fc.option(fc.record({ text: text(10), as: fc.constantFrom('service', 'app', 'nested') }), { nil: null }),
  level: fc.option(levelSpelling, { nil: null }),
  ts: fc.option(tsForm, { nil: null }),
  tsKey: fc.constantFrom('ts', 'timestamp', 'time', '@timestamp'),
  extra: attrs,
  blanks: fc.boolean(),
});

/** The record as one line of JSON; `i` tags its message. */
export function recordJson(spec: RecordSpec, i: number): string {
  const o: Record<string, unknown> = { ...spec.extra };
  if (spec.ts !== null) o[spec.tsKey] = spec.ts.value;
  if (spec.level !== null) o.level = spec.level[0];
  if (spec.service !== null) {
    if (spec.service.as === 'nested') o.service = { name: spec.service.text };
    else o[spec.service.as] = spec.service.text;
  }
  o[spec.messageKey] = tag(i) + spec.message;
  return spec.blanks ? JSON.stringify(o, null, '\t').replace(/\n/g, ' ') : JSON.stringify(o);
}

/** What the record must be stored as (`defaults` from around it: an index, stream labels). */
export interface Expected {
  ts: bigint;
  level: Level | null;
  service: string | null;
  category: string | null;
  message: string;
  attrs: Record<string, unknown>;
}

export function expectedRecord(
  spec: RecordSpec,
  i: number,
  defaults: { service?: string; category?: string; ts?: bigint; level?: Level; attrs?: Record<string, unknown> } = {},
): Expected {
  return {
    ts: spec.ts?.micros ?? defaults.ts ?? CTX.receivedAt,
    level: spec.level?.[1] ?? defaults.level ?? null,
    service: spec.service !== null ? wellFormed(spec.service.text) : (defaults.service ?? null),
    category: defaults.category ?? null,
    message: wellFormed(tag(i) + spec.message),
    // Members from around the record (an index's `_index`) unless the record has its own.
    attrs: { ...defaults.attrs, ...(JSON.parse(JSON.stringify(spec.extra)) as Record<string, unknown>) },
  };
}

/** A line no JSON record parser may accept, and never blank (blank lines are skipped, not refused). */
export const badRecordLine: fc.Arbitrary<string> = fc.oneof(
  // Not JSON at all.
  lineText(20).map((s) => `x${s}`),
  // A record cut short.
  fc.tuple(recordSpec, fc.nat()).map(([spec, cut]) => {
    const json = recordJson(spec, 0);
    return json.slice(0, 1 + (cut % (json.length - 1)));
  }),
  // JSON, but not an object.
  fc.constantFrom('5', '"a string"', 'null', 'true', '-0.5e3'),
  // An object with a timestamp that is none.
  fc.tuple(fc.constantFrom('ts', 'timestamp', 'time', '@timestamp'), badTsValue, lineText(10)).map(([k, v, m]) => JSON.stringify({ [k]: v, msg: m })),
);

/** A refused array element: JSON that is no object, or an object with a bad timestamp. */
export const badRecordElement: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('5', '"a string"', 'null', 'true', '[1,{"msg":"in an array"}]'),
  fc.tuple(badTsValue, lineText(10)).map(([v, m]) => JSON.stringify({ ts: v, msg: m })),
);

/** What a decoded row is compared on. */
export function actual(r: { ts: bigint; level: Level | null; service: string | null; category: string | null; message: string | null; attrs: string }): Expected {
  return { ts: r.ts, level: r.level, service: r.service, category: r.category, message: r.message ?? '', attrs: JSON.parse(r.attrs) as Record<string, unknown> };
}
