import { describe, expect, it } from 'vitest';
import { bulkAnswer, bulkAnswerValue, madeId, reserveIds } from './bulk-answer.js';
import type { BulkItem } from './bulk-body.js';

/** The answer as Elasticsearch words it, built from objects. */
function reference(items: BulkItem[], ids: ReturnType<typeof reserveIds>, errors: boolean, took: number): unknown {
  let made = 0;
  return {
    took,
    errors,
    items: items.map((it, i) => {
      const _id = it.id ?? madeId(ids, made++);
      const body =
        it.error === undefined
          ? { _index: it.index, _id, _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: i, _primary_term: 1, status: 201 }
          : { _index: it.index, _id, status: it.status, error: it.error };
      return { [it.op]: body };
    }),
  };
}

describe('the bulk answer', () => {
  it('says what Elasticsearch says of every item, in order, with ids made up where none was given', () => {
    const items: BulkItem[] = [];
    for (let i = 0; i < 1200; i++) {
      const index = ['app', 'ünïcode "quoted"', 'app', 'x\\y'][i % 7 === 0 ? 1 : i % 11 === 0 ? 3 : 0]!;
      const op = i % 13 === 0 ? 'index' : 'create';
      const id = i % 5 === 0 ? `given-${i} "é" \u2028` : undefined;
      const item: BulkItem = { op, index, id, status: 201 };
      if (i % 17 === 0) Object.assign(item, { op: 'delete', status: 400, error: { type: 'illegal_argument_exception', reason: 'no "deletes" here' } });
      items.push(item);
    }
    const ids = reserveIds(items.filter((it) => it.id === undefined).length);
    const text = bulkAnswer(items, ids, true, 42).toString();
    const answer = JSON.parse(text) as { items: Record<string, { _id: string }>[] };
    expect(answer).toEqual(reference(items, ids, true, 42));
    // The value filter_path picks from is the same answer.
    expect(bulkAnswerValue(items, ids, true, 42)).toEqual(answer);
    const made = answer.items.map((it) => Object.values(it)[0]!._id).filter((id) => !id.startsWith('given-'));
    expect(made.every((id) => /^[0-9a-z]{20}$/.test(id))).toBe(true);
    expect(new Set(made).size).toBe(made.length);
  });

  it('gives the documents of two requests different ids', () => {
    const one: BulkItem[] = [{ op: 'create', index: 'a', status: 201 }];
    const a = JSON.parse(bulkAnswer(one, reserveIds(1), false, 0).toString()) as { items: { create: { _id: string } }[] };
    const b = JSON.parse(bulkAnswer(one, reserveIds(1), false, 0).toString()) as { items: { create: { _id: string } }[] };
    expect(a.items[0]!.create._id).not.toBe(b.items[0]!.create._id);
    expect(a).toMatchObject({ took: 0, errors: false });
  });
});
