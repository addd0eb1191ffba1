// What a running loghaven says it has: lines acknowledged per protocol (the
// loghaven_ingest_lines_total counter, counted once the lines are durable in the spool) and rows
// loaded into the store, for checking a load generator's own count against the server's.

/** `headers`: the API key, when the server has authentication on (an admin key of every tenant). */
export async function ingestedLines(url: string, protocol: string, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const m = new RegExp(`^loghaven_ingest_lines_total\\{protocol="${protocol}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

interface Status {
  store: { rows: number };
  ingest: { spool_backlog_bytes: number; queue_records: number };
}

export async function status(url: string, headers: Record<string, string> = {}): Promise<Status> {
  return (await (await fetch(`${url}/api/v1/status`, { headers })).json()) as Status;
}

/** Waits until the spool is loaded and the store holds `rows` rows; the rows it holds then. */
export async function waitLoaded(url: string, rows: number, timeoutMs = 300_000, headers: Record<string, string> = {}): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(url, headers);
    if ((s.ingest.spool_backlog_bytes === 0 && s.ingest.queue_records === 0 && s.store.rows >= rows) || Date.now() > deadline) return s.store.rows;
    await new Promise((w) => setTimeout(w, 200));
  }
}

/**
 * Polls `read` until it reaches `target`; the time it did, from `since` (performance.now()), in
 * seconds. Polls every 200 ms while far from the end and every 10 ms once the rate seen so far
 * says the end is near, so the figure is not rounded up to a slow poll.
 */
export async function timeUntil(read: () => Promise<number> | number, target: number, since: number, timeoutMs = 600_000): Promise<number> {
  let lastValue = 0;
  let lastAt = since;
  let near = false;
  for (;;) {
    const value = await read();
    const now = performance.now();
    if (value >= target) return (now - since) / 1000;
    if (now - since > timeoutMs) throw new Error(`only ${value} of ${target} arrived within ${timeoutMs / 1000} s`);
    const rate = (value - lastValue) / Math.max(now - lastAt, 1); // per ms
    near ||= rate > 0 && (target - value) / rate < 400;
    lastValue = value;
    lastAt = now;
    await new Promise((w) => setTimeout(w, near ? 10 : 200));
  }
}
