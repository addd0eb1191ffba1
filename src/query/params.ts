// Reading and checking request parameters, shared by the query service's answers.

import { LhError } from '../errors.js';

/** A parameter as text ('' when absent). */
export function paramText(v: string | number | undefined | null): string {
  return v === undefined || v === null ? '' : String(v);
}

/** An integer parameter in [min, max], `fallback` when absent; LH_ERR_BAD_PARAM names it. */
export function intParam(name: string, v: string | number | undefined | null, fallback: number, min: number, max: number): number {
  const s = paramText(v);
  if (s === '') return fallback;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LhError('LH_ERR_BAD_PARAM', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(s)}`, { param: name });
  }
  return n;
}
