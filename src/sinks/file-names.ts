// The category files' names: a category's file within its day's folder, and the escape that keeps
// any name inside its folder and apart from every other (the archives use it for tenants too).

import { DEFAULT_CATEGORY } from '../pipeline/routing.js';

/**
 * A category's file name: letters, digits, `_`, `-` and (not first) `.` as they are, every other
 * byte as `%XX`, so no name escapes its folder and two different names never share a file; the
 * names `error` and `warning` get their first letter escaped, leaving the level files theirs.
 */
export function categoryFileName(category: string): string {
  let name = escapeFileName(category);
  if (name === 'error' || name === 'warning') name = `%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}`;
  return `${name}.jsonl`;
}

/**
 * A name as a file name of its own: letters, digits, `_`, `-` and (not first) `.` stay, every
 * other byte of its UTF-8 is `%XX`, so that different names never meet and none leaves its
 * directory; the empty name is `%`.
 */
export function escapeFileName(text: string): string {
  let name = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    name += /[A-Za-z0-9_-]/.test(c) || (c === '.' && name !== '') ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return name === '' ? '%' : name;
}

/** Most names remembered: past it the memory starts over (a flood of distinct categories). */
const MAX_NAMES = 100_000;

/** File names of the categories met, each escaped once. */
export class CategoryFileNames {
  private readonly names = new Map<string, string>();

  of(category: string | null): string {
    const c = category ?? DEFAULT_CATEGORY;
    let name = this.names.get(c);
    if (name === undefined) {
      if (this.names.size >= MAX_NAMES) this.names.clear();
      this.names.set(c, (name = categoryFileName(c)));
    }
    return name;
  }
}
