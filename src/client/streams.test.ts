// The stream readers of the client: SSE events and NDJSON lines come out the same however the
// bytes are cut into chunks, with every line-end convention the formats allow.

import { describe, expect, it } from 'vitest';
import { lines, sseEvents, textChunks, type SseEvent } from './streams.js';

async function* pieces(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const STREAM =
  '\ufeffretry: 1000\n: loghaven tail\n\n' +
  'id: 1\ndata: {"message":"one"}\n\n' +
  ': heartbeat\n\n' +
  'id: 2\r\ndata: {"message":\r\ndata: "two"}\r\n\r\n' +
  'event: dropped\rdata: {"count":3}\r\r' +
  'id: 9\n\n' +
  'data:no-space\nunknown: field\nid\n\n' +
  'id: 10\ndata: {"message":"cut"'; // an event cut short: never dispatched

const EXPECTED: SseEvent[] = [
  { event: 'message', data: '', retry: 1000 },
  { event: 'message', data: '{"message":"one"}', id: '1' },
  { event: 'message', data: '{"message":\n"two"}', id: '2' },
  { event: 'dropped', data: '{"count":3}' },
  { event: 'message', data: '', id: '9' },
  { event: 'message', data: 'no-space', id: '' },
];

describe('sseEvents', () => {
  it('parses the same events whatever the chunk size, with LF, CRLF and CR line ends', async () => {
    for (const size of [1, 2, 3, 5, 7, 13, 64, STREAM.length]) {
      expect(await collect(sseEvents(pieces(STREAM, size))), `chunks of ${size}`).toEqual(EXPECTED);
    }
  });
});

describe('lines', () => {
  it('splits NDJSON on LF and CRLF, whatever the chunks, keeping a last line without a newline', async () => {
    const text = '{"a":1}\n{"b":"x\\ny"}\r\n\n{"c":3}';
    for (const size of [1, 2, 4, 100]) {
      expect(await collect(lines(pieces(text, size)))).toEqual(['{"a":1}', '{"b":"x\\ny"}', '{"c":3}']);
    }
  });
});

describe('textChunks', () => {
  it('keeps a character split across chunks whole', async () => {
    const bytes = Buffer.from('héllo wörld ✓', 'utf8');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    expect((await collect(textChunks(body))).join('')).toBe('héllo wörld ✓');
  });
});
