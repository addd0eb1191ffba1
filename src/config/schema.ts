// The configuration schema: the single source for the `Config` type, the defaults, validation,
// the `LOGHAVEN_*` environment variable names and the generated reference docs. Add a key here
// and it is loadable from TOML, env and flags, validated and documented with no other change.

import { Type, KindGuard, type Static, type TSchema, type TObject } from '@sinclair/typebox';
import { SIZE_UNITS, formatByteSize } from './size.js';
import { FIELD_ALIASES } from '../ingest/common/normalise.js';

export const PROFILES = ['development', 'staging', 'production'] as const;
export type Profile = (typeof PROFILES)[number];

export const DURABILITY_MODES = ['fsync', 'batch', 'none'] as const;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Marks an integer byte count that TOML, env and flags may also give as `"10MiB"`. */
const BYTE_SIZE_UNIT = 'bytes';

function byteSize(options: { default: number; minimum: number; maximum: number; description: string }) {
  return Type.Integer({ ...options, 'x-unit': BYTE_SIZE_UNIT });
}

function oneOf<const Values extends readonly string[]>(values: Values, options: { default: Values[number]; description: string }) {
  return Type.Union(
    values.map((value) => Type.Literal<Values[number]>(value)),
    options,
  );
}

function section<Properties extends Parameters<typeof Type.Object>[0]>(description: string, properties: Properties) {
  return Type.Object(properties, { description, additionalProperties: false });
}

export const ConfigSchema = section('loghaven configuration', {
  profile: oneOf(PROFILES, {
    default: 'development',
    description: 'Environment profile; selects the profile defaults and the `[profiles.<name>]` table of the TOML file.',
  }),
  data_dir: Type.String({
    minLength: 1,
    default: './data',
    description: 'Directory for the database, category files and archives (relative paths resolve against the working directory).',
  }),
  http: section('HTTP listener', {
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the HTTP server binds to; `0.0.0.0` listens on every interface.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 7700, description: 'TCP port of the HTTP server (API, UI, health and metrics).' }),
    request_timeout_ms: Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      default: 60_000,
      description: 'Longest a client may take to send a whole request (headers and body); slower clients are cut off. `0`: no limit. Streamed answers (exports, tails) are not bound by it.',
    }),
    compress: Type.Boolean({ default: true, description: 'Compress JSON answers of 1 KiB and more with gzip or brotli when the client accepts it.' }),
    body_limit: byteSize({
      minimum: 1024,
      maximum: GiB,
      default: 10 * MiB,
      description: 'Largest accepted request body, after decompression; larger requests get 413.',
    }),
    tls: section('HTTPS', {
      cert: Type.String({ default: '', description: 'PEM certificate file (with its chain); with `key`, the HTTP listener speaks HTTPS only. Empty: plain HTTP.' }),
      key: Type.String({ default: '', description: 'PEM private key file of `cert`.' }),
    }),
  }),
  auth: section('API keys and tenants (SPEC §9)', {
    enabled: Type.Boolean({
      default: false,
      description:
        'Every route but /health and /ready needs an API key (`loghaven keys create`), which sets the tenant of what it writes and reads. On by default in the production and staging profiles; off, every request is the `default` tenant with every right (said at start).',
    }),
    metrics_public: Type.Boolean({ default: false, description: 'With auth on, serve /metrics without a key (otherwise it needs an admin key).' }),
    rate: section('Per-key rate limits (a key may have its own, set at `keys create`)', {
      ingest_bytes_per_s: byteSize({
        minimum: 0,
        maximum: 1024 * GiB,
        default: 0,
        description: 'Request body bytes a key may ingest per second over HTTP; beyond it 429 with Retry-After. 0: no limit.',
      }),
      queries_per_s: Type.Number({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Read requests (REST, tail, GraphQL) a key may make per second; beyond it 429 with Retry-After. 0: no limit.' }),
    }),
  }),
  store: section('Storage backend', {
    backend: oneOf(['duckdb', 'postgres'] as const, {
      default: 'duckdb',
      description:
        'Storage backend. `duckdb`: the embedded default, one file under `data_dir`. `postgres`: PostgreSQL at `store.postgres.url`, shared by any number of instances (each with its own `data_dir` for its spool); see docs/deployment.md.',
    }),
    duckdb: section('DuckDB backend', {
      threads: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Worker threads DuckDB may use for queries (a load reads its segment on one thread).' }),
      memory_limit: Type.String({
        pattern: '^\\d+(\\.\\d+)?\\s*([Bb]|[KkMmGgTt][Bb]|[KkMmGgTt][Ii][Bb])$',
        default: '48MB',
        description:
          'DuckDB memory limit, passed to DuckDB as is (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). The default keeps the whole server under 256 MB while ingesting at full speed (a load of typical lines needs about 40MB); queries larger than the limit spill to disk or are retried under `max_memory_limit`, so raise it for faster big aggregations.',
        'x-expected': 'a memory size such as "1GB" or "512MiB" (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)',
        'x-type': 'memory size (e.g. `1GB`)',
      }),
      max_memory_limit: Type.String({
        pattern: '^\\d+(\\.\\d+)?\\s*([Bb]|[KkMmGgTt][Bb]|[KkMmGgTt][Ii][Bb])$',
        default: '1GB',
        description:
          'How far the memory limit is raised, for as long as it is needed, when a load or a query runs out of memory under `memory_limit` (very wide rows need more per batch); the work is retried once with it.',
        'x-expected': 'a memory size such as "1GB" or "512MiB" (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)',
        'x-type': 'memory size (e.g. `1GB`)',
      }),
    }),
    postgres: section('PostgreSQL backend (store.backend = "postgres")', {
      url: Type.String({
        default: '',
        description:
          'Connection URL, e.g. `postgres://loghaven:secret@db:5432/logs`. An empty database is set up by the first instance to start (migrations run under an advisory lock).',
      }),
      pool_max: Type.Integer({ minimum: 2, maximum: 1000, default: 20, description: 'Most connections this instance opens (loads, queries, maintenance).' }),
      idle_timeout_ms: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 30_000, description: 'An idle connection is closed after this long.' }),
      connect_timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000, description: 'Longest a new connection may take to open.' }),
      acquire_timeout_ms: Type.Integer({
        minimum: 100,
        maximum: 600_000,
        default: 10_000,
        description: 'Longest a request waits for a free connection of the pool; past it, 503 (busy) with Retry-After.',
      }),
    }),
  }),
  ingest: section('Ingestion pipeline', {
    queue_max_bytes: byteSize({
      minimum: MiB,
      maximum: 64 * GiB,
      default: 64 * MiB,
      description: 'Memory cap of the requests waiting to be written to the spool; beyond it producers get 429 with Retry-After.',
    }),
    max_batch_rows: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50_000, description: 'Most records written to the spool in one group (one fsync).' }),
    durability: oneOf(DURABILITY_MODES, {
      default: 'fsync',
      description:
        '`fsync`: a 2xx means the records are fsynced to the spool (survive power loss); `batch`: the spool is fsynced every `fsync_interval_ms` (a crash of the process loses nothing, a power loss at most that interval); `none`: the OS writes when it likes (a process crash loses nothing, a power loss may lose seconds).',
    }),
    fsync_interval_ms: Type.Integer({ minimum: 1, maximum: 60_000, default: 50, description: 'With `durability = "batch"`: how often the spool is fsynced.' }),
    message_keys: Type.Array(Type.String(), {
      default: [...FIELD_ALIASES.message],
      description:
        'Member names a JSON record\'s message comes from, the first present winning (the others stay in attrs), for every protocol. `log` is Fluent Bit\'s and Docker\'s line (an object `log` is still Elastic Common Schema\'s). Top-level names, none that names another record field. In the environment: a JSON array.',
      'x-expected': 'a list of 1 to 16 member names such as ["message", "msg", "log"]',
      'x-type': 'list of names',
    }),
    spool_max_bytes: byteSize({
      minimum: MiB,
      maximum: 1024 * GiB,
      default: 512 * MiB,
      description: 'Acknowledged bytes in the spool not yet loaded into the store; beyond it producers get 429 until the store catches up.',
    }),
    flush_interval_ms: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 0,
      description:
        'How long the spool writer waits for more requests before writing a group; 0 writes at once (a group is then whatever arrived during the previous fsync, so groups grow with the load).',
    }),
  }),
  elasticsearch: section('Elasticsearch bulk API (`POST /_bulk`)', {
    index_field: oneOf(['service', 'category'] as const, {
      default: 'service',
      description: 'Record field that the `_index` of a bulk action feeds when the document has no such field of its own.',
    }),
    version: Type.String({
      pattern: '^\\d+\\.\\d+\\.\\d+$',
      default: '8.17.0',
      description: 'Elasticsearch version loghaven answers `GET /` with: shippers check it before they send (Filebeat, Logstash and Vector want 7.x or 8.x).',
      'x-expected': 'a version such as "8.17.0"',
      'x-type': 'version (e.g. `8.17.0`)',
    }),
  }),
  syslog: section('Syslog listeners (RFC 5424 and RFC 3164; TCP, UDP, TLS)', {
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the syslog listeners bind to; `0.0.0.0` listens on every interface.' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 5514, description: 'TCP and UDP port for syslog; 0 picks a free port (tests).' }),
    tcp: Type.Boolean({ default: true, description: 'Listen for syslog over TCP (octet counting or newline framing, detected per connection).' }),
    udp: Type.Boolean({ default: true, description: 'Listen for syslog over UDP (one message per datagram; dropped and counted when ingest is full).' }),
    tls_port: Type.Integer({ minimum: 0, maximum: 65535, default: 6514, description: 'TCP port for syslog over TLS (RFC 5425), used when `tls_cert` and `tls_key` are set.' }),
    tls_cert: Type.String({ default: '', description: 'PEM certificate file for syslog over TLS; empty: no TLS listener.' }),
    tls_key: Type.String({ default: '', description: 'PEM private key file for syslog over TLS.' }),
    tls_client_ca: Type.String({
      default: '',
      description:
        'PEM CA file: syslog over TLS then requires a client certificate signed by it, and the certificate\'s subject CN is the tenant of what that client sends (instead of `tenant`). Empty: no client certificates.',
    }),
    tenant: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      default: 'default',
      description: 'Tenant of every record received by the syslog listeners (syslog carries no key: whoever reaches the port writes to this tenant, so bind it to a trusted network or one listener per tenant).',
      'x-expected': 'a tenant name: 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    }),
    max_message_bytes: byteSize({
      minimum: 480,
      maximum: 16 * MiB,
      default: 256 * 1024,
      description:
        'Longest syslog message. A longer newline-framed line is cut there (the rest is the next message); an octet count over it breaks octet counting, and, as rsyslog does, the rest of that connection is read newline-framed (logged as a warning).',
    }),
  }),
  zeromq: section('ZeroMQ listeners (envelope version 1; see docs/protocols.md)', {
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address the ZeroMQ sockets bind to; `0.0.0.0` listens on every interface.' }),
    pull: Type.Boolean({ default: true, description: 'Bind the PULL socket (fire and forget).' }),
    pull_port: Type.Integer({ minimum: 0, maximum: 65535, default: 5555, description: 'Port of the PULL socket; 0 picks a free port (tests).' }),
    router: Type.Boolean({ default: true, description: 'Bind the ROUTER socket (every envelope acknowledged once durable, or refused with a reason).' }),
    router_port: Type.Integer({ minimum: 0, maximum: 65535, default: 5556, description: 'Port of the ROUTER socket; 0 picks a free port (tests).' }),
    tenant: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      default: 'default',
      description: 'Tenant of every record received by the ZeroMQ sockets (they carry no key: whoever reaches the ports writes to this tenant).',
      'x-expected': 'a tenant name: 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    }),
    max_message_bytes: byteSize({
      minimum: 1024,
      maximum: 256 * MiB,
      default: 10 * MiB,
      description: 'Largest envelope payload, compressed and decompressed; a larger one is refused as `too_large`.',
    }),
  }),
  query: section('Query limits and the query service', {
    default_limit: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100, description: 'Rows returned by a search that gives no `limit`.' }),
    max_limit: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Largest `limit` a search may ask for.' }),
    timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 30_000,
      description: 'Time after which a running query is interrupted in the engine (its CPU is freed) and answered 504 `LH_ERR_QUERY_TIMEOUT`.',
    }),
    export_chunk_rows: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5_000, description: 'Rows fetched from the store per chunk while streaming an export.' }),
    max_concurrent: Type.Integer({
      minimum: 0,
      maximum: 1024,
      default: 0,
      description: 'Queries the engine runs at once; `0` means the number of CPU cores. More wait in the queue.',
    }),
    queue_size: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 64,
      description: 'Queries that may wait for a slot; beyond it a query is refused at once with 503 `LH_ERR_BUSY` and `Retry-After`.',
    }),
    queue_timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 600_000,
      default: 5_000,
      description: 'Longest a query waits for a slot before it is refused with 503 `LH_ERR_BUSY`.',
    }),
    max_range_days: Type.Integer({
      minimum: 0,
      maximum: 36_500,
      default: 0,
      description: 'Longest time range (`from` to `to`) a search, histogram, top or export may cover, in days; `0`: no limit. Past it: 400 `LH_ERR_RANGE_TOO_LARGE`.',
    }),
    max_export_rows: Type.Integer({
      minimum: 0,
      maximum: 1_000_000_000_000,
      default: 0,
      description: 'Most rows one export may stream; `0`: no limit. An export that would exceed it is refused before it starts with 413 `LH_ERR_TOO_MANY_ROWS`.',
    }),
    max_result_bytes: byteSize({
      minimum: 1024,
      maximum: 4 * GiB,
      default: 64 * MiB,
      description:
        'Memory one answer (a search page, a histogram, top values) may take in the server before it is sent; past it: 413 `LH_ERR_RESULT_TOO_LARGE`. The engine itself works within `store.duckdb.memory_limit` (spilling to disk) and `max_memory_limit`; a query that needs more is answered 413 `LH_ERR_QUERY_MEMORY`.',
    }),
    slow_ms: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 1_000, description: 'Queries slower than this are counted and logged as slow (and raise the `slow_queries` alert).' }),
    max_tails: Type.Integer({ minimum: 0, maximum: 100_000, default: 256, description: 'Live tails open at once (SSE and GraphQL subscriptions); beyond it a new one is refused with 503 `LH_ERR_TOO_MANY_TAILS`.' }),
  }),
  cache: section('Response cache of the query service', {
    enabled: Type.Boolean({ default: true, description: 'Cache search pages, histograms and top values; a request with `Cache-Control: no-cache` still bypasses it.' }),
    max_bytes: byteSize({ minimum: 0, maximum: 64 * GiB, default: 64 * MiB, description: 'Memory the in-process cache may hold; the least recently used answers go first.' }),
    redis_url: Type.String({
      default: '',
      description:
        'Redis shared by every instance (e.g. `redis://127.0.0.1:6379/0`) for the response cache and, with auth on, the per-key rate limits; empty: both in-process. When Redis is down, answers come from the store, each instance limits keys on its own, and `/ready` says so.',
    }),
    ttl_search_ms: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 10_000, description: 'How long a search page is kept.' }),
    ttl_histogram_ms: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 60_000, description: 'How long a histogram is kept.' }),
    ttl_top_ms: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 60_000, description: 'How long top values are kept.' }),
    ttl_access_ms: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 300_000, description: 'How long an access-log analytics answer is kept (data arriving in its range drops it sooner).' }),
    warmup: Type.String({
      default: '',
      description:
        'Queries run at start and kept warm, separated by spaces: request paths such as `/api/v1/logs/top?field=service&from=now-1h /api/v1/logs/histogram?from=now-24h` (search, histogram and top routes); `tenant=NAME` in a path warms the answers of that tenant (`default` otherwise).',
    }),
    warmup_interval_ms: Type.Integer({ minimum: 100, maximum: 86_400_000, default: 30_000, description: 'How often the warm-up queries are run again when their answers are gone or stale.' }),
  }),
  alerts: section('Alerts in /health, /api/v1/status and the loghaven_alert gauge', {
    memory_budget: byteSize({
      minimum: 16 * MiB,
      maximum: 1024 * GiB,
      default: 512 * MiB,
      description: 'Resident memory the server is meant to stay within; the `memory` alert is raised above 85 % of it.',
    }),
    disk_free_percent: Type.Integer({ minimum: 0, maximum: 99, default: 10, description: 'The `disk` alert is raised when the data directory has less free space than this share of its disk.' }),
  }),
  files: section('Category file sink (SPEC §4)', {
    enabled: Type.Boolean({
      default: true,
      description:
        'Append every record, once loaded, to `DATA/files/YYYY-MM-DD/<category>.jsonl` (UTC day of its `ts`; one JSON object per line), and error/fatal and warn records to `error.jsonl` and `warning.jsonl` of that day. Exactly once across crashes.',
    }),
    buffer_bytes: byteSize({
      minimum: 64 * 1024,
      maximum: 4 * GiB,
      default: 16 * MiB,
      description: 'Memory the file buffers may hold in all; at it, the error and warning files are written first, then the biggest.',
    }),
    max_open_files: Type.Integer({
      minimum: 4,
      maximum: 65536,
      default: 128,
      description: 'Most category files open at once (least recently used closed first); never more than a quarter of the process\'s descriptor limit (`ulimit -n`).',
    }),
    idle_close_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'A category file not written for this long is closed.' }),
  }),
  lifecycle: section('Days and their lifecycle (SPEC §7)', {
    grace: Type.String({
      pattern: '^\\s*[0-9]{1,9}(ms|s|m|h|d|w)?\\s*$',
      default: '1h',
      description: 'How long after UTC midnight a day stays open for late records; after it the day is closed and archived.',
      'x-expected': 'a duration such as 30m, 1h or 1d',
      'x-type': 'duration (e.g. `1h`)',
    }),
    interval_ms: Type.Integer({
      minimum: 1000,
      maximum: 86_400_000,
      default: 3_600_000,
      description: 'How often the server archives closed days and applies retention (the first time 15 minutes after it starts, or sooner with a shorter interval); `loghaven archive run` and `loghaven db maintain` do it at once.',
    }),
  }),
  archive: section('Daily archives (SPEC §7)', {
    enabled: Type.Boolean({
      default: true,
      description:
        'Archive each closed day, per tenant, under `archive.dir/<tenant>/`: `YYYY-MM-DD.tar.gz` (the day\'s JSONL by category, with a manifest of counts and SHA-256 sums), `YYYY-MM-DD.parquet` (zstd, every column) and `YYYY-MM-DD.json` (the manifest, written last).',
    }),
    dir: Type.String({
      default: '',
      description:
        'Directory of the archives (relative paths resolve against the working directory); empty: `DATA/archive`. Instances sharing a PostgreSQL store should share it too (a network file system every instance mounts): then any instance reads an archived day that left the hot store, whichever instance archived it.',
    }),
    keep_days: Type.Integer({
      minimum: 0,
      maximum: 36_500,
      default: 0,
      description: 'Archives of days older than this many days are deleted by each run (and such days are not archived); 0 keeps them for ever.',
    }),
    keep_count: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description: 'Most days of archives kept per tenant: each run deletes the oldest beyond it (and does not archive a day older than those kept); 0: no limit.',
    }),
  }),
  retention: section('Retention (SPEC §7)', {
    days: Type.Integer({
      minimum: 0,
      maximum: 36_500,
      default: 0,
      description:
        'Days a record stays in the hot store, counted in whole UTC days back from today (a record of a day that began more than this many days ago goes); 0 keeps everything. Rules below override it. With `archive.enabled` a day leaves the hot store only once it is archived.',
    }),
    rules: Type.Array(
      Type.Object(
        {
          days: Type.Integer({ minimum: 0, maximum: 36_500 }),
          tenant: Type.Optional(Type.String()),
          level: Type.Optional(Type.String()),
          category: Type.Optional(Type.String()),
          service: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      {
        default: [],
        description:
          'Retention for the records a rule matches, as `[[retention.rules]]` tables: `days` (0: kept for ever) and globs on any of `tenant`, `level`, `category`, `service` (as in routing rules). The first rule that matches a record decides; no match: `retention.days`. E.g. `level = "error"`, `days = 365` before `level = "debug"`, `days = 3`. In the environment: a JSON array.',
        'x-expected': 'a list of [[retention.rules]] tables, each with days and at least one of tenant, level, category, service',
        'x-type': 'list of rules',
      },
    ),
    max_disk_bytes: byteSize({
      minimum: 0,
      maximum: 2 ** 53 - 1,
      default: 0,
      description:
        'Most bytes the data directory may hold (with `archive.dir` when it is elsewhere); 0: no bound. Past it, each lifecycle run (and `loghaven db maintain`) removes whole closed UTC days, oldest first, from every tier at once — archives, category files, hot store, whatever rules and archiving say — until it fits, then rewrites the database file so the space comes back. The day still open is never removed.',
    }),
  }),
  routing: section('Category routing (SPEC §4)', {
    rules: Type.Array(
      Type.Object(
        {
          category: Type.String({ minLength: 1 }),
          source: Type.Optional(Type.String()),
          service: Type.Optional(Type.String()),
          host: Type.Optional(Type.String()),
          tenant: Type.Optional(Type.String()),
          level: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      {
        default: [],
        description:
          'Categories for records that come without one, as `[[routing.rules]]` tables: `category` and globs on any of `source` (its path, e.g. `"src/payments/**"`), `service`, `host`, `tenant`, `level` (`*` any characters but `/`, `**` any, `?` one). The first rule whose globs all match wins; no match: `general`. The category is stored with the record. In the environment: a JSON array.',
        'x-expected': 'a list of [[routing.rules]] tables, each with a category and at least one of source, service, host, tenant, level',
        'x-type': 'list of rules',
      },
    ),
  }),
  log: section('Server logging', {
    level: oneOf(LOG_LEVELS, { default: 'info', description: 'Lowest level of the server\'s own log; `silent` turns it off. The profile sets the default.' }),
  }),
});

export type Config = Static<typeof ConfigSchema>;

/** One settable value of the schema, addressed by its dotted path. */
export interface ConfigLeaf {
  /** Dotted path, e.g. `http.port`. */
  key: string;
  /** Environment variable that overrides it, e.g. `LOGHAVEN_HTTP_PORT`. */
  env: string;
  schema: TSchema;
  isByteSize: boolean;
  isNumber: boolean;
  isBoolean: boolean;
  /** A list (of tables): JSON in the environment. */
  isList: boolean;
}

export const ENV_PREFIX = 'LOGHAVEN_';

export function envNameFor(key: string): string {
  return ENV_PREFIX + key.replace(/\./g, '_').toUpperCase();
}

function collectLeaves(schema: TObject, prefix: string, into: ConfigLeaf[]): ConfigLeaf[] {
  for (const [name, child] of Object.entries(schema.properties)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (KindGuard.IsObject(child)) {
      collectLeaves(child, key, into);
    } else {
      into.push({
        key,
        env: envNameFor(key),
        schema: child,
        isByteSize: child['x-unit'] === BYTE_SIZE_UNIT,
        isNumber: KindGuard.IsInteger(child) || KindGuard.IsNumber(child),
        isBoolean: KindGuard.IsBoolean(child),
        isList: KindGuard.IsArray(child),
      });
    }
  }
  return into;
}

/** Every settable key, in schema order. */
export const CONFIG_LEAVES: readonly ConfigLeaf[] = collectLeaves(ConfigSchema, '', []);

/** Dotted paths of the tables (`http`, `store`, `store.duckdb`, …). */
export const CONFIG_SECTIONS: ReadonlySet<string> = new Set(
  CONFIG_LEAVES.flatMap((leaf) => {
    const parts = leaf.key.split('.');
    return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
  }),
);

const LEAF_BY_KEY = new Map(CONFIG_LEAVES.map((leaf) => [leaf.key, leaf]));

export function findLeaf(key: string): ConfigLeaf | undefined {
  return LEAF_BY_KEY.get(key);
}

function literalValues(schema: TSchema): string[] | undefined {
  if (KindGuard.IsLiteral(schema)) return [String(schema.const)];
  if (KindGuard.IsUnion(schema) && schema.anyOf.every((option) => KindGuard.IsLiteral(option))) {
    return schema.anyOf.map((option) => String(option.const));
  }
  return undefined;
}

function rangeText(minimum: number | undefined, maximum: number | undefined, show: (n: number) => string): string {
  if (minimum !== undefined && maximum !== undefined) return ` from ${show(minimum)} to ${show(maximum)}`;
  if (minimum !== undefined) return ` of at least ${show(minimum)}`;
  if (maximum !== undefined) return ` of at most ${show(maximum)}`;
  return '';
}

/** What a key accepts, phrased to follow "expected …" in an error message. */
export function describeExpected(leaf: ConfigLeaf): string {
  const { schema } = leaf;
  if (typeof schema['x-expected'] === 'string') return schema['x-expected'];
  const literals = literalValues(schema);
  if (literals) return literals.length === 1 ? `"${literals[0]}"` : `one of ${literals.map((v) => `"${v}"`).join(', ')}`;
  if (leaf.isByteSize) {
    const range = rangeText(schema.minimum, schema.maximum, formatByteSize);
    return `a size${range}, as a number of bytes or a string such as "10MiB" (units ${SIZE_UNITS.join(', ')})`;
  }
  if (KindGuard.IsInteger(schema)) return `an integer${rangeText(schema.minimum, schema.maximum, String)}`;
  if (KindGuard.IsNumber(schema)) return `a number${rangeText(schema.minimum, schema.maximum, String)}`;
  if (KindGuard.IsString(schema)) return schema.minLength ? 'a non-empty string' : 'a string';
  if (leaf.isBoolean) return 'true or false';
  return 'a valid value';
}

/** Short type name for the reference table. */
function describeType(leaf: ConfigLeaf): string {
  const { schema } = leaf;
  const literals = literalValues(schema);
  if (literals) return literals.map((v) => `\`${v}\``).join(' \\| ');
  const bounds = (show: (n: number) => string): string =>
    schema.minimum !== undefined && schema.maximum !== undefined ? ` (${show(schema.minimum)}–${show(schema.maximum)})` : '';
  if (leaf.isByteSize) return `size${bounds(formatByteSize)}`;
  if (KindGuard.IsInteger(schema)) return `integer${bounds(String)}`;
  if (typeof schema['x-type'] === 'string') return schema['x-type'];
  if (KindGuard.IsString(schema)) return 'string';
  if (leaf.isBoolean) return 'boolean';
  return 'value';
}

export interface ConfigReferenceEntry {
  key: string;
  env: string;
  type: string;
  default: unknown;
  description: string;
}

/** Every key with its env variable, type, built-in default and description (for the README). */
export function configReference(): ConfigReferenceEntry[] {
  return CONFIG_LEAVES.map((leaf) => ({
    key: leaf.key,
    env: leaf.env,
    type: describeType(leaf),
    default: leaf.schema.default as unknown,
    description: String(leaf.schema.description ?? ''),
  }));
}
