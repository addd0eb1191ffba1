// The answer to a bulk request, as Elasticsearch gives it: an item per action, in order. A request
// of a thousand documents answers with about 190 KB, so the answer is written as bytes straight
// into one buffer (the text before each id made once per action and index), and the ids loghaven
// makes up for documents sent without one are only made here, as they are written.

import { writeUint } from '../../model/bytes.js';
import type { BulkItem } from './bulk-body.js';

/** The ids made up for one request: `prefix` (15 characters), then 5 base 36 digits counting from `first`. */
export interface MadeIds {
  prefix: string;
  first: number;
}

/** Made-up ids count in 5 base 36 digits. */
const ID_SPACE = 36 ** 5;
let idCounter = 0;

/**
 * Ids for `count` documents of one request: unique, 20 characters, as Elasticsearch makes them.
 * The prefix is the time in ms and the process; the counter goes on across requests, so requests
 * of the same millisecond share no id.
 */
export function reserveIds(count: number): MadeIds {
  const first = idCounter;
  idCounter = (idCounter + count) % ID_SPACE;
  const prefix = `${Date.now().toString(36)}${process.pid.toString(36)}`.padEnd(15, '0').slice(0, 15);
  return { prefix, first };
}

/** Made-up id number `n` of a request (counting those without an id of their own). */
export function madeId(ids: MadeIds, n: number): string {
  return ids.prefix + ((ids.first + n) % ID_SPACE).toString(36).padStart(5, '0');
}

const CREATED = Buffer.from(',"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":');
const CREATED_END = Buffer.from(',"_primary_term":1,"status":201}}');
const DIGITS36 = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

/** The answer's bytes: `{"took":…,"errors":…,"items":[…]}`. */
export function bulkAnswer(items: readonly BulkItem[], ids: MadeIds, errors: boolean, took: number): Buffer {
  const open = Buffer.from(`{"took":${took},"errors":${errors},"items":[`);
  const prefix = Buffer.from(ids.prefix, 'latin1');
  const heads = new Map<string, Buffer>();
  // Each item's text but for the head, a given id and an error is bounded; those are measured as met.
  let size = open.length + 2;
  const texts: (Buffer | null)[] = new Array<Buffer | null>(items.length).fill(null);
  const errorTails = new Map<number, Buffer>();
  const itemHeads = new Array<Buffer>(items.length);
  // Items of a request mostly share their action and index.
  let op = '';
  let index: string | null = null;
  let head: Buffer = open;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (it.op !== op || it.index !== index) {
      op = it.op;
      index = it.index;
      const key = `${op}\u0000${index}`;
      let known = heads.get(key);
      if (known === undefined) heads.set(key, (known = Buffer.from(`{"${op}":{"_index":${JSON.stringify(index)},"_id":`)));
      head = known;
    }
    itemHeads[i] = head;
    size += head.length + 1;
    if (it.id !== undefined) {
      const text = Buffer.from(JSON.stringify(it.id));
      texts[i] = text;
      size += text.length;
    } else {
      size += prefix.length + 7;
    }
    if (it.error === undefined) {
      size += CREATED.length + 16 + CREATED_END.length;
    } else {
      const tail = Buffer.from(`,"status":${it.status},"error":${JSON.stringify(it.error)}}}`);
      errorTails.set(i, tail);
      size += tail.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let p = open.copy(out, 0);
  let made = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (i > 0) out[p++] = 44; // ,
    p += itemHeads[i]!.copy(out, p);
    const text = texts[i];
    if (text !== null) {
      p += text.copy(out, p);
    } else {
      out[p++] = 34;
      p += prefix.copy(out, p);
      let n = (ids.first + made++) % ID_SPACE;
      for (let d = p + 4; d >= p; d--, n = Math.floor(n / 36)) out[d] = DIGITS36[n % 36]!;
      p += 5;
      out[p++] = 34;
    }
    if (it.error === undefined) {
      p += CREATED.copy(out, p);
      p = writeUint(out, p, i);
      p += CREATED_END.copy(out, p);
    } else {
      p += errorTails.get(i)!.copy(out, p);
    }
  }
  out[p++] = 93; // ]
  out[p++] = 125; // }
  return out.subarray(0, p);
}

/**
 * The same answer as a value, for `filter_path` to pick from (Filebeat asks for the errors and
 * statuses only): made as objects rather than written and parsed again.
 */
export function bulkAnswerValue(items: readonly BulkItem[], ids: MadeIds, errors: boolean, took: number): unknown {
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
