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
import { SourceCache, callerFrame, type CallSiteInfo } from './source.js';

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
const LEVEL_JSON: Record<Level, string> = { trace: ',"level":"trace"', debug: ',"level":"debug"', info: ',"level":"info"', warn: ',"level":"warn"', error: ',"level":"error"', fatal: ',"level":"fatal"' };
/** The fields a logger writes itself: an attribute or bound field of the same name gives way to them. */
const OWN_FIELDS = new Set(['ts', 'level', 'message', 'service', 'host', 'category', 'source']);

export class Logger {
  /** `,"service":…,"host":…` and the bound fields, rendered once per logger. */
  private readonly fixedJson: string;
  /** `,"category":…` when the logger has its own category, else null (rules decide, per call site). */
  private readonly categoryJson: string | null;
  private readonly boundKeys: ReadonlySet<string>;

  constructor(
    private readonly core: Core,
    private readonly service: string | undefined,
    private readonly category: string | undefined,
    private readonly bound: Record<string, unknown>,
  ) {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(bound)) if (!OWN_FIELDS.has(k)) fields[k] = v;
    const boundJson = JSON.stringify(fields).slice(1, -1);
    this.boundKeys = new Set(Object.keys(fields));
    this.fixedJson = `${service === undefined ? '' : `,"service":${JSON.stringify(service)}`},"host":${JSON.stringify(core.host)}${boundJson === '' ? '' : `,${boundJson}`}`;
    this.categoryJson = category === undefined ? null : `,"category":${JSON.stringify(category)}`;
  }

  trace(message: string, attrs?: Record<string, unknown>): void {
    if (this.core.minLevel <= 0) this.emit('trace', message, attrs, this.core.sources === null ? undefined : callerFrame(Logger.prototype.trace));
  }

  debug(message: string, attrs?: Record<string, unknown>): void {
    if (this.core.minLevel <= 1) this.emit('debug', message, attrs, this.core.sources === null ? undefined : callerFrame(Logger.prototype.debug));
  }

  info(message: string, attrs?: Record<string, unknown>): void {
    if (this.core.minLevel <= 2) this.emit('info', message, attrs, this.core.sources === null ? undefined : callerFrame(Logger.prototype.info));
  }

  warn(message: string, attrs?: Record<string, unknown>): void {
    if (this.core.minLevel <= 3) this.emit('warn', message, attrs, this.core.sources === null ? undefined : callerFrame(Logger.prototype.warn));
  }

  error(message: string, attrs?: Record<string, unknown>): void {
    if (this.core.minLevel <= 4) this.emit('error', message, attrs, this.core.sources === null ? undefined : callerFrame(Logger.prototype.error));
  }

  fatal(message: string, attrs?: Record<string, unknown>): void {
    if (this.core.minLevel <= 5) this.emit('fatal', message, attrs, this.core.sources === null ? undefined : callerFrame(Logger.prototype.fatal));
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

  /**
   * The record as one JSON line, put together from pieces rendered once (level, service, host,
   * bound fields, the call site's source and category) around the message and the attributes.
   * Attributes that would clash with those pieces, or that are not a plain object, take the
   * general way: one merged object, the record's own fields winning.
   */
  private emit(level: Level, message: string, attrs: Record<string, unknown> | undefined, frame: NodeJS.CallSite | undefined): void {
    const core = this.core;
    const site = frame === undefined || core.sources === null ? null : core.sources.site(frame);
    const categoryJson = this.categoryJson ?? this.routed(site, level);
    const attrsJson = attrs === undefined ? '' : this.attrsJson(attrs);
    if (attrsJson === null || typeof message !== 'string') {
      core.ingester.log(this.merged(level, message, attrs, site));
      return;
    }
    core.ingester.logLine(`{"ts":${Date.now()}${LEVEL_JSON[level]},"message":${JSON.stringify(message)}${this.fixedJson}${categoryJson}${site === null ? '' : site.sourceJson}${attrsJson}}`);
  }

  /** `,"k":v,…` for attributes that fit beside the logger's own fields; null when some do not. */
  private attrsJson(attrs: Record<string, unknown>): string | null {
    if (Array.isArray(attrs)) return null;
    const bound = this.boundKeys.size > 0;
    for (const k in attrs) if (OWN_FIELDS.has(k) || (bound && this.boundKeys.has(k))) return null;
    const json = JSON.stringify(attrs);
    if (json === undefined || json.charCodeAt(0) !== 123 /* { */) return null;
    return json.length === 2 ? '' : `,${json.slice(1, -1)}`;
  }

  /** The general way: bound fields, then attributes, then the record's own fields, each winning over the ones before. */
  private merged(level: Level, message: string, attrs: Record<string, unknown> | undefined, site: CallSiteInfo | null): object {
    return {
      ...this.bound,
      ...attrs,
      ts: Date.now(),
      level,
      message,
      service: this.service,
      host: this.core.host,
      category: this.category ?? this.ruleCategory(site, level) ?? undefined,
      source: site?.source,
    };
  }

  /** `,"category":…` from the rules for this call site, or '' when none decides (the server's rules then do). */
  private routed(site: CallSiteInfo | null, level: Level): string {
    const router = this.core.router;
    if (router === null) return '';
    // Cached per call site, by the logger's service and the level.
    const service = this.service ?? '';
    let byLevel = site?.categoryJson.get(service);
    const known = byLevel?.[RANK[level]];
    if (known !== undefined) return known;
    const category = this.ruleCategory(site, level);
    const json = category === null ? '' : `,"category":${JSON.stringify(category)}`;
    if (site !== null) {
      if (byLevel === undefined) site.categoryJson.set(service, (byLevel = []));
      byLevel[RANK[level]] = json;
    }
    return json;
  }

  private ruleCategory(site: CallSiteInfo | null, level: Level): string | null {
    return this.core.router?.match({ source: site?.source ?? null, service: this.service ?? null, host: this.core.host, tenant: this.core.tenant ?? null, level }) ?? null;
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
function zeromqSender(endpoint: string): { send: (ndjson: Uint8Array) => Promise<IngestAnswer>; close: () => Promise<void> } {
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
