// A minimal Server-Sent Events reader for tests: connects with fetch, splits the stream into
// events (id, event, data) and lets a test read them one at a time, pause, or cut the connection.

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export class SseReader {
  private buffer = '';
  private readonly queue: SseEvent[] = [];
  private readonly decoder = new TextDecoder();
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private ended = false;
  readonly abort = new AbortController();
  status = 0;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: r.abort.signal });
    r.status = res.status;
    if (res.ok) r.reader = res.body!.getReader();
    else r.ended = true;
    return r;
  }

  /** The next event, or null when the stream has ended. */
  async next(): Promise<SseEvent | null> {
    for (;;) {
      const e = this.queue.shift();
      if (e) return e;
      if (this.ended || this.reader === null) return null;
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await this.reader.read();
      } catch {
        this.ended = true;
        return null;
      }
      if (chunk.done) {
        this.ended = true;
        return null;
      }
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      let cut: number;
      while ((cut = this.buffer.indexOf('\n\n')) !== -1) {
        const block = this.buffer.slice(0, cut);
        this.buffer = this.buffer.slice(cut + 2);
        const ev: SseEvent = { event: 'message', data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || line === '') continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') ev.id = value;
          else if (field === 'event') ev.event = value;
          else if (field === 'data') {
            ev.data += (hasData ? '\n' : '') + value;
            hasData = true;
          }
        }
        if (hasData) this.queue.push(ev);
      }
    }
  }

  close(): void {
    this.abort.abort();
  }
}
