import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { isLhError, type LhError } from '../errors.js';
import { configReference, loadConfig, type ConfigProblem, type LoadConfigOptions } from './load.js';

let dir: string;

beforeEach(() => {
  // A fresh working directory per test, so no stray ./loghaven.toml is picked up.
  dir = mkdtempSync(join(tmpdir(), 'loghaven-config-'));
});

function writeToml(text: string, name = 'loghaven.toml'): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function load(options: LoadConfigOptions = {}) {
  return loadConfig({ env: {}, cwd: dir, ...options });
}

function loadError(options: LoadConfigOptions = {}): LhError {
  try {
    load(options);
  } catch (err) {
    if (isLhError(err)) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

function problemsOf(err: LhError): ConfigProblem[] {
  return err.details?.problems as ConfigProblem[];
}

describe('loadConfig defaults', () => {
  it('gives the built-in defaults, with the development profile, when nothing is configured', () => {
    expect(load()).toEqual({
      profile: 'development',
      data_dir: './data',
      http: { host: '127.0.0.1', port: 7700, request_timeout_ms: 60_000, compress: true, body_limit: 10 * 2 ** 20, tls: { cert: '', key: '' } },
      auth: { enabled: false, metrics_public: false, rate: { ingest_bytes_per_s: 0, queries_per_s: 0 } },
      store: {
        backend: 'duckdb',
        duckdb: { threads: 2, memory_limit: '48MB', max_memory_limit: '1GB' },
        postgres: { url: '', pool_max: 20, idle_timeout_ms: 30_000, connect_timeout_ms: 5000, acquire_timeout_ms: 10_000 },
      },
      ingest: {
        queue_max_bytes: 64 * 2 ** 20,
        max_batch_rows: 50_000,
        durability: 'fsync',
        fsync_interval_ms: 50,
        message_keys: ['message', 'msg', '@m', '@mt', 'text', 'log'],
        spool_max_bytes: 512 * 2 ** 20,
        flush_interval_ms: 0,
      },
      elasticsearch: { index_field: 'service', version: '8.17.0' },
      syslog: {
        host: '127.0.0.1',
        port: 5514,
        tcp: true,
        udp: true,
        tls_port: 6514,
        tls_cert: '',
        tls_key: '',
        tls_client_ca: '',
        tenant: 'default',
        max_message_bytes: 256 * 1024,
      },
      zeromq: { host: '127.0.0.1', pull: true, pull_port: 5555, router: true, router_port: 5556, tenant: 'default', max_message_bytes: 10 * 2 ** 20 },
      query: {
        default_limit: 100,
        max_limit: 10_000,
        timeout_ms: 30_000,
        export_chunk_rows: 5_000,
        max_concurrent: 0,
        queue_size: 64,
        queue_timeout_ms: 5_000,
        max_range_days: 0,
        max_export_rows: 0,
        max_result_bytes: 64 * 2 ** 20,
        slow_ms: 1_000,
        max_tails: 256,
      },
      cache: {
        enabled: true,
        max_bytes: 64 * 2 ** 20,
        redis_url: '',
        ttl_search_ms: 10_000,
        ttl_histogram_ms: 60_000,
        ttl_top_ms: 60_000,
        ttl_access_ms: 300_000,
        warmup: '',
        warmup_interval_ms: 30_000,
      },
      alerts: { memory_budget: 512 * 2 ** 20, disk_free_percent: 10 },
      files: { enabled: true, buffer_bytes: 16 * 2 ** 20, max_open_files: 128, idle_close_ms: 30_000 },
      lifecycle: { grace: '1h', interval_ms: 3_600_000 },
      archive: { enabled: true, keep_days: 0, keep_count: 0, dir: '' },
      retention: { days: 0, rules: [], max_disk_bytes: 0 },
      routing: { rules: [] },
      log: { level: 'debug' },
    });
  });
});

describe('loadConfig precedence: defaults < profile < toml < env < override', () => {
  const toml = `
profile = "production"
data_dir = "/var/lib/loghaven"
[http]
port = 8001
[log]
level = "warn"
[profiles.production.http]
host = "0.0.0.0"
[profiles.development.log]
level = "trace"
`;

  it('applies the profile defaults over the built-in defaults', () => {
    expect(load({ env: { LOGHAVEN_PROFILE: 'production' } }).log.level).toBe('info');
    expect(load({ env: { LOGHAVEN_PROFILE: 'staging' } }).log.level).toBe('info');
    expect(load({ env: { LOGHAVEN_PROFILE: 'development' } }).log.level).toBe('debug');
  });

  it('applies the file over the profile defaults, and the active [profiles.<name>] table over the file', () => {
    const config = load({ file: writeToml(toml) });
    expect(config.profile).toBe('production');
    expect(config.log.level).toBe('warn'); // file top level beats the production default 'info'
    expect(config.http.host).toBe('0.0.0.0'); // [profiles.production] applies
    expect(config.http.port).toBe(8001);
    expect(config.data_dir).toBe('/var/lib/loghaven');
  });

  it('applies only the [profiles.<name>] table of the active profile', () => {
    const config = load({ file: writeToml(toml), env: { LOGHAVEN_PROFILE: 'development' } });
    expect(config.profile).toBe('development');
    expect(config.log.level).toBe('trace'); // [profiles.development]
    expect(config.http.host).toBe('127.0.0.1'); // [profiles.production] ignored
  });

  it('applies the environment over the file', () => {
    const config = load({ file: writeToml(toml), env: { LOGHAVEN_HTTP_PORT: '8002', LOGHAVEN_LOG_LEVEL: 'error' } });
    expect(config.http.port).toBe(8002);
    expect(config.log.level).toBe('error');
    expect(config.data_dir).toBe('/var/lib/loghaven');
  });

  it('applies CLI overrides over the environment, skipping undefined ones', () => {
    const config = load({
      file: writeToml(toml),
      env: { LOGHAVEN_HTTP_PORT: '8002' },
      overrides: { 'http.port': 8003, 'http.host': undefined, data_dir: '/srv/logs' },
    });
    expect(config.http.port).toBe(8003);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.data_dir).toBe('/srv/logs');
  });

  it('takes the profile from LOGHAVEN_PROFILE before the file, and the file before the default', () => {
    const file = writeToml('profile = "staging"\n');
    expect(load({ file }).profile).toBe('staging');
    expect(load({ file, env: { LOGHAVEN_PROFILE: 'production' } }).profile).toBe('production');
  });

  it('reads ./loghaven.toml from the working directory when no file is given', () => {
    writeToml('[http]\nport = 9100\n');
    expect(load().http.port).toBe(9100);
  });
});

describe('environment variables', () => {
  it('are generated from the schema for every key', () => {
    expect(configReference().map(({ key, env }) => [key, env])).toEqual([
      ['profile', 'LOGHAVEN_PROFILE'],
      ['data_dir', 'LOGHAVEN_DATA_DIR'],
      ['http.host', 'LOGHAVEN_HTTP_HOST'],
      ['http.port', 'LOGHAVEN_HTTP_PORT'],
      ['http.request_timeout_ms', 'LOGHAVEN_HTTP_REQUEST_TIMEOUT_MS'],
      ['http.compress', 'LOGHAVEN_HTTP_COMPRESS'],
      ['http.body_limit', 'LOGHAVEN_HTTP_BODY_LIMIT'],
      ['http.tls.cert', 'LOGHAVEN_HTTP_TLS_CERT'],
      ['http.tls.key', 'LOGHAVEN_HTTP_TLS_KEY'],
      ['auth.enabled', 'LOGHAVEN_AUTH_ENABLED'],
      ['auth.metrics_public', 'LOGHAVEN_AUTH_METRICS_PUBLIC'],
      ['auth.rate.ingest_bytes_per_s', 'LOGHAVEN_AUTH_RATE_INGEST_BYTES_PER_S'],
      ['auth.rate.queries_per_s', 'LOGHAVEN_AUTH_RATE_QUERIES_PER_S'],
      ['store.backend', 'LOGHAVEN_STORE_BACKEND'],
      ['store.duckdb.threads', 'LOGHAVEN_STORE_DUCKDB_THREADS'],
      ['store.duckdb.memory_limit', 'LOGHAVEN_STORE_DUCKDB_MEMORY_LIMIT'],
      ['store.duckdb.max_memory_limit', 'LOGHAVEN_STORE_DUCKDB_MAX_MEMORY_LIMIT'],
      ['store.postgres.url', 'LOGHAVEN_STORE_POSTGRES_URL'],
      ['store.postgres.pool_max', 'LOGHAVEN_STORE_POSTGRES_POOL_MAX'],
      ['store.postgres.idle_timeout_ms', 'LOGHAVEN_STORE_POSTGRES_IDLE_TIMEOUT_MS'],
      ['store.postgres.connect_timeout_ms', 'LOGHAVEN_STORE_POSTGRES_CONNECT_TIMEOUT_MS'],
      ['store.postgres.acquire_timeout_ms', 'LOGHAVEN_STORE_POSTGRES_ACQUIRE_TIMEOUT_MS'],
      ['ingest.queue_max_bytes', 'LOGHAVEN_INGEST_QUEUE_MAX_BYTES'],
      ['ingest.max_batch_rows', 'LOGHAVEN_INGEST_MAX_BATCH_ROWS'],
      ['ingest.durability', 'LOGHAVEN_INGEST_DURABILITY'],
      ['ingest.fsync_interval_ms', 'LOGHAVEN_INGEST_FSYNC_INTERVAL_MS'],
      ['ingest.message_keys', 'LOGHAVEN_INGEST_MESSAGE_KEYS'],
      ['ingest.spool_max_bytes', 'LOGHAVEN_INGEST_SPOOL_MAX_BYTES'],
      ['ingest.flush_interval_ms', 'LOGHAVEN_INGEST_FLUSH_INTERVAL_MS'],
      ['elasticsearch.index_field', 'LOGHAVEN_ELASTICSEARCH_INDEX_FIELD'],
      ['elasticsearch.version', 'LOGHAVEN_ELASTICSEARCH_VERSION'],
      ['syslog.host', 'LOGHAVEN_SYSLOG_HOST'],
      ['syslog.port', 'LOGHAVEN_SYSLOG_PORT'],
      ['syslog.tcp', 'LOGHAVEN_SYSLOG_TCP'],
      ['syslog.udp', 'LOGHAVEN_SYSLOG_UDP'],
      ['syslog.tls_port', 'LOGHAVEN_SYSLOG_TLS_PORT'],
      ['syslog.tls_cert', 'LOGHAVEN_SYSLOG_TLS_CERT'],
      ['syslog.tls_key', 'LOGHAVEN_SYSLOG_TLS_KEY'],
      ['syslog.tls_client_ca', 'LOGHAVEN_SYSLOG_TLS_CLIENT_CA'],
      ['syslog.tenant', 'LOGHAVEN_SYSLOG_TENANT'],
      ['syslog.max_message_bytes', 'LOGHAVEN_SYSLOG_MAX_MESSAGE_BYTES'],
      ['zeromq.host', 'LOGHAVEN_ZEROMQ_HOST'],
      ['zeromq.pull', 'LOGHAVEN_ZEROMQ_PULL'],
      ['zeromq.pull_port', 'LOGHAVEN_ZEROMQ_PULL_PORT'],
      ['zeromq.router', 'LOGHAVEN_ZEROMQ_ROUTER'],
      ['zeromq.router_port', 'LOGHAVEN_ZEROMQ_ROUTER_PORT'],
      ['zeromq.tenant', 'LOGHAVEN_ZEROMQ_TENANT'],
      ['zeromq.max_message_bytes', 'LOGHAVEN_ZEROMQ_MAX_MESSAGE_BYTES'],
      ['query.default_limit', 'LOGHAVEN_QUERY_DEFAULT_LIMIT'],
      ['query.max_limit', 'LOGHAVEN_QUERY_MAX_LIMIT'],
      ['query.timeout_ms', 'LOGHAVEN_QUERY_TIMEOUT_MS'],
      ['query.export_chunk_rows', 'LOGHAVEN_QUERY_EXPORT_CHUNK_ROWS'],
      ['query.max_concurrent', 'LOGHAVEN_QUERY_MAX_CONCURRENT'],
      ['query.queue_size', 'LOGHAVEN_QUERY_QUEUE_SIZE'],
      ['query.queue_timeout_ms', 'LOGHAVEN_QUERY_QUEUE_TIMEOUT_MS'],
      ['query.max_range_days', 'LOGHAVEN_QUERY_MAX_RANGE_DAYS'],
      ['query.max_export_rows', 'LOGHAVEN_QUERY_MAX_EXPORT_ROWS'],
      ['query.max_result_bytes', 'LOGHAVEN_QUERY_MAX_RESULT_BYTES'],
      ['query.slow_ms', 'LOGHAVEN_QUERY_SLOW_MS'],
      ['query.max_tails', 'LOGHAVEN_QUERY_MAX_TAILS'],
      ['cache.enabled', 'LOGHAVEN_CACHE_ENABLED'],
      ['cache.max_bytes', 'LOGHAVEN_CACHE_MAX_BYTES'],
      ['cache.redis_url', 'LOGHAVEN_CACHE_REDIS_URL'],
      ['cache.ttl_search_ms', 'LOGHAVEN_CACHE_TTL_SEARCH_MS'],
      ['cache.ttl_histogram_ms', 'LOGHAVEN_CACHE_TTL_HISTOGRAM_MS'],
      ['cache.ttl_top_ms', 'LOGHAVEN_CACHE_TTL_TOP_MS'],
      ['cache.ttl_access_ms', 'LOGHAVEN_CACHE_TTL_ACCESS_MS'],
      ['cache.warmup', 'LOGHAVEN_CACHE_WARMUP'],
      ['cache.warmup_interval_ms', 'LOGHAVEN_CACHE_WARMUP_INTERVAL_MS'],
      ['alerts.memory_budget', 'LOGHAVEN_ALERTS_MEMORY_BUDGET'],
      ['alerts.disk_free_percent', 'LOGHAVEN_ALERTS_DISK_FREE_PERCENT'],
      ['files.enabled', 'LOGHAVEN_FILES_ENABLED'],
      ['files.buffer_bytes', 'LOGHAVEN_FILES_BUFFER_BYTES'],
      ['files.max_open_files', 'LOGHAVEN_FILES_MAX_OPEN_FILES'],
      ['files.idle_close_ms', 'LOGHAVEN_FILES_IDLE_CLOSE_MS'],
      ['lifecycle.grace', 'LOGHAVEN_LIFECYCLE_GRACE'],
      ['lifecycle.interval_ms', 'LOGHAVEN_LIFECYCLE_INTERVAL_MS'],
      ['archive.enabled', 'LOGHAVEN_ARCHIVE_ENABLED'],
      ['archive.dir', 'LOGHAVEN_ARCHIVE_DIR'],
      ['archive.keep_days', 'LOGHAVEN_ARCHIVE_KEEP_DAYS'],
      ['archive.keep_count', 'LOGHAVEN_ARCHIVE_KEEP_COUNT'],
      ['retention.days', 'LOGHAVEN_RETENTION_DAYS'],
      ['retention.rules', 'LOGHAVEN_RETENTION_RULES'],
      ['retention.max_disk_bytes', 'LOGHAVEN_RETENTION_MAX_DISK_BYTES'],
      ['routing.rules', 'LOGHAVEN_ROUTING_RULES'],
      ['log.level', 'LOGHAVEN_LOG_LEVEL'],
    ]);
  });

  it('never map two keys to the same variable', () => {
    const names = configReference().map(({ env }) => env);
    expect(new Set(names).size).toBe(names.length);
  });

  it('are coerced to the schema type: integers, sizes, booleans, enums and strings', () => {
    const config = load({
      env: {
        LOGHAVEN_SYSLOG_UDP: 'false',
        LOGHAVEN_ZEROMQ_PULL: ' Off ',
        LOGHAVEN_ZEROMQ_ROUTER: 'yes',
        LOGHAVEN_HTTP_PORT: ' 8080 ',
        LOGHAVEN_HTTP_BODY_LIMIT: '2097152',
        LOGHAVEN_INGEST_QUEUE_MAX_BYTES: '128MiB',
        LOGHAVEN_STORE_DUCKDB_MEMORY_LIMIT: '512MB',
        LOGHAVEN_LOG_LEVEL: 'warn',
        LOGHAVEN_DATA_DIR: '/data',
      },
    });
    expect(config.http.port).toBe(8080);
    expect(config.http.body_limit).toBe(2_097_152);
    expect(config.ingest.queue_max_bytes).toBe(128 * 2 ** 20);
    expect(config.store.duckdb.memory_limit).toBe('512MB');
    expect(config.log.level).toBe('warn');
    expect(config.data_dir).toBe('/data');
    expect([config.syslog.udp, config.zeromq.pull, config.zeromq.router]).toEqual([false, false, true]);
  });

  it('name the variable of a boolean that is neither true nor false', () => {
    expect(problemsOf(loadError({ env: { LOGHAVEN_SYSLOG_TCP: 'maybe' } })).map((p) => p.message)).toEqual([
      'syslog.tcp: "maybe" is not valid — expected true or false (from LOGHAVEN_SYSLOG_TCP)',
    ]);
  });

  it('count as unset when empty', () => {
    expect(load({ env: { LOGHAVEN_HTTP_PORT: '' } }).http.port).toBe(7700);
  });

  it('keep a non-numeric value for a number, so validation names the key and the variable', () => {
    const err = loadError({ env: { LOGHAVEN_HTTP_PORT: 'abc' } });
    expect(err.code).toBe('LH_ERR_CONFIG_INVALID');
    expect(problemsOf(err)).toEqual([
      {
        key: 'http.port',
        value: 'abc',
        expected: 'an integer from 1 to 65535',
        source: 'LOGHAVEN_HTTP_PORT',
        message: 'http.port: "abc" is not valid — expected an integer from 1 to 65535 (from LOGHAVEN_HTTP_PORT)',
      },
    ]);
  });
});

describe('size keys', () => {
  it('accept a byte count or a size string in TOML and normalise to bytes', () => {
    const config = load({ file: writeToml('[http]\nbody_limit = "512KB"\n[ingest]\nqueue_max_bytes = 33554432\n') });
    expect(config.http.body_limit).toBe(512_000);
    expect(config.ingest.queue_max_bytes).toBe(32 * 2 ** 20);
  });

  it('accept size strings from CLI overrides', () => {
    expect(load({ overrides: { 'http.body_limit': '1MiB' } }).http.body_limit).toBe(2 ** 20);
  });

  it('reject a malformed size or one out of range, naming the units', () => {
    const problems = problemsOf(loadError({ env: { LOGHAVEN_HTTP_BODY_LIMIT: '10 megs', LOGHAVEN_INGEST_QUEUE_MAX_BYTES: '1KB' } }));
    expect(problems.map((p) => [p.key, p.value])).toEqual([
      ['http.body_limit', '10 megs'],
      ['ingest.queue_max_bytes', 1000],
    ]);
    expect(problems[1].expected).toBe(
      'a size from 1 MiB to 64 GiB, as a number of bytes or a string such as "10MiB" (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)',
    );
  });
});

describe('validation', () => {
  it('names http.port when a TOML file sets it to "abc"', () => {
    writeToml('[http]\nport = "abc"\n');
    const err = loadError();
    expect(err.code).toBe('LH_ERR_CONFIG_INVALID');
    expect(err.message).toBe(
      'invalid configuration: http.port: "abc" is not valid — expected an integer from 1 to 65535 (from loghaven.toml)',
    );
  });

  it('reports every problem from every source at once, joined by "; "', () => {
    const file = writeToml(
      [
        '[htp]',
        'port = 1',
        '[store.duckdb]',
        'threads = 0',
        'memory_limit = "lots"',
        '[log]',
        'level = "loud"',
        '[profiles.production.ingest]',
        'flush_interval_ms = 20000',
      ].join('\n'),
      'custom.toml',
    );
    const err = loadError({
      file,
      env: { LOGHAVEN_PROFILE: 'production', LOGHAVEN_HTTP_PORT: '70000' },
      overrides: { 'query.max_limit': 'many' },
    });
    const problems = problemsOf(err);
    expect(problems.map((p) => [p.key, p.source])).toEqual([
      ['htp.port', file],
      ['http.port', 'LOGHAVEN_HTTP_PORT'],
      ['store.duckdb.threads', file],
      ['store.duckdb.memory_limit', file],
      ['ingest.flush_interval_ms', `${file} [profiles.production]`],
      ['query.max_limit', 'command line'],
      ['log.level', file],
    ]);
    expect(err.message).toBe(`invalid configuration: ${problems.map((p) => p.message).join('; ')}`);
    expect(problems.find((p) => p.key === 'log.level')?.message).toBe(
      `log.level: "loud" is not valid — expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent" (from ${file})`,
    );
    expect(problems.find((p) => p.key === 'store.duckdb.memory_limit')?.expected).toMatch(/^a memory size such as "1GB"/);
  });

  it('reports an unknown profile name and still checks everything else', () => {
    const problems = problemsOf(loadError({ env: { LOGHAVEN_PROFILE: 'prod', LOGHAVEN_STORE_DUCKDB_THREADS: '100' } }));
    expect(problems.map((p) => p.message)).toEqual([
      'profile: "prod" is not valid — expected one of "development", "staging", "production" (from LOGHAVEN_PROFILE)',
      'store.duckdb.threads: 100 is not valid — expected an integer from 1 to 64 (from LOGHAVEN_STORE_DUCKDB_THREADS)',
    ]);
  });

  it('checks the values of [profiles.<name>] tables that are not active too', () => {
    writeToml('[profiles.production.http]\nport = "abc"\n[profiles.staging]\nprofile = "production"\n');
    expect(problemsOf(loadError()).map((p) => p.message)).toEqual([
      'profile: "production" is not valid — expected to be set at the top level, not in a [profiles.*] table (from loghaven.toml [profiles.staging])',
      'http.port: "abc" is not valid — expected an integer from 1 to 65535 (from loghaven.toml [profiles.production])',
    ]);
  });

  it('rejects a default_limit above max_limit', () => {
    const problems = problemsOf(loadError({ overrides: { 'query.default_limit': 500, 'query.max_limit': 200 } }));
    expect(problems.map((p) => p.message)).toEqual([
      'query.default_limit: 500 is not valid — expected at most query.max_limit (200) (from command line)',
    ]);
  });

  it('rejects a lifecycle.grace of zero, too long or spaced, naming the key', () => {
    for (const grace of ['0s', '0', '3651d', '1 h']) {
      const problems = problemsOf(loadError({ env: { LOGHAVEN_LIFECYCLE_GRACE: grace } }));
      expect(problems.map((p) => p.key), grace).toEqual(['lifecycle.grace']);
      expect(problems[0].message, grace).toContain(JSON.stringify(grace));
    }
    expect(load({ env: { LOGHAVEN_LIFECYCLE_GRACE: '1s' } }).lifecycle.grace).toBe('1s');
  });

  it('rejects a scalar where a table belongs', () => {
    writeToml('http = 5\n');
    expect(problemsOf(loadError()).map((p) => p.message)).toEqual([
      'http: 5 is not valid — expected a table of settings ([http]) (from loghaven.toml)',
    ]);
  });

  it('rejects store backends other than duckdb and postgres', () => {
    expect(problemsOf(loadError({ env: { LOGHAVEN_STORE_BACKEND: 'mysql' } }))[0].expected).toBe('one of "duckdb", "postgres"');
  });

  it('refuses a disk bound with the postgres backend (it measures the data directory)', () => {
    const problems = problemsOf(loadError({ env: { LOGHAVEN_STORE_BACKEND: 'postgres', LOGHAVEN_STORE_POSTGRES_URL: 'postgres://db/logs', LOGHAVEN_RETENTION_MAX_DISK_BYTES: '1GiB' } }));
    expect(problems.map((p) => p.key)).toEqual(['retention.max_disk_bytes']);
  });

  it('needs a PostgreSQL URL with the postgres backend', () => {
    expect(problemsOf(loadError({ env: { LOGHAVEN_STORE_BACKEND: 'postgres' } })).map((p) => p.key)).toEqual(['store.postgres.url']);
  });
});

describe('unknown keys', () => {
  it('are errors in the file, with a did-you-mean when close to a known key', () => {
    writeToml('[htp]\nport = 8000\n[http]\nprot = 1\n[query]\nmax_limt = 5\n');
    expect(problemsOf(loadError()).map((p) => p.message)).toEqual([
      'unknown key "htp.port" — did you mean "http.port"? (from loghaven.toml)',
      'unknown key "http.prot" — did you mean "http.port"? (from loghaven.toml)',
      'unknown key "query.max_limt" — did you mean "query.max_limit"? (from loghaven.toml)',
    ]);
  });

  it('suggest the key with the same last segment when the section is missing', () => {
    writeToml('port = 8000\nthreads = 4\n');
    expect(problemsOf(loadError()).map((p) => p.message)).toEqual([
      'unknown key "port" — did you mean "http.port" or "syslog.port"? (from loghaven.toml)',
      'unknown key "threads" — did you mean "store.duckdb.threads"? (from loghaven.toml)',
    ]);
  });

  it('have no suggestion when nothing is close', () => {
    writeToml('completely_unrelated = true\n');
    expect(problemsOf(loadError()).map((p) => p.message)).toEqual(['unknown key "completely_unrelated" (from loghaven.toml)']);
  });

  it('are errors inside [profiles.<name>] tables, and unknown profile names too', () => {
    writeToml('[profiles.production.http]\nprot = 1\n[profiles.prod.http]\nport = 1\n');
    expect(problemsOf(loadError()).map((p) => p.message)).toEqual([
      'unknown key "http.prot" — did you mean "http.port"? (from loghaven.toml [profiles.production])',
      'profiles.prod: {"http":{"port":1}} is not valid — expected a profile table named one of development, staging, production (from loghaven.toml)',
    ]);
  });

  it('are errors in CLI overrides', () => {
    expect(problemsOf(loadError({ overrides: { 'htp.port': 1 } })).map((p) => p.message)).toEqual([
      'unknown key "htp.port" — did you mean "http.port"? (from command line)',
    ]);
  });
});

describe('config file errors', () => {
  it('names the file, line and column of a TOML syntax error', () => {
    const file = writeToml('[http]\nport = 7700\nhost = = "x"\n', 'broken.toml');
    const err = loadError({ file });
    expect(err.code).toBe('LH_ERR_CONFIG_FILE');
    expect(err.message).toMatch(new RegExp(`^cannot read configuration file: ${file}: TOML syntax error at line 3, column 8: `));
    expect(err.details).toMatchObject({ file, line: 3, column: 8 });
  });

  it('fails when the named file does not exist', () => {
    const err = loadError({ file: 'missing.toml' });
    expect(err.code).toBe('LH_ERR_CONFIG_FILE');
    expect(err.message).toBe('cannot read configuration file: missing.toml: no such file');
  });
});

describe('configReference', () => {
  it('describes every key with its type, default and a description', () => {
    const reference = configReference();
    expect(reference.find((entry) => entry.key === 'http.port')).toEqual({
      key: 'http.port',
      env: 'LOGHAVEN_HTTP_PORT',
      type: 'integer (1–65535)',
      default: 7700,
      description: expect.stringMatching(/port/i),
    });
    for (const entry of reference) expect(entry.description.length, entry.key).toBeGreaterThan(10);
  });
});

describe('routing rules', () => {
  it('reads [[routing.rules]] tables from the file and a JSON array from the environment', () => {
    const file = writeToml('[[routing.rules]]\nsource = "src/payments/**"\ncategory = "payments"\n[[routing.rules]]\nservice = "auth-*"\ncategory = "auth"\n');
    expect(load({ file }).routing.rules).toEqual([
      { source: 'src/payments/**', category: 'payments' },
      { service: 'auth-*', category: 'auth' },
    ]);
    expect(load({ env: { LOGHAVEN_ROUTING_RULES: '[{"host":"web*","category":"web"}]' } }).routing.rules).toEqual([{ host: 'web*', category: 'web' }]);
  });

  it('names the rule and what is wrong with it', () => {
    const file = writeToml('[[routing.rules]]\ncategory = "x"\n[[routing.rules]]\nservice = "a[b"\ncategory = "y"\n[[routing.rules]]\nservice = "a"\n');
    const err = loadError({ file });
    expect(err.code).toBe('LH_ERR_CONFIG_INVALID');
    expect(err.message).toMatch(/routing\.rules: .* is not valid — expected a list of \[\[routing\.rules\]\] tables/);
    const unknownField = loadError({ file: writeToml('[[routing.rules]]\npath = "x"\ncategory = "y"\n', 'b.toml') });
    expect(unknownField.message).toMatch(/^invalid configuration: routing\.rules: /);
    const badGlob = loadError({ file: writeToml('[[routing.rules]]\nservice = "a[b"\ncategory = "y"\n[[routing.rules]]\ncategory = "z"\n', 'c.toml') });
    expect(problemsOf(badGlob).map((p) => p.message)).toEqual([
      expect.stringMatching(/^routing\.rules\[0\]\.service: "a\[b" is not a valid glob: "\[" at 1 is never closed \(from .*c\.toml\)$/),
      expect.stringMatching(/^routing\.rules\[1\]: a rule needs at least one of source, service, host, tenant, level to match \(from .*c\.toml\)$/),
    ]);
    expect(loadError({ env: { LOGHAVEN_ROUTING_RULES: 'not json' } }).message).toMatch(/routing\.rules: "not json" is not valid/);
  });
});

describe('ingest.message_keys', () => {
  it('reads a list from the file and a JSON array from the environment, and names a key that cannot be one', () => {
    expect(load({ file: writeToml('[ingest]\nmessage_keys = ["log", "message"]\n') }).ingest.message_keys).toEqual(['log', 'message']);
    expect(load({ env: { LOGHAVEN_INGEST_MESSAGE_KEYS: '["body"]' } }).ingest.message_keys).toEqual(['body']);
    const bad = loadError({ file: writeToml('[ingest]\nmessage_keys = ["msg", "host"]\n', 'keys.toml') });
    expect(bad.message).toMatch(/ingest\.message_keys: "host" already names the record's host \(from .*keys\.toml\)/);
  });
});
