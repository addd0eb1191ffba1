// Runs the real `loghaven start` from dist/ as a child process on a free port, so tests can send
// it real HTTP, kill -9 it and restart it on the same data directory.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

/** How the server's process is started: environment variables and `node` options. */
export interface Launcher {
  env: Record<string, string>;
  nodeFlags: string[];
}

/**
 * How the `loghaven` binary starts: the variables and `node` options on its `#!` line (`npm
 * start` gives the same; src/cli/main.test.ts checks that they agree). Servers under test start so.
 */
export function launcher(file = CLI): Launcher {
  const first = fs.readFileSync(file, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)$/.exec(first);
  if (!m) throw new Error(`${file}: its first line should be "#!/usr/bin/env -S [VAR=value …] node [--flag …]", not ${JSON.stringify(first)}`);
  const env = Object.fromEntries(m[1]!.split(' ').filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  return { env, nodeFlags: m[2]!.split(' ').filter(Boolean) };
}

export interface ChildServer {
  url: string;
  port: number;
  proc: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Headers every request needs: with `auth`, the key and the tenant (`default`); else none. */
  headers: Record<string, string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startChild(
  dataDir: string,
  opts: {
    port?: number;
    env?: Record<string, string>;
    nodeArgs?: string[];
    https?: { ca: Buffer };
    /** Make a key of every tenant with every scope on the data directory first (`headers`). */
    auth?: boolean;
    /** Run the server under `ulimit -n` of this many descriptors. */
    maxOpenFiles?: number;
  } = {},
): Promise<ChildServer> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  let headers: Record<string, string> = {};
  if (opts.auth) {
    const made = execFileSync(
      process.execPath,
      [CLI, 'keys', 'create', '--data-dir', dataDir, '--tenant', '*', '--scopes', 'ingest,query,admin', '--name', 'test harness', '--format', 'json'],
      { env: { ...process.env, ...opts.env }, encoding: 'utf8' },
    );
    headers = { authorization: `Bearer ${(JSON.parse(made) as { key: string }).key}`, 'x-scope-orgid': 'default' };
  }
  launch: for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const start = launcher();
    const args = [...start.nodeFlags, ...(opts.nodeArgs ?? []), CLI, 'start', '--port', String(port), '--data-dir', dataDir];
    const [command, argv] =
      opts.maxOpenFiles === undefined ? [process.execPath, args] : ['/bin/sh', ['-c', `ulimit -n ${opts.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...args]];
    const proc = spawn(command, argv, {
      // Listeners on fixed ports (syslog, ZeroMQ) take free ones: several servers run at once.
      env: {
        ...process.env,
        ...start.env,
        LOGHAVEN_LOG_LEVEL: 'warn',
        LOGHAVEN_SYSLOG_PORT: '0',
        LOGHAVEN_ZEROMQ_PULL_PORT: '0',
        LOGHAVEN_ZEROMQ_ROUTER_PORT: '0',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
    const closed = new Promise((resolve) => proc.on('close', resolve)); // its output read to the end
    const url = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await closed;
        // The port was free when picked, but another test may take it before the server binds.
        if (opts.port === undefined && attempt < 5 && out.includes('EADDRINUSE')) continue launch;
        throw new Error(`server exited before answering: ${out}`);
      }
      try {
        if (opts.https ? (await httpsGet(`${url}/health`, opts.https.ca)).status === 200 : (await fetch(`${url}/health`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`server did not answer within 60 s: ${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url, port, proc, output: () => out, exited, headers };
  }
}

/** GET over HTTPS trusting `ca` (a self-signed certificate for CN=localhost). */
export function httpsGet(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, servername: 'localhost', headers, checkServerIdentity: (_host, cert) => tls.checkServerIdentity('localhost', cert) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Resident set size of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** SIGTERM and wait for a clean exit; a server that does not stop in time fails, with its output. */
export async function stopChild(server: ChildServer | undefined, timeoutMs = 90_000): Promise<void> {
  if (!server || server.proc.exitCode !== null || server.proc.signalCode !== null) return;
  server.proc.kill('SIGTERM');
  const timedOut = Symbol('timeout');
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([server.exited, new Promise((r) => (timer = setTimeout(() => r(timedOut), timeoutMs)))]);
  clearTimeout(timer);
  if (result === timedOut) {
    server.proc.kill('SIGKILL');
    await server.exited;
    throw new Error(`server did not stop within ${timeoutMs} ms of SIGTERM; its output:\n${server.output().slice(-4000)}`);
  }
  if (result !== 0) throw new Error(`server exited with ${String(result)}; its output:\n${server.output().slice(-4000)}`);
}

/** Runs the real `loghaven` CLI (dist/) with `args`; its exit code and output. */
export function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}
