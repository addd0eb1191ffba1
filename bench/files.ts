// npm run bench:files — ingest with the category file sink on, 1,000 categories, a production
// server under `ulimit -n 256`, against the same server with the sink off (`files.enabled =
// false`), alternating, in the same run. Each run: a closed loop of --clients senders posting
// --batch-line NDJSON bodies for --duration seconds (bench:ingest's corpus, each line given one
// of 1,000 categories); then, with the sink on, the time until the files hold every acknowledged
// line, and a check of every file: each line is in the file of its day and category, none is
// missing or twice, and the server never reported running out of descriptors.
//
//   npm run bench:files -- [--duration 30] [--clients 8] [--batch 1000] [--runs 3]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startChild, stopChild } from '../test/helpers/child-server.js';
import { closedLoop } from './lib/closed-loop.js';
import { corpusLines } from './lib/corpus.js';
import { fmt, machine } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
  },
});
const DURATION_S = Number(args.duration);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const RUNS = Number(args.runs);
const CATEGORIES = 1000;

const lines = corpusLines(200_000).map((l, i) => `{"category":"cat-${String(i % CATEGORIES).padStart(4, '0')}",${l.slice(1)}`);
const bodies: Buffer[] = [];
for (let i = 0; i + BATCH <= lines.length; i += BATCH) bodies.push(Buffer.from(lines.slice(i, i + BATCH).join('\n') + '\n'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Run {
  linesPerS: number;
  accepted: number;
  catchUpS?: number;
  filesOk?: string;
  emfileRecoveries?: number;
  failures?: number;
}

/** Lines per file of the category files (the level copies apart), each checked to be in its file. */
function checkFiles(dataDir: string): { lines: number; problems: string[] } {
  const root = path.join(dataDir, 'files');
  let total = 0;
  const problems: string[] = [];
  if (!fs.existsSync(root)) return { lines: 0, problems };
  for (const day of fs.readdirSync(root)) {
    const d = path.join(root, day);
    if (day.startsWith('.') || !fs.statSync(d).isDirectory()) continue;
    for (const f of fs.readdirSync(d)) {
      if (f === 'error.jsonl' || f === 'warning.jsonl') continue;
      const want = `"category":"${f.replace(/\.jsonl$/, '')}"`;
      const text = fs.readFileSync(path.join(d, f), 'utf8');
      let at = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; at = nl + 1, nl = text.indexOf('\n', at)) {
        total++;
        const line = text.slice(at, nl);
        if (!line.includes(want) || !line.startsWith(`{"ts":"${day}T`)) {
          if (problems.length < 5) problems.push(`${day}/${f}: ${line.slice(0, 120)}`);
        }
      }
    }
  }
  return { lines: total, problems };
}

async function oneRun(sink: boolean): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-bench-files-'));
  const server = await startChild(dataDir, { env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_FILES_ENABLED: String(sink) }, auth: true, maxOpenFiles: 256 });
  try {
    const res = await closedLoop({
      url: server.url,
      path: '/api/v1/logs',
      headers: { ...server.headers, 'content-type': 'application/x-ndjson' },
      bodies,
      linesPerBody: BATCH,
      clients: CLIENTS,
      seconds: DURATION_S,
      acked: (r) => (r.status === 200 ? (JSON.parse(r.body.toString()) as { accepted: number }).accepted : null),
    });
    const run: Run = { linesPerS: res.lines / res.seconds, accepted: res.lines };
    if (!sink) return run;
    // Caught up: everything acknowledged is loaded and the files hold every loaded row (asked
    // of the server's metrics: reading the files meanwhile would take the CPU the sink needs).
    const t = performance.now();
    for (;;) {
      const m = await (await fetch(`${server.url}/metrics`, { headers: server.headers })).text();
      const backlog = Number(/^loghaven_ingest_spool_backlog_bytes (\d+)/m.exec(m)?.[1] ?? NaN);
      const behind = Number(/^loghaven_files_behind_rows (\d+)/m.exec(m)?.[1] ?? NaN);
      if ((backlog === 0 && behind === 0) || performance.now() - t > 600_000) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    run.catchUpS = (performance.now() - t) / 1000;
    const check = checkFiles(dataDir);
    run.filesOk = check.lines === res.lines && check.problems.length === 0 ? 'every line in its file, once' : `${check.lines} lines in files for ${res.lines} acknowledged; ${check.problems.join('; ')}`;
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: server.headers })).text();
    run.emfileRecoveries = Number(/^loghaven_files_emfile_recoveries_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
    run.failures = Number(/^loghaven_files_write_failures_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
    if (/EMFILE|too many open files/i.test(server.output())) run.filesOk += ' — the server logged EMFILE';
    return run;
  } finally {
    await stopChild(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`bench:files — ${machine()}; ${CATEGORIES} categories, ${CLIENTS} clients × ${BATCH}-line bodies, ${DURATION_S} s per run, server under ulimit -n 256`);
  const on: Run[] = [];
  const off: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await oneRun(true);
    on.push(a);
    console.log(`  sink on:  ${fmt(a.linesPerS)} lines/s; files complete ${a.catchUpS!.toFixed(1)} s after; ${a.filesOk}; EMFILE recoveries ${a.emfileRecoveries}, write failures ${a.failures}`);
    const b = await oneRun(false);
    off.push(b);
    console.log(`  sink off: ${fmt(b.linesPerS)} lines/s`);
  }
  const ratio = on.map((r, i) => r.linesPerS / off[i]!.linesPerS);
  console.log('\n| measure | figure | target | met |\n|---|---|---|---|');
  const onRate = median(on.map((r) => r.linesPerS));
  console.log(`| ingest, sink on, 1,000 categories, ulimit -n 256 | ${fmt(onRate)} lines/s (${on.map((r) => fmt(r.linesPerS)).join(' · ')}) | ≥ 200,000 lines/s | ${onRate >= 200_000 ? 'yes' : 'no'} |`);
  console.log(`| ingest, sink off, same runs | ${fmt(median(off.map((r) => r.linesPerS)))} lines/s (${off.map((r) => fmt(r.linesPerS)).join(' · ')}) | | |`);
  console.log(`| on / off | ${median(ratio).toFixed(2)} (${ratio.map((x) => x.toFixed(2)).join(' · ')}) | ≥ 0.85 | ${median(ratio) >= 0.85 ? 'yes' : 'no'} |`);
  const allOk = on.every((r) => r.filesOk === 'every line in its file, once' && r.failures === 0);
  console.log(`| every line in its file, no EMFILE surfaced | ${allOk ? 'yes' : on.map((r) => r.filesOk).join('; ')} (EMFILE recoveries ${on.map((r) => r.emfileRecoveries).join(' · ')}) | 0 errors | ${allOk ? 'yes' : 'no'} |`);
  console.log(`| files complete after ingest stops | ${on.map((r) => `${r.catchUpS!.toFixed(1)} s`).join(' · ')} | — | |`);
}

await main();
