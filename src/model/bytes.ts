// Comparing runs of bytes in place: on the ingest hot paths a view object (subarray) per
// comparison costs more than the comparison.

/** Whether a[aStart, aStart + n) and b[bStart, bStart + n) hold the same bytes. */
export function bytesEqual(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}
