// The web UI (SPEC §10): the static build of web/ (dist/web, made by `npm run build`) under /ui/,
// and browsers that open `/` sent there. The files are public (what they show comes from the API,
// which checks the key the UI sends); the app's own routes (/ui/access, /ui/server) all load
// index.html. Files are read once and kept compressed in memory: the whole build is ~100 KB.

import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** dist/web beside dist/api/http/ (and where `tsx src/…` runs, the built one at the top). */
export const UI_DIR = path.resolve(import.meta.dirname, '../../../dist/web');

const UI_PREFIX = '/ui/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Types worth compressing; images and fonts already are. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

/** Vite names every file under assets/ by a hash of its content: cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The app's scripts and styles only from here; uPlot and the app set inline styles. */
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

interface UiFile {
  body: Buffer;
  gzip: Buffer | null;
  br: Buffer | null;
  type: string;
  etag: string;
}

/** Reads the build: null when there is none (the server was started before `npm run build`). */
function loadFiles(dir: string): Map<string, UiFile> | null {
  if (!fs.existsSync(path.join(dir, 'index.html'))) return null;
  const files = new Map<string, UiFile>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(rel);
        continue;
      }
      const body = fs.readFileSync(path.join(dir, rel));
      const ext = path.extname(entry.name);
      const compress = COMPRESSIBLE.has(ext) && body.length >= 256;
      files.set(rel, {
        body,
        gzip: compress ? zlib.gzipSync(body, { level: 9 }) : null,
        br: compress ? zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }) : null,
        type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      });
    }
  };
  walk('');
  return files;
}

/** The encoding to send: brotli, then gzip, when the client takes it (q=0 refuses). */
function encodingFor(header: string | undefined): 'br' | 'gzip' | null {
  if (header === undefined) return null;
  const accepted = new Set<string>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    accepted.add(name!);
  }
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip';
  return null;
}

/**
 * Whether an Accept header asks for HTML before JSON: what browsers send when they open a page,
 * and what no Elasticsearch client sends to `/` (they ask for JSON or their vendor type).
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || !accept.includes('text/html')) return false;
  let html = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2)) || 0;
    if (type === 'text/html') html = Math.max(html, q);
    else if (type === 'application/json' || type === 'application/*' || type!.includes('+json')) json = Math.max(json, q);
  }
  return html > json;
}

export async function uiRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? UI_DIR;
  let files: Map<string, UiFile> | null = null;
  const ui = { config: { scope: 'public' as const }, schema: { hide: true } };

  // `/` answers Elasticsearch's version probe (ingest/elasticsearch/route.ts) to shippers, which
  // need a key when auth is on. A browser is told apart by its Accept header before routing, so
  // it is redirected without a key instead of getting the probe's 401 or its JSON.
  app.addConstraintStrategy({
    name: 'lhBrowser',
    storage<Handler>() {
      const byValue = new Map<unknown, Handler>();
      return {
        get: (value: unknown) => byValue.get(value) ?? null,
        set: (value: unknown, handler: Handler) => void byValue.set(value, handler),
      };
    },
    // Asked of every request once any route uses it: prefersHtml looks for `text/html` first, so
    // an ingest request pays one substring test.
    deriveConstraint: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const accept = req.headers.accept;
      return typeof accept === 'string' && prefersHtml(accept) ? 'html' : undefined;
    },
    mustMatchWhenDerived: false,
  });
  app.get('/', { ...ui, constraints: { lhBrowser: 'html' } }, async (_req, reply) => reply.redirect(UI_PREFIX, 302));

  app.get('/ui', ui, async (_req, reply) => reply.redirect(UI_PREFIX, 301));
  app.get('/ui/*', ui, async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    files ??= loadFiles(dir);
    if (files === null) {
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(`The web UI is not built: ${dir} has no index.html. Run "npm run build" (npm install does it too), then reload.\n`);
    }
    const rel = req.params['*'];
    const file = files.get(rel === '' ? 'index.html' : rel);
    if (file !== undefined) return send(req, reply, file, rel.startsWith('assets/') ? IMMUTABLE : 'no-cache');
    // A page of the app (/ui/access, /ui/server?…) is index.html; a missing file is a 404.
    if (rel.startsWith('assets/') || path.extname(rel) !== '') {
      return reply.status(404).type('text/plain; charset=utf-8').send(`no file ${UI_PREFIX}${rel} in the web UI build\n`);
    }
    return send(req, reply, files.get('index.html')!, 'no-cache');
  });
}

function send(req: FastifyRequest, reply: FastifyReply, file: UiFile, cacheControl: string): FastifyReply {
  reply.header('cache-control', cacheControl);
  reply.header('etag', file.etag);
  reply.header('vary', 'accept-encoding');
  reply.header('x-content-type-options', 'nosniff');
  if (file.type.startsWith('text/html')) {
    reply.header('content-security-policy', CSP);
    reply.header('referrer-policy', 'no-referrer');
  }
  reply.type(file.type);
  if (req.headers['if-none-match'] === file.etag) return reply.status(304).send();
  const encoding = file.gzip === null ? null : encodingFor(req.headers['accept-encoding']);
  if (encoding === 'br' && file.br !== null) return reply.header('content-encoding', 'br').send(file.br);
  if (encoding === 'gzip' && file.gzip !== null) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}
