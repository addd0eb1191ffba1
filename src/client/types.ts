// The client's types, derived from the TypeBox schemas the server's routes validate and document
// with (src/api/http/schemas.ts): a change to a route's parameters or answer changes these too.
// Type-only imports: the client's JavaScript loads none of the server's code.

import type { Static } from '@sinclair/typebox';
import type {
  ExportQuerySchema,
  HistogramAnswerSchema,
  HistogramQuerySchema,
  IngestAnswerSchema,
  SearchAnswerSchema,
  SearchQuerySchema,
  TopAnswerSchema,
  TopQuerySchema,
  WireRecordSchema,
} from '../api/http/schemas.js';

/** A record as every read route returns it. */
export type LogRecord = Static<typeof WireRecordSchema>;

/** A time: RFC 3339 text, Unix time (s, ms, µs or ns), `now`, `now-15m` … or a Date. */
export type TimeParam = string | number | Date;

type WithTimes<T> = Omit<T, 'from' | 'to'> & { from?: TimeParam; to?: TimeParam };

export type SearchParams = WithTimes<Static<typeof SearchQuerySchema>>;
export type HistogramParams = WithTimes<Static<typeof HistogramQuerySchema>>;
export type TopParams = WithTimes<Static<typeof TopQuerySchema>>;
export type ExportParams = WithTimes<Static<typeof ExportQuerySchema>>;

/** One page of GET /api/v1/logs. */
export type SearchPage = Static<typeof SearchAnswerSchema>;
export type HistogramAnswer = Static<typeof HistogramAnswerSchema>;
export type TopAnswer = Static<typeof TopAnswerSchema>;
/** What POST /api/v1/logs answers. */
export type IngestAnswer = Static<typeof IngestAnswerSchema>;
