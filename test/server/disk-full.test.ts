// A full data directory: ingest answers 507 with a message, nothing acknowledged is lost, the
// store stays consistent, /ready says why, and ingest resumes by itself once space is freed.
// Runs on a small tmpfs, which needs root; elsewhere it is skipped, saying why.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, type ChildServer } from '../helpers/child-server.js';
import { logLine } from '../helpers/log-lines.js';

const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-full-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  mounted = true;
} catch (e) {
  console.warn(`disk-full test skipped: cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]})`);
}

describe.skipIf(!mounted)('disk full', () => {
  let server: ChildServer;
  const dataDir = path.join(mountPoint, 'data');
  const filler = path.join(mountPoint, 'filler');

  beforeAll(async () => {
    server = await startChild(dataDir, { env: { LOGHAVEN_LOG_LEVEL: 'error' } });
  });
  afterAll(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    execFileSync('umount', ['-l', mountPoint]);
    fs.rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers 507, keeps what it acknowledged, and resumes once space is freed', async () => {
    const acked: string[] = [];
    let n = 0;
    const send = async () => {
      const start = n;
      n += 500;
      const body = Array.from({ length: 500 }, (_, i) => logLine(start + i, 'df').text).join('\n');
      const r = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', body });
      const json = (await r.json()) as { message?: string };
      if (r.status === 200) for (let i = 0; i < 500; i++) acked.push(`df-${start + i}`);
      return { status: r.status, json, retryAfter: r.headers.get('retry-after') };
    };
    expect((await send()).status).toBe(200);
    // Leave about a megabyte free, then keep sending until the disk refuses.
    const free = fs.statfsSync(mountPoint).bavail * fs.statfsSync(mountPoint).bsize;
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - 2 ** 20)));
    let full: Awaited<ReturnType<typeof send>> | null = null;
    for (let i = 0; i < 200 && full === null; i++) {
      const r = await send();
      if (r.status === 507) full = r;
      else expect([200, 429]).toContain(r.status);
    }
    expect(full, 'no 507 while the disk was full').not.toBeNull();
    expect(full!.json.message).toMatch(/space/);
    const notReady = await fetch(`${server.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(JSON.stringify(await notReady.json())).toMatch(/disk/);

    fs.rmSync(filler);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await send()).status;
      if (status !== 200) await new Promise((w) => setTimeout(w, 200));
    }
    expect(status).toBe(200);
    // Readiness comes back once the loader has caught up on what it could not load meanwhile.
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`${server.url}/ready`)).status;
      if (ready !== 200) await new Promise((w) => setTimeout(w, 200));
    }
    expect(ready).toBe(200);
    const r = await fetch(`${server.url}/api/v1/logs/export?q=${encodeURIComponent('id:df-*')}&format=ndjson`);
    expect(r.status).toBe(200);
    const stored = new Set((await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l).attrs.id as string));
    for (const id of acked) expect(stored.has(id), id).toBe(true);
    expect(stored.size).toBe(acked.length);
  });
});
