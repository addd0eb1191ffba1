// Fuzzing the Elasticsearch bulk body: random and mutated bodies throw nothing but a coded 400
// (an action line that cannot be read fails the request, as in Elasticsearch), never hang, only
// make rows the store takes, and answer one item per action with a row for each 201; a bad
// document fails its own item only (naming its line), and a sample of the rows loads into DuckDB.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBulkBody, type BulkItem, type IndexField } from '../../src/ingest/elasticsearch/bulk-body.js';
import { CTX, fuzzBody, interleave, JUNK_EVERY, PART_RUNS, RUNS, wellFormed } from './arbitraries.js';
import { amidJunk, BatchSample, checkBatch, cleanly, expectSame, HangWatchdog, loadIntoStore } from './checks.js';
import { actual, badRecordLine, expectedRecord, recordJson, recordSpec, type Expected, type RecordSpec } from './records.js';

const indexName = fc.string({ minLength: 1, maxLength: 8 });

/** One bulk action: a document to index or create (good or bad), or an action loghaven refuses. */
type Action =
  | { op: 'index' | 'create'; index: string | null; id: string | null; doc: { ok: true; spec: RecordSpec } | { ok: false; line: string } }
  | { op: 'delete'; index: string | null; id: string | null }
  | { op: 'update'; index: string | null; id: string | null; doc: string };

function action(needsIndex: boolean, doc: fc.Arbitrary<{ ok: true; spec: RecordSpec } | { ok: false; line: string }>): fc.Arbitrary<Action> {
  const meta = { index: needsIndex ? indexName : fc.option(indexName, { nil: null }), id: fc.option(fc.string({ maxLength: 6 }), { nil: null }) };
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constantFrom('index' as const, 'create' as const), ...meta, doc }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), ...meta }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('update' as const), ...meta, doc: fc.constant('{"doc":{"msg":"changed"}}') }) },
  );
}

const goodDoc = recordSpec.map((spec) => ({ ok: true as const, spec }));
const badDoc = badRecordLine.map((line) => ({ ok: false as const, line }));

/** The body's lines, each document's tag its action's number. */
function bulkLines(actions: Action[]): string[] {
  return actions.flatMap((a, i) => {
    const meta: Record<string, string> = {};
    if (a.index !== null) meta._index = a.index;
    if (a.id !== null) meta._id = a.id;
    const head = JSON.stringify({ [a.op]: meta });
    if (a.op === 'delete') return [head];
    if (a.op === 'update') return [head, a.doc];
    return [head, a.doc.ok ? recordJson(a.doc.spec, i) : a.doc.line];
  });
}

const validBody = fc
  .array(action(false, fc.oneof({ weight: 3, arbitrary: goodDoc }, { weight: 1, arbitrary: badDoc })), { maxLength: 4 })
  .map((actions) => Buffer.from(bulkLines(actions).join('\n') + '\n'));

const TOKENS = ['{"index":{}}', '{"create":{"_index":"a"}}', '{"delete":{}}', '{"update":{}}', '{"index":null}', '"_index"', '"_id":7', '{', '}', '"', ':', ',', '\n', '\r\n', '{"msg":"x"}', '"ts":', ' '];

/** An item without its id (made up anew on each parse when the action names none). */
function withoutId(item: BulkItem): Omit<BulkItem, 'id'> {
  const { id: _id, ...rest } = item;
  return rest;
}

describe('Elasticsearch bulk body under fuzzing', () => {
  const watchdog = new HangWatchdog('parseBulkBody');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  it(`makes only valid rows from ${RUNS} random and mutated bodies, answering one item per action and throwing nothing but a coded 400`, () => {
    fc.assert(
      fc.property(
        fuzzBody(validBody, TOKENS),
        fc.option(fc.constant('logs'), { nil: undefined }),
        fc.constantFrom<IndexField>('service', 'category'),
        fc.nat(),
        (body, defaultIndex, indexField, junk) => {
          const parsed = cleanly(['LH_ERR_BAD_BODY'], () => watchdog.guard(body, () => parseBulkBody(Buffer.from(body), defaultIndex, indexField, CTX)));
          if (!parsed.ok) return;
          const { batch, items, failed } = parsed.value;
          const records = checkBatch(batch, CTX);
          expect(records.length).toBe(items.filter((it) => it.status === 201).length);
          expect(failed).toBe(items.length - records.length);
          for (const item of items) expect(item.status === 201 ? item.error === undefined : item.status === 400 && typeof item.error?.reason === 'string').toBe(true);
          if (junk % JUNK_EVERY === 0) {
            const again = parseBulkBody(amidJunk(body, junk), defaultIndex, indexField, CTX);
            expect(again.batch.bytes.equals(batch.bytes)).toBe(true);
            expectSame(again.items.map(withoutId), items.map(withoutId));
          }
          sample.offer(batch, records);
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every valid document whatever bad documents and refused actions surround it (${PART_RUNS} bodies)`, () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((hasDefault) =>
          fc.record({
            defaultIndex: fc.constant(hasDefault ? 'dflt' : undefined),
            good: fc.array(action(!hasDefault, goodDoc), { maxLength: 6 }),
            bad: fc.array(action(!hasDefault, badDoc), { maxLength: 4 }),
          }),
        ),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.constantFrom<IndexField>('service', 'category'),
        fc.constantFrom('\n', '\r\n', '\n\n'),
        ({ defaultIndex, good, bad }, slots, indexField, eol) => {
          const actions = interleave(good, bad, slots).map((p) => p.part);
          const lines = bulkLines(actions);
          const body = Buffer.from(lines.join(eol) + eol);
          const { batch, items, failed } = watchdog.guard(body, () => parseBulkBody(body, defaultIndex, indexField, CTX));
          const records = checkBatch(batch, CTX);
          // Each document's line number, as the answer names it.
          const step = eol === '\n\n' ? 2 : 1;
          let line = 1;
          const want: { item: Partial<BulkItem>; row: Expected | null }[] = actions.map((a, i) => {
            const index = a.index ?? defaultIndex!;
            const head = { op: a.op, index, ...(a.id !== null ? { id: a.id } : {}) };
            const docLine = line + step;
            line += a.op === 'delete' ? step : 2 * step;
            if (a.op === 'delete' || a.op === 'update') return { item: { ...head, status: 400, error: { type: 'illegal_argument_exception', reason: expect.any(String) } }, row: null };
            if (!a.doc.ok) return { item: { ...head, status: 400, error: { type: 'document_parsing_exception', reason: expect.stringMatching(`^\\[${docLine}:1\\] `) } }, row: null };
            // The index feeds its field, and stays in attrs with the id the action gave.
            const kept = { _index: wellFormed(index), ...(a.id !== null ? { _id: wellFormed(a.id) } : {}) };
            return { item: { ...head, status: 201 }, row: expectedRecord(a.doc.spec, i, indexField === 'service' ? { service: index, attrs: kept } : { category: index, attrs: kept }) };
          });
          expect(items).toMatchObject(want.map((w) => w.item));
          expectSame(
            records.map(actual),
            want.flatMap((w) => (w.row ? [w.row] : [])),
          );
          expect(failed).toBe(want.filter((w) => w.row === null).length);
          sample.offer(batch, records);
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
