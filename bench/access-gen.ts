// Realistic AWS Application Load Balancer access-log lines for the access-analytics benchmark,
// deterministic for a seed. Thousands of clients visit a shop and its API in sessions (page flows
// such as / → /products → /products/{id} → /cart → /checkout → /checkout/confirm, app and partner
// API calls, crawlers, scanners), with ALB's own answers mixed in: http→https redirects, WAF
// blocks, 502/503/504 it generated itself, `"- - -"` requests it could not read, Lambda targets.
// Every valid line carries the full field list of 2025; one line in `malformedEvery` is not an
// ALB entry at all, for the importer to reject.
//
// Time runs forward through one event queue holding each client's next request, so lines come
// out in time order while the clients' sessions interleave, as they do in a real log.
//
//   node --import tsx bench/access-gen.ts --lines 2000000 --out /tmp/alb.log [--gzip] [--seed 1]

import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

export interface GenOptions {
  lines: number;
  seed?: number;
  clients?: number;
  /** Default 2026-11-01T00:00:00Z. */
  start?: Date;
  /** The span the lines cover, default 24: the last line falls close to start + hours. */
  hours?: number;
  /** One line in this many is not an ALB entry (default 5000; 0 for none). */
  malformedEvery?: number;
}

const SEC = 1_000_000; // times are µs since the epoch: ALB writes microseconds
const MIN = 60 * SEC;
/** Sessions are told apart by more than 30 minutes of silence; a client's next session starts after at least this. */
const IDLE_MIN = 31 * MIN;
/** Inside a session no gap exceeds this, so a session is never split. */
const THINK_MAX = 5 * MIN;

// ---------------------------------------------------------------------------------------------
// Randomness: mulberry32, seeded, so the same options give the same bytes.

/** Char codes of the hex digits. */
const HEX = [...'0123456789abcdef'].map((ch) => ch.charCodeAt(0));

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  next(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  /** Standard normal (Box–Muller, one of the pair). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
  exp(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
  /** `chars` hex digits. Built from char codes: string tables or toString(16) cost several times more. */
  hex(chars: number): string {
    let s = '';
    for (let i = 0; i < chars; i += 8) {
      const v = this.u32();
      s += String.fromCharCode(HEX[v & 15]!, HEX[(v >>> 4) & 15]!, HEX[(v >>> 8) & 15]!, HEX[(v >>> 12) & 15]!, HEX[(v >>> 16) & 15]!, HEX[(v >>> 20) & 15]!, HEX[(v >>> 24) & 15]!, HEX[v >>> 28]!);
    }
    return chars % 8 === 0 ? s : s.slice(0, chars);
  }
}

/** A weighted choice, its cumulative weights computed once. */
class Choice<T> {
  private readonly items: T[];
  private readonly cum: number[];
  constructor(table: readonly (readonly [T, number])[]) {
    this.items = table.map((e) => e[0]);
    let acc = 0;
    this.cum = table.map((e) => (acc += e[1]));
  }
  pick(rng: Rng): T {
    const x = rng.next() * this.cum[this.cum.length - 1]!;
    let i = 0;
    while (this.cum[i]! <= x) i++;
    return this.items[i]!;
  }
}

// ---------------------------------------------------------------------------------------------
// The site: hosts, target groups, URL families.

const SHOP = 'shop.example.com';
const API = 'api.example.com';
const ELB = 'app/shop-prod-alb/5f3c9a1e2b7d4c60';
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup';
const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/3f0b9e2c-7d41-4a8e-9b6f-2c5d8e1a7f43';

type Backend = 'web' | 'api' | 'grpc' | 'lambda';
interface TargetGroup {
  arn: string;
  targets: string[]; // ip:port; empty for Lambda, whose lines log target `-`
  priority: string; // the listener rule that routes to it
}
const GROUPS: Record<Backend, TargetGroup> = {
  web: { arn: `${ARN}/shop-web/6d0ecf831eec9f09`, targets: ['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13', '10.0.1.14', '10.0.1.15'].map((ip) => `${ip}:8080`), priority: '0' },
  api: { arn: `${ARN}/shop-api/2c81b5e07a4d93f1`, targets: ['10.0.2.20', '10.0.2.21', '10.0.2.22', '10.0.2.23', '10.0.2.24', '10.0.2.25', '10.0.2.26', '10.0.2.27'].map((ip) => `${ip}:8080`), priority: '10' },
  grpc: { arn: `${ARN}/shop-grpc/94e6a1c3d05b7f28`, targets: ['10.0.3.30:50051', '10.0.3.31:50051', '10.0.3.32:50051'], priority: '20' },
  lambda: { arn: `${ARN}/shop-images-fn/0b7d3e9f1a2c4e65`, targets: [], priority: '5' },
};

/** What a response carries, which decides its size. */
type Body = 'html' | 'json' | 'list' | 'static' | 'img' | 'tiny' | 'ws' | 'grpc';

interface Req {
  method: string;
  host: string;
  /** Path and query. */
  path: string;
  backend: Backend;
  body: Body;
  /** Median target time, ms. */
  median: number;
  /** The target's status when the flow decides it (redirect after a POST, a missing page, a cached asset); 0 for the usual 200. */
  status: number;
  /** Request body bytes. */
  upload: number;
  /** Response size for files whose size is fixed, else 0. */
  size: number;
  /** The listener it arrives on when not the client's usual one. */
  type: 'http' | 'ws' | 'wss' | 'grpcs' | null;
  waf: boolean;
  /** A request ALB could not read: logged as `"- - -"`. */
  garbage: boolean;
  /** Behind the OIDC authenticate action. */
  auth: boolean;
}
type ReqOptions = Partial<Pick<Req, 'status' | 'upload' | 'size' | 'type' | 'waf' | 'garbage' | 'auth'>>;

/** Every request is built here, so all have one shape and the hot path reads them fast. */
function request(method: string, host: string, path: string, backend: Backend, body: Body, median: number, o: ReqOptions = {}): Req {
  return { method, host, path, backend, body, median, status: o.status ?? 0, upload: o.upload ?? 0, size: o.size ?? 0, type: o.type ?? null, waf: o.waf ?? false, garbage: o.garbage ?? false, auth: o.auth ?? false };
}

const CATEGORIES = ['electronics', 'books', 'home-garden', 'toys', 'sports', 'fashion', 'beauty', 'grocery', 'automotive', 'music', 'office', 'pets', 'baby', 'health', 'jewelry', 'shoes', 'outdoor', 'kitchen'];
const TERMS = ['shoes', 'red+dress', 'usb-c+cable', 'lego', 'coffee', 'headphones', 'yoga+mat', 'tent', 'phone+case', 'kindle'];
/** Static bundles are renamed by each deploy; one deploy happens mid-span. */
const BUILDS = ['3f9a7c1b', '8e21d04a'];

/** Popular products get most views: ids skewed towards the low end. */
function productId(rng: Rng): number {
  const x = rng.next();
  return 1000 + Math.floor(90_000 * x * x * x);
}

function uuid(rng: Rng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** 12 hex chars with a digit in them, as the id rule asks of hex ids. */
function hexId(rng: Rng): string {
  return String(rng.int(10)) + rng.hex(12).slice(1);
}

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const ALNUM = UPPER + LOWER + '0123456789';

/** A 10-char token with both letter cases and digits (an id by the pattern rule). */
function tokenId(rng: Rng): string {
  let s = UPPER[rng.int(UPPER.length)]! + LOWER[rng.int(LOWER.length)]! + String(rng.int(10)) + String(rng.int(10));
  while (s.length < 10) s += ALNUM[rng.int(ALNUM.length)];
  return s;
}

type IdKind = 'num' | 'uuid' | 'hex' | 'token' | 'sku' | 'invoice';
function makeId(kind: IdKind, rng: Rng): string {
  switch (kind) {
    case 'num':
      return String(rng.range(1, 2_000_000));
    case 'uuid':
      return uuid(rng);
    case 'hex':
      return hexId(rng);
    case 'token':
      return tokenId(rng);
    case 'sku':
      return `SKU-${String(rng.int(1_000_000)).padStart(6, '0')}`;
    case 'invoice':
      return `INV-2026-${String(rng.int(1_000_000)).padStart(6, '0')}`;
  }
}

/** The partner API's long tail: resources × versions × shapes make a couple of hundred URL patterns. */
interface ApiResource {
  base: string;
  id: IdKind;
  subs: string[];
  writable: boolean;
  median: number;
}
const API_RESOURCES: ApiResource[] = (() => {
  const names: [string, IdKind][] = [
    ['orders', 'uuid'], ['invoices', 'invoice'], ['shipments', 'hex'], ['customers', 'num'], ['products', 'num'], ['inventory', 'sku'],
    ['prices', 'num'], ['warehouses', 'num'], ['suppliers', 'num'], ['returns', 'uuid'], ['refunds', 'uuid'], ['payments', 'token'],
    ['subscriptions', 'uuid'], ['coupons', 'token'], ['gift-cards', 'hex'], ['addresses', 'num'], ['reviews', 'num'], ['carts', 'uuid'],
    ['stores', 'num'], ['categories', 'num'], ['tax-rates', 'num'], ['webhooks', 'uuid'], ['reports', 'hex'], ['exports', 'uuid'],
  ];
  const subPool = ['history', 'status', 'items', 'notes', 'events', 'attachments', 'lines', 'audit'];
  const out: ApiResource[] = [];
  names.forEach(([name, id], i) => {
    for (const v of i < 14 ? ['v1', 'v2'] : ['v1']) {
      const subs = [subPool[i % 8]!, subPool[(i * 3 + 1) % 8]!].filter((s, k, a) => a.indexOf(s) === k);
      out.push({ base: `/api/${v}/${name}`, id, subs: v === 'v2' ? subs.slice(0, 1) : subs, writable: i % 2 === 0, median: 18 + ((i * 37) % 60) });
    }
  });
  return out;
})();

const SCAN_PATHS = [
  '/wp-login.php', '/.env', '/.git/config', '/admin', '/phpmyadmin/index.php', '/xmlrpc.php', '/wp-admin/setup-config.php',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', '/cgi-bin/luci', '/actuator/env', '/server-status', '/config.json',
  '/.aws/credentials', '/owa/auth/logon.aspx', '/boaform/admin/formLogin', '/HNAP1/', '/solr/admin/info/system', '/console/', '/.DS_Store',
  '/api/v1/users?id=1%27%20OR%201=1',
];
const GRPC_METHODS = ['/shop.catalog.v1.CatalogService/GetItem', '/shop.catalog.v1.CatalogService/ListItems', '/shop.inventory.v1.InventoryService/GetStock', '/shop.orders.v1.OrderService/ListOrders'];

// ---------------------------------------------------------------------------------------------
// Clients: a kind, a fixed address and user agent, and the state of the session under way.

const TLS12 = 'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2';
const TLS13 = 'TLS_AES_128_GCM_SHA256 TLSv1.3';

type Kind = 'browser' | 'app' | 'script' | 'crawler' | 'scanner';
const KINDS = new Choice<Kind>([['browser', 72], ['app', 18], ['script', 5], ['crawler', 3], ['scanner', 2]]);
/** How much more one client of a kind sends than a browser (before each client's own spread). */
const KIND_WEIGHT: Record<Kind, number> = { browser: 1, app: 1.4, script: 6, crawler: 3, scanner: 0.6 };
/** Median gap between two requests of a session when the client pauses (reading, polling, crawling), µs. */
const THINK: Record<Kind, number> = { browser: 15 * SEC, app: 8 * SEC, script: 2 * SEC, crawler: 5 * SEC, scanner: 0.6 * SEC };

const UAS: Record<Kind, string[]> = {
  browser: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.86 Mobile Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  ],
  app: ['ShopApp/5.12.0 (iPhone; iOS 18.1; Scale/3.00)', 'ShopApp/5.11.2 (Android 14; SM-S918B) okhttp/4.12.0'],
  script: ['python-requests/2.32.3', 'Go-http-client/2.0', 'curl/8.5.0', 'axios/1.7.7', 'Apache-HttpClient/4.5.14 (Java/17.0.12)'],
  crawler: ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'],
  scanner: ['Mozilla/5.0 zgrab/0.x', 'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)', 'python-httpx/0.27.2'],
};

interface Client {
  kind: Kind;
  ip: string;
  ua: string;
  /** The listener protocol it speaks: h2 or HTTP/1.1 over TLS (scanners sometimes plain http). */
  type: 'h2' | 'https' | 'http';
  /** `ssl_cipher ssl_protocol` of its TLS connections. */
  cipher: string;
  /** `"user agent" ssl_cipher ssl_protocol` as logged over TLS, and over plain http. */
  uaTls: string;
  uaPlain: string;
  userId: number;
  orders: string[];
  /** App clients on the gRPC catalogue. */
  grpc: boolean;
  /** A partner's integration: the API resources it works on. */
  resources: ApiResource[];
  /** After a flow ends, the chance the visit goes on from the start (heavy clients have long sessions). */
  contP: number;
  /** Mean of the idle time beyond IDLE_MIN between sessions, µs. */
  idleExtra: number;
  // The session under way: one connection, so one client port and conn_trace_id.
  /** client:port */
  addr: string;
  /** The fields after target_status_code_list: classification, its reason, conn_trace_id, the transform fields. */
  tail: string;
  state: string;
  loggedIn: boolean;
  product: number;
  queue: Req[];
}

function clientIp(rng: Rng, taken: Set<string>): string {
  for (;;) {
    const ip = rng.chance(0.03)
      ? `${rng.pick(['2a02:6b8', '2600:1f18', '2a01:4f8', '2001:db8'])}:${rng.hex(4)}:${rng.hex(3)}${rng.chance(0.5) ? '::' : `:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}:`}${rng.hex(4)}`
      : `${rng.range(11, 223)}.${rng.int(256)}.${rng.int(256)}.${rng.range(1, 254)}`;
    if (!taken.has(ip) && !ip.startsWith('127.')) {
      taken.add(ip);
      return ip;
    }
  }
}

function newClient(kind: Kind, rng: Rng, taken: Set<string>): Client {
  const ua = rng.pick(UAS[kind]);
  const cipher = rng.chance(0.7) ? TLS13 : TLS12;
  const orders = Array.from({ length: rng.range(1, 8) }, () => uuid(rng));
  return {
    kind,
    ip: clientIp(rng, taken),
    ua,
    type: kind === 'scanner' ? (rng.chance(0.3) ? 'http' : 'https') : kind === 'browser' || kind === 'app' ? (rng.chance(0.35) ? 'h2' : 'https') : 'https',
    cipher,
    uaTls: `"${ua}" ${cipher}`,
    uaPlain: `"${ua}" - -`,
    userId: rng.range(10_000, 9_999_999),
    orders,
    grpc: kind === 'app' && rng.chance(0.25),
    resources: Array.from({ length: rng.range(2, 6) }, () => rng.pick(API_RESOURCES)),
    contP: 0,
    idleExtra: 0,
    addr: '',
    tail: '',
    state: 'start',
    loggedIn: false,
    product: 0,
    queue: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Session flows: each step pushes the requests of one page or call onto the client's queue
// (the page, then what the page pulls in). A step that returns false ends the session.

const page = (path: string, median: number, o?: ReqOptions): Req => request('GET', SHOP, path, 'web', 'html', median, o);
const form = (path: string, median: number, upload: number): Req => request('POST', SHOP, path, 'web', 'tiny', median, { status: 302, upload });
const asset = (path: string, size: number, status?: number): Req => request('GET', SHOP, path, 'web', 'static', 2, { size, status });
const apiList = (path: string, median: number): Req => request('GET', API, path, 'api', 'list', median);
const api = (method: string, path: string, median: number, o?: ReqOptions): Req => request(method, API, path, 'api', method === 'GET' ? 'json' : 'tiny', median, o);

const BROWSER_ENTRY = new Choice([['home', 55], ['product', 25], ['category', 12], ['search', 8]] as const);
const BROWSER_NEXT: Record<string, Choice<string>> = {
  home: new Choice([['products', 30], ['category', 25], ['search', 15], ['product', 12], ['account', 3], ['exit', 15]]),
  products: new Choice([['product', 60], ['products', 12], ['category', 5], ['search', 5], ['exit', 18]]),
  category: new Choice([['product', 55], ['category', 10], ['products', 8], ['exit', 27]]),
  search: new Choice([['product', 55], ['search', 15], ['exit', 30]]),
  product: new Choice([['product', 28], ['addToCart', 20], ['reviews', 6], ['products', 8], ['category', 6], ['cart', 4], ['exit', 28]]),
  reviews: new Choice([['product', 60], ['exit', 40]]),
  addToCart: new Choice([['cart', 55], ['product', 25], ['exit', 20]]),
  cart: new Choice([['checkout', 55], ['product', 12], ['removeItem', 5], ['exit', 28]]),
  removeItem: new Choice([['cart', 70], ['exit', 30]]),
  checkout: new Choice([['shipping', 85], ['cart', 5], ['exit', 10]]),
  shipping: new Choice([['payment', 85], ['exit', 15]]),
  payment: new Choice([['confirm', 88], ['payment', 4], ['exit', 8]]),
  confirm: new Choice([['account', 15], ['home', 10], ['exit', 75]]),
  account: new Choice([['accountOrders', 50], ['home', 15], ['exit', 35]]),
  accountOrders: new Choice([['accountOrder', 60], ['account', 10], ['exit', 30]]),
  accountOrder: new Choice([['accountOrders', 30], ['exit', 70]]),
};

/** Where the flow goes next: 'exit' ends it, and the client then either leaves or starts over. */
function advance(c: Client, rng: Rng, entry: Choice<string>, next: Record<string, Choice<string>>, restart: string): string | null {
  let s: string | null = c.state === 'start' ? entry.pick(rng) : next[c.state]!.pick(rng);
  if (s === 'exit') s = rng.chance(c.contP) ? restart : null;
  if (s !== null) c.state = s;
  return s;
}

function browserStep(c: Client, rng: Rng, build: string): boolean {
  const first = c.state === 'start';
  const s = advance(c, rng, BROWSER_ENTRY, BROWSER_NEXT, 'home');
  if (s === null) return false;
  const q = c.queue;
  if (first && rng.chance(0.04)) q.push(page('/', 0, { type: 'http' })); // typed without https: ALB redirects
  switch (s) {
    case 'home':
      q.push(page('/', 45), api('GET', '/api/v1/recommendations?slot=home', 60));
      break;
    case 'products':
      q.push(page(rng.chance(0.4) ? `/products?page=${rng.range(2, 9)}&sort=${rng.pick(['price', 'popular', 'new'])}` : '/products', 70));
      break;
    case 'category':
      q.push(page(`/categories/${rng.pick(CATEGORIES)}${rng.chance(0.2) ? `?page=${rng.range(2, 5)}` : ''}`, 65));
      break;
    case 'search': {
      const term = rng.pick(TERMS);
      q.push(page(`/search?q=${term}`, 140));
      if (rng.chance(0.5)) q.push(api('GET', `/api/v1/search/suggest?q=${term.slice(0, 3)}`, 25));
      break;
    }
    case 'product':
    case 'reviews': {
      if (s === 'product' || c.product === 0) c.product = productId(rng);
      const p = c.product;
      // Products taken off sale still have links pointing at them.
      const gone = rng.chance(0.015);
      q.push(s === 'product' ? page(`/products/${p}`, 55, gone ? { status: 404 } : {}) : page(`/products/${p}/reviews?page=${rng.range(1, 4)}`, 80));
      if (s === 'product' && !gone) {
        q.push(request('GET', SHOP, `/images/products/${p}/800x800.jpg`, 'web', 'img', 4, { status: rng.chance(0.3) ? 304 : 0 }));
        if (rng.chance(0.6)) q.push(api('GET', `/api/v2/items/${p}/stock`, 20));
        if (rng.chance(0.3)) q.push(request('GET', API, `/api/v1/images/${p}/thumbnail?w=400`, 'lambda', 'img', 90));
      }
      break;
    }
    case 'addToCart':
      q.push(api('POST', '/api/v1/cart/items', 35, { upload: rng.range(60, 160) }), api('GET', '/api/v1/cart', 20));
      break;
    case 'cart':
      q.push(page('/cart', 50), api('GET', '/api/v1/cart', 20));
      break;
    case 'removeItem':
      q.push(api('DELETE', `/api/v1/cart/items/${c.product || productId(rng)}`, 30));
      break;
    case 'checkout':
      if (!c.loggedIn) {
        q.push(page('/login?next=/checkout', 30), form('/login', 120, rng.range(80, 200)));
        c.loggedIn = true;
      }
      q.push(page('/checkout', 90));
      break;
    case 'shipping':
      q.push(page('/checkout/shipping', 60), form('/checkout/shipping', 110, rng.range(300, 900)));
      break;
    case 'payment':
      q.push(page('/checkout/payment', 60), api('POST', '/api/v1/payments', 650, { upload: rng.range(400, 1200) }));
      break;
    case 'confirm':
      q.push(page(`/checkout/confirm?order=${uuid(rng)}`, 85));
      break;
    case 'account':
      q.push(page('/account', 70, { auth: true }));
      break;
    case 'accountOrders':
      q.push(page('/account/orders', 95, { auth: true }));
      break;
    case 'accountOrder':
      q.push(page(`/account/orders/${rng.pick(c.orders)}`, 75, { auth: true }));
      break;
  }
  if (first) {
    // A new visit loads the bundles, unless the browser has them cached; some come back as 304.
    const cached = rng.next();
    if (cached > 0.5) {
      const status = cached < 0.7 ? 304 : 0;
      q.push(
        asset(`/static/js/app.${build}.js`, 312_418, status),
        asset(`/static/js/vendor.${build}.js`, 684_210, status),
        asset(`/static/css/main.${build}.css`, 48_733, status),
        asset('/static/img/logo.svg', 3_412, status),
      );
      if (rng.chance(0.3)) q.push(asset('/favicon.ico', 1_150));
    }
    if (rng.chance(0.08)) q.push(request('GET', SHOP, '/ws/notifications', 'web', 'ws', 2, { status: 101, type: rng.chance(0.1) ? 'ws' : 'wss' }));
  }
  return true;
}

const APP_ENTRY = new Choice([['feed', 60], ['orders', 20], ['search', 20]] as const);
const APP_NEXT: Record<string, Choice<string>> = {
  feed: new Choice([['item', 55], ['feed', 15], ['search', 10], ['exit', 20]]),
  search: new Choice([['item', 60], ['search', 15], ['exit', 25]]),
  item: new Choice([['item', 25], ['addCart', 20], ['feed', 20], ['exit', 35]]),
  addCart: new Choice([['cart', 50], ['item', 30], ['exit', 20]]),
  cart: new Choice([['checkout', 55], ['item', 15], ['exit', 30]]),
  checkout: new Choice([['orderDetail', 80], ['exit', 20]]),
  orders: new Choice([['orderDetail', 65], ['feed', 15], ['exit', 20]]),
  orderDetail: new Choice([['orders', 30], ['feed', 10], ['exit', 60]]),
};

function grpcCall(method: string, median: number, rng: Rng): Req {
  return request('POST', API, method, 'grpc', 'grpc', median, { upload: rng.range(20, 400), type: 'grpcs' });
}

function appStep(c: Client, rng: Rng): boolean {
  const first = c.state === 'start';
  const s = advance(c, rng, APP_ENTRY, APP_NEXT, 'feed');
  if (s === null) return false;
  const q = c.queue;
  const user = `/api/v1/users/${c.userId}`;
  if (first) {
    q.push(api('GET', `/api/v1/config?platform=${c.ua.includes('iPhone') ? 'ios' : 'android'}&version=5.12`, 8));
    if (rng.chance(0.35)) q.push(api('POST', '/api/v1/auth/refresh', 45, { upload: 180 }));
    q.push(api('GET', user, 20), api('GET', `${user}/notifications?unread=true`, 30));
  }
  switch (s) {
    case 'feed':
      q.push(c.grpc ? grpcCall(GRPC_METHODS[1]!, 40, rng) : apiList(`/api/v2/items?category=${rng.pick(CATEGORIES)}&page=${rng.range(1, 6)}`, 55));
      break;
    case 'search':
      q.push(apiList(`/api/v2/search?q=${rng.pick(TERMS)}`, 120));
      break;
    case 'item': {
      c.product = productId(rng);
      if (c.grpc) q.push(grpcCall(GRPC_METHODS[0]!, 15, rng), grpcCall(GRPC_METHODS[2]!, 10, rng));
      else q.push(api('GET', `/api/v2/items/${c.product}`, 22), api('GET', `/api/v2/items/${c.product}/stock`, 18));
      break;
    }
    case 'addCart':
      q.push(api('POST', '/api/v1/cart/items', 35, { upload: rng.range(60, 160) }));
      break;
    case 'cart':
      q.push(api('GET', '/api/v1/cart', 20));
      break;
    case 'checkout':
      q.push(api('POST', '/api/v1/orders', 420, { upload: rng.range(500, 1500) }), api('POST', '/api/v1/payments', 650, { upload: rng.range(400, 1200) }));
      break;
    case 'orders':
      q.push(c.grpc ? grpcCall(GRPC_METHODS[3]!, 35, rng) : apiList(`${user}/orders?page=1`, 60));
      break;
    case 'orderDetail':
      q.push(api('GET', `${user}/orders/${rng.pick(c.orders)}`, 35));
      if (rng.chance(0.4)) q.push(api('GET', `/api/v1/shipments/${hexId(rng)}`, 40));
      break;
  }
  return true;
}

/** A partner integration: rounds of "list what changed, fetch some of it, write back now and then". */
function scriptStep(c: Client, rng: Rng): boolean {
  if (c.state !== 'start' && rng.chance(0.2) && !rng.chance(c.contP)) return false;
  c.state = 'round';
  const q = c.queue;
  if (c.ua.startsWith('Go-') && rng.chance(0.3)) {
    // This partner also delivers webhooks, handled by a Lambda function.
    q.push(request('POST', API, `/webhooks/${rng.pick(['stripe', 'paypal', 'shipbob'])}`, 'lambda', 'tiny', 70, { upload: rng.range(800, 4000) }));
  }
  const r = rng.pick(c.resources);
  q.push(apiList(`${r.base}?updated_since=2026-11-01T00:00:00Z&page=${rng.range(1, 20)}&limit=100`, r.median * 2));
  for (let n = rng.range(1, 6); n > 0; n--) {
    const id = makeId(r.id, rng);
    const sub = rng.chance(0.3) ? rng.pick(r.subs) : null;
    const path = sub === null ? `${r.base}/${id}` : sub === 'items' && rng.chance(0.5) ? `${r.base}/${id}/items/${rng.range(1, 40)}` : `${r.base}/${id}/${sub}`;
    if (r.writable && rng.chance(0.12)) {
      const method = rng.pick(['PUT', 'PATCH', 'DELETE', 'POST']);
      q.push(method === 'POST' ? api('POST', r.base, r.median * 3, { status: 201, upload: rng.range(300, 3000) }) : api(method, `${r.base}/${id}`, r.median * 2, { upload: method === 'DELETE' ? 0 : rng.range(200, 2000) }));
    } else {
      q.push(api('GET', path, r.median));
    }
  }
  return true;
}

function crawlerStep(c: Client, rng: Rng): boolean {
  const first = c.state === 'start';
  if (!first && rng.chance(0.04) && !rng.chance(c.contP)) return false;
  c.state = 'crawl';
  const q = c.queue;
  if (first) {
    q.push(request('GET', SHOP, '/robots.txt', 'web', 'tiny', 2, { size: 412 }));
    if (rng.chance(0.3)) q.push(request('GET', SHOP, `/sitemap-products-${rng.range(1, 5)}.xml`, 'web', 'list', 30));
  }
  const x = rng.next();
  if (x < 0.7) {
    const p = productId(rng);
    q.push(page(`/products/${p}`, 55, rng.chance(0.05) ? { status: 404 } : {}));
  } else if (x < 0.85) q.push(page(`/categories/${rng.pick(CATEGORIES)}?page=${rng.range(1, 12)}`, 65));
  else if (x < 0.93) q.push(request('GET', SHOP, `/product/${productId(rng)}`, 'web', 'tiny', 6, { status: 301 })); // an old URL scheme, redirected by the app
  else q.push(page('/', 45));
  return true;
}

function scannerStep(c: Client, rng: Rng): boolean {
  if (c.state !== 'start' && rng.chance(0.07) && !rng.chance(c.contP)) return false;
  c.state = 'probe';
  const x = rng.next();
  const path = rng.pick(SCAN_PATHS);
  const method = path.includes('login') || path.includes('xmlrpc') ? 'POST' : 'GET';
  c.queue.push(request(method, rng.chance(0.5) ? SHOP : API, path, 'web', 'tiny', 4, { status: 404, waf: x < 0.45, garbage: x > 0.9, upload: method === 'POST' ? rng.range(40, 400) : 0 }));
  return true;
}

// ---------------------------------------------------------------------------------------------
// One request → one log line. ALB decides first (redirect, WAF, its own errors), then the target.

// Fixed pieces of a line, built once: the line is assembled from fewer, longer strings.
const HTTPS_ORIGIN: Record<string, string> = { [SHOP]: `https://${SHOP}:443`, [API]: `https://${API}:443` };
const HTTP_ORIGIN: Record<string, string> = { [SHOP]: `http://${SHOP}:80`, [API]: `http://${API}:80` };
/** `"domain_name" "chosen_cert_arn"` over TLS. */
const SNI_CERT: Record<string, string> = { [SHOP]: `"${SHOP}" "${CERT}"`, [API]: `"${API}" "${CERT}"` };

/** Target, target status and the three timings of a request ALB answered itself. */
const ALB_ANSWERED = ['-', '-', -1, -1, -1] as const;

/** 000 … 999, for fractions of a second. */
const DIGITS3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** ISO 8601 with microseconds, the part up to the second memoised (it changes every few dozen lines). */
class TimeFormat {
  private sec = -1;
  private prefix = '';
  /** The second of the last time formatted, in hex (trace ids carry it). */
  secHex = '';
  format(us: number): string {
    const sec = Math.floor(us / SEC);
    if (sec !== this.sec) {
      this.sec = sec;
      this.prefix = new Date(sec * 1000).toISOString().slice(0, 20);
      this.secHex = sec.toString(16);
    }
    const frac = us - sec * SEC;
    const ms = Math.floor(frac / 1000);
    return this.prefix + DIGITS3[ms] + DIGITS3[frac - ms * 1000] + 'Z';
  }
}

/** 0.000 … 9.999: most timings, ready-made. */
const SECONDS = Array.from({ length: 10_000 }, (_, ms) => `${Math.floor(ms / 1000)}.${DIGITS3[ms % 1000]}`);

/** Seconds with three decimals from whole milliseconds, as ALB prints them; -1 when not measured. */
function seconds(ms: number): string {
  if (ms < 0) return '-1';
  return ms < SECONDS.length ? SECONDS[ms]! : `${Math.floor(ms / 1000)}.${DIGITS3[ms % 1000]}`;
}

/** A stable size for a path (the same file is always the same size). */
function sizeOf(path: string, lo: number, hi: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return lo + ((h >>> 0) % (hi - lo));
}

interface Incidents {
  /** The API degrades: errors and latency up. */
  apiFrom: number;
  apiTo: number;
  /** One web target stops accepting connections until health checks take it out. */
  webFrom: number;
  webTo: number;
  badTarget: string;
}

class LineWriter {
  private readonly time = new TimeFormat();
  private readonly created = new TimeFormat();
  constructor(
    private readonly rng: Rng,
    private readonly incidents: Incidents,
  ) {}

  line(c: Client, req: Req, t: number): string {
    const rng = this.rng;
    const type = req.type ?? c.type;
    const tls = type !== 'http' && type !== 'ws';
    const proto = type === 'h2' || type === 'grpcs' ? 'HTTP/2.0' : 'HTTP/1.1';
    const group = GROUPS[req.backend];
    const inApiIncident = req.backend === 'api' && t >= this.incidents.apiFrom && t < this.incidents.apiTo;

    // Defaults: forwarded to a target that answered.
    let target = group.targets.length > 0 ? rng.pick(group.targets) : '-';
    let rpt = rng.chance(0.8) ? 0 : rng.range(1, 3);
    let tpt = 0;
    let rsp = rng.chance(0.7) ? 0 : 1;
    let elbStatus = 200;
    let targetStatus = '200';
    let sent = 0;
    let tg = group.arn;
    let priority = group.priority;
    let actions = req.auth ? 'authenticate,forward' : 'forward';
    let redirect = '-';
    let reason = '-';
    let request = `${req.method} ${(tls ? HTTPS_ORIGIN : HTTP_ORIGIN)[req.host]}${req.path} ${proto}`;
    let uaCipher = tls ? c.uaTls : c.uaPlain;
    let waitedMs: number | undefined;
    // Request headers (HPACK-compressed on HTTP/2) and body.
    let received = (type === 'h2' || type === 'grpcs' ? rng.range(40, 260) : rng.range(320, 1100)) + req.upload;

    if (req.garbage || rng.chance(0.0001)) {
      // ALB could not read the request line (or its headers): no method, no URL, no user agent.
      [target, targetStatus, rpt, tpt, rsp] = ALB_ANSWERED;
      elbStatus = 400;
      sent = rng.pick([272, 276]);
      request = '- - -';
      uaCipher = tls ? `"-" ${c.cipher}` : '"-" - -';
      received = rng.range(0, 180);
      tg = '-';
      priority = '-';
      actions = '-';
    } else if (type === 'http') {
      // Port 80 only redirects to https.
      [target, targetStatus, rpt, tpt, rsp] = ALB_ANSWERED;
      elbStatus = 301;
      sent = rng.range(150, 180) + req.path.length;
      tg = '-';
      actions = 'redirect';
      redirect = HTTPS_ORIGIN[req.host] + req.path;
    } else if (req.waf || rng.chance(0.0002)) {
      [target, targetStatus, rpt, tpt, rsp] = ALB_ANSWERED;
      elbStatus = 403;
      sent = 216;
      tg = '-';
      priority = '-';
      actions = 'waf';
    } else if (req.backend === 'lambda' && rng.chance(0.004)) {
      // Errors of the Lambda function itself, answered by ALB.
      const [status, why] = rng.pick([[502, 'LambdaUnhandled'], [502, 'LambdaInvalidResponse'], [503, 'LambdaThrottling']] as const);
      rpt = 0;
      tpt = rng.range(5, 900);
      rsp = 0;
      elbStatus = status;
      targetStatus = '-';
      reason = why;
      sent = 272;
    } else if (group.targets.length > 0 && (rng.chance(inApiIncident ? 0.02 : 0.0008) || (target === this.incidents.badTarget && t >= this.incidents.webFrom && t < this.incidents.webTo && rng.chance(0.7)))) {
      // ALB's own errors: the target refused the connection or timed out, or none was healthy.
      const x = rng.next();
      targetStatus = '-';
      rpt = tpt = rsp = -1;
      sent = 272;
      if (x < 0.45 || target === this.incidents.badTarget) {
        elbStatus = 502;
        reason = 'TargetConnectionError';
      } else if (x < 0.8) {
        elbStatus = 504;
        sent = 276;
        rpt = 0;
        reason = 'TargetTimeout';
        waitedMs = 60_000; // the idle timeout: the line is stamped when ALB gave up
      } else {
        elbStatus = 503; // no healthy target
        target = '-';
      }
    } else {
      // The target answers.
      let status = req.status || 200;
      if (status < 300) {
        if (rng.chance(inApiIncident ? 0.08 : 0.003)) status = rng.chance(0.85) ? 500 : 503;
        else if (req.backend === 'api' && req.method === 'GET' && rng.chance(0.004)) status = 401; // an expired token
        else if (req.method !== 'GET' && rng.chance(0.01)) status = 400; // a body the app refused
        else if (c.kind === 'script' && req.backend === 'api' && rng.chance(0.025)) status = 429; // the partner's rate limit
        else if (rng.chance(0.002)) status = 404;
      }
      elbStatus = status;
      targetStatus = String(status);
      tpt = Math.min(59_999, Math.round(rng.lognormal(req.median, 0.55) * (rng.chance(0.015) ? rng.range(3, 15) : 1) * (inApiIncident ? 4 : 1)));
      if (status >= 500) tpt += rng.range(0, 300);
      sent = this.bodyBytes(req, status);
    }

    // The request came in that long before the response (`t`); a timing of -1 took no time.
    const spentMs = waitedMs ?? Math.max(0, rpt) + Math.max(0, tpt) + Math.max(0, rsp);
    const createdUs = t - spentMs * 1000 - rng.int(1000);
    const created = this.created.format(createdUs);
    const trace = `Root=1-${this.created.secHex}-${rng.hex(24)}`;
    const names = tls ? SNI_CERT[req.host] : '"-" "-"';
    return `${type} ${this.time.format(t)} ${ELB} ${c.addr} ${target} ${seconds(rpt)} ${seconds(tpt)} ${seconds(rsp)} ${elbStatus} ${targetStatus} ${received} ${sent} "${request}" ${uaCipher} ${tg} "${trace}" ${names} ${priority} ${created} "${actions}" "${redirect}" "${reason}" "${target}" "${targetStatus}" ${c.tail}`;
  }

  private bodyBytes(req: Req, status: number): number {
    const rng = this.rng;
    const headers = rng.range(180, 420);
    if (status === 304) return headers;
    if (status >= 300 && status < 400) return headers + rng.range(0, 120);
    if (status >= 400) return headers + rng.range(20, 600);
    switch (req.body) {
      case 'html':
        return headers + rng.range(9_000, 70_000);
      case 'json':
        return headers + rng.range(200, 6_000);
      case 'list':
        return headers + rng.range(2_000, 48_000);
      case 'static':
        return headers + req.size;
      case 'img':
        return headers + sizeOf(req.path, 8_000, 180_000);
      case 'tiny':
        return headers + (req.size || rng.range(0, 200));
      case 'ws':
        return rng.range(400, 60_000);
      case 'grpc':
        return headers + rng.range(80, 2_400);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The simulation: sessions, the gaps inside and between them, and the queue of next requests.

function step(c: Client, rng: Rng, build: string): boolean {
  switch (c.kind) {
    case 'browser':
      return browserStep(c, rng, build);
    case 'app':
      return appStep(c, rng);
    case 'script':
      return scriptStep(c, rng);
    case 'crawler':
      return crawlerStep(c, rng);
    case 'scanner':
      return scannerStep(c, rng);
  }
}

function startSession(c: Client, rng: Rng): void {
  // One connection per session, so conn_trace_id tells sessions apart; ~5% of them are logged
  // without one (older log format), and analytics fall back to IP and user agent there.
  c.addr = `${c.ip}:${rng.range(1024, 65535)}`;
  c.tail = `"-" "-" ${rng.chance(0.05) ? '-' : `TID_${rng.hex(16)}`} "-" "-" "-"`;
  c.state = 'start';
  c.loggedIn = false;
  c.product = 0;
}

/** The session's next request, or null when it is over. */
function nextRequest(c: Client, rng: Rng, build: string): Req | null {
  while (c.queue.length === 0) if (!step(c, rng, build)) return null;
  return c.queue.shift()!;
}

/** µs until the client's next request: what a page pulls in follows at once, the next page after a pause. */
function gapAfter(c: Client, rng: Rng): number {
  if (c.queue.length > 0) return rng.range(15_000, 400_000);
  return Math.min(THINK_MAX, Math.max(50_000, rng.lognormal(THINK[c.kind], 0.8)));
}

interface SessionShape {
  /** Requests of a visit that does not start over. */
  first: number;
  /** Requests each time it does (no page assets then, no app launch calls). */
  again: number;
  /** Mean µs from one request to the next. */
  gap: number;
}

/** The shape of a kind's sessions, by trying some: once without restarts, once with two flows a session on average. */
function sessionShape(kind: Kind, rng: Rng): SessionShape {
  const c = newClient(kind, rng, new Set());
  const run = (contP: number) => {
    c.contP = contP;
    let requests = 0;
    let gaps = 0;
    for (let s = 0; s < 400; s++) {
      startSession(c, rng);
      while (nextRequest(c, rng, BUILDS[0]!) !== null) {
        requests++;
        gaps += gapAfter(c, rng);
      }
    }
    return { length: requests / 400, gap: gaps / requests };
  };
  const once = run(0);
  const twice = run(0.5);
  return { first: once.length, again: Math.max(1, twice.length - once.length), gap: twice.gap };
}

/**
 * The clients, each given how long its sessions run and how long it stays away between them so
 * that together they write about `lines` lines over `span`: a client's share of the lines follows
 * its weight. A client with more requests than short sessions 31 minutes apart can hold gets
 * longer sessions (it starts its flow over instead of leaving).
 */
function makeClients(count: number, lines: number, span: number, rng: Rng): { clients: Client[]; first: number[] } {
  const shapes = new Map<Kind, SessionShape>();
  for (const k of ['browser', 'app', 'script', 'crawler', 'scanner'] as const) shapes.set(k, sessionShape(k, rng));
  const taken = new Set<string>();
  const clients = Array.from({ length: count }, () => newClient(KINDS.pick(rng), rng, taken));
  const weights = clients.map((c) => KIND_WEIGHT[c.kind] * rng.lognormal(1, 0.7));
  const total = weights.reduce((a, b) => a + b, 0);
  const extraMin = 2 * MIN;
  const first = clients.map((c, i) => {
    const { first, again, gap } = shapes.get(c.kind)!;
    const requests = (lines * weights[i]!) / total;
    const perRequest = span / requests; // time the client may spend per request, idle included
    // A session of `length` requests leaves length·(perRequest − gap) for the idle time after it,
    // which must be at least IDLE_MIN + extraMin. A client that cannot keep up even so is capped.
    const length = perRequest > 1.5 * gap ? Math.max(first, (IDLE_MIN + extraMin) / (perRequest - gap)) : first + 200 * again;
    c.contP = 1 - 1 / (1 + (length - first) / again); // 1 + (length − first)/again flows a session on average
    c.idleExtra = Math.max(extraMin, length * (perRequest - gap) - IDLE_MIN);
    // Time to the first session as seen from a random point of the client's cycle (a fixed part,
    // the session and IDLE_MIN, then an exponential one), so traffic is steady from the first hour.
    const fixed = IDLE_MIN + length * gap;
    return (rng.chance(fixed / (fixed + c.idleExtra)) ? rng.next() * fixed : 0) + rng.exp(c.idleExtra);
  });
  return { clients, first };
}

/** A binary min-heap of client indices by the time of their next event (times kept beside them, in heap order). */
class EventQueue {
  private readonly ids: Int32Array;
  private readonly times: Float64Array;
  private size = 0;
  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
  }
  push(id: number, t: number): void {
    const { ids, times } = this;
    let k = this.size++;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (times[p]! <= t) break;
      ids[k] = ids[p]!;
      times[k] = times[p]!;
      k = p;
    }
    ids[k] = id;
    times[k] = t;
  }
  peekTime(): number {
    return this.times[0]!;
  }
  /** Removes the earliest event: its client, whose time `peekTime()` gave just before. */
  pop(): number {
    const { ids, times } = this;
    const top = ids[0]!;
    const n = --this.size;
    const id = ids[n]!;
    const t = times[n]!;
    let k = 0;
    for (;;) {
      let c = 2 * k + 1;
      if (c >= n) break;
      if (c + 1 < n && times[c + 1]! < times[c]!) c++;
      if (times[c]! >= t) break;
      ids[k] = ids[c]!;
      times[k] = times[c]!;
      k = c;
    }
    ids[k] = id;
    times[k] = t;
    return top;
  }
}

/** A line that is not an ALB entry: a partial write, a foreign message, a wrong timestamp, a cut-off quote. */
function badLine(rng: Rng, t: number, time: TimeFormat): string {
  const ts = time.format(t);
  switch (rng.int(4)) {
    case 0:
      return `https ${ts} ${ELB} 198.51.100.${rng.range(1, 254)}:${rng.range(1024, 65535)} 10.0.1.12:8080 0.000`;
    case 1:
      return rng.pick(['[s3-sync] retrying part 37 of AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/01/', '<html><head><title>504 Gateway Time-out</title></head>', '#Version: 1.0']);
    case 2:
      return `https ${new Date(t / 1000).toUTCString()} ${ELB} 198.51.100.7:4431 10.0.1.12:8080 0.000 0.012 0.000 200 200 512 1234 "GET https://${SHOP}:443/ HTTP/1.1" "curl/8.5.0"`;
    default:
      return `h2 ${ts} ${ELB} 203.0.113.${rng.range(1, 254)}:${rng.range(1024, 65535)} 10.0.1.12:8080 0.000 0.012 0.000 200 200 512 1234 "GET https://${SHOP}:443/produ`;
  }
}

export function* generateAlbLines(opts: GenOptions): Generator<string> {
  const rng = new Rng(opts.seed ?? 1);
  const start = (opts.start ?? new Date(Date.UTC(2026, 10, 1))).getTime() * 1000;
  const span = (opts.hours ?? 24) * 3600 * SEC;
  const every = opts.malformedEvery ?? 5000;
  const { clients, first } = makeClients(opts.clients ?? 5000, opts.lines, span, rng);
  const incidents: Incidents = {
    apiFrom: start + span * (0.2 + 0.3 * rng.next()),
    apiTo: 0,
    webFrom: start + span * (0.6 + 0.3 * rng.next()),
    webTo: 0,
    badTarget: GROUPS.web.targets[3]!,
  };
  incidents.apiTo = incidents.apiFrom + 12 * MIN;
  incidents.webTo = incidents.webFrom + 20 * MIN;
  const deployAt = start + span * 0.55;
  const writer = new LineWriter(rng, incidents);
  const badTime = new TimeFormat();
  const queue = new EventQueue(clients.length);
  first.forEach((t, i) => queue.push(i, start + Math.round(t)));
  const inSession = new Uint8Array(clients.length);

  for (let n = 1; n <= opts.lines; ) {
    if (every > 0 && n % every === 0) {
      yield badLine(rng, queue.peekTime(), badTime);
      n++;
      continue;
    }
    const t = queue.peekTime();
    const i = queue.pop();
    const c = clients[i]!;
    if (inSession[i] === 0) {
      startSession(c, rng);
      inSession[i] = 1;
    }
    const req = nextRequest(c, rng, t < deployAt ? BUILDS[0]! : BUILDS[1]!);
    if (req === null) {
      // The session is over: the client comes back after more than 30 minutes.
      inSession[i] = 0;
      queue.push(i, t + IDLE_MIN + Math.round(rng.exp(c.idleExtra)));
      continue;
    }
    yield writer.line(c, req, t);
    n++;
    queue.push(i, t + Math.round(gapAfter(c, rng)));
  }
}

/**
 * Writes the lines to `path` through two ~1 MB buffers: lines are encoded into one (cheaper than
 * joining strings) while the other is being written, so generating never waits for the disk.
 */
export async function writeAlbFile(path: string, opts: GenOptions): Promise<{ lines: number; bytes: number }> {
  const chunk = 1 << 20;
  const buffers = [Buffer.allocUnsafe(chunk + (64 << 10)), Buffer.allocUnsafe(chunk + (64 << 10))];
  const file = await open(path, 'w');
  let buf = buffers[0]!;
  let writing: Promise<unknown> = Promise.resolve();
  let lines = 0;
  let bytes = 0;
  let off = 0;
  const flush = async () => {
    await writing; // the other buffer is free again
    writing = file.write(buf, 0, off);
    bytes += off;
    buf = buf === buffers[0] ? buffers[1]! : buffers[0]!;
    off = 0;
  };
  try {
    for (const line of generateAlbLines(opts)) {
      if (off >= chunk || off + 3 * line.length + 1 > buf.length) await flush();
      off += buf.write(line, off);
      buf[off++] = 10;
      lines++;
    }
    await flush();
    await writing;
  } finally {
    await file.close();
  }
  return { lines, bytes };
}

export async function gzipFile(src: string, dst: string): Promise<void> {
  await pipeline(createReadStream(src), createGzip(), createWriteStream(dst));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: '100000' },
      out: { type: 'string' },
      gzip: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      clients: { type: 'string', default: '5000' },
      hours: { type: 'string', default: '24' },
    },
  });
  if (values.out === undefined) throw new Error('usage: access-gen.ts --lines N --out FILE [--gzip] [--seed S] [--clients C] [--hours H]');
  const t0 = performance.now();
  const written = await writeAlbFile(values.out, { lines: Number(values.lines), seed: Number(values.seed), clients: Number(values.clients), hours: Number(values.hours) });
  const report: Record<string, unknown> = { file: values.out, ...written, ms: Math.round(performance.now() - t0) };
  if (values.gzip) {
    // The plain file stays: GoAccess reads it, the importer may read either.
    await gzipFile(values.out, `${values.out}.gz`);
    report.gzip = `${values.out}.gz`;
  }
  console.log(JSON.stringify(report));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
