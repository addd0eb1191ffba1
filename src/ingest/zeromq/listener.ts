// The ZeroMQ listeners: a PULL socket (fire and forget) and a ROUTER socket that answers every
// envelope (envelope.ts) with an acknowledgement once its records are durable, or a refusal
// naming the sequence number and the reason. Payloads are read like native ingest bodies: one
// JSON record, or NDJSON whose bad lines are reported and never cost the good ones.
// Backpressure: while the pipeline is full, PULL stops reading (ZeroMQ's high-water mark then
// holds the senders back) and retries; ROUTER refuses with the retryable `overloaded` reason.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as zmq from 'zeromq';
import { LhError, isLhError } from '../../errors.js';
import { nowMicros } from '../../model/record.js';
import type { Metrics } from '../../observability/metrics.js';
import type { BufferPool } from '../../pipeline/buffer-pool.js';
import type { IngestPipeline } from '../../pipeline/ingest-pipeline.js';
import type { RowBatch } from '../../store/row-format.js';
import type { NormaliseContext } from '../common/normalise.js';
import { parseNativeBody } from '../native/native-body.js';
import { EnvelopeError, NackReason, NACK_REASON_NAMES, decodeEnvelope, encodeAck, encodeNack, type LineError } from './envelope.js';

export interface ZmqOptions {
  host: string;
  /** 0 picks a free port. */
  pullPort: number;
  routerPort: number;
  pull: boolean;
  router: boolean;
  /** Largest payload, before and after gunzip. */
  maxMessageBytes: number;
  /** Tenant of every record received (envelopes carry no key). */
  tenant: string;
}

export interface ZmqDeps {
  pipeline: IngestPipeline;
  metrics: Metrics;
  buffers: BufferPool;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const PROTOCOL = 'zeromq';
/** Frames being parsed and stored at once, per socket; past it the socket stops reading. */
const MAX_IN_FLIGHT = 64;
const RETRY_MS = 100;
/** Reply line errors sent back per envelope (the counts are always complete). */
const MAX_REPLY_ERRORS = 100;
/** At shutdown, how long a PULL frame waiting for room keeps waiting. */
const SHUTDOWN_RETRY_MS = 5000;
/** At shutdown, how long PULL keeps reading what its senders already sent. */
const FINISH_READ_MS = 300;
/** A reply its peer does not take within this long is given up (the client times out and resends). */
const SEND_TIMEOUT_MS = 5000;
/** At shutdown, how long ROUTER keeps trying to deliver its last replies. */
const LINGER_MS = 1000;

const gunzip = promisify(zlib.gunzip);

/** Decoded, parsed and ready for the pipeline; or why not. */
export type Prepared =
  | { ok: true; seq: bigint; batch: RowBatch; bytes: number; rejected: number; errors: LineError[] }
  | { ok: false; seq: bigint; reason: NackReason; message: string };

export class ZmqListener {
  /** When close() began (ms), or 0. */
  private stoppingSince = 0;
  private readonly loops: Promise<void>[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private replies: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: ZmqOptions,
    private readonly deps: ZmqDeps,
    private readonly pull: zmq.Pull | null,
    private readonly router: zmq.Router | null,
  ) {}

  private get stopping(): boolean {
    return this.stoppingSince !== 0;
  }

  /** The bound endpoints (tests ask for port 0). */
  get endpoints(): { pull: string | null; router: string | null } {
    return { pull: this.pull?.lastEndpoint ?? null, router: this.router?.lastEndpoint ?? null };
  }

  static async start(options: ZmqOptions, deps: ZmqDeps): Promise<ZmqListener> {
    const endpoint = (port: number) => `tcp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port === 0 ? '*' : port}`;
    let pull: zmq.Pull | null = null;
    let router: zmq.Router | null = null;
    try {
      if (options.pull) {
        pull = new zmq.Pull({ receiveHighWaterMark: 1000, maxMessageSize: options.maxMessageBytes + 64, ipv6: options.host.includes(':') });
        await pull.bind(endpoint(options.pullPort));
      }
      if (options.router) {
        // mandatory: a reply to a peer whose queue is full waits instead of vanishing.
        router = new zmq.Router({
          receiveHighWaterMark: 1000,
          sendHighWaterMark: 100_000,
          mandatory: true,
          sendTimeout: SEND_TIMEOUT_MS,
          maxMessageSize: options.maxMessageBytes + 64,
          ipv6: options.host.includes(':'),
          linger: LINGER_MS,
        });
        await router.bind(endpoint(options.routerPort));
      }
    } catch (e) {
      pull?.close();
      router?.close();
      const ports = [options.pull ? options.pullPort : null, options.router ? options.routerPort : null].filter((p) => p !== null).join(', ');
      throw new LhError('LH_ERR_CONFIG_INVALID', `zeromq cannot listen on ${options.host} (ports ${ports}): ${(e as Error).message}`, undefined, { cause: e });
    }
    const listener = new ZmqListener(options, deps, pull, router);
    if (pull) listener.loops.push(listener.pullLoop(pull));
    if (router) listener.loops.push(listener.routerLoop(router));
    return listener;
  }

  private async pullLoop(socket: zmq.Pull): Promise<void> {
    for (let frames; (frames = await this.receive(socket, 'PULL')) !== null; ) {
      await this.slot();
      this.track(this.handlePull(frames[frames.length - 1]!));
    }
  }

  private async routerLoop(socket: zmq.Router): Promise<void> {
    for (let frames; (frames = await this.receive(socket, 'ROUTER')) !== null; ) {
      // [identity, (empty delimiter from REQ sockets,) envelope]: everything before the
      // envelope is the route back.
      const route = frames.slice(0, -1);
      const frame = frames[frames.length - 1]!;
      if (this.stopping) {
        this.reply(route, encodeNack(seqOf(frame), NackReason.ShuttingDown, 'the server is stopping; send again later'));
        continue;
      }
      await this.slot();
      this.track(this.handleRouter(route, frame));
    }
  }

  /** The next message's frames; null once the socket is closed (at shutdown). */
  private async receive(socket: zmq.Pull | zmq.Router, name: string): Promise<Buffer[] | null> {
    for (;;) {
      try {
        return await socket.receive();
      } catch (e) {
        if (this.stopping || socket.closed) return null;
        this.deps.log.warn({ err: e }, `zeromq ${name} receive failed`);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /** Waits while this listener has as many frames in progress as it takes. */
  private async slot(): Promise<void> {
    while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
  }

  private track(work: Promise<void>): void {
    const done = work.finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
  }

  /** Decodes, checks and parses one frame, unless ingest is full. */
  private async prepare(frame: Buffer): Promise<Prepared> {
    this.deps.metrics.ingestBytes.inc({ protocol: PROTOCOL }, frame.length);
    const full = this.deps.pipeline.fullBecause(frame.length);
    if (full !== null) return { ok: false, seq: seqOf(frame), reason: NackReason.Overloaded, message: new LhError('LH_ERR_OVERLOADED', full).message };
    const p = await readEnvelopeFrame(frame, this.options.maxMessageBytes, this.deps.buffers, { tenant: this.options.tenant, receivedAt: nowMicros() });
    if (p.ok && p.rejected > 0) this.deps.metrics.ingestRejects.inc({ protocol: PROTOCOL, reason: 'invalid' }, p.rejected);
    return p;
  }

  private async handleRouter(route: Buffer[], frame: Buffer): Promise<void> {
    const started = performance.now();
    let answer: Buffer;
    try {
      const p = await this.prepare(frame);
      if (p.ok) {
        try {
          await this.deps.pipeline.submit(p.batch, p.bytes);
          this.deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, p.batch.count);
          answer = encodeAck(p.seq, p.batch.count, p.rejected, p.errors);
        } catch (e) {
          const [reason, message] = refusal(e);
          answer = encodeNack(p.seq, reason, message);
          this.counted(reason);
        }
      } else {
        answer = encodeNack(p.seq, p.reason, p.message);
        this.counted(p.reason);
      }
    } catch (e) {
      this.deps.log.warn({ err: e }, 'zeromq frame failed');
      answer = encodeNack(seqOf(frame), NackReason.Internal, `internal error: ${(e as Error).message}`);
      this.counted(NackReason.Internal);
    }
    this.deps.metrics.ingestRequestSeconds.observe({ protocol: PROTOCOL }, (performance.now() - started) / 1000);
    this.reply(route, answer);
  }

  /** Replies go out one at a time (a socket sends one message at once), in order. */
  private reply(route: Buffer[], answer: Buffer): void {
    const socket = this.router!;
    this.replies = this.replies.then(() =>
      socket.send([...route, answer]).catch((e: unknown) => {
        // The peer is gone (EHOSTUNREACH): its client will time out and send again.
        if (!socket.closed) this.deps.log.warn({ err: e }, 'zeromq reply could not be sent');
      }),
    );
  }

  /**
   * Fire and forget has nobody to tell "later": while ingest is full (or the disk), the frame is
   * held and tried again, and this socket reads no more meanwhile. At shutdown it is given
   * SHUTDOWN_RETRY_MS more before it is counted as refused.
   */
  private async handlePull(frame: Buffer): Promise<void> {
    for (;;) {
      let p: Prepared;
      try {
        p = await this.prepare(frame);
      } catch (e) {
        this.deps.log.warn({ err: e }, 'zeromq frame failed');
        this.counted(NackReason.Internal);
        return;
      }
      if (p.ok) {
        try {
          await this.deps.pipeline.submit(p.batch, p.bytes);
          this.deps.metrics.ingestLines.inc({ protocol: PROTOCOL }, p.batch.count);
          return;
        } catch (e) {
          // submit() released the batch: a retry parses the frame again.
          const [reason, message] = refusal(e);
          p = { ok: false, seq: p.seq, reason, message };
        }
      }
      const later = p.reason === NackReason.Overloaded || p.reason === NackReason.DiskFull;
      if (later && (this.stoppingSince === 0 || Date.now() - this.stoppingSince < SHUTDOWN_RETRY_MS)) {
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      this.counted(p.reason);
      this.warnSometimes(p.seq, p.reason, p.message);
      return;
    }
  }

  private lastWarning = 0;
  /** PULL has nobody to answer: refusals are counted, and logged once a minute at most. */
  private warnSometimes(seq: bigint, reason: NackReason, message: string): void {
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    this.deps.log.warn({ seq: seq.toString(), reason: NACK_REASON_NAMES[reason], message }, 'zeromq PULL frame refused (counted in loghaven_ingest_refused_requests_total)');
  }

  private counted(reason: NackReason): void {
    this.deps.metrics.ingestRefused.inc({ protocol: PROTOCOL, reason: NACK_REASON_NAMES[reason] });
  }

  /**
   * Stops reading, finishes every frame already read (ROUTER frames get their replies; frames
   * that arrive meanwhile are refused as `shutting_down`), and closes the sockets.
   */
  async close(): Promise<void> {
    this.stoppingSince = Date.now();
    if (this.pull) {
      // What the senders already sent is taken for a moment; closing ends the pending read.
      await new Promise((r) => setTimeout(r, FINISH_READ_MS));
      this.pull.close();
    }
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.replies;
    this.router?.close();
    await Promise.allSettled(this.loops);
  }
}

/**
 * One frame to rows: the envelope checked, the payload gunzipped and parsed like a native body.
 * Refusals come back as values naming the sequence number; only a bug throws.
 */
export async function readEnvelopeFrame(
  frame: Buffer,
  maxBytes: number,
  buffers?: BufferPool,
  ctx: NormaliseContext = { tenant: 'default', receivedAt: nowMicros() },
): Promise<Prepared> {
  let seq = seqOf(frame);
  try {
    const env = decodeEnvelope(frame, maxBytes);
    seq = env.seq;
    let payload = env.payload;
    if (env.gzip) {
      try {
        payload = await gunzip(payload, { maxOutputLength: maxBytes });
      } catch (e) {
        const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        return tooLarge
          ? { ok: false, seq, reason: NackReason.TooLarge, message: `payload is over the ${maxBytes}-byte limit once decompressed` }
          : { ok: false, seq, reason: NackReason.BadPayload, message: `payload is flagged gzip but cannot be decompressed: ${(e as Error).message}` };
      }
    }
    const parsed = parseNativeBody(payload, env.batch ? 'ndjson' : 'json', ctx, buffers);
    if (parsed.batch.count === 0) {
      parsed.batch.release();
      const why = parsed.errors.length > 0 ? parsed.errors.slice(0, 5).map((e) => `line ${e.line}: ${e.error}`).join('; ') : 'payload contains no records';
      return { ok: false, seq, reason: NackReason.BadPayload, message: why };
    }
    return { ok: true, seq, batch: parsed.batch, bytes: payload.length, rejected: parsed.rejected, errors: parsed.errors.slice(0, MAX_REPLY_ERRORS) };
  } catch (e) {
    if (e instanceof EnvelopeError) return { ok: false, seq: e.seq, reason: e.reason, message: e.message };
    throw e;
  }
}

function seqOf(frame: Buffer): bigint {
  return frame.length >= 10 ? frame.readBigUInt64BE(2) : 0n;
}

function refusal(e: unknown): [NackReason, string] {
  if (!isLhError(e)) return [NackReason.Internal, `internal error: ${(e as Error).message}`];
  switch (e.code) {
    case 'LH_ERR_OVERLOADED':
      return [NackReason.Overloaded, e.message];
    case 'LH_ERR_DISK_FULL':
      return [NackReason.DiskFull, `the server's disk is full; send again later (${e.message})`];
    case 'LH_ERR_SHUTTING_DOWN':
      return [NackReason.ShuttingDown, 'the server is stopping; send again later'];
    case 'LH_ERR_BAD_BODY':
      return [NackReason.TooLarge, e.message];
    default:
      return [NackReason.Internal, e.message];
  }
}
