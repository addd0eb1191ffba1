// Fuzzing the ZeroMQ frame reader (envelope check, gunzip, payload parse) and the client's reply
// decoder: random and mutated frames never throw, every refusal names the frame's sequence number
// and a known reason, a damaged bit never passes the checksum, bad NDJSON lines of a batch never
// cost its good ones, and a sample of the rows loads into DuckDB and reads back unchanged.

import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeReply, encodeAck, encodeEnvelope, encodeNack, NackReason, NACK_REASON_NAMES } from '../../src/ingest/zeromq/envelope.js';
import { readEnvelopeFrame } from '../../src/ingest/zeromq/listener.js';
import { CTX, interleave, mutated, PART_RUNS, RUNS, spliced } from './arbitraries.js';
import { BatchSample, checkBatch, expectSame, loadIntoStore } from './checks.js';
import { actual, badRecordLine, expectedRecord, recordJson, recordSpec } from './records.js';

const MAX_BYTES = 64 * 1024;

/** A valid frame: one record or an NDJSON batch, gzipped or not, any sequence number. */
const validFrame = fc
  .tuple(fc.array(recordSpec, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.boolean())
  .map(([specs, batch, seq, gzip]) => {
    const text = batch ? specs.map((s, i) => recordJson(s, i)).join('\n') : recordJson(specs[0]!, 0);
    const payload = gzip ? zlib.gzipSync(text, { level: 1 }) : Buffer.from(text);
    return encodeEnvelope(seq, payload, { gzip, batch }) as Uint8Array;
  });

/** A frame after header tampering that keeps the checksum right: what gets past the CRC. */
const resealed = fc.tuple(validFrame, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([f, version, flags]) => {
  const frame = Buffer.from(f);
  frame[0] = version % 4 === 0 ? version : 1;
  frame[1] = flags % 3 === 0 ? flags : flags & 3;
  return frame as Uint8Array;
});

const anyFrame = fc.oneof(
  { weight: 2, arbitrary: validFrame.map((b) => Buffer.from(b)) },
  { weight: 4, arbitrary: mutated(validFrame) },
  { weight: 2, arbitrary: resealed.map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: spliced(validFrame) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
);

const REASONS = new Set(Object.keys(NACK_REASON_NAMES).map(Number));

describe('ZeroMQ frames under fuzzing', () => {
  const sample = new BatchSample();
  afterAll(async () => {
    const loaded = await loadIntoStore(sample);
    expect(loaded.rows).toBeGreaterThan(0);
  }, 120_000);

  it(`reads ${RUNS} random and mutated frames into valid rows or a refusal naming the sequence number`, async () => {
    await fc.assert(
      fc.asyncProperty(anyFrame, async (frame) => {
        const p = await readEnvelopeFrame(frame, MAX_BYTES, undefined, CTX);
        const seq = frame.length >= 10 ? frame.readBigUInt64BE(2) : 0n;
        expect(p.seq).toBe(seq);
        if (!p.ok) {
          expect(REASONS.has(p.reason)).toBe(true);
          expect(p.reason).not.toBe(NackReason.Internal);
          expect(p.message.length).toBeGreaterThan(0);
          return;
        }
        // Only a sound header gets here.
        expect(frame[0]).toBe(1);
        expect(frame[1]! & ~3).toBe(0);
        const records = checkBatch(p.batch, CTX);
        expect(records.length).toBeGreaterThan(0);
        sample.offer(p.batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`refuses every frame with one bit changed after sealing: checksum, version or flags (${PART_RUNS} frames)`, async () => {
    await fc.assert(
      fc.asyncProperty(validFrame, fc.nat(), fc.integer({ min: 0, max: 7 }), async (f, at, bit) => {
        const frame = Buffer.from(f);
        // Any byte but the sequence number's, which a refusal must still name.
        const positions = [0, 1, ...Array.from({ length: frame.length - 10 }, (_, i) => 10 + i)];
        const pos = positions[at % positions.length]!;
        if (pos === 1 && bit < 2) return; // the gzip and batch flags are valid either way
        frame[pos] ^= 1 << bit;
        const p = await readEnvelopeFrame(frame, MAX_BYTES, undefined, CTX);
        expect(p.ok).toBe(false);
        if (p.ok) return;
        const expected = pos === 0 ? NackReason.BadVersion : pos === 1 ? NackReason.BadFlags : NackReason.BadChecksum;
        expect(p.reason).toBe(expected);
        expect(p.seq).toBe(frame.readBigUInt64BE(2));
      }),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it(`keeps every valid line of a batch whatever bad lines surround it, reporting each by number (${PART_RUNS} frames)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordSpec, { maxLength: 6 }),
        fc.array(badRecordLine, { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.boolean(),
        async (good, bad, slots, gzip) => {
          const parts = interleave(good, bad, slots);
          const text = parts.map((p, i) => (p.ok ? recordJson(p.part, i) : p.part)).join('\n');
          const frame = encodeEnvelope(42n, gzip ? zlib.gzipSync(text, { level: 1 }) : Buffer.from(text), { gzip, batch: true });
          const p = await readEnvelopeFrame(frame, MAX_BYTES, undefined, CTX);
          const refused = parts.flatMap((x, i) => (x.ok ? [] : [i + 1]));
          if (good.length === 0) {
            // Nothing to store: refused as a whole, naming the first bad lines.
            expect(p.ok).toBe(false);
            if (!p.ok) expect(p.reason).toBe(NackReason.BadPayload);
            return;
          }
          expect(p.ok).toBe(true);
          if (!p.ok) return;
          const records = checkBatch(p.batch, CTX);
          expectSame(
            records.map(actual),
            parts.flatMap((x, i) => (x.ok ? [expectedRecord(x.part, i)] : [])),
          );
          expectSame(
            p.errors.map((e) => e.line),
            refused,
          );
          expect(p.rejected).toBe(refused.length);
        },
      ),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it(`decodes ${RUNS} answers, or refuses them with an Error, on the client's side`, () => {
    const validReply = fc.oneof(
      fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(), fc.nat(), fc.array(fc.record({ line: fc.nat(), error: fc.string() }), { maxLength: 3 })).map(([seq, a, r, errors]) =>
        encodeAck(seq, a % 2 ** 32, r % 2 ** 32, errors),
      ),
      fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: 10 }), fc.string()).map(([seq, reason, msg]) => encodeNack(seq, reason as NackReason, msg)),
    );
    fc.assert(
      fc.property(fc.oneof(validReply, mutated(validReply), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))), (frame) => {
        try {
          const r = decodeReply(Buffer.from(frame));
          expect(r.seq).toBe(Buffer.from(frame).readBigUInt64BE(2));
        } catch (e) {
          expect(e).toBeInstanceOf(Error); // a SyntaxError from broken error details is an Error too
        }
      }),
      { numRuns: RUNS },
    );
  }, 300_000);
});
