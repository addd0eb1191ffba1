// The syslog listeners: TCP (and TLS when a certificate is configured) and UDP on one port.
// TCP framing is detected per connection from its first byte (RFC 6587): a digit starts octet
// counting (`LEN SP MSG`), anything else newline framing. Each chunk read becomes one batch for
// the pipeline. Syslog has no acknowledgements, so what TCP has read is never dropped: past the
// pipeline's bounds a connection stops reading (TCP pushes back on the sender) and retries until
// the batch is taken. UDP cannot push back: past the bounds datagrams are dropped and counted.

import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { isTenantName } from '../../auth/api-key.js';
import fs from 'node:fs';
import { LhError, isLhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import { RowBatchBuilder, type RowBatch } from '../../store/row-format.js';
import { SyslogRowWriter } from './syslog-message.js';

export interface SyslogOptions {
  host: string;
  /** TCP and UDP port; 0 picks a free one. */
  port: number;
  tcp: boolean;
  udp: boolean;
  /**
   * TLS (RFC 5425) on its own port, when a certificate and key are given. With `clientCa`, every
   * client must present a certificate signed by it, and its subject CN is the tenant of what it
   * sends (a CN that is no tenant name is refused).
   */
  tls: { port: number; cert: string; key: string; clientCa?: string } | null;
  /** Longest message; a longer newline-framed line is cut there, a longer octet count refused. */
  maxMessageBytes: number;
  /** Tenant of every record received (syslog carries no key). */
  tenant: string;
}

export interface SyslogDeps {
  pipeline: IngestPipeline;
  metrics: Metrics;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const PROTOCOL = 'syslog';
/** A connection stops reading while this many of its batches wait for the pipeline. */
const MAX_IN_FLIGHT = 8;
const RETRY_MS = 100;
/** At shutdown, how long a connection keeps reading what its sender already sent. */
const FINISH_READ_MS = 500;

export class SyslogListener {
  private readonly connections = new Set<TcpConnection>();
  private udpBatch: SyslogRowWriter | null = null;
  private udpFlush: NodeJS.Immediate | null = null;

  private constructor(
    private readonly options: SyslogOptions,
    private readonly deps: SyslogDeps,
    private readonly tcp: net.Server | null,
    private readonly tlsServer: tls.Server | null,
    private readonly udp: dgram.Socket | null,
  ) {}

  /** Where the listeners are bound (tests ask for port 0). */
  get ports(): { tcp: number | null; udp: number | null; tls: number | null } {
    const port = (s: net.Server | null) => (s?.address() as net.AddressInfo | null)?.port ?? null;
    return { tcp: port(this.tcp), udp: this.udp ? this.udp.address().port : null, tls: port(this.tlsServer) };
  }

  static async start(options: SyslogOptions, deps: SyslogDeps): Promise<SyslogListener> {
    const listeners: { tcp: net.Server | null; tls: tls.Server | null; udp: dgram.Socket | null } = { tcp: null, tls: null, udp: null };
    let listener: SyslogListener | undefined;
    const onConnection = (socket: net.Socket) => listener?.accept(socket);
    try {
      if (options.tcp) {
        listeners.tcp = net.createServer(onConnection);
        await listen(listeners.tcp, options.port, options.host);
      }
      // UDP on the port TCP got (so port 0 gives both the same number where it can).
      if (options.udp) {
        const port = options.port === 0 && listeners.tcp ? (listeners.tcp.address() as net.AddressInfo).port : options.port;
        listeners.udp = dgram.createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 * 2 ** 20 });
        await new Promise<void>((resolve, reject) => {
          listeners.udp!.once('error', reject);
          listeners.udp!.bind(port, options.host, () => resolve());
        });
      }
      if (options.tls) {
        const creds: tls.TlsOptions = { cert: fs.readFileSync(options.tls.cert), key: fs.readFileSync(options.tls.key) };
        if (options.tls.clientCa) Object.assign(creds, { ca: fs.readFileSync(options.tls.clientCa), requestCert: true, rejectUnauthorized: true });
        listeners.tls = tls.createServer(creds, onConnection);
        await listen(listeners.tls, options.tls.port, options.host);
      }
    } catch (e) {
      listeners.tcp?.close();
      listeners.tls?.close();
      listeners.udp?.close();
      throw new LhError('LH_ERR_CONFIG_INVALID', `syslog cannot listen on ${options.host}:${options.port}: ${(e as Error).message}`, undefined, { cause: e });
    }
    listener = new SyslogListener(options, deps, listeners.tcp, listeners.tls, listeners.udp);
    listeners.udp?.on('message', (msg) => listener!.datagram(msg));
    return listener;
  }

  private accept(socket: net.Socket): void {
    let tenant = this.options.tenant;
    if (socket instanceof tls.TLSSocket && this.options.tls?.clientCa) {
      const cn = socket.getPeerCertificate().subject?.CN;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (typeof name !== 'string' || !isTenantName(name)) {
        this.deps.log.warn({ cn: name ?? null, remote: socket.remoteAddress }, 'syslog TLS client certificate names no tenant (its subject CN must be a tenant name); connection closed');
        socket.destroy();
        return;
      }
      tenant = name;
    }
    const conn = new TcpConnection(socket, this.options.maxMessageBytes, tenant, this.deps, () => this.connections.delete(conn));
    this.connections.add(conn);
  }

  private datagram(msg: Buffer): void {
    this.deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, msg.length);
    this.udpBatch ??= new SyslogRowWriter(new RowBatchBuilder(64 * 1024), { tenant: this.options.tenant, receivedAt: nowMicros() });
    this.udpBatch.write(msg, 0, Math.min(msg.length, this.options.maxMessageBytes));
    // Datagrams that arrive together go together; a full batch goes at once.
    if (this.udpBatch.out.count >= 1000) this.flushUdp();
    else this.udpFlush ??= setImmediate(() => this.flushUdp());
  }

  private flushUdp(): void {
    if (this.udpFlush) clearImmediate(this.udpFlush);
    this.udpFlush = null;
    const writer = this.udpBatch;
    this.udpBatch = null;
    if (writer === null || writer.out.count === 0) return;
    const batch = writer.out.finish();
    countParsed(this.deps.metrics, writer);
    this.deps.pipeline.submit(batch, batch.bytes.length).then(
      () => this.deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, batch.count),
      (e: unknown) => {
        // Nobody to tell: the datagrams are gone, and counted.
        this.deps.metrics.ingestRefused.inc({ protocol: PROTOCOL, reason: refusalReason(e) }, batch.count);
      },
    );
  }

  /** Stops listening and reading, and hands everything already read to the pipeline. */
  async close(): Promise<void> {
    const closing: Promise<unknown>[] = [];
    if (this.tcp) closing.push(new Promise((r) => this.tcp!.close(r)));
    if (this.tlsServer) closing.push(new Promise((r) => this.tlsServer!.close(r)));
    if (this.udp) {
      const udp = this.udp;
      udp.removeAllListeners('message');
      closing.push(new Promise<void>((r) => udp.close(() => r())));
    }
    this.flushUdp();
    await Promise.all([...closing, ...[...this.connections].map((c) => c.finish())]);
  }
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

function refusalReason(e: unknown): string {
  if (!isLhError(e)) return 'error';
  if (e.code === 'LH_ERR_OVERLOADED') return 'overloaded';
  if (e.code === 'LH_ERR_DISK_FULL') return 'disk_full';
  if (e.code === 'LH_ERR_SHUTTING_DOWN') return 'shutting_down';
  return 'error';
}

function countParsed(metrics: Metrics, writer: SyslogRowWriter): void {
  if (writer.parseErrors > 0) metrics.ingestUnparsed.inc({ protocol: PROTOCOL }, writer.parseErrors);
}

const enum Framing {
  Unknown,
  OctetCounting,
  Newline,
}

/** One TCP (or TLS) connection: frames messages, batches them per chunk, pushes back when full. */
class TcpConnection {
  private framing = Framing.Unknown;
  /** Bytes of a message not yet complete. */
  private carry: Buffer | null = null;
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly maxMessageBytes: number,
    private readonly tenant: string,
    private readonly deps: SyslogDeps,
    private readonly onClose: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('end', () => this.end());
    socket.on('error', () => this.end());
    socket.on('close', () => this.end());
  }

  private data(chunk: Buffer): void {
    this.deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, chunk.length);
    const buf = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    const writer = new SyslogRowWriter(new RowBatchBuilder(buf.length + 1024), { tenant: this.tenant, receivedAt: nowMicros() });
    let pos = 0;
    if (this.framing === Framing.Unknown && buf.length > 0) this.framing = buf[0]! >= 49 && buf[0]! <= 57 ? Framing.OctetCounting : Framing.Newline;
    while (pos < buf.length) {
      if (this.framing === Framing.OctetCounting) {
        // Some senders put a newline between counted frames; it may come at the start of a chunk.
        if (buf[pos] === 10 || buf[pos] === 13) {
          pos++;
          continue;
        }
        const space = buf.indexOf(32, pos);
        if (space === -1 || space - pos > 10) {
          if (space === -1 && buf.length - pos <= 10 && isDigits(buf, pos, buf.length)) break; // the length is still coming
          this.desync(buf, pos, 'octet count missing');
          continue;
        }
        if (!isDigits(buf, pos, space)) {
          this.desync(buf, pos, 'octet count is not a number');
          continue;
        }
        const len = Number(buf.toString('latin1', pos, space));
        if (len > this.maxMessageBytes) {
          this.desync(buf, pos, `octet count ${len} is over the ${this.maxMessageBytes}-byte limit`);
          continue;
        }
        if (space + 1 + len > buf.length) break; // the message is still coming
        writer.write(buf, space + 1, space + 1 + len);
        pos = space + 1 + len;
      } else {
        const nl = buf.indexOf(10, pos);
        // A line past the limit is cut there, whether or not its newline came in the same chunk.
        if (nl === -1 ? buf.length - pos >= this.maxMessageBytes : nl - pos > this.maxMessageBytes) {
          writer.write(buf, pos, pos + this.maxMessageBytes);
          pos += this.maxMessageBytes;
          continue;
        }
        if (nl === -1) break;
        // An empty line (or a lone CR, as after a cut at the limit) is no message.
        if (nl > pos && !(nl === pos + 1 && buf[pos] === 13)) writer.write(buf, pos, nl);
        pos = nl + 1;
      }
    }
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos));
    this.submit(writer);
  }

  /** Octet counting lost its way: the rest of the connection is read as newline-framed. */
  private desync(buf: Buffer, pos: number, why: string): void {
    this.deps.log.warn({ remote: this.socket.remoteAddress, why, at: buf.toString('latin1', pos, pos + 20) }, 'syslog octet counting broken; reading the rest as newline-framed');
    this.framing = Framing.Newline;
  }

  private submit(writer: SyslogRowWriter): void {
    if (writer.out.count === 0) return;
    countParsed(this.deps.metrics, writer);
    const batch = writer.out.finish();
    this.inFlight++;
    if (this.inFlight >= MAX_IN_FLIGHT) this.socket.pause();
    const done = this.deliver(batch).finally(() => {
      this.pending.delete(done);
      this.inFlight--;
      if (this.inFlight < MAX_IN_FLIGHT && !this.closed) this.socket.resume();
    });
    this.pending.add(done);
  }

  /** Hands a batch to the pipeline, retrying while it is full; only a shutdown gives up. */
  private async deliver(batch: RowBatch): Promise<void> {
    for (;;) {
      try {
        await this.deps.pipeline.submit(batch, batch.bytes.length);
        this.deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, batch.count);
        return;
      } catch (e) {
        if (isLhError(e) && (e.code === 'LH_ERR_OVERLOADED' || e.code === 'LH_ERR_DISK_FULL')) {
          this.socket.pause();
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
        this.deps.metrics.ingestRefused.inc({ protocol: PROTOCOL, reason: refusalReason(e) }, batch.count);
        this.deps.log.warn({ err: e, rows: batch.count }, 'syslog batch refused');
        return;
      }
    }
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    // What came before the connection closed, without its newline, is a message too.
    if (this.carry !== null && this.carry.length > 0) {
      const writer = new SyslogRowWriter(new RowBatchBuilder(this.carry.length + 1024), { tenant: this.tenant, receivedAt: nowMicros() });
      writer.write(this.carry, 0, this.carry.length);
      this.carry = null;
      this.submit(writer);
    }
    this.onClose();
  }

  /**
   * At shutdown: tells the sender the connection is over (a FIN), reads what is already on its
   * way for a moment, keeps all of it, and waits until the pipeline has it. Plain TCP syslog has
   * no acknowledgements, so what a sender writes after that is its own to lose.
   */
  async finish(): Promise<void> {
    if (!this.closed) {
      this.socket.end();
      this.socket.resume();
      await new Promise((r) => {
        const timer = setTimeout(r, FINISH_READ_MS);
        this.socket.once('close', () => (clearTimeout(timer), r(undefined)));
      });
    }
    this.socket.removeAllListeners('data');
    this.end();
    this.socket.destroy();
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}

function isDigits(buf: Buffer, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if (buf[i]! < 48 || buf[i]! > 57) return false;
  return true;
}
