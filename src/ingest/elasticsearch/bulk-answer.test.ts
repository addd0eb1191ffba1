import { describe, expect, it } from 'vitest';
import { bulkAnswer, bulkAnswerValue, madeId, reserveIds } from './bulk-answer.js';
import type { BulkItem } from './bulk-body.js';

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
    const text = bulkAnswer(items, ids, true, 42).bytes.toString();
    const answer = JSON.parse(text) as { took: number; errors: boolean; items: Record<string, { _id: string }>[] };
    // The bytes and the value filter_path picks from (made as objects) are the same answer…
    expect(answer).toEqual(bulkAnswerValue(items, ids, true, 42));
    // …worded as Elasticsearch words it.
    expect(answer).toMatchObject({ took: 42, errors: true });
    expect(answer.items).toHaveLength(items.length);
    expect(answer.items[1]).toEqual({
      create: { _index: 'app', _id: madeId(ids, 0), _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: 1, _primary_term: 1, status: 201 },
    });
    expect(answer.items[0]).toEqual({ delete: { _index: 'ünïcode "quoted"', _id: 'given-0 "é" \u2028', status: 400, error: { type: 'illegal_argument_exception', reason: 'no "deletes" here' } } });
    expect(answer.items[5]).toMatchObject({ create: { _id: 'given-5 "é" \u2028', _seq_no: 5, status: 201 } });
    const made = answer.items.map((it) => Object.values(it)[0]!._id).filter((id) => !id.startsWith('given-'));
    expect(made.every((id) => /^[0-9a-z]{20}$/.test(id))).toBe(true);
    expect(new Set(made).size).toBe(made.length);
  });

  it('gives the documents of two requests different ids', () => {
    const one: BulkItem[] = [{ op: 'create', index: 'a', status: 201 }];
    const a = JSON.parse(bulkAnswer(one, reserveIds(1), false, 0).bytes.toString()) as { items: { create: { _id: string } }[] };
    const b = JSON.parse(bulkAnswer(one, reserveIds(1), false, 0).bytes.toString()) as { items: { create: { _id: string } }[] };
    expect(a.items[0]!.create._id).not.toBe(b.items[0]!.create._id);
    expect(a).toMatchObject({ took: 0, errors: false });
  });
});
