// A pino transport, shipped as `loghaven/pino`: pino's records to a loghaven server, batched and
// retried like the SDK's (client/ingester.ts).
//
//   const logger = pino(pino.transport({ target: 'loghaven/pino', options: { url: 'http://127.0.0.1:7700', service: 'shop' } }));
//
// pino's numeric levels become names (10 trace … 60 fatal; any other number is kept as given),
// `time` the timestamp, `msg` the message, `hostname` the host and `name` the service (unless
// `service` is given); `pid` and every other field go to attrs.

import build from 'pino-abstract-transport';
import { LoghavenClient } from '../client/client.js';

export interface PinoTransportOptions {
  url: string;
  apiKey?: string;
  tenant?: string;
  /** The service of every record (default: pino's `name`). */
  service?: string;
  /** The category of every record (default: the server's routing). */
  category?: string;
  /** Bytes of records that may wait for the server; past it records are dropped (default 16 MiB). */
  bufferSize?: number;
}

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** One pino record as the server's record (SPEC §1). */
export function fromPino(obj: Record<string, unknown>, options: Pick<PinoTransportOptions, 'service' | 'category'> = {}): Record<string, unknown> {
  const { level, time, msg, hostname, name, ...rest } = obj;
  return {
    ...rest,
    ts: time,
    level: typeof level === 'number' ? (PINO_LEVELS[level] ?? level) : level,
    message: msg,
    host: hostname,
    service: options.service ?? name,
    ...(options.category === undefined ? {} : { category: options.category }),
  };
}

export default async function loghavenTransport(options: PinoTransportOptions) {
  if (typeof options?.url !== 'string' || options.url === '') throw new Error('loghaven/pino: options.url is required (e.g. "http://127.0.0.1:7700")');
  const client = new LoghavenClient({ url: options.url, apiKey: options.apiKey, tenant: options.tenant, gzip: true });
  const ingester = client.ingester({ maxBufferedBytes: options.bufferSize ?? 16 * 2 ** 20 });
  return build(
    async (source: AsyncIterable<Record<string, unknown>>) => {
      for await (const obj of source) ingester.log(fromPino(obj, options));
    },
    {
      async close() {
        await ingester.close();
      },
    },
  );
}
