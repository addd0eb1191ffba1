// How the CLI shows configuration errors: one problem per line for LH_ERR_CONFIG_INVALID, the file,
// line and column (plus the offending lines) for LH_ERR_CONFIG_FILE. Used by `start` and `validate`.

import { isLhError, type LhError } from '../errors.js';

export function isConfigError(err: unknown): err is LhError {
  return isLhError(err) && (err.code === 'LH_ERR_CONFIG_INVALID' || err.code === 'LH_ERR_CONFIG_FILE');
}

function problemMessages(err: LhError): string[] {
  const problems = err.details?.problems;
  if (!Array.isArray(problems)) return [];
  return problems
    .map((problem: unknown) => (problem as { message?: unknown }).message)
    .filter((message): message is string => typeof message === 'string');
}

export function formatConfigError(err: LhError): string {
  const messages = problemMessages(err);
  if (messages.length > 0) {
    const count = messages.length === 1 ? '1 problem' : `${messages.length} problems`;
    return [`configuration is invalid (${count}):`, ...messages.map((message) => `  - ${message}`)].join('\n');
  }
  const excerpt = err.details?.excerpt;
  return typeof excerpt === 'string' && excerpt.trim() ? `${err.message}\n${excerpt.trimEnd()}` : err.message;
}
