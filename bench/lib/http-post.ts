// A lean HTTP client for the load generators: node:http with keep-alive, no body parsing beyond
// what a caller asks for. `fetch` costs several times more CPU per request, and on a 2-core
// machine every cycle the client spends is one the server under test does not get.

import http from 'node:http';

export interface PostResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class HttpPoster {
  private readonly agent: http.Agent;
  private readonly url: URL;

  /** `headers`: sent with every request (the API key of a server with authentication on). */
  constructor(
    url: string,
    maxSockets = 64,
    private readonly headers: Record<string, string> = {},
  ) {
    this.url = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  post(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<PostResult> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method: 'POST',
          path,
          headers: { 'content-length': String(body.length), ...this.headers, ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
