// Rows the store gives the category files (readForFiles), as they cross from the main thread,
// which holds the store's connections, to the writer's thread: one string for a whole page, so
// the hand-off is one copy rather than a clone of thousands of objects. Each row is its file
// (day and escaped category name, which hold no tab), which level copy it gets, and its JSON
// line, whose length is given rather than trusting it to hold no separator.

import type { FileRow } from '../store/store.js';
import type { CategoryFileNames } from './file-names.js';

/** Which level file a record is copied to as well: error.jsonl, warning.jsonl or neither. */
export type LevelCopy = 'e' | 'w' | '-';

export function levelCopy(level: string | null): LevelCopy {
  return level === 'error' || level === 'fatal' ? 'e' : level === 'warn' ? 'w' : '-';
}

/** `day \t name \t copy length \t json` for each row, back to back. */
export function encodeStorePage(rows: FileRow[], names: CategoryFileNames): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    parts[i] = `${r.day}\t${names.of(r.category)}\t${levelCopy(r.level)}${r.json.length}\t${r.json}`;
  }
  return parts.join('');
}

/** Calls `row` for each row of an encoded page, in order. */
export function forEachStoreRow(page: string, row: (day: string, name: string, copy: LevelCopy, json: string) => void): void {
  let at = 0;
  while (at < page.length) {
    const t1 = page.indexOf('\t', at);
    const t2 = page.indexOf('\t', t1 + 1);
    const t3 = page.indexOf('\t', t2 + 1);
    if (t1 === -1 || t2 === -1 || t3 === -1) throw new Error('a page of store rows for the category files is cut short');
    const end = t3 + 1 + Number(page.slice(t2 + 2, t3));
    row(page.slice(at, t1), page.slice(t1 + 1, t2), page[t2 + 1] as LevelCopy, page.slice(t3 + 1, end));
    at = end;
  }
}
