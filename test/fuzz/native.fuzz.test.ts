// Fuzzing the native ingest body (NDJSON, a JSON array, one JSON object): random and mutated
// bodies never throw, never hang, and only ever make rows the store takes; every non-blank NDJSON
// line is either a row or a rejection; bad lines and elements are reported by number and never
// cost the good ones; and a sample of the rows loads into DuckDB and reads back unchanged.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS, parseNativeBody, type BodyShape } from '../../src/ingest/native/native-body.js';
import { CTX, fuzzBody, interleave, JUNK_EVERY, PART_RUNS, RUNS } from './arbitraries.js';
import { amidJunk, BatchSample, checkBatch, cleanly, expectSame, HangWatchdog, loadIntoStore } from './checks.js';
import { actual, badRecordElement, badRecordLine, expectedRecord, recordJson, recordSpec } from './records.js';

const BOM = '\ufeff';

/** An NDJSON body of records and refused lines. */
const ndjsonBody = fc
  .tuple(fc.array(recordSpec, { maxLength: 3 }), fc.array(badRecordLine, { maxLength: 2 }), fc.array(fc.nat(), { maxLength: 2 }), fc.constantFrom('\n', '\r\n'))
  .map(([good, bad, slots, eol]) => Buffer.from(interleave(good.map((s, i) => recordJson(s, i)), bad, slots).map((p) => p.part).join(eol)));

const TOKENS = ['{', '}', '[', ']', '"', ':', ',', '\n', '\r\n', ' ', '\\', '\\u', 'd800', '"msg"', '"ts"', '"level"', '"service"', '"host":{"name"', '1e400', '-0', 'null', 'true', '"2024-01-01T00:00:00Z"', BOM];

/** Lines of the body that are not blank (after a leading BOM): each must be a row or a rejection. */
function nonBlankLines(body: Buffer): number {
  const b = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
  return b
    .toString('latin1')
    .split('\n')
    .filter((line) => /[^ \t\r]/.test(line)).length;
}

describe('native ingest body under fuzzing', () => {
  const watchdog = new HangWatchdog('parseNativeBody');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  it(`makes only valid rows from ${RUNS} random and mutated bodies, never throwing, hanging or reading outside the body`, () => {
    fc.assert(
      fc.property(fuzzBody(ndjsonBody, TOKENS), fc.constantFrom<BodyShape>('json', 'ndjson'), fc.nat(), (body, shape, junk) => {
        // parseNativeBody documents no exception: every problem is a rejected line.
        const parsed = cleanly([], () => watchdog.guard(body, () => parseNativeBody(Buffer.from(body), shape, CTX)));
        if (!parsed.ok) return;
        const { batch, rejected, errors } = parsed.value;
        const records = checkBatch(batch, CTX);
        expect(errors.length).toBe(Math.min(rejected, MAX_REPORTED_ERRORS));
        if (shape === 'ndjson') expect(records.length + rejected).toBe(nonBlankLines(body));
        for (let i = 1; i < errors.length; i++) expect(errors[i]!.line).toBeGreaterThan(errors[i - 1]!.line);
        if (junk % JUNK_EVERY === 0) {
          // The same body amid other bytes (as in a pooled buffer) gives the same rows and errors.
          const again = parseNativeBody(amidJunk(body, junk), shape, CTX);
          expect(again.batch.bytes.equals(batch.bytes)).toBe(true);
          expectSame(again.errors, errors);
        }
        sample.offer(batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every valid NDJSON line whatever bad lines surround it, reporting each bad one by number (${PART_RUNS} bodies)`, () => {
    fc.assert(
      fc.property(
        fc.array(recordSpec, { maxLength: 6 }),
        fc.array(fc.oneof(badRecordLine, fc.constantFrom('', '  ', '\t', '\r')), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.constantFrom<BodyShape>('json', 'ndjson'),
        (good, bad, slots, eol, bom, shape) => {
          const parts = interleave(good, bad, slots);
          const lines = parts.map((p, i) => (p.ok ? recordJson(p.part, i) : p.part));
          const body = Buffer.from((bom ? BOM : '') + lines.join(eol) + eol);
          const { batch, rejected, errors } = watchdog.guard(body, () => parseNativeBody(body, shape, CTX));
          const records = checkBatch(batch, CTX);
          expectSame(
            records.map(actual),
            parts.flatMap((p, i) => (p.ok ? [expectedRecord(p.part, i)] : [])),
          );
          // Blank lines are skipped, not refused.
          const refused = parts.flatMap((p, i) => (!p.ok && /\S/.test(p.part) ? [i + 1] : []));
          expectSame(
            errors.map((e) => e.line),
            refused,
          );
          expect(rejected).toBe(refused.length);
          sample.offer(batch, records);
        },
      ),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it(`keeps every valid element of a JSON array whatever bad elements surround it (${PART_RUNS} bodies)`, () => {
    fc.assert(
      fc.property(
        fc.array(recordSpec, { maxLength: 6 }),
        fc.array(badRecordElement, { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.constantFrom(',', ', ', ',\n', '\r\n,\t'),
        (good, bad, slots, sep) => {
          const parts = interleave(good, bad, slots);
          const body = Buffer.from(`[${parts.map((p, i) => (p.ok ? recordJson(p.part, i) : p.part)).join(sep)}]`);
          const { batch, rejected, errors } = watchdog.guard(body, () => parseNativeBody(body, 'json', CTX));
          expectSame(
            checkBatch(batch, CTX).map(actual),
            parts.flatMap((p, i) => (p.ok ? [expectedRecord(p.part, i)] : [])),
          );
          // Errors name the element number.
          const refused = parts.flatMap((p, i) => (p.ok ? [] : [i + 1]));
          expectSame(
            errors.map((e) => e.line),
            refused,
          );
          expect(rejected).toBe(refused.length);
        },
      ),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it('stores a sample of the rows it made in DuckDB through the ingest pipeline, unchanged', async () => {
    const { rows } = await loadIntoStore(sample);
    expect(rows).toBeGreaterThan(1000);
  }, 120_000);
});
