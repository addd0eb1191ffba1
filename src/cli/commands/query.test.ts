import { describe, expect, it } from 'vitest';
import { renderLogTable, type LogItem } from './query.js';

function item(fields: Partial<LogItem>): LogItem {
  return {
    ts: '2024-05-01T12:00:00.000000Z',
    received_at: '2024-05-01T12:00:00.000000Z',
    tenant: 'default',
    level: 'info',
    severity: null,
    service: 'api',
    host: 'web-1',
    category: null,
    source: null,
    message: 'hello',
    trace_id: null,
    span_id: null,
    attrs: {},
    ...fields,
  };
}

describe('renderLogTable', () => {
  it('lines up ts, level, service, host and message, with - for missing values', () => {
    const table = renderLogTable([item({}), item({ level: 'error', service: null, host: 'db-primary' })]);
    expect(table).toBe(
      [
        'ts                           level  service  host        message',
        '2024-05-01T12:00:00.000000Z  info   api      web-1       hello',
        '2024-05-01T12:00:00.000000Z  error  -        db-primary  hello',
        '',
      ].join('\n'),
    );
  });

  it('cuts every line to the terminal width, shortening the message first', () => {
    const long = 'x'.repeat(200);
    const lines = renderLogTable([item({ message: long })], 80).trimEnd().split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^2024-05-01T12:00:00.000000Z {2}info {3}api {6}web-1 {2}x+…$/);
  });

  it('keeps the whole message when there is no terminal (output piped)', () => {
    const long = 'y'.repeat(300);
    expect(renderLogTable([item({ message: long })])).toContain(long);
  });

  it('keeps each record on one line', () => {
    expect(renderLogTable([item({ message: 'first\nsecond' })]).trimEnd().split('\n')).toHaveLength(2);
  });
});
