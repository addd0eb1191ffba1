// Pieces every access-log parser shares: splitting a line into bare and quoted fields, `\xHH`
// escapes, `-` for "none", and a request line cut into method, URL and protocol.

/**
 * The fields of a line: runs of non-spaces, or `"…"` (without the quotes). A quoted field ends at
 * a `"` followed by a space or the end of the line, so a stray quote inside one (an unescaped `"`
 * in a user agent) does not cut it short. Null when a quote is never closed.
 */
export function splitFields(line: string): string[] | null {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && line.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    if (line.charCodeAt(i) === 34) {
      let j = i + 1;
      for (;;) {
        j = line.indexOf('"', j);
        if (j === -1) return null;
        if (j + 1 >= n || line.charCodeAt(j + 1) === 32) break;
        j++;
      }
      out.push(line.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = line.indexOf(' ', i);
      if (j === -1) j = n;
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out;
}

const HEX_ESCAPE = /\\x([0-9a-fA-F]{2})/;

/** `\xHH` escapes (ALB, nginx) back to the bytes they stand for, read as UTF-8. */
export function decodeEscapes(text: string): string {
  if (!HEX_ESCAPE.test(text)) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 && text.charCodeAt(i + 1) === 120 && isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(text[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** `-` (or an absent field) as null. */
export function dash(v: string | undefined): string | null {
  return v === undefined || v === '-' || v === '' ? null : v;
}

/** An integer field, null for `-`; undefined when it is not one (the line is malformed). */
export function intField(v: string | undefined): number | null | undefined {
  if (v === undefined || v === '-') return null;
  if (!/^-?\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}

/** A duration in seconds, null for `-1` or `-` (ALB: no answer from the target); undefined when malformed. */
export function secondsField(v: string | undefined): number | null | undefined {
  if (v === undefined || v === '-' || v === '-1') return null;
  if (!/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  const n = Number(v);
  return n < 0 ? null : n;
}

export interface RequestLine {
  method: string | null;
  url: string | null;
  protocol: string | null;
}

/**
 * `METHOD URL PROTOCOL`; the URL may itself hold spaces (ALB's SpaceInUri), so the method is the
 * first word and the protocol the last. `- - -` (a request ALB could not read) gives nulls.
 * `request` is the line with its escapes already decoded (the record keeps it as well).
 */
export function splitRequest(request: string): RequestLine {
  const text = request.trim();
  const first = text.indexOf(' ');
  const last = text.lastIndexOf(' ');
  if (first === -1) return { method: null, url: dash(text), protocol: null };
  if (first === last) return { method: dash(text.slice(0, first)), url: dash(text.slice(first + 1)), protocol: null };
  const protocol = text.slice(last + 1);
  // Only a protocol-looking last word is one; otherwise it belongs to the URL.
  if (protocol !== '-' && !/^[A-Z]+\/[\d.]+$/.test(protocol)) return { method: dash(text.slice(0, first)), url: dash(text.slice(first + 1)), protocol: null };
  return { method: dash(text.slice(0, first)), url: dash(text.slice(first + 1, last)), protocol: dash(protocol) };
}

export interface UrlParts {
  host: string | null;
  port: number | null;
  path: string;
  query: string | null;
}

/** `scheme://host:port/path?query` (or just `/path?query`) cut into its parts. */
export function splitUrl(url: string): UrlParts {
  let rest = url;
  let host: string | null = null;
  let port: number | null = null;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(rest);
  if (scheme) {
    rest = rest.slice(scheme[0].length);
    const slash = rest.search(/[/?]/);
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    rest = slash === -1 ? '' : rest.slice(slash);
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority);
    host = m ? m[1]! : authority;
    port = m?.[2] !== undefined ? Number(m[2]) : null;
  }
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  return { host: host === '' ? null : host, port, path: path === '' ? '/' : path, query: q === -1 ? null : rest.slice(q + 1) };
}

/** `host:port`, the port after the last colon (IPv6 addresses come without brackets). */
export function splitHostPort(v: string | undefined): { ip: string | null; port: number | null } {
  if (v === undefined || v === '-' || v === '') return { ip: null, port: null };
  const colon = v.lastIndexOf(':');
  if (colon === -1 || !/^\d+$/.test(v.slice(colon + 1))) return { ip: v, port: null };
  return { ip: v.slice(0, colon), port: Number(v.slice(colon + 1)) };
}
