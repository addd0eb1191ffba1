// Which names a query may use as fields: the record columns of SPEC §1 and paths into `attrs`.
// The parser (field:value) and the SQL compiler (top-values grouping) resolve names here, so both
// accept exactly the same spellings.

import { LhError } from '../errors.js';
import { RECORD_FIELDS, type RecordField } from '../model/record.js';
import type { FieldRef } from './ast.js';

/** Record fields a query can name directly; `attrs` itself is only reachable through a path. */
export const COLUMN_FIELDS: readonly RecordField[] = RECORD_FIELDS.filter((f) => f !== 'attrs');

// Path segments stay within a charset that needs no escaping inside a quoted DuckDB JSONPath
// segment (`$."a"."b"`), so building that path is plain concatenation.
const SEGMENT = /^[A-Za-z0-9_@-]+$/;
const ALLOWED_TEXT = `${COLUMN_FIELDS.join(', ')} or attrs.<path>`;

export interface ResolveOptions {
  /** 1-based position of the name in the query, for the error message. */
  position?: number;
  /**
   * Read a name that is neither a record field nor `attrs.…` as an attrs path (`user:bob` →
   * `attrs.user:bob`). The query language does this because users search attrs by their key; the
   * top-values endpoint does not, so a typo in `field=` is reported rather than grouped as NULLs.
   */
  bareNamesAreAttrs?: boolean;
}

/** Resolve a field name; throws LH_ERR_QUERY_FIELD naming the field and the allowed ones. */
export function resolveField(name: string, opts: ResolveOptions = {}): FieldRef {
  if ((COLUMN_FIELDS as readonly string[]).includes(name)) return { kind: 'column', name: name as RecordField };
  let path: string;
  if (name === 'attrs' || name.startsWith('attrs.')) {
    path = name.slice('attrs.'.length);
    if (name === 'attrs' || path === '') {
      throw fieldError(name, opts.position, 'attrs needs a path, e.g. attrs.http.status');
    }
  } else if (opts.bareNamesAreAttrs) {
    path = name;
  } else {
    throw fieldError(name, opts.position);
  }
  const segments = path.split('.');
  for (const s of segments) {
    if (!SEGMENT.test(s)) {
      throw fieldError(
        name,
        opts.position,
        s === ''
          ? 'a path segment is empty'
          : `path segments may only contain letters, digits, "_", "@" and "-"`,
      );
    }
  }
  return { kind: 'attr', path: segments };
}

/** LH_ERR_QUERY_FIELD for `name`, listing the allowed fields. */
export function fieldError(name: string, position: number | undefined, why?: string): LhError {
  const where = position === undefined ? '' : `at position ${position}: `;
  const reason = why ? ` (${why})` : '';
  return new LhError('LH_ERR_QUERY_FIELD', `${where}expected a field (${ALLOWED_TEXT}), found "${name}"${reason}`, {
    ...(position === undefined ? {} : { position }),
    expected: `a field (${ALLOWED_TEXT})`,
    found: name,
    field: name,
    allowed: [...COLUMN_FIELDS, 'attrs.<path>'],
  });
}
