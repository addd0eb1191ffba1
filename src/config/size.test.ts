import { describe, expect, it } from 'vitest';
import { formatByteSize, parseByteSize } from './size.js';

describe('parseByteSize', () => {
  it('reads binary units as powers of 1024 and decimal units as powers of 1000', () => {
    expect(parseByteSize('10MiB')).toBe(10 * 1024 * 1024);
    expect(parseByteSize('512KB')).toBe(512_000);
    expect(parseByteSize('1GiB')).toBe(2 ** 30);
    expect(parseByteSize('1TB')).toBe(1e12);
  });

  it('accepts any letter case, a space before the unit, fractions and bare byte counts', () => {
    expect(parseByteSize('64 mib')).toBe(64 * 2 ** 20);
    expect(parseByteSize('1.5KiB')).toBe(1536);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('100B')).toBe(100);
    expect(parseByteSize(4096)).toBe(4096);
  });

  it('returns undefined for anything that is not a size', () => {
    for (const input of ['abc', '10 XB', '-5MB', 'MiB', '', '1e6', 1.5, -1, null, {}]) {
      expect(parseByteSize(input), JSON.stringify(input)).toBeUndefined();
    }
  });
});

describe('formatByteSize', () => {
  it('prints binary units with at most one decimal', () => {
    expect(formatByteSize(0)).toBe('0 B');
    expect(formatByteSize(1023)).toBe('1023 B');
    expect(formatByteSize(10 * 2 ** 20)).toBe('10 MiB');
    expect(formatByteSize(1536)).toBe('1.5 KiB');
  });
});
