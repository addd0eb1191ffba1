// The Elasticsearch bulk body: NDJSON pairs of an action line and a document line. `index` and
// `create` documents become records (through the byte encoder, so Elastic Common Schema fields
// map like native ones); `delete` has no document and `update` is not supported: each is answered
// in its own item, as Elasticsearch answers every action. A document that is not a record fails
// its own item only; an action line that cannot be read fails the request, as in Elasticsearch
// (after it nothing says which lines are documents). A document keeps its `_index` and the `_id`
// its shipper gave in attrs.

import { isUtf8 } from 'node:buffer';
import { LhError } from '../../errors.js';
import { bytesEqual } from '../../model/bytes.js';
import { RowBatchBuilder, type BufferSource, type RowBatch } from '../../store/row-format.js';
import { JsonRowEncoder, prepareDefaults, withAttr, type PreparedDefaults } from '../common/json-rows.js';
import { JsonObjectScanner } from '../common/json-scanner.js';
import { reserveIds, type MadeIds } from './bulk-answer.js';
import type { NormaliseContext } from '../common/normalise.js';

export type BulkOp = 'index' | 'create' | 'update' | 'delete';

/**
 * One item of the bulk answer, before the spool says whether the accepted ones are durable. Equal
 * items may be one object: they are not changed once made.
 */
export interface BulkItem {
  readonly op: BulkOp;
  readonly index: string;
  /** The id the shipper gave; the answer makes one up for a document without (ParsedBulk.ids). */
  readonly id?: string;
  /** 201 created, or the error status of this item. */
  readonly status: number;
  readonly error?: { readonly type: string; readonly reason: string };
}

const DELETE_REFUSED = { type: 'illegal_argument_exception', reason: 'loghaven stores logs and does not delete single documents' } as const;
const UPDATE_REFUSED = { type: 'illegal_argument_exception', reason: 'loghaven stores logs and does not update documents' } as const;

export interface ParsedBulk {
  batch: RowBatch;
  items: BulkItem[];
  /** Items that failed on their own. */
  failed: number;
  /** The ids the answer gives the documents sent without one (bulkAnswer). */
  ids: MadeIds;
}

/** Which record field the `_index` of a document feeds when the document has none of its own. */
export type IndexField = 'service' | 'category';

const OPS: ReadonlySet<string> = new Set(['index', 'create', 'update', 'delete']);

export function parseBulkBody(
  body: Buffer,
  defaultIndex: string | undefined,
  indexField: IndexField,
  ctx: NormaliseContext,
  buffers?: BufferSource,
): ParsedBulk {
  const buf = isUtf8(body) ? body : Buffer.from(body.toString('utf8'));
  const enc = new JsonRowEncoder(new RowBatchBuilder(buf.length + (buf.length >> 3) + 1024, buffers), ctx);
  const items: BulkItem[] = [];
  const defaultsByIndex = new Map<string, PreparedDefaults>();
  let failed = 0;
  let made = 0;
  let pos = 0;
  let line = 0;
  // Shippers repeat one action line (`{"create":{"_index":"app"}}`): the same bytes read the same.
  let lastAction: Action | null = null;
  let lastActionStart = 0;
  let lastActionEnd = 0;
  /** The last item of a document created without an id of its own. */
  let created: BulkItem | null = null;
  // The next line that is not blank, as [lineStart, lineEnd); false at the end of the body.
  let lineStart = 0;
  let lineEnd = 0;
  const nextLine = (): boolean => {
    while (pos < buf.length) {
      let end = buf.indexOf(10, pos);
      if (end === -1) end = buf.length;
      const start = pos;
      pos = end + 1;
      line++;
      let stop = end;
      if (stop > start && buf[stop - 1] === 13) stop--;
      if (JsonObjectScanner.skipWhitespace(buf, start, stop) < stop) {
        lineStart = start;
        lineEnd = stop;
        return true;
      }
    }
    return false;
  };

  // Whether the line at `pos` is the last action line again, byte for byte: then it is taken
  // without a search for its end.
  const repeatsAction = (): boolean => {
    const length = lastActionEnd - lastActionStart;
    let stop = pos + length;
    if (stop > buf.length || !bytesEqual(buf, lastActionStart, buf, pos, length)) return false;
    if (buf[stop] === 13) stop++;
    if (stop < buf.length && buf[stop] !== 10) return false;
    lineStart = pos;
    lineEnd = pos + length;
    pos = stop + 1;
    line++;
    return true;
  };

  for (;;) {
    const same = lastAction !== null && repeatsAction();
    if (!same && !nextLine()) break;
    const action: Action = same ? lastAction! : readAction(buf, lineStart, lineEnd, line);
    lastAction = action;
    lastActionStart = lineStart;
    lastActionEnd = lineEnd;
    const index = action.index ?? defaultIndex;
    if (index === undefined) {
      // Elasticsearch refuses such a request outright; so does loghaven.
      enc.out.finish().release();
      throw new LhError('LH_ERR_BAD_BODY', `action on line ${line} names no _index and the URL names none either`);
    }
    if (action.id === undefined) made++;
    if (action.op === 'delete') {
      items.push({ op: action.op, index, id: action.id, status: 400, error: DELETE_REFUSED });
      failed++;
      continue;
    }
    if (!nextLine()) {
      enc.out.finish().release();
      throw new LhError('LH_ERR_BAD_BODY', `the ${action.op} action on line ${line} has no document line after it`);
    }
    if (action.op === 'update') {
      items.push({ op: action.op, index, id: action.id, status: 400, error: UPDATE_REFUSED });
      failed++;
      continue;
    }
    let defaults = defaultsByIndex.get(index);
    if (defaults === undefined) {
      // The index feeds its field when the document has none, and stays in attrs (`_index`) in
      // any case, as Elasticsearch keeps it beside every document.
      defaults = prepareDefaults(indexField === 'service' ? { service: index, attrs: { _index: index } } : { category: index, attrs: { _index: index } });
      defaultsByIndex.set(index, defaults);
    }
    // The id the shipper gave is kept (`_id` in attrs), so the document can be found by it.
    enc.encodeObject(buf, lineStart, lineEnd, true, action.id === undefined ? defaults : withAttr(defaults, '_id', action.id));
    if (enc.rejected) {
      items.push({ op: action.op, index, id: action.id, status: 400, error: { type: 'document_parsing_exception', reason: `[${line}:1] ${enc.error}` } });
      failed++;
    } else if (action.id === undefined && created !== null && created.op === action.op && created.index === index) {
      // A thousand documents of one action line are a thousand equal items: one object serves them.
      items.push(created);
    } else {
      const item: BulkItem = { op: action.op, index, id: action.id, status: 201 };
      if (action.id === undefined) created = item;
      items.push(item);
    }
  }
  return { batch: enc.out.finish(), items, failed, ids: reserveIds(made) };
}

interface Action {
  op: BulkOp;
  index?: string;
  id?: string;
}

function readAction(buf: Buffer, start: number, end: number, line: number): Action {
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', start, end));
  } catch (e) {
    throw new LhError('LH_ERR_BAD_BODY', `malformed action/metadata line [${line}]: ${(e as Error).message}`);
  }
  const keys = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.keys(parsed) : [];
  const op = keys[0];
  if (keys.length !== 1 || op === undefined || !OPS.has(op)) {
    throw new LhError('LH_ERR_BAD_BODY', `malformed action/metadata line [${line}]: expected one of index, create, update, delete`);
  }
  const meta = (parsed as Record<string, unknown>)[op];
  if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    throw new LhError('LH_ERR_BAD_BODY', `malformed action/metadata line [${line}]: the ${op} action's metadata is not an object`);
  }
  const m = (meta ?? {}) as Record<string, unknown>;
  return {
    op: op as BulkOp,
    index: typeof m._index === 'string' && m._index !== '' ? m._index : undefined,
    id: typeof m._id === 'string' ? m._id : typeof m._id === 'number' ? String(m._id) : undefined,
  };
}
