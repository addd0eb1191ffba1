// Options and argument parsers shared by several commands, so `--url`, `--limit` and `--timeout`
// read and fail the same way everywhere. Parsers throw commander's InvalidArgumentError, which
// commander turns into a usage message naming the option.

import { InvalidArgumentError, Option } from 'commander';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:7700';
export const SERVER_URL_ENV = 'LOGHAVEN_URL';

export function parseServerUrl(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidArgumentError('expected an http:// or https:// URL');
  }
  return url.href.replace(/\/+$/, '');
}

export function parsePositiveInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return value;
}

/** `--url <url>`: $LOGHAVEN_URL, else http://127.0.0.1:7700. */
export function serverUrlOption(): Option {
  return new Option('--url <url>', 'loghaven server URL').env(SERVER_URL_ENV).default(DEFAULT_SERVER_URL).argParser(parseServerUrl);
}

/** `-c, --config <file>` for the commands that load the configuration. */
export function configFileOption(): Option {
  return new Option('-c, --config <file>', 'configuration file (default: ./loghaven.toml when it exists)');
}
