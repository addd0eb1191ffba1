// Where keys live: a table in the store, so every instance sharing a backend sees the same keys
// (and a revocation made through one of them). Each backend implements KeyTable.

import type { Scope } from './api-key.js';

export interface KeyRecord {
  id: string;
  name: string;
  /** A tenant name, or `*` (ALL_TENANTS). */
  tenant: string;
  scopes: Scope[];
  /** The scrypt hash of the secret (api-key.ts); never the secret itself. */
  secretHash: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** Per-key rate limits; null: the server's default (`auth.rate.*`). */
  ingestBytesPerS: number | null;
  queriesPerS: number | null;
}

export interface KeyTable {
  insertKey(key: KeyRecord): Promise<void>;
  /** Every key, revoked and expired ones too, oldest first. */
  listKeys(): Promise<KeyRecord[]>;
  /** Marks a key revoked; false when there is no key with that id (or it was revoked before). */
  revokeKey(id: string, at: Date): Promise<boolean>;
}

/** A key's time as the tables store it: integer µs since the epoch. */
export function keyTimeMicros(d: Date): bigint {
  return BigInt(d.getTime()) * 1000n;
}

/** The inverse of keyTimeMicros. */
export function keyTimeOf(us: bigint): Date {
  return new Date(Number(us / 1000n));
}
