// Reading streamed answers piece by piece, holding only the unfinished piece: lines of NDJSON
// (exports) and events of Server-Sent Events (the live tail), as the HTML standard parses them.

/** Decoded text chunks of a byte stream (UTF-8; a character split across chunks is kept whole). */
export async function* textChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text !== '') yield text;
    }
    const rest = decoder.decode();
    if (rest !== '') yield rest;
  } finally {
    // A consumer that stops early cancels the download instead of leaving it running.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Non-empty lines of a text stream, without their line ends (LF or CRLF). */
export async function* lines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of chunks) {
    rest += chunk;
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      const line = rest.charCodeAt(nl - 1) === 13 ? rest.slice(start, nl - 1) : rest.slice(start, nl);
      start = nl + 1;
      if (line !== '') yield line;
    }
    rest = rest.slice(start);
  }
  if (rest.trim() !== '') yield rest;
}

/** One Server-Sent Event. `id` is set when the event carried an `id:` field (it may be the only one). */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  /** A `retry:` field: the reconnection delay the server asks for, in ms. */
  retry?: number;
}

/**
 * Events of an SSE stream. Comments (heartbeats) are skipped; a block with only `id:` or `retry:`
 * still comes out (with empty data), since it moves the position or the reconnection delay.
 */
export async function* sseEvents(chunks: AsyncIterable<string>): AsyncGenerator<SseEvent> {
  let rest = '';
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  let retry: number | undefined;
  let first = true;
  for await (let chunk of chunks) {
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    rest += chunk;
    let start = 0;
    for (;;) {
      const end = lineEnd(rest, start);
      if (end === -1) break;
      const line = rest.slice(start, end);
      // CRLF counts as one line end; a CR at the very end of the buffer waits for what follows.
      start = rest.charCodeAt(end) === 13 && rest.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
      if (line === '') {
        if (data.length > 0 || id !== undefined || retry !== undefined) {
          const e: SseEvent = { event: event || 'message', data: data.join('\n') };
          if (id !== undefined) e.id = id;
          if (retry !== undefined) e.retry = retry;
          yield e;
        }
        data = [];
        event = '';
        id = undefined;
        retry = undefined;
        continue;
      }
      if (line.charCodeAt(0) === 58 /* : */) continue; // a comment: heartbeat
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    }
    rest = rest.slice(start);
  }
}

/** Index of the next CR or LF from `from`; -1 when none, or when a CR ends the buffer (LF may follow). */
function lineEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) return i;
    if (c === 13) return i + 1 < s.length ? i : -1;
  }
  return -1;
}
