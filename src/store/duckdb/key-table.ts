// The API keys of a DuckDB store (migration 4, table api_keys).

import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { Scope } from '../../auth/api-key.js';
import { keyTimeMicros as micros, keyTimeOf as date, type KeyRecord, type KeyTable } from '../../auth/key-table.js';

type Use = <T>(fn: (conn: DuckDBConnection) => Promise<T>) => Promise<T>;

const COLUMNS = 'id, name, tenant, scopes, secret_hash, epoch_us(created_at), epoch_us(expires_at), epoch_us(revoked_at), ingest_bytes_per_s, queries_per_s';

export class DuckDbKeyTable implements KeyTable {
  constructor(private readonly use: Use) {}

  async insertKey(k: KeyRecord): Promise<void> {
    const params: DuckDBValue[] = [
      k.id,
      k.name,
      k.tenant,
      k.scopes.join(','),
      k.secretHash,
      micros(k.createdAt),
      k.expiresAt === null ? null : micros(k.expiresAt),
      k.ingestBytesPerS === null ? null : BigInt(k.ingestBytesPerS),
      k.queriesPerS,
    ];
    await this.use((conn) =>
      conn.run(
        `INSERT INTO api_keys VALUES ($1, $2, $3, $4, $5, make_timestamp($6::BIGINT), make_timestamp($7::BIGINT), NULL, $8::BIGINT, $9::DOUBLE)`,
        params,
      ),
    );
  }

  async listKeys(): Promise<KeyRecord[]> {
    const r = await this.use((conn) => conn.runAndReadAll(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`));
    return r.getRows().map((row) => {
      const [id, name, tenant, scopes, hash, created, expires, revoked, ingest, queries] = row as [
        string,
        string,
        string,
        string,
        string,
        bigint,
        bigint | null,
        bigint | null,
        bigint | null,
        number | null,
      ];
      return {
        id,
        name,
        tenant,
        scopes: scopes.split(',') as Scope[],
        secretHash: hash,
        createdAt: date(created),
        expiresAt: expires === null ? null : date(expires),
        revokedAt: revoked === null ? null : date(revoked),
        ingestBytesPerS: ingest === null ? null : Number(ingest),
        queriesPerS: queries,
      };
    });
  }

  async revokeKey(id: string, at: Date): Promise<boolean> {
    const r = await this.use((conn) =>
      conn.runAndReadAll('UPDATE api_keys SET revoked_at = make_timestamp($2::BIGINT) WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id, micros(at)]),
    );
    return r.getRows().length > 0;
  }
}
