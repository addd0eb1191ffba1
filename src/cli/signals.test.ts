// closeOnSignals in a real child process receiving real signals.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A process whose "server" takes `closeDelayMs` to close; resolves once it is ready for signals. */
function startFakeServer(closeDelayMs: number) {
  const script = `
    import { closeOnSignals } from './src/cli/signals.ts';
    closeOnSignals({
      close: () => new Promise((resolve) => setTimeout(() => { process.stdout.write('closed\\n'); resolve(); }, ${closeDelayMs})),
    });
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready')) resolve();
    });
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, ready, exited };
}

describe('closeOnSignals', () => {
  it('closes the server once on SIGTERM and exits 0', async () => {
    const { child, ready, exited } = startFakeServer(50);
    await ready;
    child.kill('SIGTERM');
    const result = await exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('ready\nclosed\n');
    expect(result.stderr).toContain('received SIGTERM; shutting down');
  });

  it('exits 130 at once on a second signal during a slow shutdown', async () => {
    const { child, ready, exited } = startFakeServer(10_000);
    await ready;
    child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGTERM');
    const result = await exited;
    expect(result.code).toBe(130);
    expect(result.stdout).toBe('ready\n');
    expect(result.stderr).toContain('received SIGTERM again; exiting without waiting for shutdown');
  });
});
