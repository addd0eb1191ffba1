// URL patterns for access-log aggregation: the path with every segment that is an identifier
// replaced by `{id}`, so /users/1234/orders/5f1c… and /users/99/orders/0b3e… count as one page.
// A segment is an identifier when it is a number, a UUID, or a hex or base64-like token of 8 or
// more characters that does not read as a word (hex with a digit; base64-like with two or more
// digits, or digits and both letter cases).

const NUMBER = /^\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX = /^[0-9a-fA-F]{8,}$/;
const TOKEN = /^[A-Za-z0-9_=-]{8,}$/;

export function isIdSegment(s: string): boolean {
  if (s === '') return false;
  if (NUMBER.test(s) || UUID.test(s)) return true;
  if (HEX.test(s) && /\d/.test(s)) return true;
  if (!TOKEN.test(s)) return false;
  const digits = s.replace(/\D/g, '').length;
  return digits >= 2 || (digits >= 1 && /[a-z]/.test(s) && /[A-Z]/.test(s));
}

/** The pattern of a path (no query): `/users/{id}/orders/{id}`. */
export function urlPattern(path: string): string {
  if (path === '' || path === '/') return '/';
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  return p
    .split('/')
    .map((seg) => (isIdSegment(seg) ? '{id}' : seg))
    .join('/');
}
