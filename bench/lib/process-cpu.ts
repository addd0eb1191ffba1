// CPU time of a process (user + system, all its threads) from /proc, to say how much of the
// machine the server under test and its baseline used for the same work.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Seconds of CPU the process has used since it started; NaN once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), 1-based from state: utime is 12, stime 13.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** This process's own CPU seconds, worker threads included. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Milliseconds each CPU has had stolen by the hypervisor (steal in /proc/stat) since boot; [] where there is none to read. */
function stolenMs(): number[] {
  try {
    return fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => (Number(l.split(/\s+/)[8]) * 1000) / TICKS_PER_SECOND);
  } catch {
    return [];
  }
}

/** What a steal sampler saw: per CPU, the time stolen in all and the most in one sample. */
export interface Steal {
  totalMs: number[];
  worstMs: number[];
  sampleMs: number;
}

/**
 * Samples the CPUs' stolen time every `sampleMs` until stopped: a virtual machine's CPU held by
 * the host stalls whatever runs on it (a load generator, say) without the stalled program or the
 * server seeing why.
 */
export function sampleSteal(sampleMs = 50): { stop(): Steal } {
  let last = stolenMs();
  const totalMs = last.map(() => 0);
  const worstMs = last.map(() => 0);
  const timer = setInterval(() => {
    const now = stolenMs();
    now.forEach((v, i) => {
      const d = v - (last[i] ?? v);
      totalMs[i] = (totalMs[i] ?? 0) + d;
      worstMs[i] = Math.max(worstMs[i] ?? 0, d);
    });
    last = now;
  }, sampleMs);
  timer.unref();
  return {
    /** Stops sampling and says what it saw. */
    stop() {
      clearInterval(timer);
      return { totalMs, worstMs, sampleMs };
    },
  };
}
