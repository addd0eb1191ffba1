// The `loghaven` binary run as a real child process (node --import tsx), against real sockets:
// a port where nothing listens, and a tiny node:http server standing in for loghaven.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launcher } from '../../test/helpers/child-server.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `loghaven <args>` with no LOGHAVEN_* variables from the test's own environment. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LOGHAVEN_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...cleanEnv, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'loghaven-cli-'));

function writeToml(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A port that was free a moment ago: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('loghaven validate', () => {
  it('exits 0 and says which profile is active for a valid file', async () => {
    const file = writeToml('valid.toml', 'profile = "production"\n[http]\nport = 8080\nbody_limit = "20MiB"\n');
    const run = await runCli(['validate', '--config', file]);
    expect(run.stdout).toBe(`config OK (profile production, file ${file})\n`);
    expect(run.code).toBe(0);
  });

  it('exits 2 naming http.port when the file sets it to "abc"', async () => {
    const file = writeToml('bad-port.toml', '[http]\nport = "abc"\n');
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`http.port: "abc" is not valid — expected an integer from 1 to 65535 (from ${file})`);
  });

  it('prints every problem, one per line, from the file and the environment', async () => {
    const file = writeToml('many.toml', '[htp]\nport = 1\n[log]\nlevel = "loud"\n');
    const run = await runCli(['validate', '--config', file], { LOGHAVEN_STORE_DUCKDB_THREADS: 'lots' });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')).toEqual([
      'configuration is invalid (3 problems):',
      `  - unknown key "htp.port" — did you mean "http.port"? (from ${file})`,
      '  - store.duckdb.threads: "lots" is not valid — expected an integer from 1 to 64 (from LOGHAVEN_STORE_DUCKDB_THREADS)',
      `  - log.level: "loud" is not valid — expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent" (from ${file})`,
      '',
    ]);
  });

  it('exits 2 with the line and column of a TOML syntax error', async () => {
    const file = writeToml('syntax.toml', '[http\nport = 1\n');
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`${file}: TOML syntax error at line 1, column \\d+`));
  });
});

describe('loghaven start', () => {
  it('starts the same way from the `loghaven` binary and from `npm start`', () => {
    // What keeps the server's memory down (BENCHMARKS.md): two malloc arenas instead of one per
    // thread, large blocks given back to the system when freed, a small young generation, and
    // full collections before the old generation grows half again.
    const { env, nodeFlags } = launcher(MAIN);
    expect(env).toEqual({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '262144' });
    expect(nodeFlags).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=50']);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    expect(pkg.scripts.start).toBe([...vars, 'node', ...nodeFlags, 'dist/cli/main.js', 'start'].join(' '));
  });

  it('exits 2 on an invalid configuration before starting anything', async () => {
    const file = writeToml('start.toml', '[http]\nport = 7700\n');
    const run = await runCli(['start', '--config', file, '--port', 'abc']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('http.port: "abc" is not valid — expected an integer from 1 to 65535 (from command line)');
  });
});

describe('loghaven health-check', () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/health') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      else if (req.url === '/slow/health') setTimeout(() => res.writeHead(200).end(), 2000);
      else if (req.url === '/sick/health') res.writeHead(503).end('{"message":"store down"}');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('exits 0 when /health answers 200', async () => {
    const run = await runCli(['health-check', '--url', baseUrl]);
    expect(run.stdout).toMatch(/^healthy: .*\/health answered 200 in \d+ ms\n$/);
    expect(run.code).toBe(0);
  });

  it('exits 1 with a one-line reason when nothing listens on the port', async () => {
    const run = await runCli(['health-check', '--url', `http://127.0.0.1:${await closedPort()}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^unhealthy: cannot reach loghaven at http:\/\/127\.0\.0\.1:\d+: connection refused/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 1 when the answer takes longer than --timeout', async () => {
    const run = await runCli(['health-check', '--url', `${baseUrl}/slow`, '--timeout', '300']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/within 300 ms/);
  });

  it('exits 1 when /health answers an error status', async () => {
    const run = await runCli(['health-check', '--url', `${baseUrl}/sick`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('unhealthy: store down (HTTP 503)\n');
  });
});

describe('client commands against a stand-in server', () => {
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];
  const item = {
    ts: '2024-05-01T12:00:00.000000Z',
    received_at: '2024-05-01T12:00:00.100000Z',
    tenant: 'default',
    level: 'error',
    severity: 17,
    service: 'api',
    host: 'web-1',
    category: null,
    source: null,
    message: 'upstream timed out\nretrying',
    trace_id: null,
    span_id: null,
    attrs: { status: 504 },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/api/v1/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ version: '9.9.9', uptime_s: 3725, ready: true, store: { backend: 'duckdb', rows: 1234567, bytes: 10485760 }, ingest: { queue_records: 3, queue_bytes: 2048 } }),
        );
      } else if (url.pathname === '/api/v1/logs' && url.searchParams.get('q') === 'bad:(') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"LH_ERR_QUERY_SYNTAX","message":"query syntax error: at position 5: expected a value"}');
      } else if (url.pathname === '/api/v1/logs') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [item], next_cursor: 'abc', stats: { rows_scanned: 10 } }));
      } else if (url.pathname === '/api/v1/logs/export') {
        // Sent in pieces, as a streamed export is.
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write(`${JSON.stringify({ ...item, message: `line ${sent}` })}\n`);
          if (++sent === 5) {
            clearInterval(timer);
            res.end();
          }
        }, 5);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('status prints a readable summary, and the JSON with --format json', async () => {
    const text = await runCli(['status'], { LOGHAVEN_URL: baseUrl });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('version       9.9.9');
    expect(text.stdout).toContain('uptime        01h 02m 05s');
    expect(text.stdout).toContain('store         duckdb: 1,234,567 rows, 10 MiB');
    const json = await runCli(['status', '--url', baseUrl, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: '9.9.9', ready: true });
  });

  it('status exits 1 with a clear message when the connection is refused', async () => {
    const run = await runCli(['status', '--url', `http://127.0.0.1:${await closedPort()}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/connection refused — is the server running\?/);
  });

  it('query sends the parameters and prints a table', async () => {
    const run = await runCli(['query', 'level:error', '--from', 'now-1h', '--limit', '5', '--url', baseUrl]);
    expect(run.code).toBe(0);
    expect(requests.at(-1)).toBe('/api/v1/logs?q=level%3Aerror&from=now-1h&limit=5');
    expect(run.stdout.split('\n')[0]).toMatch(/^ts\s+level\s+service\s+host\s+message$/);
    expect(run.stdout).toContain('error  api      web-1  upstream timed out ⏎ retrying');
    expect(run.stderr).toContain('more results: add --cursor abc');
  });

  it('query prints one item per line with --format ndjson', async () => {
    const run = await runCli(['query', '', '--format', 'ndjson', '--url', baseUrl]);
    expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([item]);
  });

  it("query prints the server's message and exits 2 on a 4xx answer", async () => {
    const run = await runCli(['query', 'bad:(', '--url', baseUrl]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('query syntax error: at position 5: expected a value (HTTP 400)\n');
  });

  it('export streams the body to a file', async () => {
    const output = join(dir, 'export.ndjson');
    const run = await runCli(['export', 'service:api', '--format', 'ndjson', '-o', output, '--url', baseUrl]);
    expect(run.code).toBe(0);
    expect(requests.at(-1)).toBe('/api/v1/logs/export?q=service%3Aapi&format=ndjson');
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(existsSync(`${output}.partial`)).toBe(false);
  });

  it('export streams to stdout without -o', async () => {
    const run = await runCli(['export', '', '--url', baseUrl]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(5);
  });
});

describe('loghaven --help and --version', () => {
  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect(run.stdout.trim()).toBe(version);
    expect(run.code).toBe(0);
  });

  it('has help on every command', async () => {
    const commands = ['start', 'validate', 'status', 'health-check', 'query', 'export'];
    const runs = await Promise.all(commands.map((command) => runCli([command, '--help'])));
    commands.forEach((command, index) => {
      expect(runs[index].code, command).toBe(0);
      expect(runs[index].stdout, command).toMatch(new RegExp(`^Usage: loghaven ${command} `));
    });
  });

  it('exits 2 on a usage error', async () => {
    const run = await runCli(['query', '--limit', 'zero']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("option '-n, --limit <n>' argument 'zero' is invalid");
  });
});
