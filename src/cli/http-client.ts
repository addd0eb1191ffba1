// The CLI's one way to talk to a running server: GET requests with an optional timeout, and every
// way a request can fail turned into an `HttpFailure` with a readable reason and an exit code
// (results, not exceptions, so each command decides what to print).

import { ERRORS, type ErrorCode } from '../errors.js';
import { EXIT_FAILURE, EXIT_INVALID, type ExitCode } from './exit-codes.js';
import { SERVER_URL_ENV } from './options.js';

/** Sent as `Authorization: Bearer …` when set (servers with API keys enabled). */
export const API_KEY_ENV = 'LOGHAVEN_API_KEY';

export type QueryParams = Record<string, string | number | undefined>;

export type HttpFailure =
  | { kind: 'unreachable'; url: string; reason: string }
  | { kind: 'timeout'; url: string; timeoutMs: number }
  | { kind: 'status'; url: string; status: number; message: string }
  | { kind: 'bad-response'; url: string; reason: string };

export type HttpOutcome<T> = { ok: true; value: T } | { ok: false; failure: HttpFailure };

export interface GetOptions {
  params?: QueryParams;
  /** Abort when the answer (headers and body) takes longer; none by default. */
  timeoutMs?: number;
  /** The Accept header; any type by default. */
  accept?: string;
}

export function buildUrl(baseUrl: string, path: string, params: QueryParams = {}): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  }
  return url.href;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
};

function networkReason(err: unknown): string {
  // fetch() reports network errors as `TypeError: fetch failed` with the socket error as `cause`
  // (an AggregateError when several addresses were tried).
  const cause = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** AbortSignal.timeout() rejects fetch (and body reads) with a DOMException named TimeoutError. */
function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}

/** The server's own explanation of an error answer: `message` of a JSON body, else the text. */
async function errorMessageOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
      return (body as { message: string }).message;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const firstLine = text.trim().split('\n')[0]?.slice(0, 200);
  return firstLine || response.statusText || `HTTP ${response.status}`;
}

/** The headers every CLI request sends: Accept, the user agent, and the API key when set. */
export function requestHeaders(accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept, 'user-agent': 'loghaven-cli' };
  const apiKey = process.env[API_KEY_ENV];
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return headers;
}

/** GET that succeeds only on a 2xx answer; the body is left unread for the caller to stream. */
export async function sendGet(baseUrl: string, path: string, options: GetOptions = {}): Promise<HttpOutcome<Response>> {
  const url = buildUrl(baseUrl, path, options.params);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: requestHeaders(options.accept ?? '*/*'),
      signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    if (isTimeout(err)) return { ok: false, failure: { kind: 'timeout', url, timeoutMs: options.timeoutMs ?? 0 } };
    return { ok: false, failure: { kind: 'unreachable', url, reason: networkReason(err) } };
  }
  if (!response.ok) {
    return { ok: false, failure: { kind: 'status', url, status: response.status, message: await errorMessageOf(response) } };
  }
  return { ok: true, value: response };
}

/** A request with a JSON body (or none) whose 2xx answer is JSON: the keys commands. */
export async function sendJson<T>(baseUrl: string, method: 'POST' | 'DELETE' | 'GET', path: string, body?: unknown, timeoutMs = 30_000): Promise<HttpOutcome<T>> {
  const url = buildUrl(baseUrl, path);
  let response: Response;
  try {
    const headers = requestHeaders('application/json');
    if (body !== undefined) headers['content-type'] = 'application/json';
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if (isTimeout(err)) return { ok: false, failure: { kind: 'timeout', url, timeoutMs } };
    return { ok: false, failure: { kind: 'unreachable', url, reason: networkReason(err) } };
  }
  if (!response.ok) return { ok: false, failure: { kind: 'status', url, status: response.status, message: await errorMessageOf(response) } };
  try {
    return { ok: true, value: (await response.json()) as T };
  } catch (err) {
    return { ok: false, failure: { kind: 'bad-response', url, reason: `the answer is not JSON (${networkReason(err)})` } };
  }
}

/** GET a JSON document. The shape is the server's contract and is not re-validated here. */
export async function getJson<T>(baseUrl: string, path: string, options: GetOptions = {}): Promise<HttpOutcome<T>> {
  const sent = await sendGet(baseUrl, path, { ...options, accept: 'application/json' });
  if (!sent.ok) return sent;
  const url = sent.value.url;
  try {
    return { ok: true, value: (await sent.value.json()) as T };
  } catch (err) {
    if (isTimeout(err)) return { ok: false, failure: { kind: 'timeout', url, timeoutMs: options.timeoutMs ?? 0 } };
    return { ok: false, failure: { kind: 'bad-response', url, reason: `the answer is not JSON (${networkReason(err)})` } };
  }
}

export function describeFailure(failure: HttpFailure): string {
  switch (failure.kind) {
    case 'unreachable':
      return `cannot reach loghaven at ${new URL(failure.url).origin}: ${failure.reason} — is the server running? (set --url or ${SERVER_URL_ENV})`;
    case 'timeout':
      return `no answer from ${failure.url} within ${failure.timeoutMs} ms`;
    case 'status':
      return `${failure.message} (HTTP ${failure.status})`;
    case 'bad-response':
      return `unexpected answer from ${failure.url}: ${failure.reason}`;
  }
}

/** 4xx means the request was wrong (exit 2); anything else means the server or network failed (exit 1). */
export function exitCodeFor(failure: HttpFailure): ExitCode {
  return failure.kind === 'status' && failure.status >= 400 && failure.status < 500 ? EXIT_INVALID : EXIT_FAILURE;
}

/** The value of an answer, or the exit code of its failure once stderr says what failed. */
export function valueOrExit<T>(r: HttpOutcome<T>): { value: T } | { code: ExitCode } {
  if (r.ok) return { value: r.value };
  process.stderr.write(`${describeFailure(r.failure)}\n`);
  return { code: exitCodeFor(r.failure) };
}

/** A long operation on the server (api/http/jobs.ts), as the CLI follows it. */
interface JobAnswer {
  id: string;
  state: 'running' | 'done' | 'failed';
  progress: { done: number; total: number; what: string } | null;
  result: unknown;
  error: { code: string; message: string } | null;
}

const JOB_POLL_MS = 500;

/**
 * Starts a job (POST `path`, answered 202 with the job) and follows it to its end with a progress
 * bar named `label` on stderr; the job's result, or its error as an HTTP-status failure.
 */
export async function runJob<T>(baseUrl: string, path: string, body: unknown, label: string): Promise<HttpOutcome<T>> {
  const started = await sendJson<{ job: JobAnswer }>(baseUrl, 'POST', path, body, 60_000);
  if (!started.ok) return started;
  const bar = progressReporter(label);
  try {
    return await follow<T>(baseUrl, path, started.value.job, bar.update);
  } finally {
    bar.done();
  }
}

async function follow<T>(baseUrl: string, path: string, first: JobAnswer, onProgress: (p: JobAnswer['progress']) => void): Promise<HttpOutcome<T>> {
  let job = first;
  for (;;) {
    if (job.state === 'done') return { ok: true, value: job.result as T };
    if (job.state === 'failed') {
      const code = (job.error?.code ?? 'LH_ERR_INTERNAL') as ErrorCode;
      return { ok: false, failure: { kind: 'status', url: buildUrl(baseUrl, path), status: ERRORS[code]?.status ?? 500, message: job.error?.message ?? 'the job failed' } };
    }
    onProgress(job.progress);
    await new Promise((r) => setTimeout(r, JOB_POLL_MS));
    const r = await getJson<JobAnswer>(baseUrl, `/api/v1/jobs/${job.id}`, { timeoutMs: 30_000 });
    if (!r.ok) return r;
    job = r.value;
  }
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal, a line per step otherwise (logs of
 * scripts); `done()` ends it.
 */
function progressReporter(label: string): { update: (p: JobAnswer['progress']) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = '';
  let drawn = false;
  return {
    update(p) {
      if (p === null) return;
      if (tty) {
        const width = 24;
        const filled = p.total > 0 ? Math.round((p.done / p.total) * width) : 0;
        process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${p.what}\x1b[K`);
        drawn = true;
      } else if (p.what !== last) {
        process.stderr.write(`${label}: ${p.done + 1}/${p.total} ${p.what}\n`);
      }
      last = p.what;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
