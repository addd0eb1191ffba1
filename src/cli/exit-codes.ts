// Exit codes shared by every `loghaven` command, so scripts can tell "server down or unhealthy"
// from "you asked for something invalid".

export const EXIT_OK = 0;
/** The server is unreachable, unhealthy, timed out or failed (5xx); or a local write failed. */
export const EXIT_FAILURE = 1;
/** Invalid configuration, or a request the server rejected as invalid (4xx). */
export const EXIT_INVALID = 2;
/** A second SIGINT/SIGTERM during shutdown (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILURE | typeof EXIT_INVALID | typeof EXIT_INTERRUPTED;
