import { describe, expect, it } from 'vitest';
import { LhError } from '../errors.js';
import { MAX_TIME_MICROS, parseStep, parseTimeParam } from './time.js';

const NOW = 1_714_557_600_000_000n; // 2024-05-01T10:00:00Z
const MIN = 60_000_000n;

function errorOf(fn: () => unknown): LhError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LhError);
    return e as LhError;
  }
  throw new Error('expected an error');
}

describe('parseTimeParam', () => {
  it('is undefined when the parameter is absent or blank', () => {
    expect(parseTimeParam('from', undefined, NOW)).toBeUndefined();
    expect(parseTimeParam('from', '', NOW)).toBeUndefined();
    expect(parseTimeParam('from', '  ', NOW)).toBeUndefined();
  });

  it('reads RFC 3339 at any precision and offset', () => {
    expect(parseTimeParam('from', '2024-05-01T10:00:00Z', NOW)).toBe(NOW);
    expect(parseTimeParam('from', '2024-05-01T12:00:00.000001+02:00', NOW)).toBe(NOW + 1n);
    expect(parseTimeParam('from', '2024-05-01', NOW)).toBe(NOW - 600n * MIN);
  });

  it('reads Unix times in s, ms, µs and ns', () => {
    expect(parseTimeParam('to', '1714557600', NOW)).toBe(NOW);
    expect(parseTimeParam('to', '1714557600000', NOW)).toBe(NOW);
    expect(parseTimeParam('to', '1714557600000000', NOW)).toBe(NOW);
    expect(parseTimeParam('to', '1714557600000000000', NOW)).toBe(NOW);
    expect(parseTimeParam('to', '1714557600.5', NOW)).toBe(NOW + 500_000n);
  });

  it('reads now and now±N<unit> for every unit', () => {
    expect(parseTimeParam('to', 'now', NOW)).toBe(NOW);
    expect(parseTimeParam('from', 'now-250ms', NOW)).toBe(NOW - 250_000n);
    expect(parseTimeParam('from', 'now-30s', NOW)).toBe(NOW - 30_000_000n);
    expect(parseTimeParam('from', 'now-15m', NOW)).toBe(NOW - 15n * MIN);
    expect(parseTimeParam('from', 'now-2h', NOW)).toBe(NOW - 120n * MIN);
    expect(parseTimeParam('from', 'now-7d', NOW)).toBe(NOW - 7n * 1440n * MIN);
    expect(parseTimeParam('from', 'now-1w', NOW)).toBe(NOW - 7n * 1440n * MIN);
    expect(parseTimeParam('to', 'now+1h', NOW)).toBe(NOW + 60n * MIN);
    expect(parseTimeParam('to', ' now ', NOW)).toBe(NOW);
  });

  it('rejects anything else with LH_ERR_BAD_TIME naming the parameter, the value and the accepted forms', () => {
    for (const bad of ['yesterday', 'now-', 'now-15', 'now-15M', 'now - 1h', 'now-1y', '2024-13-01', 'NaN', '99999999999999999999999999']) {
      const e = errorOf(() => parseTimeParam('from', bad, NOW));
      expect(e.code).toBe('LH_ERR_BAD_TIME');
      expect(e.message).toContain(`from=${JSON.stringify(bad)}`);
      expect(e.message).toContain('now-15m');
      expect(e.details).toMatchObject({ param: 'from', value: bad });
      expect(e.details?.accepted).toHaveLength(4);
    }
    expect(errorOf(() => parseTimeParam('to', 'soon', NOW)).details).toMatchObject({ param: 'to' });
  });

  it('rejects times outside years 1–9999', () => {
    expect(errorOf(() => parseTimeParam('to', 'now+999999999w', NOW)).code).toBe('LH_ERR_BAD_TIME');
    expect(parseTimeParam('to', '9999-12-31T23:59:59.999999Z', NOW)).toBe(MAX_TIME_MICROS);
  });
});

describe('parseStep', () => {
  it('reads durations in ms s m h d w, and a bare number as seconds', () => {
    expect(parseStep('500ms')).toBe(500_000n);
    expect(parseStep('10s')).toBe(10_000_000n);
    expect(parseStep('1m')).toBe(MIN);
    expect(parseStep('5m')).toBe(5n * MIN);
    expect(parseStep('1h')).toBe(60n * MIN);
    expect(parseStep('1d')).toBe(1440n * MIN);
    expect(parseStep('2w')).toBe(14n * 1440n * MIN);
    expect(parseStep('60')).toBe(MIN);
  });

  it('rejects zero, negatives, fractions, unknown units and absurd sizes with LH_ERR_BAD_PARAM naming step', () => {
    for (const bad of ['', '0s', '-1m', '1.5m', '1y', 'm', '5 m', '3651d', '1000000000w']) {
      const e = errorOf(() => parseStep(bad));
      expect(e.code).toBe('LH_ERR_BAD_PARAM');
      expect(e.message).toContain(`step=${JSON.stringify(bad)}`);
      expect(e.details).toEqual({ param: 'step', value: bad });
    }
  });
});
