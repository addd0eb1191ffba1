// `loghaven import` against a real server: a directory tree as ALB writes it (plain and .gz), a
// combined file with a bad line, stdin; the JSON summary with every bad line's file and number;
// no progress bar when the output is not a terminal.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startChild, stopChild, type ChildServer } from '../helpers/child-server.js';
import { searchLogs } from '../helpers/logs-api.js';

const AWS_EXAMPLES = path.resolve(import.meta.dirname, '../fixtures/alb/aws-doc-examples.log');

let server: ChildServer;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-import-'));
  server = await startChild(path.join(dir, 'data'));
}, 60_000);

afterAll(async () => {
  await stopChild(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Summary {
  files: number;
  lines: number;
  accepted: number;
  rejected: number;
  errors: { file: string; line: number; reason: string }[];
  skipped_files: unknown[];
}

async function importJson(args: string[], input?: string): Promise<{ summary: Summary; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'import', '--url', server.url, '--json', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  child.stdin.end(input ?? '');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(code, err).toBe(0);
  return { summary: JSON.parse(out) as Summary, stderr: err };
}

describe('loghaven import', () => {
  it('reads a directory tree of plain and gzipped ALB logs and a combined file, reporting bad lines by file and number', async () => {
    const tree = path.join(dir, 'AWSLogs', '123456789012', 'elasticloadbalancing', 'us-east-2', '2026', '11', '29');
    fs.mkdirSync(tree, { recursive: true });
    const alb = fs.readFileSync(AWS_EXAMPLES);
    fs.writeFileSync(path.join(tree, 'a.log'), alb);
    fs.writeFileSync(path.join(tree, 'b.log.gz'), zlib.gzipSync(alb));
    const web = path.join(dir, 'AWSLogs', 'web.log');
    const good = '198.51.100.1 - - [29/Nov/2026:10:00:00 +0000] "GET /items/{n} HTTP/1.1" 200 10 "-" "curl/8"';
    fs.writeFileSync(web, [good.replace('{n}', '1'), good.replace('{n}', '2'), 'this line is broken', good.replace('{n}', '3')].join('\n') + '\n');
    const { summary, stderr } = await importJson([path.join(dir, 'AWSLogs')]);
    expect(summary).toMatchObject({ files: 3, lines: 18, accepted: 17, rejected: 1, skipped_files: [] });
    expect(summary.errors).toEqual([{ file: web, line: 3, reason: expect.stringContaining('combined') }]);
    expect(stderr).toBe(''); // not a terminal: no progress bar
    expect(await searchLogs(server.url, 'source:alb')).toHaveLength(14);
    expect(await searchLogs(server.url, 'source:combined')).toHaveLength(3);
  });

  it('reads stdin, with the format named', async () => {
    const { summary } = await importJson(['--format', 'syslog', '-'], '<13>1 2026-11-29T10:00:00Z h app - - - piped in\n<13>1 2026-11-29T10:00:01Z h app - - - and again\n');
    expect(summary).toMatchObject({ lines: 2, accepted: 2, rejected: 0 });
  });

  it('shows a moving progress bar on a terminal', async () => {
    // util-linux `script` runs the import on a pseudo-terminal.
    const big = path.join(dir, 'big.log');
    const line = fs.readFileSync(AWS_EXAMPLES, 'utf8').split('\n')[0]!;
    fs.writeFileSync(big, `${line}\n`.repeat(40_000));
    const command = [process.execPath, CLI, 'import', '--url', server.url, '--chunk-bytes', '200000', big].map((a) => `'${a}'`).join(' ');
    const r = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { maxBuffer: 64 * 2 ** 20 });
    // cli-progress redraws each frame from the first column (ESC [1G).
    const frames = r.stdout.split('\x1b[1G').filter((f) => /\d+% \| [\d,]+ lines \| [\d,]+ lines\/s/.test(f));
    expect(frames.length).toBeGreaterThan(2);
    expect(new Set(frames.map((f) => /(\d+)%/.exec(f)![1])).size).toBeGreaterThan(1);
    expect(r.stdout).toContain('40,000 stored');
  });

  it('fails with a clear message for a path that does not exist', async () => {
    const r = await promisify(execFile)(process.execPath, [CLI, 'import', '--url', server.url, path.join(dir, 'nope.log')]).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('nope.log');
  });
});
