// The closed loop for HTTP ingest protocols: each client sends its next body as soon as the
// previous one is answered, for a fixed time; only lines the server acknowledged count. Each
// protocol says how to read its answer (`acked`): how many of a body's lines it accepted.

import { HttpPoster, type PostResult } from './http-post.js';

/** Lines of the body the answer acknowledges, or null when the body was refused as a whole. */
export type AckReader = (r: PostResult, linesSent: number) => number | null;

export interface ClosedLoopOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  bodies: Buffer[];
  linesPerBody: number;
  clients: number;
  seconds: number;
  acked: AckReader;
}

export interface ClosedLoopResult {
  /** Lines acknowledged, and lines sent in bodies that were answered with a partial refusal. */
  lines: number;
  refusedLines: number;
  bytes: number;
  seconds: number;
  requests: number;
  /** Answers that acknowledged nothing, by status. */
  failures: Map<number, number>;
  /** The first failure's answer, to say what went wrong. */
  firstFailure: string | null;
  latenciesMs: number[];
}

export async function closedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const res: ClosedLoopResult = { lines: 0, refusedLines: 0, bytes: 0, seconds: 0, requests: 0, failures: new Map(), firstFailure: null, latenciesMs: [] };
  const client = new HttpPoster(o.url, o.clients);
  const start = performance.now();
  const end = start + o.seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      while (performance.now() < end) {
        const body = o.bodies[next++ % o.bodies.length]!;
        const t = performance.now();
        const r = await client.post(o.path, body, o.headers);
        res.requests++;
        const n = o.acked(r, o.linesPerBody);
        if (n === null) {
          res.failures.set(r.status, (res.failures.get(r.status) ?? 0) + 1);
          res.firstFailure ??= `${r.status} ${r.body.toString().slice(0, 300)}`;
          // Pushed back (429/503): wait a little, as a shipper does.
          await new Promise((w) => setTimeout(w, 50));
          continue;
        }
        res.lines += n;
        res.refusedLines += o.linesPerBody - n;
        res.bytes += body.length;
        res.latenciesMs.push(performance.now() - t);
      }
    }),
  );
  res.seconds = (performance.now() - start) / 1000;
  client.close();
  return res;
}
