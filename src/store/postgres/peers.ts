// The other instances on one PostgreSQL database, through its LISTEN/NOTIFY: no other service is
// needed for what correctness rests on. Two things travel:
//
// - Visibility. Each instance acknowledges rows once they are in its own spool and loads them a
//   moment later, so a client that writes to A and then reads from B could miss its rows. Before
//   a read, B asks every live instance to make what it acknowledged readable; each loads its
//   acknowledged rows and answers; B reads once all have answered (or after PEER_WAIT_MS: an
//   instance that died keeps its rows in its spool until it restarts, and is skipped until its
//   heartbeat comes back).
// - Loads. A load notifies inside its own transaction, so the notice arrives when its rows are
//   committed: live tails on every instance wake then (query/tail.ts).
// - Tiers. An archive run, retention or a restore on one instance moves days between the hot
//   store and the archives (on storage every instance shares, `archive.dir`): the others look at
//   the archives again, so that any instance reads an archived day from its Parquet file.

import pg from 'pg';
import { LhError } from '../../errors.js';
import type { Peers } from '../store.js';

/** How often an instance says it is alive. */
const HEARTBEAT_MS = 2000;
/** An instance not heard of for this long is not waited for. */
const LIVE_MS = 10_000;
/** Longest a read waits for the other instances' acknowledged rows. */
const PEER_WAIT_MS = 3000;
/** After the listening connection drops, how long before it reconnects. */
const RECONNECT_MS = 1000;
/** PostgreSQL takes notices of up to 8,000 bytes: a longer list of days goes as "any day". */
const MAX_DAYS_PAYLOAD = 7000;

export interface PeersLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface Ask {
  id: string;
  waiting: Set<string>;
  resolve: () => void;
  sent: boolean;
}

export class PgPeers implements Peers {
  private listener: pg.Client | null = null;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private live: string[] = [];
  /** Instances that did not answer in time, and when: skipped until they are seen again after it. */
  private readonly unresponsive = new Map<string, number>();
  private readonly asks = new Map<string, Ask>();
  /** The ask not sent yet, which reads arriving meanwhile share. */
  private forming: Ask | null = null;
  private barrierFn: () => Promise<void> = () => Promise.resolve();
  private readonly loadedFns: ((seq: bigint) => void)[] = [];
  private tiersFn: (days: { tenant: string; day: string }[] | null) => Promise<void> = () => Promise.resolve();
  private counter = 0;
  private started = false;
  private beats = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    readonly instance: string,
    /** Channel names, per schema so that stores sharing a database never hear each other. */
    readonly channels: { visible: string; loaded: string },
    private readonly log: PeersLog,
  ) {}

  get others(): number {
    return this.live.length;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Listening before the first heartbeat: an instance others wait for always hears them ask.
    await this.listen();
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  onBarrier(fn: () => Promise<void>): void {
    this.barrierFn = fn;
  }

  onLoaded(fn: (seq: bigint) => void): void {
    this.loadedFns.push(fn);
  }

  onTiersChanged(fn: (days: { tenant: string; day: string }[] | null) => Promise<void>): void {
    this.tiersFn = fn;
  }

  async tiersChanged(days: readonly { tenant: string; day: string }[] | null): Promise<void> {
    if (this.closed || !this.started || days?.length === 0) return;
    let list = days === null ? '*' : JSON.stringify(days.map((d) => [d.tenant, d.day]));
    if (list.length > MAX_DAYS_PAYLOAD) list = '*';
    try {
      await this.pool.query('SELECT pg_notify($1, $2)', [this.channels.visible, `tiers:${this.instance}:${list}`]);
    } catch (e) {
      // The others look at the archives again at their next lifecycle turn.
      this.log.warn({ err: e }, 'cannot tell the other instances that archived days changed');
    }
  }

  barrier(): Promise<void> {
    if (this.closed || !this.started) return Promise.resolve();
    if (this.forming !== null) return this.sharedWait(this.forming);
    const ask: Ask = { id: `${this.instance}.${++this.counter}`, waiting: new Set(), resolve: () => undefined, sent: false };
    const done = new Promise<void>((resolve) => (ask.resolve = resolve));
    this.forming = ask;
    // Sent on the next turn: reads that arrive meanwhile share this one.
    setImmediate(() => void this.send(ask));
    return done;
  }

  /**
   * Who is alive is read at each ask, not from the last heartbeat: an instance that started a
   * moment ago may already have acknowledged rows.
   */
  private async send(ask: Ask): Promise<void> {
    this.forming = null;
    try {
      await this.refreshLive();
      if (this.live.length === 0) return ask.resolve();
      for (const peer of this.live) ask.waiting.add(peer);
      this.asks.set(ask.id, ask);
      const timer = setTimeout(() => {
        if (!this.asks.delete(ask.id)) return;
        const now = Date.now();
        for (const peer of ask.waiting) this.unresponsive.set(peer, now);
        this.log.warn({ instances: [...ask.waiting], ms: PEER_WAIT_MS }, 'instances did not make their acknowledged rows readable in time; reading without them');
        ask.resolve();
      }, PEER_WAIT_MS);
      timer.unref();
      const before = ask.resolve;
      ask.resolve = () => (clearTimeout(timer), before());
      ask.sent = true;
      await this.pool.query('SELECT pg_notify($1, $2)', [this.channels.visible, `ask:${ask.id}`]);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot ask the other instances for their acknowledged rows; reading without them');
      this.asks.delete(ask.id);
      ask.resolve();
    }
  }

  private sharedWait(ask: Ask): Promise<void> {
    return new Promise((resolve) => {
      const before = ask.resolve;
      ask.resolve = () => {
        before();
        resolve();
      };
    });
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // A session lock on a connection of its own: released with it, also when this process dies.
    const client = await this.pool.connect();
    let broken = false;
    try {
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`loghaven:${this.channels.visible}:${name}`]);
      if (!got.rows[0]!.ok) throw new LhError('LH_ERR_BUSY', `another instance is running ${name} now; it runs on one instance at a time`, { retry_after_s: 60 });
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`loghaven:${this.channels.visible}:${name}`]).catch(() => (broken = true));
      }
    } finally {
      client.release(broken);
    }
  }

  private async beat(): Promise<void> {
    try {
      await this.pool.query(`INSERT INTO instances (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()`, [this.instance]);
      // Instances gone for a day (killed, never restarted) leave the table.
      if (++this.beats % 1000 === 1) await this.pool.query(`DELETE FROM instances WHERE seen_at < now() - interval '1 day'`);
      await this.refreshLive();
    } catch (e) {
      if (!this.closed) this.log.warn({ err: e }, 'instance heartbeat failed');
    }
  }

  /** The other instances heard of lately, less those that did not answer since they were last seen. */
  private async refreshLive(): Promise<void> {
    const r = await this.pool.query<{ id: string; seen: string }>(
      `SELECT id, (extract(epoch FROM seen_at) * 1000)::bigint::text AS seen FROM instances WHERE id <> $1 AND seen_at > now() - $2::bigint * interval '1 millisecond'`,
      [this.instance, LIVE_MS],
    );
    this.live = r.rows
      .filter((row) => {
        const gaveUp = this.unresponsive.get(row.id);
        if (gaveUp === undefined) return true;
        if (Number(row.seen) <= gaveUp) return false;
        this.unresponsive.delete(row.id);
        return true;
      })
      .map((row) => row.id);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.listener === client) this.listener = null;
      if (!this.closed) this.scheduleReconnect();
    });
    client.on('notification', (n) => this.heard(n.channel, n.payload ?? ''));
    try {
      await client.connect();
      // The instance's name is held for as long as this connection lives: a second process with
      // the same name (a copied data directory) would load its own segments under the first one's
      // records and lose rows, so it is refused. A killed process's connection closes with it.
      const held = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`loghaven-instance:${this.channels.visible}:${this.instance}`]);
      if (!held.rows[0]!.ok) {
        await client.end().catch(() => undefined);
        throw new LhError(
          'LH_ERR_CONFIG_INVALID',
          `another running instance already has the name ${this.instance} (data_dir/instance-id): each instance needs its own data directory; a copy of one must not keep its instance-id file`,
        );
      }
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channels.visible)}`);
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channels.loaded)}`);
      this.listener = client;
    } catch (e) {
      if (e instanceof LhError) throw e;
      await client.end().catch(() => undefined);
      this.log.warn({ err: e }, 'cannot listen to the other instances; retrying');
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnect !== null || this.closed) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = null;
      this.listen().catch((e: unknown) => this.log.warn({ err: e }, 'cannot listen to the other instances'));
    }, RECONNECT_MS);
    this.reconnect.unref();
  }

  private heard(channel: string, payload: string): void {
    if (channel === this.channels.loaded) {
      const sep = payload.lastIndexOf(':');
      if (payload.slice(0, sep) === this.instance) return;
      const seq = BigInt(payload.slice(sep + 1));
      for (const fn of this.loadedFns) fn(seq);
      return;
    }
    if (payload.startsWith('tiers:')) {
      const rest = payload.slice('tiers:'.length);
      const sep = rest.indexOf(':');
      if (rest.slice(0, sep) === this.instance) return;
      const list = rest.slice(sep + 1);
      let days: { tenant: string; day: string }[] | null = null;
      if (list !== '*') {
        try {
          days = (JSON.parse(list) as [string, string][]).map(([tenant, day]) => ({ tenant, day }));
        } catch {
          days = null;
        }
      }
      void this.tiersFn(days).catch((e: unknown) => this.log.warn({ err: e }, 'looking at the archives again failed'));
      return;
    }
    const [kind, id, from] = payload.split(':');
    if (kind === 'ask' && id !== undefined) {
      if (id.startsWith(`${this.instance}.`)) return;
      void this.barrierFn()
        .catch((e: unknown) => this.log.warn({ err: e }, 'making acknowledged rows readable for another instance failed'))
        .then(() => this.pool.query('SELECT pg_notify($1, $2)', [this.channels.visible, `done:${id}:${this.instance}`]))
        .catch(() => undefined);
    } else if (kind === 'done' && id !== undefined && from !== undefined) {
      const ask = this.asks.get(id);
      if (ask === undefined) return;
      ask.waiting.delete(from);
      if (ask.waiting.size === 0) {
        this.asks.delete(id);
        ask.resolve();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.started) return;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    if (this.reconnect !== null) clearTimeout(this.reconnect);
    for (const ask of this.asks.values()) ask.resolve();
    this.asks.clear();
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.pool.query('DELETE FROM instances WHERE id = $1', [this.instance]).catch(() => undefined);
  }
}
