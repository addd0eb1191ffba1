// Syslog against the senders users run: util-linux `logger` over TCP (newline and octet-counted
// framing) and UDP, in RFC 5424 and RFC 3164, and rsyslog forwarding with omfwd (installed with
// apt-get when missing). Every message sent is searched for through the HTTP API.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort, startChild, stopChild, type ChildServer } from '../../../test/helpers/child-server.js';
import { searchLogs, waitForLogs, metricValue, type LogItem as Item } from '../../../test/helpers/logs-api.js';
import { debianPackageOrSkip } from '../../../test/helpers/debian.js';

let server: ChildServer;
let dataDir: string;
let syslogPort: number;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-syslog-'));
  syslogPort = await freePort();
  server = await startChild(dataDir, { env: { LOGHAVEN_SYSLOG_PORT: String(syslogPort) } });
});

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});


const search = (q: string) => searchLogs(server.url, q);

/** Searches until `count` items are there (the listener has no acknowledgement to wait for). */
const waitFor = (q: string, count: number) => waitForLogs(server.url, q, count);

/** Runs logger with the lines on stdin (one message each). */
function logger(args: string[], lines: string[]): void {
  const r = spawnSync('logger', ['-n', '127.0.0.1', '-P', String(syslogPort), ...args], { input: lines.join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`logger ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

// local3 with severities err, warning, info, debug, set per line with --prio-prefix.
const SEVERITIES = [
  [3, 'error'],
  [4, 'warn'],
  [6, 'info'],
  [7, 'debug'],
] as const;
const lineWithPrio = (i: number, text: string) => `<${19 * 8 + SEVERITIES[i % 4][0]}>${text}`;

const metric = (name: string, labels: string) => metricValue(server.url, name, labels);

/** Sends the 1,000 messages and checks what comes back. */
async function roundTrip(tag: string, args: string[], precision: 'us' | 's'): Promise<void> {
  const lines = Array.from({ length: 1000 }, (_, i) => lineWithPrio(i, `${tag} message ${i} with some text`));
  const before = Date.now();
  logger(['-t', tag, '--prio-prefix', ...args], lines);
  const after = Date.now();
  const items = await waitFor(`service:${tag}`, 1000);
  expect(items.length).toBe(1000);
  const byOrder = new Map(items.map((it) => [Number(/message (\d+) /.exec(it.message ?? '')![1]), it]));
  expect(byOrder.size).toBe(1000);
  const slack = precision === 's' ? 1000 : 0;
  for (let i = 0; i < 1000; i++) {
    const it = byOrder.get(i)!;
    expect(it).toMatchObject({ service: tag, host: os.hostname(), level: SEVERITIES[i % 4][1], message: `${tag} message ${i} with some text` });
    expect(it.attrs.facility).toBe('local3');
    const ts = Date.parse(it.ts);
    expect(ts).toBeGreaterThanOrEqual(before - slack);
    expect(ts).toBeLessThanOrEqual(after);
  }
}

describe('syslog from util-linux logger', () => {
  it('takes 1,000 RFC 5424 messages over TCP, newline-framed', async () => {
    await roundTrip('tcp-5424', ['--tcp', '--rfc5424'], 'us');
  });

  it('takes 1,000 RFC 5424 messages over TCP with octet counting, with msgid and structured data', async () => {
    await roundTrip('tcp-octets', ['--tcp', '--rfc5424', '--octet-count', '--msgid', 'ID47', '--sd-id', 'origin@32473', '--sd-param', 'ip="10.0.0.1"'], 'us');
    const [one] = await search('service:tcp-octets');
    expect(one!.attrs).toMatchObject({ msgid: 'ID47' });
    expect(JSON.stringify(one!.attrs)).toContain('10.0.0.1');
  });

  it('takes 1,000 RFC 3164 messages over UDP', async () => {
    await roundTrip('udp-3164', ['--udp', '--rfc3164'], 's');
  });

  it('takes 1,000 RFC 5424 messages over UDP and RFC 3164 over TCP', async () => {
    await roundTrip('udp-5424', ['--udp', '--rfc5424'], 'us');
    await roundTrip('tcp-3164', ['--tcp', '--rfc3164'], 's');
  });

  it('keeps what parses as neither format whole, with the reason, counts it, and stores the good ones around it', async () => {
    const unparsedBefore = await metric('loghaven_ingest_unparsed_total', 'protocol="syslog"');
    const lines: string[] = [];
    for (let i = 0; i < 100; i++) {
      lines.push(`<134>1 2026-11-24T10:00:00.000Z web mixed-good - - - good ${i}`);
      lines.push(`garbage line ${i} mixed-bad`);
    }
    const socket = net.connect(syslogPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    await new Promise<void>((resolve) => socket.end(lines.join('\n') + '\n', resolve));
    const good = await waitFor('service:mixed-good', 100);
    expect(good.map((it) => it.message)).toEqual(Array.from({ length: 100 }, (_, i) => `good ${i}`));
    expect(good[0]).toMatchObject({ ts: '2026-11-24T10:00:00.000000Z', level: 'info', host: 'web' });
    const bad = await waitFor('mixed-bad', 100);
    expect(bad.length).toBe(100);
    expect(bad[0]!.message).toBe('garbage line 0 mixed-bad');
    expect(bad[0]!.attrs.syslog_parse_error).toBe('no <PRI> at the start');
    expect(await metric('loghaven_ingest_unparsed_total', 'protocol="syslog"')).toBe(unparsedBefore + 100);
  });
});

const rsyslog = debianPackageOrSkip('rsyslog', 'rsyslogd');
if ('skip' in rsyslog) console.warn(`skipping the rsyslog forwarding test: ${rsyslog.skip}`);

describe.skipIf('skip' in rsyslog)('syslog forwarded by rsyslog (omfwd)', () => {
  it('takes 1,000 messages rsyslog received and forwarded over TCP, octet-counted RFC 5424', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-rsyslog-'));
    const inPort = await freePort();
    fs.writeFileSync(
      path.join(dir, 'rsyslog.conf'),
      [
        `global(workDirectory="${dir}")`,
        'module(load="imtcp")',
        `input(type="imtcp" port="${inPort}" address="127.0.0.1")`,
        `action(type="omfwd" target="127.0.0.1" port="${syslogPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`,
        '',
      ].join('\n'),
    );
    const daemon = spawn((rsyslog as { path: string }).path, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    daemon.stdout.on('data', (d) => (output += d));
    daemon.stderr.on('data', (d) => (output += d));
    try {
      // Ready when its input port answers.
      for (let tries = 0; ; tries++) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = net.connect(inPort, '127.0.0.1', () => (s.destroy(), resolve(true)));
          s.on('error', () => resolve(false));
        });
        if (ok) break;
        if (tries > 100 || daemon.exitCode !== null) throw new Error(`rsyslogd did not start: ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const lines = Array.from({ length: 1000 }, (_, i) => lineWithPrio(i, `via rsyslog ${i}`));
      const before = Date.now();
      const r = spawnSync('logger', ['-n', '127.0.0.1', '-P', String(inPort), '--tcp', '--rfc5424', '-t', 'forwarded', '--prio-prefix'], {
        input: lines.join('\n') + '\n',
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const after = Date.now();
      const items = await waitFor('service:forwarded', 1000);
      expect(items.length, output).toBe(1000);
      const byOrder = new Map(items.map((it) => [Number(/via rsyslog (\d+)$/.exec(it.message ?? '')![1]), it]));
      for (let i = 0; i < 1000; i++) {
        const it = byOrder.get(i)!;
        expect(it).toMatchObject({ service: 'forwarded', host: os.hostname(), level: SEVERITIES[i % 4][1], message: `via rsyslog ${i}` });
        expect(Date.parse(it.ts)).toBeGreaterThanOrEqual(before);
        expect(Date.parse(it.ts)).toBeLessThanOrEqual(after);
      }
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => (daemon.exitCode !== null ? r(undefined) : daemon.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('syslog over TLS (RFC 5425)', () => {
  it('takes octet-counted messages over TLS when a certificate and key are configured', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-syslog-tls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'pipe' });
    const tlsPort = await freePort();
    const tlsServer = await startChild(path.join(dir, 'data'), {
      env: { LOGHAVEN_SYSLOG_TLS_CERT: cert, LOGHAVEN_SYSLOG_TLS_KEY: key, LOGHAVEN_SYSLOG_TLS_PORT: String(tlsPort) },
    });
    try {
      const socket = tls.connect({ port: tlsPort, host: '127.0.0.1', ca: fs.readFileSync(cert), servername: 'localhost' });
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      const frames = Array.from({ length: 100 }, (_, i) => {
        const msg = Buffer.from(`<164>1 2026-11-24T10:00:0${i % 10}.000Z tlshost tls-app 77 ID1 - over tls ${i}`);
        return `${msg.length} ${msg.toString()}`;
      });
      await new Promise<void>((resolve) => socket.end(frames.join(''), resolve));
      let items: Item[] = [];
      for (let tries = 0; tries < 300 && items.length < 100; tries++) {
        const r = await fetch(`${tlsServer.url}/api/v1/logs?q=${encodeURIComponent('service:tls-app')}&limit=1000&order=asc`);
        items = ((await r.json()) as { items: Item[] }).items;
        if (items.length < 100) await new Promise((r) => setTimeout(r, 100));
      }
      expect(new Set(items.map((it) => it.message))).toEqual(new Set(Array.from({ length: 100 }, (_, i) => `over tls ${i}`)));
      expect(items[0]).toMatchObject({ host: 'tlshost', level: 'warn', attrs: { facility: 'local4', procid: '77', msgid: 'ID1' } });
    } finally {
      await stopChild(tlsServer);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the tenant from the client certificate when syslog.tls_client_ca is set, and refuses a client without one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-syslog-mtls-'));
    const f = (name: string) => path.join(dir, name);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.pem'), '-days', '1', '-subj', '/CN=localhost');
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=loghaven test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=acme');
    ssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.pem'), '-days', '1');
    const data = path.join(dir, 'data');
    const made = execFileSync(process.execPath, [CLI, 'keys', 'create', '--data-dir', data, '--tenant', 'acme', '--scopes', 'query', '--format', 'json'], { encoding: 'utf8' });
    const key = (JSON.parse(made) as { key: string }).key;
    const tlsPort = await freePort();
    const server = await startChild(data, {
      env: {
        LOGHAVEN_AUTH_ENABLED: 'true',
        LOGHAVEN_SYSLOG_TLS_CERT: f('server.pem'),
        LOGHAVEN_SYSLOG_TLS_KEY: f('server.key'),
        LOGHAVEN_SYSLOG_TLS_PORT: String(tlsPort),
        LOGHAVEN_SYSLOG_TLS_CLIENT_CA: f('ca.pem'),
      },
    });
    try {
      const connect = (withCert: boolean) =>
        tls.connect({
          port: tlsPort,
          host: '127.0.0.1',
          ca: fs.readFileSync(f('server.pem')),
          servername: 'localhost',
          ...(withCert ? { cert: fs.readFileSync(f('client.pem')), key: fs.readFileSync(f('client.key')) } : {}),
        });
      const socket = connect(true);
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      const msg = Buffer.from('<13>1 2026-11-24T10:00:00.000Z certhost cert-app - - - sent with a client certificate');
      await new Promise<void>((resolve) => socket.end(`${msg.length} ${msg.toString()}`, resolve));
      let items: Item[] = [];
      for (let tries = 0; tries < 300 && items.length === 0; tries++) {
        const r = await fetch(`${server.url}/api/v1/logs?q=${encodeURIComponent('service:cert-app')}`, { headers: { authorization: `Bearer ${key}` } });
        items = ((await r.json()) as { items: Item[] }).items;
        if (items.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(items).toMatchObject([{ tenant: 'acme', message: 'sent with a client certificate' }]);
      // Without a certificate the handshake fails (TLS 1.3 may report it on the first read).
      const bare = connect(false);
      const outcome = await new Promise<string>((resolve) => {
        bare.once('error', (e) => resolve(`error: ${e.message}`));
        bare.once('close', () => resolve('closed'));
        bare.once('secureConnect', () => bare.write('5 hello'));
      });
      expect(outcome).toMatch(/error|closed/);
    } finally {
      await stopChild(server);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
