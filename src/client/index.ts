// The typed TypeScript client of loghaven's REST API, shipped as `loghaven/client`.
//
//   import { LoghavenClient } from 'loghaven/client';
//   const client = new LoghavenClient({ url: 'http://127.0.0.1:7700' });
//   for await (const r of client.records({ q: 'level:error', from: 'now-1h' })) console.log(r.message);

export { LoghavenClient, type ClientOptions, type CallOptions, type TailParams, type IngestOptions, type IngestRecords } from './client.js';
export { LoghavenError } from './errors.js';
export { Ingester, type IngesterOptions, type IngesterStats } from './ingester.js';
export type {
  ExportParams,
  HistogramAnswer,
  HistogramParams,
  IngestAnswer,
  LogRecord,
  SearchPage,
  SearchParams,
  TimeParam,
  TopAnswer,
  TopParams,
} from './types.js';
