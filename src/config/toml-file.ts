// Reads `loghaven.toml` into flat maps of dotted key → value: the top-level settings and one map per
// `[profiles.<name>]` table. Unknown keys are reported here (the schema forbids them); values are
// checked later, together with those from env and flags.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { LhError } from '../errors.js';
import { CONFIG_SECTIONS, PROFILES, findLeaf, type Profile } from './schema.js';
import { invalidValueProblem, unknownKeyProblem, type ConfigProblem } from './problems.js';

export const DEFAULT_CONFIG_FILE = 'loghaven.toml';

export type FlatSettings = Map<string, unknown>;

export interface ConfigFileSettings {
  /** The file as named in messages: the path the user gave, or `loghaven.toml`. */
  label: string;
  /** Top-level settings. */
  base: FlatSettings;
  /** `[profiles.<name>]` tables; only the active profile's is applied. */
  profiles: Map<Profile, FlatSettings>;
}

type TomlTable = Record<string, unknown>;

function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isProfile(name: string): name is Profile {
  return (PROFILES as readonly string[]).includes(name);
}

/** Every leaf path under an unknown value, so `[htp] port = 1` is reported as `htp.port`. */
function unknownPaths(key: string, value: unknown): Array<[string, unknown]> {
  if (!isTable(value) || Object.keys(value).length === 0) return [[key, value]];
  return Object.entries(value).flatMap(([name, child]) => unknownPaths(`${key}.${name}`, child));
}

function flattenTable(table: TomlTable, prefix: string, source: string, into: FlatSettings, problems: ConfigProblem[]): void {
  for (const [name, value] of Object.entries(table)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (findLeaf(key)) {
      into.set(key, value);
    } else if (CONFIG_SECTIONS.has(key)) {
      if (isTable(value)) flattenTable(value, key, source, into, problems);
      else problems.push(invalidValueProblem(key, value, `a table of settings ([${key}])`, source));
    } else {
      for (const [path, leafValue] of unknownPaths(key, value)) problems.push(unknownKeyProblem(path, leafValue, source));
    }
  }
}

function readProfileTables(profiles: unknown, label: string, problems: ConfigProblem[]): Map<Profile, FlatSettings> {
  const tables = new Map<Profile, FlatSettings>();
  if (!isTable(profiles)) {
    problems.push(invalidValueProblem('profiles', profiles, 'a table of [profiles.<name>] tables', label));
    return tables;
  }
  for (const [name, table] of Object.entries(profiles)) {
    const source = `${label} [profiles.${name}]`;
    if (!isProfile(name)) {
      problems.push(invalidValueProblem(`profiles.${name}`, table, `a profile table named one of ${PROFILES.join(', ')}`, label));
      continue;
    }
    if (!isTable(table)) {
      problems.push(invalidValueProblem(`profiles.${name}`, table, 'a table of settings', label));
      continue;
    }
    const settings: FlatSettings = new Map();
    flattenTable(table, '', source, settings, problems);
    if (settings.has('profile')) {
      problems.push(invalidValueProblem('profile', settings.get('profile'), 'to be set at the top level, not in a [profiles.*] table', source));
      settings.delete('profile');
    }
    tables.set(name, settings);
  }
  return tables;
}

/** The file to read: the one given (which must exist), else `./loghaven.toml` if present. */
export function resolveConfigFile(file: string | undefined, cwd: string): { path: string; label: string; required: boolean } {
  if (file !== undefined) return { path: resolve(cwd, file), label: file, required: true };
  return { path: resolve(cwd, DEFAULT_CONFIG_FILE), label: DEFAULT_CONFIG_FILE, required: false };
}

/**
 * Reads and flattens a config file; `undefined` when no file was named and `./loghaven.toml` is
 * absent. Unreadable files and TOML syntax errors throw LH_ERR_CONFIG_FILE (with line and column).
 */
export function readConfigFile(file: string | undefined, cwd: string, problems: ConfigProblem[]): ConfigFileSettings | undefined {
  const { path, label, required } = resolveConfigFile(file, cwd);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new LhError('LH_ERR_CONFIG_FILE', `${label}: ${reason}`, { file: label }, { cause: err });
  }

  let document: TomlTable;
  try {
    document = parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    throw new LhError(
      'LH_ERR_CONFIG_FILE',
      `${label}: TOML syntax error at line ${err.line}, column ${err.column}: ${reason}`,
      { file: label, line: err.line, column: err.column, excerpt: err.codeblock },
      { cause: err },
    );
  }

  const { profiles, ...topLevel } = document;
  const base: FlatSettings = new Map();
  flattenTable(topLevel, '', label, base, problems);
  return { label, base, profiles: profiles === undefined ? new Map() : readProfileTables(profiles, label, problems) };
}
