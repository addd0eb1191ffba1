// Graceful shutdown for `loghaven start`: the first SIGTERM/SIGINT calls `close()` once (the server
// stops accepting, drains its queues, flushes and closes) and exits 0; a second signal exits at
// once with 130 for the operator who will not wait.

import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK } from './exit-codes.js';

export interface ClosableServer {
  close(): Promise<void>;
}

export interface ShutdownOptions {
  signals?: readonly NodeJS.Signals[];
  log?: (line: string) => void;
  exit?: (code: number) => void;
}

export function closeOnSignals(server: ClosableServer, options: ShutdownOptions = {}): void {
  const { signals = ['SIGTERM', 'SIGINT'], log = (line) => process.stderr.write(`${line}\n`), exit = (code) => process.exit(code) } = options;
  let closing = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log(`received ${signal} again; exiting without waiting for shutdown`);
      exit(EXIT_INTERRUPTED);
      return;
    }
    closing = true;
    log(`received ${signal}; shutting down (send it again to exit at once)`);
    server.close().then(
      () => exit(EXIT_OK),
      (err: unknown) => {
        log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        exit(EXIT_FAILURE);
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
}
