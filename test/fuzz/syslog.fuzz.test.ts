// Fuzzing syslog: the message parser (RFC 5424 and RFC 3164) and the TCP framing (RFC 6587
// octet counting and newline framing). Random and mutated messages never throw or hang, each makes
// exactly one row the store takes (nothing that arrives is dropped), and the parser reads nothing
// past a message's end (in a TCP chunk the next message follows). A message that is neither RFC
// is kept whole with attrs.syslog_parse_error and never costs the others. However a TCP stream is
// cut into chunks, it makes the same rows as when it arrives whole. A sample loads into DuckDB.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowMicros, type Level } from '../../src/model/record.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { IngestPipeline } from '../../src/pipeline/ingest-pipeline.js';
import { SyslogListener } from '../../src/ingest/syslog/listener.js';
import { SyslogRowWriter } from '../../src/ingest/syslog/syslog-message.js';
import { RowBatchBuilder, type RowBatch } from '../../src/store/row-format.js';
import { cuts, CTX, interleave, mutated, PART_RUNS, RUNS, rfc3339, spliced, tag, text, tokenSoup, wellFormed } from './arbitraries.js';
import { BatchSample, checkBatch, expectSame, HangWatchdog, loadIntoStore } from './checks.js';

// ---- messages and what they must become ----

const LEVELS: Level[] = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];
const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console',
  'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5424 PRINTUSASCII words (no space), as header fields are. */
const word = (max: number) => fc.stringMatching(new RegExp(`^[!-~]{1,${max}}$`)).filter((w) => w !== '-');
/** Message text: anything but line breaks and NULs at its end (framing some senders leave on). */
const msgText = text(30).map((t) => t.replace(/[\n\r\0]+$/, ''));

interface Expected {
  ts: bigint;
  level: Level | null;
  service: string | null;
  host: string | null;
  message: string;
  attrs: Record<string, unknown>;
}

/** A message: its header, and its text after the tag `#i#` that makes it unique. */
interface Message {
  head: string;
  msg: string;
  expected: (i: number) => Expected;
}

function messageLine(m: Message, i: number): string {
  return `${m.head}${tag(i)}${m.msg}`;
}

/**
 * µs of syslog timestamps: years whose µs a double holds exactly (1685–2255), with room to cut to
 * whole seconds. SyslogRowWriter keeps a time in a double and calls one beyond ±2^53 µs "not RFC
 * 3339" (the message is then kept whole with a parse error; reported, and left out here).
 */
const syslogMicros = fc.bigInt({ min: -(2n ** 53n) + 2_000_000n, max: 2n ** 53n - 1n });

/** `us` cut to a multiple of `unit` µs, towards the past. */
function floorTo(us: bigint, unit: bigint): bigint {
  return us - (((us % unit) + unit) % unit);
}

const rfc5424: fc.Arbitrary<Message> = fc
  .record({
    pri: fc.integer({ min: 0, max: 191 }),
    ts: fc.option(fc.tuple(syslogMicros, fc.constantFrom(0, 3, 6)), { nil: null }),
    host: fc.option(word(12), { nil: null }),
    app: fc.option(word(12), { nil: null }),
    procid: fc.option(word(6), { nil: null }),
    msgid: fc.option(word(6), { nil: null }),
    sd: fc.array(fc.tuple(fc.stringMatching(/^[a-zA-Z0-9@.]{1,8}$/), fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), text(8), { maxKeys: 2 })), { maxLength: 2 }),
    msg: msgText,
  })
  .map((m) => {
    const micros = m.ts === null ? null : floorTo(m.ts[0], m.ts[1] === 6 ? 1n : m.ts[1] === 3 ? 1000n : 1_000_000n);
    const sd = [...new Map(m.sd).entries()];
    const esc = (v: string) => v.replace(/[\\"\]]/g, (c) => `\\${c}`);
    const sdText = sd.length === 0 ? '-' : sd.map(([id, ps]) => `[${id}${Object.entries(ps).map(([k, v]) => ` ${k}="${esc(v)}"`).join('')}]`).join('');
    const nil = (f: string | null) => f ?? '-';
    return {
      head: `<${m.pri}>1 ${micros === null ? '-' : rfc3339(micros, m.ts![1])} ${nil(m.host)} ${nil(m.app)} ${nil(m.procid)} ${nil(m.msgid)} ${sdText} `,
      msg: m.msg,
      expected: (i: number): Expected => {
        const attrs: Record<string, unknown> = { facility: FACILITIES[m.pri >> 3] };
        if (m.procid !== null) attrs.procid = m.procid;
        if (m.msgid !== null) attrs.msgid = m.msgid;
        if (sd.length > 0) attrs.sd = Object.fromEntries(sd.map(([id, ps]) => [id, Object.fromEntries(Object.entries(ps).map(([k, v]) => [k, wellFormed(v)]))]));
        return { ts: micros ?? CTX.receivedAt, level: LEVELS[m.pri & 7]!, service: m.app, host: m.host, message: wellFormed(tag(i) + m.msg), attrs };
      },
    };
  });

/** The year of CTX in local time, which RFC 3164 dates are read in (SyslogRowWriter, as rsyslog). */
const YEAR = new Date(Number(CTX.receivedAt / 1000n)).getFullYear();

const rfc3164: fc.Arbitrary<Message> = fc
  .record({
    pri: fc.integer({ min: 0, max: 191 }),
    // Before CTX's date (July 1st), so the year is CTX's.
    date: fc.record({
      month: fc.integer({ min: 0, max: 4 }),
      day: fc.integer({ min: 1, max: 28 }),
      h: fc.integer({ min: 0, max: 23 }),
      m: fc.integer({ min: 0, max: 59 }),
      s: fc.integer({ min: 0, max: 59 }),
      padded: fc.boolean(),
    }),
    // rsyslog's forward format sends RFC 3339 instead.
    rfc3339: fc.option(syslogMicros, { nil: null }),
    host: fc.option(fc.stringMatching(/^[a-zA-Z0-9.-]{1,10}$/), { nil: null }),
    app: fc.stringMatching(/^[a-zA-Z0-9_./-]{1,10}$/),
    pid: fc.option(fc.integer({ min: 1, max: 99999 }), { nil: null }),
    msg: msgText,
  })
  .map((m) => {
    const d = m.date;
    const two = (n: number) => String(n).padStart(2, '0');
    const day = d.padded || d.day >= 10 ? two(d.day) : ` ${d.day}`;
    const stamp = m.rfc3339 !== null ? rfc3339(m.rfc3339, 6) : `${MONTHS[d.month]} ${day} ${two(d.h)}:${two(d.m)}:${two(d.s)}`;
    const ts = m.rfc3339 ?? BigInt(new Date(YEAR, d.month, d.day, d.h, d.m, d.s).getTime()) * 1000n;
    return {
      head: `<${m.pri}>${stamp} ${m.host !== null ? `${m.host} ` : ''}${m.app}${m.pid !== null ? `[${m.pid}]` : ''}: `,
      msg: m.msg,
      expected: (i: number): Expected => {
        const attrs: Record<string, unknown> = { facility: FACILITIES[m.pri >> 3] };
        if (m.pid !== null) attrs.procid = String(m.pid);
        return { ts, level: LEVELS[m.pri & 7]!, service: m.app, host: m.host, message: wellFormed(tag(i) + m.msg), attrs };
      },
    };
  });

/** A line that is neither RFC: kept whole as the message, with the reason in attrs. */
const neither: fc.Arbitrary<Message> = fc
  .tuple(
    fc.constantFrom('', '<999>', '<13>garbage ', '<13>1 notatime host app - - - ', '<13>1 2024-01-01T00:00:00Z host app - - [unclosed ', '<13>Jan 32 00:00:00 host app: ', '<>1 ', '<13', '13> '),
    // (A ']' would close the unclosed structured data.)
    text(30).map((t) => t.replace(/[\]"]/g, '').replace(/[\n\r\0]+$/, '')),
  )
  .map(([head, msg]) => ({
    head,
    msg,
    expected: (i: number): Expected => ({
      ts: CTX.receivedAt,
      level: null,
      service: null,
      host: null,
      message: wellFormed(`${head}${tag(i)}${msg}`),
      attrs: { syslog_parse_error: expect.any(String) as unknown },
    }),
  }));

/** What a decoded row is compared on. */
function actual(r: { ts: bigint; level: Level | null; service: string | null; host: string | null; message: string | null; attrs: string }): Expected {
  return { ts: r.ts, level: r.level, service: r.service, host: r.host, message: r.message ?? '', attrs: JSON.parse(r.attrs) as Record<string, unknown> };
}

const anyMessage = fc.oneof(rfc5424, rfc3164);

const TOKENS = ['<', '>', '<13>', '<191>', '1 ', ' ', '-', '[', ']', '"', '=', '\\', 'Jan', ' 1 ', '00:00:00', '2024-01-01T00:00:00Z', ':', '[123]', '\ufeff', '\n', '\r', '\0'];

/** A valid message's bytes, for mutation. */
const validBytes = fc.tuple(anyMessage, fc.nat({ max: 9 })).map(([m, i]) => Buffer.from(messageLine(m, i)));

describe('syslog messages under fuzzing', () => {
  const watchdog = new HangWatchdog('SyslogRowWriter');
  const sample = new BatchSample();
  afterAll(() => watchdog.stop());

  const fuzzMessage = fc.oneof(
    { weight: 2, arbitrary: validBytes },
    { weight: 5, arbitrary: mutated(validBytes) },
    { weight: 1, arbitrary: spliced(validBytes) },
    { weight: 1, arbitrary: tokenSoup(TOKENS) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  );

  it(`makes exactly one valid row of each of ${RUNS} random and mutated messages, reading nothing past its end`, () => {
    fc.assert(
      fc.property(fc.array(fuzzMessage, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 255 }), (messages, junk) => {
        const writer = new SyslogRowWriter(new RowBatchBuilder(1024), CTX);
        // As in a TCP chunk: each message between other bytes, given by its offsets.
        const again = new SyslogRowWriter(new RowBatchBuilder(1024), CTX);
        for (const m of messages) {
          watchdog.guard(m, () => writer.write(Buffer.from(m), 0, m.length));
          const chunk = Buffer.alloc(m.length + 64, junk);
          m.copy(chunk, 32);
          again.write(chunk, 32, 32 + m.length);
        }
        expect(writer.parseErrors).toBeLessThanOrEqual(messages.length);
        const batch = writer.out.finish();
        const records = checkBatch(batch, CTX);
        expect(records.length).toBe(messages.length);
        const other = again.out.finish();
        if (!other.bytes.equals(batch.bytes)) expect(other.bytes.toString()).toBe(batch.bytes.toString());
        expect(again.parseErrors).toBe(writer.parseErrors);
        sample.offer(batch, records);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it(`keeps every RFC 5424 and RFC 3164 message whatever unparseable lines surround it (${PART_RUNS} batches)`, () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { maxLength: 6 }), fc.array(neither, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), (good, bad, slots) => {
        const parts = interleave(good, bad, slots);
        const writer = new SyslogRowWriter(new RowBatchBuilder(1024), CTX);
        const want = parts.map((p, i) => {
          const line = Buffer.from(messageLine(p.part, i));
          watchdog.guard(line, () => writer.write(line, 0, line.length));
          return p.part.expected(i);
        });
        const batch = writer.out.finish();
        const records = checkBatch(batch, CTX);
        const got = records.map(actual);
        // (The reason of a parse error is matched by any string: vitest's matcher, not expectSame.)
        if (bad.length > 0) expect(got).toEqual(want);
        else expectSame(got, want);
        expect(writer.parseErrors).toBe(bad.length);
        sample.offer(batch, records);
      }),
      { numRuns: PART_RUNS },
    );
  }, 300_000);

  it('stores a sample of the rows it made in DuckDB through the ingest pipeline, unchanged', async () => {
    expect((await loadIntoStore(sample)).rows).toBeGreaterThan(1000);
  }, 120_000);
});

// ---- TCP framing ----

/** Enough of a net.Socket for a TcpConnection: events in, pause/resume/end/destroy out. */
class FakeSocket extends EventEmitter {
  readonly remoteAddress = '192.0.2.1';
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    return this;
  }
}

/** A listener with no sockets of its own, whose pipeline keeps what it is given. */
async function framingListener(maxMessageBytes: number): Promise<{ listener: SyslogListener; batches: RowBatch[] }> {
  const batches: RowBatch[] = [];
  const pipeline = { submit: (batch: RowBatch) => (batches.push(batch), Promise.resolve()) } as unknown as IngestPipeline;
  const listener = await SyslogListener.start(
    { host: '127.0.0.1', port: 0, tcp: false, udp: false, tls: null, maxMessageBytes, tenant: 'default' },
    { pipeline, metrics: new Metrics(), log: { warn: () => undefined, info: () => undefined } },
  );
  return { listener, batches };
}

/** Rows as text with the receive time (and a ts that is only the receive time) taken out: it differs per chunk. */
function rowsWithoutTimes(batches: RowBatch[]): string[] {
  return batches.flatMap((b) =>
    b.bytes
      .toString()
      .split('\n')
      .filter((r) => r !== '')
      .map((r) => {
        const f = r.split('\t');
        if (f[0] === f[1]) f[0] = 'received';
        f[1] = 'received';
        return f.join('\t');
      }),
  );
}

/** A stream fed to a connection in the given chunks, then ended; the rows it made. */
function feed(listener: SyslogListener, batches: RowBatch[], stream: Buffer, at: number[]): string[] {
  batches.length = 0;
  const socket = new FakeSocket();
  // The connection class is private to the listener: hand it a socket the way its server would.
  (listener as unknown as { accept(s: FakeSocket): void }).accept(socket);
  let from = 0;
  for (const to of [...at, stream.length]) {
    if (to > from) socket.emit('data', stream.subarray(from, to));
    from = to;
  }
  socket.emit('end');
  return rowsWithoutTimes(batches);
}

const MAX = 64;

/** Messages of a stream: valid ones, and any bytes (newline framing needs them without a newline). */
const streamMessage = fc.oneof(
  fc.tuple(anyMessage, fc.nat({ max: 9 })).map(([m, i]) => Buffer.from(messageLine(m, i))),
  fc.uint8Array({ minLength: 1, maxLength: MAX + 20 }).map((b) => Buffer.from(b)),
);

function octetStream(messages: Buffer[], newlines: boolean[]): Buffer {
  return Buffer.concat(messages.flatMap((m, i) => [Buffer.from(`${m.length} `), m, Buffer.from(newlines[i] ? '\n' : '')]));
}

describe('syslog TCP framing under fuzzing', () => {
  let framing: { listener: SyslogListener; batches: RowBatch[] };
  beforeAll(async () => {
    framing = await framingListener(MAX);
  });
  afterAll(() => framing.listener.close());

  it('cuts a line at the limit and makes no empty message of the CRLF after a line of exactly the limit', () => {
    const exact = `<13>1 - h a - - - ${'x'.repeat(MAX - 18)}`;
    expect(exact.length).toBe(MAX);
    expect(feed(framing.listener, framing.batches, Buffer.from(`${exact}\r\nnext\r\n`), []).length).toBe(2);
    expect(feed(framing.listener, framing.batches, Buffer.from(`${exact}yz\r\n`), []).length).toBe(2); // cut, then "yz"
  });

  it(`makes the same rows from a newline-framed stream however it is cut into chunks (${RUNS / 10} streams)`, () => {
    fc.assert(
      fc.property(fc.array(streamMessage, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), fc.constantFrom('\n', '\r\n'), (messages, at, eol) => {
        const lines = messages.map((m) => Buffer.from(m.toString('latin1').replace(/\n/g, ' '), 'latin1'));
        const stream = Buffer.concat(lines.flatMap((l) => [l, Buffer.from(eol)]));
        const whole = feed(framing.listener, framing.batches, stream, []);
        expectSame(feed(framing.listener, framing.batches, stream, cuts(stream.length, at)), whole);
        // Whole lines within the limit are each one message (unless a leading digit makes the
        // stream look octet-counted, as RFC 6587 detection must); an empty line, CRLF or not, is none.
        const blank = (l: Buffer) => l.length === 0 || (eol === '\n' && l.length === 1 && l[0] === 13);
        const short = lines.filter((l) => !blank(l) && l.length + eol.length - 1 <= MAX);
        const digit = stream[0]! >= 49 && stream[0]! <= 57;
        if (short.length === lines.length && !digit) expect(whole.length).toBe(lines.length);
      }),
      { numRuns: RUNS / 10 },
    );
  }, 300_000);

  it(`reads every message of an octet-counted stream however it is cut into chunks, with or without newlines between frames (${RUNS / 10} streams)`, () => {
    fc.assert(
      fc.property(
        fc.array(streamMessage.filter((m) => m.length <= MAX), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (messages, newlines, at) => {
          const stream = octetStream(messages, newlines);
          // The listener's clock: RFC 3164 dates take the year of their receive time.
          const ctx = { tenant: 'default', receivedAt: nowMicros() };
          const want = rowsWithoutTimes(
            messages.map((m) => {
              const w = new SyslogRowWriter(new RowBatchBuilder(1024), ctx);
              w.write(m, 0, m.length);
              return w.out.finish();
            }),
          );
          expectSame(feed(framing.listener, framing.batches, stream, []), want);
          expectSame(feed(framing.listener, framing.batches, stream, cuts(stream.length, at)), want);
        },
      ),
      { numRuns: RUNS / 10 },
    );
  }, 300_000);

  it(`makes the same rows from any stream of bytes however it is cut, whatever framing it falls into (${RUNS / 10} streams)`, () => {
    const anyStream = fc.oneof(
      fc.tuple(fc.array(streamMessage, { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { maxLength: 4 })).map(([m, n]) => octetStream(m, n)),
      mutated(fc.tuple(fc.array(streamMessage, { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { maxLength: 4 })).map(([m, n]) => octetStream(m, n))),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(anyStream, fc.array(fc.nat(), { maxLength: 6 }), (stream, at) => {
        expectSame(feed(framing.listener, framing.batches, stream, cuts(stream.length, at)), feed(framing.listener, framing.batches, stream, []));
      }),
      { numRuns: RUNS / 10 },
    );
  }, 300_000);

  it('makes the same rows over a real TCP socket as from the whole stream (200 connections)', async () => {
    const batches: RowBatch[] = [];
    const pipeline = { submit: (batch: RowBatch) => (batches.push(batch), Promise.resolve()) } as unknown as IngestPipeline;
    const listener = await SyslogListener.start(
      { host: '127.0.0.1', port: 0, tcp: true, udp: false, tls: null, maxMessageBytes: MAX, tenant: 'default' },
      { pipeline, metrics: new Metrics(), log: { warn: () => undefined, info: () => undefined } },
    );
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.tuple(fc.array(streamMessage.filter((m) => m.length <= MAX), { minLength: 1, maxLength: 5 }), fc.array(fc.boolean(), { maxLength: 5 })).map(([m, n]) => octetStream(m, n)),
            fc.array(streamMessage, { minLength: 1, maxLength: 5 }).map((ms) => Buffer.concat(ms.flatMap((m) => [Buffer.from(m.toString('latin1').replace(/\n/g, ' '), 'latin1'), Buffer.from('\n')]))),
          ),
          fc.array(fc.nat(), { maxLength: 6 }),
          async (stream, at) => {
            const want = feed(framing.listener, framing.batches, stream, []);
            batches.length = 0;
            const socket = net.connect(listener.ports.tcp!, '127.0.0.1');
            socket.setNoDelay(true);
            await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
            let from = 0;
            for (const to of [...cuts(stream.length, at), stream.length]) {
              if (to > from) await new Promise<void>((resolve) => socket.write(stream.subarray(from, to), () => resolve()));
              from = to;
              await new Promise((r) => setImmediate(r));
            }
            await new Promise<void>((resolve) => socket.end(resolve));
            for (let tries = 0; tries < 200 && rowsWithoutTimes(batches).length < want.length; tries++) await new Promise((r) => setTimeout(r, 5));
            await new Promise((r) => setTimeout(r, 5));
            expectSame(rowsWithoutTimes(batches), want);
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      await listener.close();
    }
  }, 120_000);
});
