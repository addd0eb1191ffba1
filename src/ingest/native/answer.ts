// The native ingest answer on the wire (POST /api/v1/logs, and the GraphQL ingest mutation's
// result), as a TypeBox schema: the route documents it in /docs and the typed client derives
// its type from it. Nothing but the schema lives here, so the client's types pull in no server code.

import { Type, type Static } from '@sinclair/typebox';

/** The native answer: what was stored, what was refused, and why, by 1-based line or element. */
export const NativeAnswerSchema = Type.Object({
  accepted: Type.Integer({ description: 'Records stored (durable before the answer)' }),
  rejected: Type.Integer({ description: 'Records refused' }),
  errors: Type.Array(Type.Object({ line: Type.Integer(), error: Type.String() }), {
    description: 'Why records were refused, by 1-based line (NDJSON) or element (array); the first 1000',
  }),
});
export type NativeAnswer = Static<typeof NativeAnswerSchema>;
