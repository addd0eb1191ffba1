// Realistic NDJSON log lines for tests and benchmarks: mixed levels, services, hosts and nested
// attributes, each line carrying a unique id so a test can tell exactly which ones came back.

const LEVELS = ['info', 'info', 'info', 'debug', 'WARNING', 'error', 'INFO', 'warn'];
const SERVICES = ['api', 'web', 'worker', 'auth', 'billing'];
const PATHS = ['/api/v1/items', '/api/v1/users', '/login', '/static/app.js', '/api/v1/orders'];

export const BASE_TS_MS = Date.UTC(2026, 0, 15, 12, 0, 0);

export interface LineSpec {
  id: string;
  ts: string;
  level: string;
  service: string;
  host: string;
  message: string;
}

export function logLine(i: number, prefix = 'l'): { text: string; spec: LineSpec } {
  const id = `${prefix}-${i}`;
  const ts = new Date(BASE_TS_MS + i * 10).toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}Z`);
  const spec: LineSpec = {
    id,
    ts,
    level: LEVELS[i % LEVELS.length]!,
    service: SERVICES[i % SERVICES.length]!,
    host: `host-${i % 7}`,
    message: `request ${id} handled path=${PATHS[i % PATHS.length]} user=${(i * 7) % 1000}`,
  };
  const text = JSON.stringify({
    ts: spec.ts,
    level: spec.level,
    service: spec.service,
    host: spec.host,
    msg: spec.message,
    id,
    status: 200 + (i % 4) * 100,
    duration_ms: (i % 1000) / 8,
    http: { method: i % 3 ? 'GET' : 'POST', path: PATHS[i % PATHS.length] },
  });
  return { text, spec };
}
