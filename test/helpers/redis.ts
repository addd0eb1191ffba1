// Redis for the suites that need it: the real one of the machine (127.0.0.1:6379, a database
// per suite), and redis-servers of a suite's own that it stops and starts again.
// LOGHAVEN_REQUIRE_SERVICES=1 turns a missing Redis into a failure; otherwise the suite is
// skipped, saying why.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

const required = process.env.LOGHAVEN_REQUIRE_SERVICES === '1';

async function reachable(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Whether `suite` can run against the Redis at `url`: throws when Redis is required and absent. */
export async function redisFor(url: string, suite: string): Promise<boolean> {
  const available = await reachable(url);
  if (!available) {
    if (required) throw new Error(`Redis is required (LOGHAVEN_REQUIRE_SERVICES=1) but ${url} does not answer`);
    console.warn(`skipping ${suite}: ${url} does not answer`);
  }
  return available;
}

/** Whether redis-server can be started here: throws when it is required and missing. */
export function redisServerFor(suite: string): boolean {
  const installed = spawnSync('redis-server', ['--version']).status === 0;
  if (!installed) {
    if (required) throw new Error('redis-server is required (LOGHAVEN_REQUIRE_SERVICES=1) but is not installed');
    console.warn(`skipping ${suite}: redis-server is not installed`);
  }
  return installed;
}

/**
 * A redis-server of the test's own on `port`. With `dir`, every write goes to an append-only
 * file, fsynced: killed and started again, it has lost nothing; without, it starts empty.
 */
export class RedisServer {
  private proc: ChildProcess | null = null;

  constructor(
    readonly port: number,
    private readonly dir?: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const persistence = this.dir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir];
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
    const r = new Redis({ port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    for (let i = 0; i < 100; i++) {
      try {
        await r.connect();
        await r.ping();
        r.disconnect();
        return;
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Kills it (SIGKILL) and waits until it is gone. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await new Promise((res) => p.once('exit', res));
  }
}
