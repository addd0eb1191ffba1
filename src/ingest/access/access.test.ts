import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAlbConnectionLine, parseAlbLine, type AlbRecord } from './alb.js';
import { parseClfLine } from './clf.js';
import { detectFormat } from './detect.js';
import { decodeEscapes, splitFields } from './fields.js';
import { isIdSegment, urlPattern } from './url-pattern.js';

const AWS_EXAMPLES = path.resolve(import.meta.dirname, '../../../test/fixtures/alb/aws-doc-examples.log');

function alb(line: string): AlbRecord {
  const r = parseAlbLine(line);
  if (!r.ok) throw new Error(`not parsed: ${r.reason}: ${line}`);
  return r.record;
}

const TAIL = `arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2024-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"`;

describe('ALB access log lines', () => {
  it('parses every line of AWS documentation examples, each field in its place', () => {
    const lines = fs.readFileSync(AWS_EXAMPLES, 'utf8').split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(parseAlbLine(line).ok, line).toBe(true);
    const first = alb(lines[0]!);
    expect(first).toMatchObject({
      type: 'http',
      time: '2018-07-02T22:23:00.186641Z',
      elb: 'app/my-loadbalancer/50dc6c495c0c9188',
      client_ip: '192.168.131.39',
      client_port: 2817,
      target_ip: '10.0.0.1',
      target_port: 80,
      request_processing_time: 0,
      target_processing_time: 0.001,
      response_processing_time: 0,
      elb_status_code: 200,
      target_status_code: 200,
      received_bytes: 34,
      sent_bytes: 366,
      method: 'GET',
      url: 'http://www.example.com:80/',
      protocol: 'HTTP/1.1',
      host: 'www.example.com',
      port: 80,
      path: '/',
      query: null,
      user_agent: 'curl/7.46.0',
      ssl_cipher: null,
      ssl_protocol: null,
      trace_id: 'Root=1-58337262-36d228ad5d99923122bbe354',
      domain_name: null,
      matched_rule_priority: 0,
      request_creation_time: '2018-07-02T22:22:48.364000Z',
      actions_executed: 'forward',
      target_port_list: '10.0.0.1:80',
      target_status_code_list: '200',
      classification: null,
      conn_trace_id: null,
      extra: [],
    });
    const https = alb(lines[1]!);
    expect(https).toMatchObject({ ssl_cipher: 'ECDHE-RSA-AES128-GCM-SHA256', ssl_protocol: 'TLSv1.2', domain_name: 'www.example.com', actions_executed: 'authenticate,forward' });
    expect(https.chosen_cert_arn).toContain('certificate/12345678');
    expect(alb(lines[2]!)).toMatchObject({ type: 'h2', actions_executed: 'redirect', redirect_url: 'https://example.com:80/' });
    expect(alb(lines[3]!)).toMatchObject({ type: 'ws', elb_status_code: 101, user_agent: null });
    // Lambda targets: no target address; a failed invocation has no target status.
    const lambda = alb(lines[6]!);
    expect(lambda).toMatchObject({ target_ip: null, target_port: null, elb_status_code: 502, target_status_code: null, error_reason: 'LambdaInvalidResponse' });
  });

  it('takes IPv6 clients without brackets, spaces in the URL, -1 timings and escapes', () => {
    const v6 = alb(`https 2024-07-02T22:23:00.186641Z app/lb/1 2001:db8:85a3::8a2e:370:7334:51234 [2001:db8::5]:443 -1 -1 -1 460 - 120 0 "GET https://shop.example.com:443/a b/c?x=1 y HTTP/1.1" "Mozilla/5.0 caf\\xC3\\xA9 \\x22quoted\\x22" TLS_AES_128_GCM_SHA256 TLSv1.3 ${TAIL}`);
    expect(v6).toMatchObject({
      client_ip: '2001:db8:85a3::8a2e:370:7334',
      client_port: 51234,
      target_ip: '[2001:db8::5]',
      target_port: 443,
      request_processing_time: null,
      target_processing_time: null,
      response_processing_time: null,
      elb_status_code: 460,
      target_status_code: null,
      url: 'https://shop.example.com:443/a b/c?x=1 y',
      path: '/a b/c',
      query: 'x=1 y',
      protocol: 'HTTP/1.1',
      user_agent: 'Mozilla/5.0 café "quoted"',
    });
  });

  it('keeps a request ALB could not read, gRPC, WAF blocks, the connection trace id, the 2025 transform fields and unknown trailing fields', () => {
    const malformed = alb(`http 2024-07-02T22:23:00.186641Z app/lb/1 198.51.100.7:40000 - -1 -1 -1 400 - 0 272 "- - - " "-" - - - "-" "-" "-" - - "-" "-" "-" "-" "-" "-" "-"`);
    expect(malformed).toMatchObject({ method: null, url: null, path: null, elb_status_code: 400, target_status_code: null, user_agent: null });
    // A request line ALB mangled (the URL glued to a dash, no protocol), and later fields past the
    // 2025 ones, bare and quoted.
    const mangled = alb(`http 2025-03-01T10:03:17.218099Z app/lb/2 192.0.2.44:61084 - -1 -1 -1 400 - 0 272 "- http://lb-2.elb.example.com:80- -" "-" - - - "-" "-" "-" - 2025-03-01T10:03:16.682000Z "-" "-" "-" "-" "-" "-" "-" TID_6c "-" "-" "-" 198.51.100.60 "-" "-"`);
    expect(mangled).toMatchObject({ method: null, protocol: null, elb_status_code: 400, conn_trace_id: 'TID_6c', extra: ['198.51.100.60', '-', '-'] });
    const grpc = alb(`h2 2024-07-02T22:23:00.186641Z app/lb/1 10.0.0.9:5000 10.0.1.2:50051 0.000 0.012 0.000 200 200 96 210 "POST https://api.example.com:443/helloworld.Greeter/SayHello HTTP/2.0" "grpc-node/1.24.2" TLS_AES_128_GCM_SHA256 TLSv1.3 ${TAIL} TID_0a1b2c3d4e5f`);
    expect(grpc).toMatchObject({ method: 'POST', path: '/helloworld.Greeter/SayHello', protocol: 'HTTP/2.0', conn_trace_id: 'TID_0a1b2c3d4e5f' });
    const waf = alb(`https 2024-07-02T22:23:00.186641Z app/lb/1 203.0.113.5:1111 - -1 -1 -1 403 - 310 412 "GET https://www.example.com:443/admin HTTP/1.1" "sqlmap/1.7" TLS_AES_128_GCM_SHA256 TLSv1.3 - "Root=1-6" "www.example.com" "arn:aws:acm:x" 0 2024-07-02T22:22:48.364000Z "waf" "-" "-" "-" "-" "-" "-" TID_ff "-" "-" "-"`);
    expect(waf).toMatchObject({ actions_executed: 'waf', elb_status_code: 403, target_ip: null, conn_trace_id: 'TID_ff', transformed_host: null });
    const transformed = alb(`https 2024-07-02T22:23:00.186641Z app/lb/1 203.0.113.5:1111 10.0.0.1:80 0.001 0.002 0.000 200 200 1 2 "GET https://old.example.com:443/v1/x HTTP/1.1" "ua" c p ${TAIL} TID_01 "new.example.com" "/v2/x" "TransformSuccess" "something new" 42`);
    expect(transformed).toMatchObject({ transformed_host: 'new.example.com', transformed_uri: '/v2/x', request_transform_status: 'TransformSuccess', extra: ['something new', '42'] });
  });

  it('refuses what is no ALB entry, saying why', () => {
    expect(parseAlbLine('hello world')).toMatchObject({ ok: false });
    expect(parseAlbLine(`ftp 2024-07-02T22:23:00Z app/lb/1 1.2.3.4:5 - 0 0 0 200 200 1 1 "GET / HTTP/1.1"`)).toMatchObject({ ok: false, reason: expect.stringContaining('type') });
    expect(parseAlbLine(`http yesterday app/lb/1 1.2.3.4:5 - 0 0 0 200 200 1 1 "GET / HTTP/1.1"`)).toMatchObject({ ok: false, reason: expect.stringContaining('time') });
    expect(parseAlbLine(`http 2024-07-02T22:23:00Z app/lb/1 1.2.3.4:5 - 0 0 0 2x0 200 1 1 "GET / HTTP/1.1"`)).toMatchObject({ ok: false, reason: expect.stringContaining('status') });
    expect(parseAlbLine(`http 2024-07-02T22:23:00Z app/lb/1 1.2.3.4:5 - 0 0 0 200 200 1 1 "GET / HTTP/1.1`)).toMatchObject({ ok: false, reason: expect.stringContaining('quoted') });
  });

  it('parses connection log entries', () => {
    const r = parseAlbConnectionLine('2023-10-04T17:29:02.591124Z 203.0.113.1 35898 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.002 - - - Success TID_0a1b2c3d');
    expect(r).toMatchObject({ ok: true, record: { client_ip: '203.0.113.1', client_port: 35898, listener_port: 443, tls_handshake_latency: 0.002, tls_verify_status: 'Success', conn_trace_id: 'TID_0a1b2c3d' } });
  });
});

describe('common and combined log lines', () => {
  it('parses combined lines with escapes, time zones and - sizes', () => {
    const r = parseClfLine('203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 \\xC3\\xA9t\\xC3\\xA9"');
    expect(r).toMatchObject({
      ok: true,
      record: { client_ip: '203.0.113.9', user: 'frank', time: '2000-10-10T20:55:36Z', method: 'GET', path: '/apache_pb.gif', query: 'x=1', status: 200, bytes: 2326, referer: 'http://www.example.com/start.html', user_agent: 'Mozilla/4.08 été' },
    });
    expect(parseClfLine('::1 - - [01/Jan/2026:00:00:00 +0000] "POST /api HTTP/1.1" 204 - "-" "-" 0.012')).toMatchObject({
      ok: true,
      record: { client_ip: '::1', bytes: null, referer: null, user_agent: null, extra: ['0.012'] },
    });
    expect(parseClfLine('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 157')).toMatchObject({ ok: true, record: { status: 400, method: null } });
  });

  it('parses common lines and refuses others with a reason', () => {
    expect(parseClfLine('127.0.0.1 - - [24/Nov/2026:10:00:00 +0100] "GET / HTTP/1.1" 304 0')).toMatchObject({ ok: true, record: { time: '2026-11-24T09:00:00Z', referer: null } });
    expect(parseClfLine('not a log line')).toMatchObject({ ok: false });
    expect(parseClfLine('127.0.0.1 - - [24/Nov/2026:10:00:00] "GET / HTTP/1.1" 200 1')).toMatchObject({ ok: false });
  });
});

describe('fields', () => {
  it('splits quoted fields that hold quotes and spaces', () => {
    expect(splitFields('a "b c" "d"e f" -')).toEqual(['a', 'b c', 'd"e f', '-']);
    expect(splitFields('a "b')).toBeNull();
    expect(decodeEscapes('x\\x41\\xzz')).toBe('xA\\xzz');
  });
});

describe('URL patterns', () => {
  it('collapses numbers, UUIDs and id-like tokens, and keeps words', () => {
    expect(urlPattern('/users/1234/orders/5f1c2e9a-1b2c-4d3e-8f9a-0b1c2d3e4f5a')).toBe('/users/{id}/orders/{id}');
    expect(urlPattern('/files/9f86d081884c7d65/download')).toBe('/files/{id}/download');
    expect(urlPattern('/s/aZ3kQ9xB2w')).toBe('/s/{id}');
    expect(urlPattern('/products/categories/oauth2callback')).toBe('/products/categories/oauth2callback');
    expect(urlPattern('/')).toBe('/');
    expect(['deadbeef', 'feedback', 'v2', 'settings'].map(isIdSegment)).toEqual([false, false, false, false]);
  });
});

describe('format detection', () => {
  it('tells ALB, connection logs, combined, common, NDJSON and syslog apart', () => {
    const lines = fs.readFileSync(AWS_EXAMPLES, 'utf8').split('\n');
    expect(detectFormat(lines)).toBe('alb');
    expect(detectFormat(['2023-10-04T17:29:02.591124Z 203.0.113.1 35898 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.002 - - - Success TID_0a'])).toBe('alb-connection');
    expect(detectFormat(['1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "ua"'])).toBe('combined');
    expect(detectFormat(['1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1'])).toBe('common');
    expect(detectFormat(['{"msg":"x"}', '{"msg":"y"}'])).toBe('ndjson');
    expect(detectFormat(['<13>1 2026-01-01T00:00:00Z h a - - - m'])).toBe('syslog');
    expect(detectFormat(['what is this', 'no idea'])).toBeNull();
  });
});
