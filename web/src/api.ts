// Every call to the server's API goes through here: it adds the API key (when one was entered),
// turns error answers into ApiError with the server's code, message and query position, and
// asks for a key when the server answers 401.

import { Store } from './store';

export interface Credentials {
  key: string;
  /** For keys of every tenant (`*`): the tenant to act for (X-Scope-OrgID). */
  tenant: string;
}

const KEY_ITEM = 'loghaven.key';
const TENANT_ITEM = 'loghaven.tenant';

function storedCredentials(): Credentials | null {
  const key = sessionStorage.getItem(KEY_ITEM);
  return key === null ? null : { key, tenant: sessionStorage.getItem(TENANT_ITEM) ?? '' };
}

/** The key entered in this tab: kept in session storage, so it goes with the tab. */
export const credentials = new Store<Credentials | null>(storedCredentials());

/** Set when the server refused a request for want of a (valid) key: the app asks for one. */
export const keyNeeded = new Store<string | null>(null);

export function saveCredentials(c: Credentials | null): void {
  if (c === null) {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(TENANT_ITEM);
  } else {
    sessionStorage.setItem(KEY_ITEM, c.key);
    sessionStorage.setItem(TENANT_ITEM, c.tenant);
  }
  keyNeeded.set(null);
  credentials.set(c);
}

function authHeaders(): Record<string, string> {
  const c = credentials.value;
  if (c === null) return {};
  return c.tenant === '' ? { authorization: `Bearer ${c.key}` } : { authorization: `Bearer ${c.key}`, 'x-scope-orgid': c.tenant };
}

/** An error answer of the API (or a failure to reach it, status 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    /** 1-based position in the query, for syntax and field errors. */
    readonly position?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Params = Record<string, string | number | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s === '' ? path : `${path}?${s}`;
}

/** The ApiError an error answer stands for. */
async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: { error?: string; message?: string; position?: number } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: a proxy's page, or plain text
  }
  const message = body.message ?? (text.trim().slice(0, 300) || `${res.status} ${res.statusText}`);
  if (res.status === 401) keyNeeded.set(message);
  const position = typeof body.position === 'number' ? body.position : undefined;
  return new ApiError(message, res.status, body.error ?? `HTTP_${res.status}`, position);
}

/** fetch with the key; a network failure becomes an ApiError too. */
export async function request(path: string, params: Params = {}, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, params), { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${(e as Error).message}`, 0, 'NETWORK');
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function getJson<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const res = await request(path, params, { signal, headers: { accept: 'application/json' } });
  return (await res.json()) as T;
}

export async function getText(path: string, params: Params = {}, signal?: AbortSignal): Promise<string> {
  const res = await request(path, params, { signal });
  return res.text();
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}
