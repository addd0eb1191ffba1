// The live tail (GET /api/v1/logs/tail, Server-Sent Events) read with fetch rather than
// EventSource, which cannot send the API key header; the stream is split by SseParser. A dropped
// connection is resumed after its last event id (Last-Event-ID), so nothing is missed or repeated.

import { ApiError, request } from '../api';
import type { WireRecord } from '../types';
import { SseParser } from './sse';

export type TailState = 'connecting' | 'live' | 'retrying' | 'stopped';

export interface TailHandlers {
  records(batch: WireRecord[]): void;
  /** The server skipped `count` records this reader was too slow to take. */
  dropped(count: number): void;
  state(s: TailState, error?: ApiError): void;
}

const RETRY_MS = 1000;

/** Opens the tail of `q` (with the last `backfill` matching records first); returns its close. */
export function openTail(q: string, backfill: number, on: TailHandlers): () => void {
  const abort = new AbortController();
  let lastId: string | undefined;
  const run = async () => {
    while (!abort.signal.aborted) {
      on.state(lastId === undefined ? 'connecting' : 'retrying');
      try {
        const res = await request(
          '/api/v1/logs/tail',
          // Resuming, the records after lastId come instead of a backfill.
          lastId === undefined ? { q, backfill } : { q },
          { signal: abort.signal, headers: { accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) } },
        );
        on.state('live');
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const batch: WireRecord[] = [];
          for (const ev of parser.feed(value)) {
            if (ev.id !== undefined && ev.id !== '') lastId = ev.id;
            if (ev.event === 'dropped') on.dropped((JSON.parse(ev.data ?? '{}') as { count?: number }).count ?? 0);
            else if (ev.data !== undefined) batch.push(JSON.parse(ev.data) as WireRecord);
          }
          if (batch.length > 0) on.records(batch);
        }
      } catch (e) {
        if (abort.signal.aborted) break;
        const error = e instanceof ApiError ? e : new ApiError((e as Error).message, 0, 'NETWORK');
        // A refusal that a retry cannot change (bad query, no key, no scope) ends the tail.
        if (error.status >= 400 && error.status < 500 && error.status !== 429) {
          on.state('stopped', error);
          return;
        }
        on.state('retrying', error);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  };
  void run();
  return () => abort.abort();
}
