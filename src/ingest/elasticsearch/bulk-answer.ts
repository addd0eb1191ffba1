// The answer to a bulk request, as Elasticsearch gives it: an item per action, in order. A request
// of a thousand documents answers with about 190 KB, so the answer is written as bytes straight
// into one buffer (the text before each id made once per action and index), and the ids loghaven
// makes up for documents sent without one are only made here, as they are written.

import { writeUint } from '../../model/bytes.js';
import { FRESH_BUFFERS, type BufferSource } from '../../store/row-format.js';
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

/** The answer's bytes, and the buffer they are in (from `buffers`, to give back once sent). */
export interface BulkAnswerBytes {
  bytes: Buffer;
  buffer: Buffer;
}

/**
 * The answer's bytes: `{"took":…,"errors":…,"items":[…]}`, written in two passes over the items
 * (measured, then written) into one buffer from `buffers`, with nothing made per item.
 */
export function bulkAnswer(items: readonly BulkItem[], ids: MadeIds, errors: boolean, took: number, buffers: BufferSource = FRESH_BUFFERS): BulkAnswerBytes {
  const open = Buffer.from(`{"took":${took},"errors":${errors},"items":[`);
  const prefix = Buffer.from(ids.prefix, 'latin1');
  const heads = new ItemHeads();
  // Each item's text but for the head, a given id and an error is bounded; those are measured as met.
  let size = open.length + 2;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    size += heads.of(it).length + 1;
    size += it.id !== undefined ? Buffer.byteLength(JSON.stringify(it.id)) : prefix.length + 7;
    size += it.error === undefined ? CREATED.length + 16 + CREATED_END.length : Buffer.byteLength(errorTail(it));
  }
  const buffer = buffers.take(size);
  let p = open.copy(buffer, 0);
  let made = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (i > 0) buffer[p++] = 44; // ,
    p += heads.of(it).copy(buffer, p);
    if (it.id !== undefined) {
      p += buffer.write(JSON.stringify(it.id), p);
    } else {
      buffer[p++] = 34;
      p += prefix.copy(buffer, p);
      let n = (ids.first + made++) % ID_SPACE;
      for (let d = p + 4; d >= p; d--, n = Math.floor(n / 36)) buffer[d] = DIGITS36[n % 36]!;
      p += 5;
      buffer[p++] = 34;
    }
    if (it.error === undefined) {
      p += CREATED.copy(buffer, p);
      p = writeUint(buffer, p, i);
      p += CREATED_END.copy(buffer, p);
    } else {
      p += buffer.write(errorTail(it), p);
    }
  }
  buffer[p++] = 93; // ]
  buffer[p++] = 125; // }
  return { bytes: buffer.subarray(0, p), buffer };
}

/** `{"op":{"_index":…,"_id":` of each action and index, made once: the items of a request mostly share them. */
class ItemHeads {
  private readonly known = new Map<string, Buffer>();
  private op = '';
  private index: string | null = null;
  private last: Buffer = Buffer.alloc(0);

  of(it: BulkItem): Buffer {
    if (it.op === this.op && it.index === this.index) return this.last;
    this.op = it.op;
    this.index = it.index;
    const key = `${it.op}\u0000${it.index}`;
    let head = this.known.get(key);
    if (head === undefined) this.known.set(key, (head = Buffer.from(`{"${it.op}":{"_index":${JSON.stringify(it.index)},"_id":`)));
    this.last = head;
    return head;
  }
}

function errorTail(it: BulkItem): string {
  return `,"status":${it.status},"error":${JSON.stringify(it.error)}}}`;
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
