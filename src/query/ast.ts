// The parsed form of a query string (SPEC §5). The parser (parser.ts) builds it, the SQL compiler
// (sql.ts) turns it into a WHERE fragment for a backend dialect.

import type { RecordField } from '../model/record.js';

/** A field reference: a record column, or a path inside `attrs` (`attrs.http.status` → ['http','status']). */
export type FieldRef = { kind: 'column'; name: RecordField } | { kind: 'attr'; path: string[] };

export type MatchOp = 'eq' | 'prefix' | 'regex' | 'gt' | 'gte' | 'lt' | 'lte';

export type QueryNode =
  | { kind: 'and'; children: QueryNode[] }
  | { kind: 'or'; children: QueryNode[] }
  | { kind: 'not'; child: QueryNode }
  /**
   * Free text: a bare term or a quoted phrase, matched as words case-insensitively (words.ts);
   * with `prefix` (`timeo*`) its last word may be the start of a longer one.
   */
  | { kind: 'text'; value: string; phrase: boolean; prefix: boolean }
  | { kind: 'match'; field: FieldRef; op: MatchOp; value: string };
