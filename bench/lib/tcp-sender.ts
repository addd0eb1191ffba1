// A TCP load generator for protocols without acknowledgements (syslog): a stream of pre-framed
// messages in shared memory, written over several connections, each from its own worker thread,
// so that the sender does nothing per message but hand the kernel slices of a buffer it already
// has. Connection i writes chunks i, i + n, i + 2n, ... of the stream: every receiver gets the same
// bytes over the same connections.

import { Worker } from 'node:worker_threads';

/** Messages framed and laid end to end, cut into chunks on message boundaries. */
export interface TcpStream {
  data: SharedArrayBuffer;
  /** [start, end) of chunk k at 2k, 2k + 1. */
  chunks: Int32Array;
  messagesPerChunk: number;
}

/** `lines` newline-framed, `perChunk` messages per chunk (the last chunk may hold fewer). */
export function newlineStream(lines: string[], perChunk: number): TcpStream {
  const framed = lines.map((l) => Buffer.from(`${l}\n`));
  const total = framed.reduce((n, b) => n + b.length, 0);
  const data = new SharedArrayBuffer(total);
  const view = Buffer.from(data);
  const chunks = new Int32Array(2 * Math.ceil(lines.length / perChunk));
  let pos = 0;
  framed.forEach((b, i) => {
    if (i % perChunk === 0) chunks[2 * (i / perChunk)] = pos;
    pos += b.copy(view, pos);
    chunks[2 * Math.floor(i / perChunk) + 1] = pos;
  });
  return { data, chunks, messagesPerChunk: perChunk };
}

/** What each worker is given (WORKER_SOURCE reads it). */
interface WorkerData {
  port: number;
  host: string;
  stream: TcpStream;
  /** This connection's number and the number of connections. */
  index: number;
  connections: number;
  /** Chunks of the whole send, over all connections (the stream is repeated past its end). */
  totalChunks: number;
}

type FromWorker = { kind: 'ready' } | { kind: 'done'; bytes: number } | { kind: 'error'; message: string };

export interface SendResult {
  bytes: number;
  /** From the go signal until every connection had handed its last byte to the kernel. */
  seconds: number;
}

/** One send of `messages` messages (whole chunks) over `connections` connections. */
export class TcpSender {
  private constructor(private readonly workers: Worker[]) {}

  /** Connects every worker; the send starts with `send()`. */
  static async connect(port: number, stream: TcpStream, connections: number, messages: number, host = '127.0.0.1'): Promise<TcpSender> {
    const totalChunks = Math.ceil(messages / stream.messagesPerChunk);
    const workers = Array.from({ length: connections }, (_, index) => {
      const data: WorkerData = { port, host, stream, index, connections, totalChunks };
      return new Worker(WORKER_SOURCE, { eval: true, workerData: data });
    });
    await Promise.all(workers.map((w) => next(w, 'ready')));
    return new TcpSender(workers);
  }

  async send(): Promise<SendResult> {
    const started = performance.now();
    const done = this.workers.map((w) => next(w, 'done'));
    for (const w of this.workers) w.postMessage('go');
    const results = await Promise.all(done);
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(this.workers.map((w) => w.terminate()));
    return { bytes: results.reduce((n, r) => n + (r.kind === 'done' ? r.bytes : 0), 0), seconds };
  }
}

function next(w: Worker, kind: 'ready' | 'done'): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.kind === 'error') return reject(new Error(`TCP sender: ${m.message}`));
      if (m.kind !== kind) return;
      w.off('message', onMessage);
      resolve(m);
    };
    w.on('message', onMessage);
    w.once('error', reject);
  });
}

/**
 * The worker: one connection, writing its chunks as fast as the socket takes them. Plain
 * JavaScript run with `eval`, since a worker does not inherit the TypeScript loader the benchmark
 * scripts run under.
 */
const WORKER_SOURCE = `
const net = require('node:net');
const { parentPort, workerData: d } = require('node:worker_threads');
const nChunks = d.stream.chunks.length / 2;
const socket = net.connect({ port: d.port, host: d.host, noDelay: true });
socket.on('error', (e) => parentPort.postMessage({ kind: 'error', message: e.message }));
socket.once('connect', () => parentPort.postMessage({ kind: 'ready' }));
let k = d.index;
let bytes = 0;
function pump() {
  while (k < d.totalChunks) {
    const c = k % nChunks;
    const start = d.stream.chunks[2 * c];
    const slice = Buffer.from(d.stream.data, start, d.stream.chunks[2 * c + 1] - start);
    k += d.connections;
    bytes += slice.length;
    if (!socket.write(slice)) return void socket.once('drain', pump);
  }
  socket.end(() => parentPort.postMessage({ kind: 'done', bytes }));
}
parentPort.once('message', pump);
`;
