// rsyslog as the syslog baseline: `rsyslogd -n` in the foreground with its own configuration in
// a temporary directory, receiving on imtcp and writing every message to one file with omfile.
// The message is re-rendered whole (RFC 5424, RSYSLOG_SyslogProtocol23Format), so rsyslog parses
// every header field loghaven parses and writes all of them out.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/helpers/child-server.js';

export interface RsyslogOptions {
  /** omfile `sync="on"`: fsync the file (and its directory) after every batch rsyslog writes. */
  sync: boolean;
}

export class Rsyslogd {
  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
    readonly outFile: string,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  static async start(binary: string, opts: RsyslogOptions): Promise<Rsyslogd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loghaven-rsyslog-'));
    const port = await freePort();
    const outFile = path.join(dir, 'messages.log');
    const conf = path.join(dir, 'rsyslog.conf');
    // Defaults everywhere else: imtcp's workers, the main queue, omfile's 4 KiB buffer flushed at
    // the end of each batch (a write(2), no fsync unless sync is on). A ruleset of its own keeps
    // rsyslog's messages about itself out of the file.
    fs.writeFileSync(
      conf,
      [
        `global(workDirectory="${dir}" maxMessageSize="64k")`,
        `module(load="imtcp")`,
        `input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="bench")`,
        `ruleset(name="bench") {`,
        `  action(type="omfile" file="${outFile}" template="RSYSLOG_SyslogProtocol23Format"${opts.sync ? ' sync="on"' : ''})`,
        `}`,
        '',
      ].join('\n'),
    );
    const proc = spawn(binary, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const r = new Rsyslogd(proc, port, outFile, dir, () => out);
    const deadline = Date.now() + 20_000;
    while (!(await accepts(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await r.stop();
        throw new Error(`rsyslogd did not listen on ${port}: ${out}`);
      }
      await new Promise((w) => setTimeout(w, 50));
    }
    return r;
  }

  /** Bytes rsyslog has written to its file so far. */
  bytesWritten(): number {
    try {
      return fs.statSync(this.outFile).size;
    } catch {
      return 0;
    }
  }

  /** Lines in the file (read whole: call it outside timed sections). */
  linesWritten(): number {
    let fd: number;
    try {
      fd = fs.openSync(this.outFile, 'r');
    } catch {
      return 0;
    }
    const buf = Buffer.allocUnsafe(4 * 2 ** 20);
    let lines = 0;
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
      }
    } finally {
      fs.closeSync(fd);
    }
    return lines;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  get log(): string {
    return this.output();
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
