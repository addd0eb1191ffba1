// What the protocol tests ask a running server: a search through GET /api/v1/logs (oldest
// first), the same repeated until enough records are there (listeners without acknowledgements),
// and one Prometheus counter from /metrics.

import type { WireRecord } from '../../src/model/record.js';

/** A record as the search API returns it. */
export type LogItem = WireRecord;

export async function searchLogs(url: string, q: string): Promise<LogItem[]> {
  const r = await fetch(`${url}/api/v1/logs?q=${encodeURIComponent(q)}&limit=10000&order=asc`);
  if (r.status !== 200) throw new Error(`search ${JSON.stringify(q)} answered ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { items: LogItem[] }).items;
}

/** Searches every 100 ms, for up to 30 s, until `count` records are there; returns what is. */
export async function waitForLogs(url: string, q: string, count: number): Promise<LogItem[]> {
  let items: LogItem[] = [];
  for (let tries = 0; tries < 300; tries++) {
    items = await searchLogs(url, q);
    if (items.length >= count) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return items;
}

/** The value of one counter series, e.g. `metricValue(url, 'loghaven_ingest_unparsed_total', 'protocol="syslog"')`; 0 when absent. */
export async function metricValue(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
