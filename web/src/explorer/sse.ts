// Server-Sent Events as text arrives: the fields of each event line by line, an event ended by
// a blank line (the HTML standard's event stream format, the parts the tail uses).

export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Splits an event stream into events as text arrives (SSE: fields per line, a blank line ends one). */
export class SseParser {
  private buffer = '';
  private current: SseEvent = {};

  feed(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.current.id !== undefined || this.current.data !== undefined || this.current.event !== undefined) events.push(this.current);
        this.current = {};
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'data') this.current.data = this.current.data === undefined ? value : `${this.current.data}\n${value}`;
      else if (name === 'id') this.current.id = value;
      else if (name === 'event') this.current.event = value;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }
}
