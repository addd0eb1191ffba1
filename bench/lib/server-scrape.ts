// What a running server says about its own acknowledgements: its request and spool fsync
// histograms and its event-loop delay, read from /metrics before and after a measured phase.

import type { ChildServer } from '../../test/helpers/child-server.js';

export interface ServerScrape {
  /** loghaven_ingest_request_seconds of the native route: bucket bound → count. */
  acks: Map<string, number>;
  /** loghaven_ingest_fsync_seconds: bucket bound → count. */
  fsyncs: Map<string, number>;
  /**
   * The event-loop delay since the previous scrape, ms: how much later than due the server's main
   * thread ran a timer set every 10 ms (loghaven_event_loop_delay_seconds, the interval itself
   * not counted).
   */
  loopP99: number;
  loopP999: number;
  loopMax: number;
}

/** The server's acknowledgement and spool fsync histograms, and its event-loop delay. */
export async function scrape(server: ChildServer): Promise<ServerScrape> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: server.headers })).text();
  const buckets = (re: RegExp) => new Map([...text.matchAll(re)].map((m) => [m[1]!, Number(m[2])]));
  const loop = (quantile: string) => Number(new RegExp(`^loghaven_event_loop_delay_seconds\\{quantile="${quantile}"\\} (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
  return {
    acks: buckets(/^loghaven_ingest_request_seconds_bucket\{le="([^"]+)",protocol="native"\} (\d+)$/gm),
    fsyncs: buckets(/^loghaven_ingest_fsync_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm),
    loopP99: loop('0.99'),
    loopP999: loop('0.999'),
    loopMax: loop('1'),
  };
}

/** The observations between two scrapes of a histogram: how many, and the share within a bucket bound (its `le`, e.g. "0.01"). */
export function histogramDelta(before: Map<string, number>, after: Map<string, number>): { count: number; within(le: string): number } {
  const d = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const count = d('+Inf');
  return { count, within: (le) => (count === 0 ? NaN : d(le) / count) };
}
