// HTTPS: with http.tls.cert and http.tls.key (a self-signed certificate made with openssl), the
// server speaks HTTPS only, and a client that trusts the certificate reads and writes with a key.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, httpsGet, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';

let server: ChildServer;
let dir: string;
let cert: Buffer;
let key: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-https-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'pipe' });
  cert = fs.readFileSync(certFile);
  const data = path.join(dir, 'data');
  const made = await promisify(execFile)(process.execPath, [CLI, 'keys', 'create', '--data-dir', data, '--tenant', 'acme', '--scopes', 'ingest,query', '--format', 'json']);
  key = (JSON.parse(made.stdout) as { key: string }).key;
  server = await startChild(data, { https: { ca: cert }, env: { LOGHAVEN_AUTH_ENABLED: 'true', LOGHAVEN_HTTP_TLS_CERT: certFile, LOGHAVEN_HTTP_TLS_KEY: keyFile } });
}, 120_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca: cert, servername: 'localhost', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTPS', () => {
  it('serves the API over TLS with the configured certificate', async () => {
    expect(server.url.startsWith('https://')).toBe(true);
    expect(await post(`${server.url}/api/v1/logs`, '{"message":"over tls"}', { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' })).toBe(200);
    const r = await httpsGet(`${server.url}/api/v1/logs?q=tls`, cert, { authorization: `Bearer ${key}` });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { items: { message: string; tenant: string }[] }).items).toMatchObject([{ message: 'over tls', tenant: 'acme' }]);
    expect((await httpsGet(`${server.url}/api/v1/logs`, cert)).status).toBe(401);
  });

  it('does not answer plain HTTP', async () => {
    await expect(fetch(server.url.replace('https:', 'http:') + '/health')).rejects.toThrow();
  });

  it('refuses a certificate without its key at validation', async () => {
    const run = await promisify(execFile)(process.execPath, [CLI, 'validate'], { env: { ...process.env, LOGHAVEN_HTTP_TLS_CERT: path.join(dir, 'cert.pem') } }).catch((e: { code: number; stderr: string }) => e);
    expect((run as { code: number }).code).toBe(2);
    expect((run as { stderr: string }).stderr).toContain('http.tls.key');
  });
});
