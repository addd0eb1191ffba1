// Comparing and writing runs of bytes in place: on the ingest hot paths a view object (subarray)
// or a string per call costs more than the work.

/** Whether a[aStart, aStart + n) and b[bStart, bStart + n) hold the same bytes. */
export function bytesEqual(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** A non-negative safe integer's decimal digits written at `out[p]`; the position after them. */
export function writeUint(out: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    out[p] = 48 + n;
    return p + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  const end = p + digits;
  let q = end;
  let x = n;
  while (q > p) {
    const tenth = Math.floor(x / 10);
    out[--q] = 48 + (x - tenth * 10);
    x = tenth;
  }
  return end;
}
