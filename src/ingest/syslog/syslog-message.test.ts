// The syslog message parser, on what util-linux logger and rsyslog send and on what they do not.

import { describe, expect, it } from 'vitest';
import { decodeRows, RowBatchBuilder } from '../../store/row-format.js';
import { SyslogRowWriter } from './syslog-message.js';

const receivedAt = BigInt(Date.UTC(2026, 10, 24, 12, 0, 0)) * 1000n;

function parse(...messages: string[]) {
  const w = new SyslogRowWriter(new RowBatchBuilder(64), { tenant: 'default', receivedAt });
  for (const m of messages) {
    const b = Buffer.from(m, 'latin1');
    w.write(b, 0, b.length);
  }
  return { rows: decodeRows(w.out.finish()).map((r) => ({ ...r, attrs: JSON.parse(r.attrs) as Record<string, unknown> })), errors: w.parseErrors };
}

describe('SyslogRowWriter', () => {
  it('reads RFC 5424 with structured data, MSGID and PROCID', () => {
    const { rows, errors } = parse(
      '<132>1 2026-11-24T22:26:52.285518+00:00 vm myapp 4242 ID47 [timeQuality tzKnown="1" isSynced="0"][zoo@123 tiger="hun\\"gry\\]" x="a\\\\b"] hello 5424\n',
    );
    expect(errors).toBe(0);
    expect(rows[0]).toMatchObject({
      ts: BigInt(Date.UTC(2026, 10, 24, 22, 26, 52)) * 1000n + 285518n,
      level: 'warn',
      severity: 13,
      service: 'myapp',
      host: 'vm',
      message: 'hello 5424',
      attrs: { facility: 'local0', procid: '4242', msgid: 'ID47', sd: { timeQuality: { tzKnown: '1', isSynced: '0' }, 'zoo@123': { tiger: 'hun"gry]', x: 'a\\b' } } },
    });
  });

  it('reads RFC 5424 with nil fields, a BOM, and no message', () => {
    const { rows } = parse('<13>1 - - - - - -', '<14>1 2026-11-24T01:02:03Z h a - - - \ufeffwith BOM'.replace('\ufeff', '\xef\xbb\xbf'));
    expect(rows[0]).toMatchObject({ ts: receivedAt, level: 'info', service: null, host: null, message: '', attrs: { facility: 'user' } });
    expect(rows[1]).toMatchObject({ service: 'a', host: 'h', message: 'with BOM' });
  });

  it('reads RFC 3164 with and without host and pid, and rsyslog RFC 3339 times', () => {
    const { rows, errors } = parse(
      '<13>Nov 24 22:26:52 vm myapp[21408]: hello 3164',
      '<11>Nov  4 02:03:04 myapp: no host here',
      '<30>Jan  1 00:00:00 host2 cron: future date goes to last year',
      '<13>2026-11-24T10:00:00.5+01:00 host3 tag: rsyslog forward format',
      '<13>Nov 24 22:26:52 vm just a message without a tag',
    );
    expect(errors).toBe(0);
    expect(rows.map((r) => [r.service, r.host, r.message, r.attrs.procid ?? null])).toEqual([
      ['myapp', 'vm', 'hello 3164', '21408'],
      ['myapp', null, 'no host here', null],
      ['cron', 'host2', 'future date goes to last year', null],
      ['tag', 'host3', 'rsyslog forward format', null],
      [null, 'vm', 'just a message without a tag', null],
    ]);
    // RFC 3164 has no zone: local time, as rsyslog reads it.
    const local = (...parts: [number, number, number, number?, number?, number?]) => BigInt(new Date(...parts).getTime()) * 1000n;
    expect(rows[0]!.ts).toBe(local(2026, 10, 24, 22, 26, 52));
    expect(rows[1]).toMatchObject({ ts: local(2026, 10, 4, 2, 3, 4), level: 'error' });
    expect(rows[2]!.ts).toBe(local(2026, 0, 1));
    expect(rows[3]!.ts).toBe(BigInt(Date.UTC(2026, 10, 24, 9, 0, 0)) * 1000n + 500_000n);
  });

  it('keeps a message that is neither whole, says why, and counts it', () => {
    const { rows, errors } = parse('no pri at all', '<999>1 - - - - - -', '<13>1 not-a-time h a - - - m', '<13>1 - h a - - [open sd', '<13>Xyz 24 22:26:52 h t: m');
    expect(errors).toBe(5);
    expect(rows.map((r) => r.message)).toEqual(['no pri at all', '<999>1 - - - - - -', '<13>1 not-a-time h a - - - m', '<13>1 - h a - - [open sd', '<13>Xyz 24 22:26:52 h t: m']);
    expect(rows.map((r) => r.attrs.syslog_parse_error)).toEqual([
      'no <PRI> at the start',
      'no valid <PRI> (0–191) at the start',
      'RFC 5424 timestamp is not RFC 3339',
      'RFC 5424 structured data is not closed',
      'RFC 3164 timestamp is not "Mmm dd hh:mm:ss"',
    ]);
    expect(rows.every((r) => r.level === null)).toBe(true);
  });

  it('makes invalid UTF-8 into U+FFFD and escapes what a row cannot hold', () => {
    const { rows } = parse('<13>1 - h a - - - tab\there "q" \\ \x01 \xff end');
    expect(rows[0]!.message).toBe('tab\there "q" \\ \x01 \ufffd end');
  });
});
