// Builds the effective configuration from five layers — built-in defaults ← profile defaults ←
// loghaven.toml (+ its [profiles.<name>] table) ← LOGHAVEN_* environment ← CLI overrides — then
// validates the result against the schema and reports every problem at once.

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { LhError } from '../errors.js';
import { CONFIG_LEAVES, ConfigSchema, PROFILES, describeExpected, findLeaf, type Config, type ConfigLeaf, type Profile } from './schema.js';
import { invalidValueProblem, unknownKeyProblem, type ConfigProblem } from './problems.js';
import { readConfigFile, type ConfigFileSettings, type FlatSettings } from './toml-file.js';
import { parseByteSize } from './size.js';
import { ruleProblems, type RoutingRule } from '../pipeline/routing.js';
import { retentionRuleProblems, type RetentionRule } from '../lifecycle/retention.js';
import { messageKeyProblems } from '../ingest/common/normalise.js';
import { parseDuration } from '../query/time.js';

export { configReference, type Config, type ConfigReferenceEntry } from './schema.js';
export { resolveConfigFile } from './toml-file.js';
export type { ConfigProblem } from './problems.js';

export interface LoadConfigOptions {
  /** Config file to read; it must exist. Without it `./loghaven.toml` is read if present. */
  file?: string;
  /** Environment to read `LOGHAVEN_*` from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags by dotted key, e.g. `{ 'http.port': 8000 }`; `undefined` values are skipped. */
  overrides?: Record<string, unknown>;
  /** Directory relative file names resolve against; defaults to `process.cwd()`. */
  cwd?: string;
}

/** The only defaults that differ by profile; everything else is the same everywhere. */
export const PROFILE_DEFAULTS: Readonly<Record<Profile, Readonly<Record<string, unknown>>>> = {
  development: { 'log.level': 'debug' },
  staging: { 'log.level': 'info', 'auth.enabled': true },
  production: { 'log.level': 'info', 'auth.enabled': true },
};

export const DEFAULT_PROFILE: Profile = 'development';

const OVERRIDE_SOURCE = 'command line';

interface SourcedValue {
  value: unknown;
  source: string;
}

type SourcedSettings = Map<string, SourcedValue>;

const configChecker = TypeCompiler.Compile(ConfigSchema);

const DECIMAL = /^[+-]?\d+(\.\d+)?$/;

const TRUE = /^(true|1|yes|on)$/i;
const FALSE = /^(false|0|no|off)$/i;

/** Env and flag values arrive as text: numbers, sizes and booleans are converted, anything else is kept so validation can name it. */
function coerceText(leaf: ConfigLeaf, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (leaf.isByteSize) return parseByteSize(text) ?? value;
  if (leaf.isNumber) return DECIMAL.test(text) ? Number(text) : value;
  if (leaf.isBoolean) return TRUE.test(text) ? true : FALSE.test(text) ? false : value;
  if (leaf.isList) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return value;
    }
  }
  return text;
}

/** Size keys accept `"10MiB"` in every source, TOML included. */
function normaliseByteSize(leaf: ConfigLeaf, value: unknown): unknown {
  return leaf.isByteSize && typeof value === 'string' ? (parseByteSize(value) ?? value) : value;
}

function fromFile(settings: FlatSettings, source: string): SourcedSettings {
  const sourced: SourcedSettings = new Map();
  for (const [key, value] of settings) {
    const leaf = findLeaf(key);
    if (leaf) sourced.set(key, { value: normaliseByteSize(leaf, value), source });
  }
  return sourced;
}

function fromEnvironment(env: NodeJS.ProcessEnv): SourcedSettings {
  const sourced: SourcedSettings = new Map();
  for (const leaf of CONFIG_LEAVES) {
    const raw = env[leaf.env];
    // An empty variable counts as unset: container tooling often passes `VAR=` for "not given".
    if (raw === undefined || raw.trim() === '') continue;
    sourced.set(leaf.key, { value: coerceText(leaf, raw), source: leaf.env });
  }
  return sourced;
}

function fromOverrides(overrides: Record<string, unknown>, problems: ConfigProblem[]): SourcedSettings {
  const sourced: SourcedSettings = new Map();
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const leaf = findLeaf(key);
    if (!leaf) {
      problems.push(unknownKeyProblem(key, value, OVERRIDE_SOURCE));
      continue;
    }
    sourced.set(key, { value: coerceText(leaf, value), source: OVERRIDE_SOURCE });
  }
  return sourced;
}

function isProfile(value: unknown): value is Profile {
  return (PROFILES as readonly unknown[]).includes(value);
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

function validate(effective: SourcedSettings, candidate: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const reported = new Set<string>();
  for (const error of configChecker.Errors(candidate)) {
    // An error inside a list of tables (`/routing/rules/0/category`) is the list's.
    let key = error.path.slice(1).replace(/\//g, '.');
    while (!findLeaf(key) && key.includes('.')) key = key.slice(0, key.lastIndexOf('.'));
    if (reported.has(key)) continue;
    reported.add(key);
    const leaf = findLeaf(key);
    const source = effective.get(key)?.source ?? 'defaults';
    problems.push(invalidValueProblem(key, leaf?.isList ? effective.get(key)?.value : error.value, leaf ? describeExpected(leaf) : error.message, source));
  }
  const rules = effective.get('routing.rules');
  if (!reported.has('routing.rules') && rules !== undefined && Array.isArray(rules.value)) {
    for (const problem of ruleProblems(rules.value as RoutingRule[])) problems.push({ key: 'routing.rules', value: rules.value, expected: problem, source: rules.source, message: `${problem} (from ${rules.source})` });
  }

  const retentionRules = effective.get('retention.rules');
  if (!reported.has('retention.rules') && retentionRules !== undefined && Array.isArray(retentionRules.value)) {
    for (const problem of retentionRuleProblems(retentionRules.value as RetentionRule[])) {
      problems.push({ key: 'retention.rules', value: retentionRules.value, expected: problem, source: retentionRules.source, message: `${problem} (from ${retentionRules.source})` });
    }
  }

  const messageKeys = effective.get('ingest.message_keys');
  if (!reported.has('ingest.message_keys') && messageKeys !== undefined && Array.isArray(messageKeys.value)) {
    for (const problem of messageKeyProblems(messageKeys.value as string[])) {
      problems.push({ key: 'ingest.message_keys', value: messageKeys.value, expected: problem, source: messageKeys.source, message: `${problem} (from ${messageKeys.source})` });
    }
  }

  // The pattern takes the form; the one duration parser decides the rest (zero, at most 3650d), here
  // rather than at startup as if it were a request's parameter.
  const grace = effective.get('lifecycle.grace');
  if (!reported.has('lifecycle.grace') && grace !== undefined && typeof grace.value === 'string') {
    try {
      parseDuration('lifecycle.grace', grace.value);
    } catch {
      problems.push(invalidValueProblem('lifecycle.grace', grace.value, 'a positive duration of at most 3650d such as 30m, 1h or 1d', grace.source));
    }
  }
  const defaultLimit = effective.get('query.default_limit');
  const maxLimit = effective.get('query.max_limit');
  if (!reported.has('query.default_limit') && !reported.has('query.max_limit') && defaultLimit && maxLimit) {
    if ((defaultLimit.value as number) > (maxLimit.value as number)) {
      problems.push(
        invalidValueProblem('query.default_limit', defaultLimit.value, `at most query.max_limit (${String(maxLimit.value)})`, defaultLimit.source),
      );
    }
  }
  const backend = effective.get('store.backend');
  const pgUrl = effective.get('store.postgres.url');
  if (!reported.has('store.backend') && backend?.value === 'postgres' && (pgUrl === undefined || pgUrl.value === '')) {
    problems.push(invalidValueProblem('store.postgres.url', '', `a PostgreSQL URL such as "postgres://user@host:5432/db": store.backend is "postgres" (from ${backend.source})`, pgUrl?.source ?? 'defaults'));
  }
  const maxDisk = effective.get('retention.max_disk_bytes');
  if (!reported.has('retention.max_disk_bytes') && backend?.value === 'postgres' && maxDisk !== undefined && maxDisk.value !== 0) {
    // It measures this instance's data directory, and would delete days from the shared database.
    problems.push(invalidValueProblem('retention.max_disk_bytes', maxDisk.value, `0 with store.backend = "postgres" (the bound measures the data directory, not the database; bound PostgreSQL with retention.days)`, maxDisk.source));
  }
  const cert = effective.get('http.tls.cert');
  const key = effective.get('http.tls.key');
  if (cert && key && (cert.value === '') !== (key.value === '')) {
    const [set, missing] = cert.value === '' ? [key, 'http.tls.cert'] : [cert, 'http.tls.key'];
    problems.push(invalidValueProblem(missing, '', `a file too: HTTPS needs both http.tls.cert and http.tls.key (${set === cert ? 'http.tls.cert' : 'http.tls.key'} is set)`, set.source));
  }
  return problems;
}

const leafCheckers = new Map(CONFIG_LEAVES.map((leaf) => [leaf.key, TypeCompiler.Compile(leaf.schema)]));

/** The [profiles.*] tables not applied this time are checked too, so `validate` catches them before a deploy does. */
function validateInactiveProfiles(file: ConfigFileSettings, activeProfile: Profile): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, settings] of file.profiles) {
    if (name === activeProfile) continue;
    for (const [key, { value, source }] of fromFile(settings, `${file.label} [profiles.${name}]`)) {
      const leaf = findLeaf(key);
      if (leaf && !leafCheckers.get(key)?.Check(value)) problems.push(invalidValueProblem(key, value, describeExpected(leaf), source));
    }
  }
  return problems;
}

/**
 * The effective configuration. Throws LH_ERR_CONFIG_FILE when the file cannot be read or parsed,
 * and LH_ERR_CONFIG_INVALID listing every problem (`details.problems`) when any value is wrong.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: ConfigProblem[] = [];

  const file = readConfigFile(options.file, options.cwd ?? process.cwd(), problems);
  const fileBase = file ? fromFile(file.base, file.label) : new Map<string, SourcedValue>();
  const environment = fromEnvironment(env);
  const overrides = fromOverrides(options.overrides ?? {}, problems);

  // An invalid profile name stays in the settings (validation reports it); layering goes on with
  // the default profile so the other problems are still found.
  const requestedProfile = (overrides.get('profile') ?? environment.get('profile') ?? fileBase.get('profile'))?.value;
  const profile = isProfile(requestedProfile) ? requestedProfile : DEFAULT_PROFILE;

  const effective: SourcedSettings = new Map();
  for (const leaf of CONFIG_LEAVES) effective.set(leaf.key, { value: leaf.schema.default, source: 'defaults' });
  for (const [key, value] of Object.entries(PROFILE_DEFAULTS[profile])) effective.set(key, { value, source: `${profile} profile defaults` });
  const fileProfile = file ? fromFile(file.profiles.get(profile) ?? new Map(), `${file.label} [profiles.${profile}]`) : new Map<string, SourcedValue>();
  const layers: SourcedSettings[] = [fileBase, fileProfile, environment, overrides];
  for (const layer of layers) for (const [key, sourced] of layer) effective.set(key, sourced);

  const candidate: Record<string, unknown> = {};
  for (const [key, { value }] of effective) setPath(candidate, key, value);

  problems.push(...validate(effective, candidate));
  if (file) problems.push(...validateInactiveProfiles(file, profile));
  if (problems.length > 0) {
    throw new LhError('LH_ERR_CONFIG_INVALID', problems.map((problem) => problem.message).join('; '), { problems });
  }
  if (!configChecker.Check(candidate)) {
    // Unreachable while validate() reports every schema error; kept so the return is proven typed.
    throw new LhError('LH_ERR_CONFIG_INVALID', 'configuration does not match the schema');
  }
  return candidate;
}
