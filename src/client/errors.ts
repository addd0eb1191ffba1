// The one error the client throws for an error answer: the server's LH_ERR_ code, its message and
// details, the HTTP status, and how long the server asked the client to wait (Retry-After).

export class LoghavenError extends Error {
  constructor(
    /** The server's code (`LH_ERR_…`), or `HTTP_<status>` when the answer carried none. */
    readonly code: string,
    message: string,
    /** HTTP status of the answer. */
    readonly status: number,
    /** Everything else the error answer said (`position`, `param`, `limit`, …). */
    readonly details: Record<string, unknown> = {},
    /** Retry-After of the answer, in milliseconds; null when it had none. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'LoghavenError';
  }

  /** The error an answer with a non-2xx status stands for (reads its body). */
  static async fromResponse(res: Response): Promise<LoghavenError> {
    const text = await res.text().catch(() => '');
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // not JSON: the text is the message
    }
    const { error, message, ...details } = body;
    const code = typeof error === 'string' ? error : `HTTP_${res.status}`;
    const why = typeof message === 'string' ? message : text.trim().split('\n')[0]?.slice(0, 500) || res.statusText || `HTTP ${res.status}`;
    return new LoghavenError(code, why, res.status, details, retryAfterMs(res.headers.get('retry-after')));
  }
}

/** Retry-After in milliseconds: delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Answers worth sending again after a while: overloaded, busy, shutting down, disk full. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504 || status === 507;
}
