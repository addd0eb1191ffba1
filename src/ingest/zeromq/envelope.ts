// The ZeroMQ wire format, version 1: one frame holding a 14-byte header and a payload, and one
// reply frame (ROUTER only) that acknowledges or refuses a sequence number. Shared by the listener
// and the TypeScript client; docs/protocols.md describes it for clients in other languages.
//
//   envelope                          reply
//   0      u8   version (1)           0     u8   version (1)
//   1      u8   flags                 1     u8   kind: 1 ack, 2 nack
//   2..9   u64  sequence number       2..9  u64  sequence number
//   10..13 u32  CRC32C of the payload ack:  10..13 u32 accepted, 14..17 u32 rejected,
//   14..        payload                     18.. UTF-8 JSON [{line, error}] of rejected lines
//                                     nack: 10 u8 reason code, 11.. UTF-8 reason
//
// All integers are big-endian. Flags: bit 0 gzip (the payload is gzip-compressed; the checksum is
// of the compressed bytes), bit 1 batch (the payload is NDJSON, else one JSON record). Every
// later version keeps the version at byte 0 and the sequence number at bytes 2..9, so a refusal
// can always name the sequence number it refuses.

import { crc32c } from './crc32c.js';

export const ENVELOPE_VERSION = 1;
export const HEADER_BYTES = 14;
export const FLAG_GZIP = 0b01;
export const FLAG_BATCH = 0b10;
const KNOWN_FLAGS = FLAG_GZIP | FLAG_BATCH;

export const REPLY_ACK = 1;
export const REPLY_NACK = 2;

/** Why a frame was refused; the number is what goes on the wire. */
export enum NackReason {
  /** Too short to hold a header. */
  BadFrame = 1,
  BadVersion = 2,
  BadFlags = 3,
  BadChecksum = 4,
  /** Not gzip when flagged so, or no valid record in it. */
  BadPayload = 5,
  TooLarge = 6,
  /** Ingest is full: send again later (the client retries these by itself). */
  Overloaded = 7,
  /** The server's disk is full: send again later. */
  DiskFull = 8,
  /** The server is stopping: send again later, or elsewhere. */
  ShuttingDown = 9,
  Internal = 10,
}

export const NACK_REASON_NAMES: Record<NackReason, string> = {
  [NackReason.BadFrame]: 'bad_frame',
  [NackReason.BadVersion]: 'bad_version',
  [NackReason.BadFlags]: 'bad_flags',
  [NackReason.BadChecksum]: 'bad_checksum',
  [NackReason.BadPayload]: 'bad_payload',
  [NackReason.TooLarge]: 'too_large',
  [NackReason.Overloaded]: 'overloaded',
  [NackReason.DiskFull]: 'disk_full',
  [NackReason.ShuttingDown]: 'shutting_down',
  [NackReason.Internal]: 'internal',
};

/** Refusals that say "not now" rather than "never": sending the same frame later can succeed. */
export function isRetryable(reason: NackReason): boolean {
  return reason === NackReason.Overloaded || reason === NackReason.DiskFull || reason === NackReason.ShuttingDown;
}

export interface Envelope {
  seq: bigint;
  gzip: boolean;
  batch: boolean;
  /** The payload as sent (still compressed when `gzip`); a view into the frame. */
  payload: Buffer;
}

export class EnvelopeError extends Error {
  constructor(
    readonly seq: bigint,
    readonly reason: NackReason,
    message: string,
  ) {
    super(message);
  }
}

export function encodeEnvelope(seq: bigint, payload: Uint8Array, flags: { gzip?: boolean; batch?: boolean }): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame[0] = ENVELOPE_VERSION;
  frame[1] = (flags.gzip ? FLAG_GZIP : 0) | (flags.batch ? FLAG_BATCH : 0);
  frame.writeBigUInt64BE(seq, 2);
  frame.writeUInt32BE(crc32c(payload), 10);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

/** Reads and checks a frame's header and checksum; throws an EnvelopeError naming what is wrong. */
export function decodeEnvelope(frame: Buffer, maxBytes: number): Envelope {
  const seq = frame.length >= 10 ? frame.readBigUInt64BE(2) : 0n;
  if (frame.length < HEADER_BYTES) {
    throw new EnvelopeError(seq, NackReason.BadFrame, `frame of ${frame.length} bytes is shorter than the ${HEADER_BYTES}-byte envelope header`);
  }
  if (frame[0] !== ENVELOPE_VERSION) {
    throw new EnvelopeError(seq, NackReason.BadVersion, `envelope version ${frame[0]} is not supported; this server speaks version ${ENVELOPE_VERSION}`);
  }
  const flags = frame[1]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new EnvelopeError(seq, NackReason.BadFlags, `unknown flag bits 0x${(flags & ~KNOWN_FLAGS).toString(16)} (known: 0x01 gzip, 0x02 batch)`);
  }
  if (frame.length - HEADER_BYTES > maxBytes) {
    throw new EnvelopeError(seq, NackReason.TooLarge, `payload of ${frame.length - HEADER_BYTES} bytes is over the ${maxBytes}-byte limit`);
  }
  const expected = frame.readUInt32BE(10);
  const actual = crc32c(frame, HEADER_BYTES, frame.length);
  if (expected !== actual) {
    throw new EnvelopeError(seq, NackReason.BadChecksum, `CRC32C of the payload is 0x${hex32(actual)}, the envelope says 0x${hex32(expected)}`);
  }
  return { seq, gzip: (flags & FLAG_GZIP) !== 0, batch: (flags & FLAG_BATCH) !== 0, payload: frame.subarray(HEADER_BYTES) };
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export interface LineError {
  line: number;
  error: string;
}

export type Reply =
  | { kind: 'ack'; seq: bigint; accepted: number; rejected: number; errors: LineError[] }
  | { kind: 'nack'; seq: bigint; reason: NackReason; message: string };

export function encodeAck(seq: bigint, accepted: number, rejected: number, errors: LineError[]): Buffer {
  const detail = errors.length > 0 ? Buffer.from(JSON.stringify(errors)) : null;
  const frame = Buffer.allocUnsafe(18 + (detail?.length ?? 0));
  frame[0] = ENVELOPE_VERSION;
  frame[1] = REPLY_ACK;
  frame.writeBigUInt64BE(seq, 2);
  frame.writeUInt32BE(accepted, 10);
  frame.writeUInt32BE(rejected, 14);
  detail?.copy(frame, 18);
  return frame;
}

export function encodeNack(seq: bigint, reason: NackReason, message: string): Buffer {
  const text = Buffer.from(message);
  const frame = Buffer.allocUnsafe(11 + text.length);
  frame[0] = ENVELOPE_VERSION;
  frame[1] = REPLY_NACK;
  frame.writeBigUInt64BE(seq, 2);
  frame[10] = reason;
  text.copy(frame, 11);
  return frame;
}

export function decodeReply(frame: Buffer): Reply {
  if (frame.length < 11 || frame[0] !== ENVELOPE_VERSION) throw new Error(`not a loghaven reply frame (${frame.length} bytes, version ${frame[0]})`);
  const seq = frame.readBigUInt64BE(2);
  if (frame[1] === REPLY_ACK && frame.length >= 18) {
    const errors = frame.length > 18 ? (JSON.parse(frame.toString('utf8', 18)) as LineError[]) : [];
    return { kind: 'ack', seq, accepted: frame.readUInt32BE(10), rejected: frame.readUInt32BE(14), errors };
  }
  if (frame[1] === REPLY_NACK) return { kind: 'nack', seq, reason: frame[10] as NackReason, message: frame.toString('utf8', 11) };
  throw new Error(`reply kind ${frame[1]} is neither ack (1) nor nack (2)`);
}
