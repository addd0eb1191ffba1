// Byte sizes as people write them in config ("10MiB", "512KB", 1048576) and as we print them.
// KB/MB/GB/TB are decimal (1000ⁿ) and KiB/MiB/GiB/TiB binary (1024ⁿ), the same reading DuckDB gives
// its own `memory_limit`, so one setting never means two different amounts.

const UNIT_FACTORS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

export const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

const SIZE_TEXT = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i;

/**
 * Bytes for `"10MiB"`, `"1.5 GB"`, `"4096"` or `4096`; `undefined` when the input is not a size
 * (the caller keeps the original value so validation can name it). Fractions round to whole bytes.
 */
export function parseByteSize(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const match = SIZE_TEXT.exec(input.trim());
  if (!match) return undefined;
  const factor = UNIT_FACTORS[(match[2] ?? 'b').toLowerCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `10485760` → `"10 MiB"`: binary units, at most one decimal, exact values without one. */
export function formatByteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}
