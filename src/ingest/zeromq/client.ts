// The TypeScript client for loghaven's ZeroMQ listeners, shipped as `loghaven/zmq-client`.
// `LoghavenZmqClient` talks to the ROUTER socket: each send() resolves once the server has the
// records durably (or rejects with the refusal), and refusals that mean "later" (overloaded, disk
// full, stopping) are sent again by the client itself. `LoghavenZmqPusher` talks to the PULL
// socket: fire and forget. The wire format is in envelope.ts and docs/protocols.md.
//
//   const client = await LoghavenZmqClient.connect('tcp://127.0.0.1:5556');
//   const ack = await client.send([{ message: 'hello', level: 'info', service: 'api' }]);
//   await client.close();

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as zmq from 'zeromq';
import { NACK_REASON_NAMES, NackReason, decodeReply, encodeEnvelope, isRetryable, type LineError } from './envelope.js';

export { NackReason, NACK_REASON_NAMES, encodeEnvelope, decodeReply, type LineError } from './envelope.js';

const gzip = promisify(zlib.gzip);

/** Records to send: one object (sent as one record), an array of them, or NDJSON text/bytes. */
export type Records = object | object[] | string | Uint8Array;

export interface ZmqAck {
  seq: bigint;
  accepted: number;
  rejected: number;
  /** Why lines were rejected (the first 100), by 1-based line of the NDJSON sent. */
  errors: LineError[];
}

/** The server refused an envelope: the sequence number, the reason code and the server's words. */
export class ZmqNackError extends Error {
  constructor(
    readonly seq: bigint,
    readonly reason: NackReason,
    readonly detail: string,
  ) {
    super(`loghaven refused envelope ${seq}: ${NACK_REASON_NAMES[reason] ?? `reason ${reason}`}: ${detail}`);
    this.name = 'ZmqNackError';
  }
}

export interface ClientOptions {
  /** gzip payloads of at least this many bytes (default: never). */
  gzipAbove?: number;
  /** How long to wait for an acknowledgement before send() rejects (default 30 s). */
  timeoutMs?: number;
  /** How long to keep sending again after "later" refusals before giving up (default 60 s). */
  retryForMs?: number;
}

interface Pending {
  frame: Buffer;
  resolve: (ack: ZmqAck) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  firstSent: number;
  retries: number;
}

/** Encodes records as one envelope payload; `batch` when it is NDJSON. */
async function payloadOf(records: Records, gzipAbove: number): Promise<{ payload: Buffer; batch: boolean; gzip: boolean }> {
  let payload: Buffer;
  let batch: boolean;
  if (typeof records === 'string') [payload, batch] = [Buffer.from(records), true];
  else if (records instanceof Uint8Array) [payload, batch] = [Buffer.from(records.buffer, records.byteOffset, records.length), true];
  else if (Array.isArray(records)) [payload, batch] = [Buffer.from(records.map((r) => JSON.stringify(r)).join('\n')), true];
  else [payload, batch] = [Buffer.from(JSON.stringify(records)), false];
  if (payload.length >= gzipAbove) return { payload: await gzip(payload), batch, gzip: true };
  return { payload, batch, gzip: false };
}

export class LoghavenZmqClient {
  private seq = 0n;
  private readonly pending = new Map<bigint, Pending>();
  private sending: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly reading: Promise<void>;
  private readonly idleWaiters: (() => void)[] = [];

  private constructor(
    private readonly socket: zmq.Dealer,
    private readonly options: Required<ClientOptions>,
  ) {
    this.reading = this.readReplies();
  }

  /** Connects to a loghaven ROUTER endpoint such as `tcp://127.0.0.1:5556`. */
  static async connect(endpoint: string, options: ClientOptions = {}): Promise<LoghavenZmqClient> {
    const socket = new zmq.Dealer({ sendHighWaterMark: 10_000, receiveHighWaterMark: 10_000, linger: 0 });
    socket.connect(endpoint);
    return new LoghavenZmqClient(socket, {
      gzipAbove: options.gzipAbove ?? Infinity,
      timeoutMs: options.timeoutMs ?? 30_000,
      retryForMs: options.retryForMs ?? 60_000,
    });
  }

  /** Sends records; resolves with the server's acknowledgement once they are durable. */
  async send(records: Records): Promise<ZmqAck> {
    const { payload, batch, gzip: gz } = await payloadOf(records, this.options.gzipAbove);
    return this.sendFrame(encodeEnvelope(++this.seq, payload, { gzip: gz, batch }), this.seq);
  }

  /** Sends a frame built by hand (tests of the server's checks); resolves or rejects like send(). */
  sendFrame(frame: Buffer, seq: bigint): Promise<ZmqAck> {
    if (this.closed) return Promise.reject(new Error('client is closed'));
    return new Promise<ZmqAck>((resolve, reject) => {
      const p: Pending = { frame, resolve, reject, timer: this.timeout(seq), firstSent: Date.now(), retries: 0 };
      this.pending.set(seq, p);
      this.write(frame);
    });
  }

  /** Envelopes sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  private timeout(seq: bigint): NodeJS.Timeout {
    return setTimeout(() => {
      const p = this.pending.get(seq);
      if (!p) return;
      this.settle(seq);
      p.reject(new Error(`no answer to envelope ${seq} within ${this.options.timeoutMs} ms; its records may or may not be stored`));
    }, this.options.timeoutMs);
  }

  private write(frame: Buffer): void {
    this.sending = this.sending.then(() =>
      this.socket.send(frame).catch((e: unknown) => {
        for (const [seq, p] of this.pending) if (p.frame === frame) this.fail(seq, p, e as Error);
      }),
    );
  }

  private fail(seq: bigint, p: Pending, e: Error): void {
    clearTimeout(p.timer);
    this.settle(seq);
    p.reject(e);
  }

  private settle(seq: bigint): void {
    this.pending.delete(seq);
    if (this.pending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private async readReplies(): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (e) {
        if (this.closed || this.socket.closed) return;
        throw e;
      }
      let reply;
      try {
        reply = decodeReply(frames[frames.length - 1]!);
      } catch {
        continue; // not ours to understand; its envelope times out
      }
      const p = this.pending.get(reply.seq);
      if (!p) continue; // answered after its timeout
      if (reply.kind === 'ack') {
        clearTimeout(p.timer);
        this.settle(reply.seq);
        p.resolve({ seq: reply.seq, accepted: reply.accepted, rejected: reply.rejected, errors: reply.errors });
      } else if (isRetryable(reply.reason) && Date.now() - p.firstSent < this.options.retryForMs && !this.closed) {
        // Later: the same frame again after a short wait that grows with each refusal.
        p.retries++;
        setTimeout(() => this.pending.has(reply.seq) && !this.closed && this.write(p.frame), Math.min(50 * 2 ** Math.min(p.retries, 5), 1000));
      } else {
        this.fail(reply.seq, p, new ZmqNackError(reply.seq, reply.reason, reply.message));
      }
    }
  }

  /** Waits for the answers still due (up to their timeouts), then disconnects. */
  async close(): Promise<void> {
    if (this.pending.size > 0) await new Promise<void>((wake) => this.idleWaiters.push(wake));
    this.closed = true;
    await this.sending;
    this.socket.close();
    await this.reading.catch(() => undefined);
  }
}

/** Fire and forget to the PULL socket: no acknowledgement, no retry; bad frames are only counted. */
export class LoghavenZmqPusher {
  private seq = 0n;
  private sending: Promise<void> = Promise.resolve();

  private constructor(private readonly socket: zmq.Push) {}

  /** Connects to a loghaven PULL endpoint such as `tcp://127.0.0.1:5555`. */
  static async connect(endpoint: string): Promise<LoghavenZmqPusher> {
    const socket = new zmq.Push({ sendHighWaterMark: 10_000, linger: 30_000 });
    socket.connect(endpoint);
    return new LoghavenZmqPusher(socket);
  }

  /** Queues records for sending; resolves once ZeroMQ has taken the frame (not once stored). */
  async push(records: Records, options: { gzipAbove?: number } = {}): Promise<void> {
    const { payload, batch, gzip: gz } = await payloadOf(records, options.gzipAbove ?? Infinity);
    const frame = encodeEnvelope(++this.seq, payload, { gzip: gz, batch });
    const sent = this.sending.catch(() => undefined).then(() => this.socket.send(frame));
    this.sending = sent;
    await sent;
  }

  /** Sends what is queued (waiting up to the 30 s linger), then disconnects. */
  async close(): Promise<void> {
    await this.sending.catch(() => undefined);
    this.socket.close();
  }
}
