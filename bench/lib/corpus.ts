// Realistic NDJSON log lines for the benchmarks: 200–250 bytes, 8–20 fields, mixed levels,
// services and hosts, nested attributes — what an application fleet actually ships.

const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'debug', 'warn', 'error', 'INFO', 'WARNING'];
const SERVICES = ['gateway', 'checkout', 'payments', 'search', 'auth', 'stock', 'mailer'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/orders', '/api/v1/cart/items', '/login', '/api/v2/search', '/health', '/api/v1/users/me'];
const MESSAGES = ['request completed', 'cache miss', 'upstream timeout', 'payment authorised', 'retrying job', 'user signed in'];

/** A deterministic pseudo-random sequence, so every run sends the same bytes. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function corpusLines(count: number, seed = 1): string[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const base = Date.UTC(2026, 10, 24, 0, 0, 0);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const rec: Record<string, unknown> = {
      ts: new Date(base + i * 3).toISOString(),
      level: pick(LEVELS),
      service: pick(SERVICES),
      host: `node-${Math.floor(r() * 40)}`,
      msg: `${pick(MESSAGES)} ${pick(PATHS)}`,
      req: Math.floor(r() * 2 ** 32).toString(36),
      status: pick([200, 200, 200, 201, 204, 301, 404, 500, 503]),
      duration_ms: Math.round(r() * 250_000) / 100,
    };
    // 8 to 20 fields: some lines carry more context than others.
    const extra = Math.floor(r() * 5);
    if (extra > 0) rec.http = { method: pick(METHODS), bytes: Math.floor(r() * 40_000) };
    if (extra > 1) rec.user = { id: Math.floor(r() * 100_000), plan: pick(['free', 'pro', 'team']) };
    if (extra > 2) rec.region = pick(['eu-west-1', 'us-east-1', 'ap-south-1']);
    if (extra > 3) rec.retry = Math.floor(r() * 3);
    lines.push(JSON.stringify(rec));
  }
  return lines;
}
