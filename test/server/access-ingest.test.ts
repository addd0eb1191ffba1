// POST /api/v1/ingest?format=… against a real server: raw ALB, combined and syslog lines (and the
// format told from the lines), bad lines reported by number while the rest is stored, gzip, and
// the stored records searchable like any other (category access, level from the status class).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { searchLogs } from '../helpers/logs-api.js';

const AWS_EXAMPLES = path.resolve(import.meta.dirname, '../fixtures/alb/aws-doc-examples.log');

let server: ChildServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-access-'));
  server = await startChild(dataDir);
}, 60_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function ingest(format: string | null, body: string | Buffer, headers: Record<string, string> = {}) {
  const r = await fetch(`${server.url}/api/v1/ingest${format === null ? '' : `?format=${format}`}`, { method: 'POST', body, headers });
  return { status: r.status, body: (await r.json()) as { accepted: number; rejected: number; errors: { line: number; error: string }[]; format: string; error?: string } };
}

describe('POST /api/v1/ingest', () => {
  it('stores ALB lines told apart by themselves, each as a searchable record', async () => {
    const lines = fs.readFileSync(AWS_EXAMPLES, 'utf8');
    const r = await ingest(null, lines);
    expect(r).toMatchObject({ status: 200, body: { accepted: 7, rejected: 0, format: 'alb' } });
    const items = await searchLogs(server.url, 'source:alb');
    expect(items).toHaveLength(7);
    const lambda = items.find((i) => i.attrs.error_reason === 'LambdaInvalidResponse')!;
    expect(lambda).toMatchObject({ level: 'error', category: 'access', service: 'my-loadbalancer', message: 'GET http://www.example.com:80/ HTTP/1.1', ts: '2018-11-30T22:23:00.186641Z' });
    expect(lambda).toMatchObject({ source: 'alb', host: 'www.example.com', trace_id: 'Root=1-58337364-23a8c76965a2ef7629b185e3' });
    expect(lambda.attrs).toMatchObject({ elb_status_code: 502, client_ip: '192.168.131.39', path: '/', method: 'GET', error_reason: 'LambdaInvalidResponse' });
    expect(await searchLogs(server.url, 'source:alb attrs.elb_status_code:>=500')).toHaveLength(1);
    expect(await searchLogs(server.url, 'source:alb attrs.ssl_protocol:TLSv1.2 attrs.type:wss')).toHaveLength(1);
    // Fields without a value are left out of attrs.
    expect(lambda.attrs).not.toHaveProperty('target_status_code');
  });

  it('reports bad lines by number and stores the rest; gzip bodies too', async () => {
    const good = '203.0.113.9 - - [10/Oct/2026:13:55:36 +0000] "GET /shop/items/1234 HTTP/1.1" 404 12 "-" "curl/8"';
    const body = [good, 'garbage line', good.replace('404', '500'), ''].join('\n');
    const r = await ingest('combined', zlib.gzipSync(body), { 'content-encoding': 'gzip' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 2, rejected: 1, format: 'combined' });
    expect(r.body.errors).toEqual([{ line: 2, error: expect.stringContaining('common or combined') }]);
    const items = await searchLogs(server.url, 'source:combined');
    expect(items.map((i) => i.level).sort()).toEqual(['error', 'warn']);
  });

  it('takes syslog and NDJSON lines, and refuses what it cannot read', async () => {
    expect((await ingest('syslog', '<13>1 2026-01-01T00:00:00Z h1 app1 - - - from import\n')).body).toMatchObject({ accepted: 1, format: 'syslog' });
    expect((await ingest('auto', '{"message":"json line"}\n{"message":"another"}\n')).body).toMatchObject({ accepted: 2, format: 'ndjson' });
    const unknown = await ingest(null, 'what\nis\nthis\n');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: 'LH_ERR_BAD_BODY' });
    const badFormat = await ingest('xml', 'x');
    expect(badFormat.status).toBe(400);
    const nothing = await ingest('alb', 'not alb at all\n');
    expect(nothing).toMatchObject({ status: 400, body: { accepted: 0, rejected: 1 } });
  });
});
