// The loghaven SDK, shipped as `loghaven/sdk`: a logger that knows where each log came from.
//
//   import { createLogger } from 'loghaven/sdk';
//   const log = createLogger({ url: 'http://127.0.0.1:7700', service: 'shop', rules: [{ source: 'src/payments/**', category: 'payments' }] });
//   log.info('charged', { order: 42 });
//   const req = log.child({ request_id: 'r1' });
//   await log.close();
//
// Each call captures its caller's `file:line:column function` (one V8 structured call site,
// cached by position: see source.ts), assigns the category — the logger's or a child's, else
// the first routing rule that matches (the server's rules and globs, pipeline/routing.ts) —
// and hands the record to a batching sender (client/ingester.ts): NDJSON over HTTP (gzip), or
// the ZeroMQ ROUTER socket, with retry and backoff while the server is away. The buffer is
// bounded (`bufferSize` bytes): past it records are dropped and counted, never a crash.

import os from 'node:os';
import { LoghavenClient } from '../client/client.js';
import { Ingester } from '../client/ingester.js';
import type { IngestAnswer } from '../client/types.js';
import { Router, type RoutingRule } from '../pipeline/routing.js';
import { SourceCache, type CallSiteInfo } from './source.js';

export type { RoutingRule } from '../pipeline/routing.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export interface LoggerOptions {
  /** The server: `http://host:7700`, or with transport `zeromq` its ROUTER endpoint (`tcp://host:5556`). */
  url: string;
  service?: string;
  /** Defaults to this machine's host name. */
  host?: string;
  transport?: 'http' | 'zeromq';
  apiKey?: string;
  tenant?: string;
  /** Bytes of records that may wait for the server; past it records are dropped and counted (default 16 MiB). */
  bufferSize?: number;
  /** Records per batch (default 1000), and the longest a record waits for its batch (default 1000 ms). */
  batchSize?: number;
  flushMs?: number;
  /** Category rules, as in the server's `[[routing.rules]]`. */
  rules?: RoutingRule[];
  /** The category of every record of this logger (rules are not consulted then). */
  category?: string;
  /** Lowest level sent (default `trace`: everything). */
  level?: Level;
  /** Capture the caller's source location (default true). */
  captureSource?: boolean;
  /** Compress HTTP batches (default true). */
  gzip?: boolean;
}

export interface LoggerStats {
  sourceCacheHits: number;
  sourceCacheMisses: number;
  /** Records the server stored. */
  sent: number;
  /** Records dropped: the buffer was full, or the server refused them or could not be reached at close. */
  dropped: number;
  /** Records waiting to be sent (a batch in flight included). */
  buffered: number;
}

/** What the loggers of one createLogger share. */
interface Core {
  ingester: Ingester;
  sources: SourceCache | null;
  router: Router | null;
  host: string;
  minLevel: number;
  tenant: string | undefined;
  close(timeoutMs: number): Promise<void>;
}

const RANK: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };

export class Logger {
  constructor(
    private readonly core: Core,
    private readonly service: string | undefined,
    private readonly category: string | undefined,
    private readonly bound: Record<string, unknown>,
  ) {}

  trace(message: string, attrs?: Record<string, unknown>): void {
    this.emit('trace', message, attrs, Logger.prototype.trace);
  }

  debug(message: string, attrs?: Record<string, unknown>): void {
    this.emit('debug', message, attrs, Logger.prototype.debug);
  }

  info(message: string, attrs?: Record<string, unknown>): void {
    this.emit('info', message, attrs, Logger.prototype.info);
  }

  warn(message: string, attrs?: Record<string, unknown>): void {
    this.emit('warn', message, attrs, Logger.prototype.warn);
  }

  error(message: string, attrs?: Record<string, unknown>): void {
    this.emit('error', message, attrs, Logger.prototype.error);
  }

  fatal(message: string, attrs?: Record<string, unknown>): void {
    this.emit('fatal', message, attrs, Logger.prototype.fatal);
  }

  /** A logger whose records carry `fields` too; `category` and `service` among them set those. */
  child(fields: Record<string, unknown> & { category?: string; service?: string }): Logger {
    const { category, service, ...rest } = fields;
    return new Logger(this.core, service ?? this.service, category ?? this.category, { ...this.bound, ...rest });
  }

  /** Resolves once everything logged so far is sent (or given up). */
  flush(): Promise<void> {
    return this.core.ingester.flush();
  }

  /**
   * Sends what is buffered and stops: for the end of a program. What cannot be sent within
   * `timeoutMs` (the server is away) is given up and counted as dropped.
   */
  close(timeoutMs = 30_000): Promise<void> {
    return this.core.close(timeoutMs);
  }

  stats(): LoggerStats {
    const s = this.core.ingester.stats;
    return {
      sourceCacheHits: this.core.sources?.hits ?? 0,
      sourceCacheMisses: this.core.sources?.misses ?? 0,
      sent: s.accepted,
      dropped: s.dropped + s.rejected + s.failed,
      buffered: s.buffered,
    };
  }

  private emit(level: Level, message: string, attrs: Record<string, unknown> | undefined, method: Function): void {
    const core = this.core;
    if (RANK[level] < core.minLevel) return;
    const site = core.sources === null ? null : core.sources.callerOf(method);
    const category = this.category ?? this.routed(site, level);
    // The record's own fields last: they win over attributes of the same name.
    core.ingester.log({
      ...this.bound,
      ...attrs,
      ts: Date.now(),
      level,
      message,
      service: this.service,
      host: core.host,
      category: category ?? undefined,
      source: site?.source,
    });
  }

  private routed(site: CallSiteInfo | null, level: Level): string | null {
    const router = this.core.router;
    if (router === null) return null;
    // Cached per call site (and level) when the service is the logger's own.
    const key = `${level}\u0000${this.service ?? ''}`;
    const known = site?.categories.get(key);
    if (known !== undefined) return known;
    const category = router.match({ source: site?.source ?? null, service: this.service ?? null, host: this.core.host, tenant: this.core.tenant ?? null, level });
    site?.categories.set(key, category);
    return category;
  }
}

/** A logger shipping to `url`; see LoggerOptions. */
export function createLogger(options: LoggerOptions): Logger {
  const router = options.rules !== undefined && options.rules.length > 0 ? new Router(options.rules) : null;
  const ingesterOptions = { maxRecords: options.batchSize ?? 1000, flushMs: options.flushMs ?? 1000, maxBufferedBytes: options.bufferSize ?? 16 * 2 ** 20 };
  let closeTransport: () => Promise<void> = async () => undefined;
  let ingester: Ingester;
  if ((options.transport ?? 'http') === 'zeromq') {
    const zmq = zeromqSender(options.url);
    ingester = new Ingester(zmq.send, ingesterOptions);
    closeTransport = zmq.close;
  } else {
    const client = new LoghavenClient({ url: options.url, apiKey: options.apiKey, tenant: options.tenant, gzip: options.gzip ?? true });
    ingester = client.ingester(ingesterOptions);
  }
  const core: Core = {
    ingester,
    sources: options.captureSource === false ? null : new SourceCache(),
    router,
    host: options.host ?? os.hostname(),
    minLevel: RANK[options.level ?? 'trace'],
    tenant: options.tenant,
    close: async (timeoutMs) => {
      await ingester.close(timeoutMs);
      await closeTransport();
    },
  };
  return new Logger(core, options.service, options.category, {});
}

/** NDJSON batches over the ZeroMQ ROUTER socket (loghaven/zmq-client), connected on first use. */
function zeromqSender(endpoint: string): { send: (ndjson: string) => Promise<IngestAnswer>; close: () => Promise<void> } {
  let client: Promise<import('../ingest/zeromq/client.js').LoghavenZmqClient> | null = null;
  const connect = async () => {
    const { LoghavenZmqClient } = await import('../ingest/zeromq/client.js');
    return LoghavenZmqClient.connect(endpoint);
  };
  return {
    send: async (ndjson) => {
      client ??= connect();
      const ack = await (await client).send(ndjson);
      return { accepted: ack.accepted, rejected: ack.rejected, errors: ack.errors.map((e) => ({ line: e.line, error: e.error })) };
    },
    close: async () => {
      if (client !== null) await (await client).close();
    },
  };
}
