// The per-request session check without a database round trip: an entry is
// used only while this process LISTENs on the channel that database triggers
// notify at the commit of every change to a user, their sessions, team
// memberships or second factors (migration auth_change_notify). Any change,
// made by any instance or by hand in psql, drops that user's entries here
// within milliseconds; the triggers, not the routes, send the notice, so no
// route can forget to invalidate. Fail closed: while the listener is not
// connected (start, lost connection, reconnect) nothing is served from the
// cache, and everything cached before is dropped. Entries also age out after
// AUTH_CACHE_SECONDS and never outlive the session's own expiry.
//
// Measured (bench/api.bench.ts): the session statement was one of three round
// trips of a case read; see README (Benchmarks) for the figures.
import pg from 'pg';

export type CachedSession<Row> = { row: Row; userId: string; expiresAtMs: number; cachedAtMs: number };

export const AUTH_CHANNEL = 'exile_auth';

export class SessionCache<Row> {
  private readonly entries = new Map<string, CachedSession<Row>>();
  private readonly byUser = new Map<string, Set<string>>();
  /** Bumped when everything is dropped (listener lost or re-established, TRUNCATE). */
  private generation = 0;
  /** Per user, bumped when that user's entries are dropped: a read of theirs that started before must not be cached. */
  private readonly userGeneration = new Map<string, number>();
  listening = false;
  hits = 0;

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxEntries = 20_000,
  ) {}

  get enabled(): boolean {
    return this.maxAgeMs > 0;
  }

  get(sessionId: string, userId: string, nowMs: number): Row | null {
    if (!this.listening) return null;
    const e = this.entries.get(sessionId);
    if (!e) return null;
    if (e.userId !== userId || e.expiresAtMs <= nowMs || nowMs - e.cachedAtMs >= this.maxAgeMs) {
      this.drop(sessionId);
      return null;
    }
    this.hits++;
    return e.row;
  }

  /**
   * Taken before reading a user's session from the database and given back to
   * set(): it changes when that user (or everyone) is invalidated meanwhile.
   * Per user, so that the stream of token refreshes (each one UPDATEs a
   * session row, whose trigger invalidates its user) does not keep everyone
   * else's reads out of the cache.
   */
  stamp(userId: string): string {
    return `${this.generation}:${this.userGeneration.get(userId) ?? 0}`;
  }

  /** Stores a row read since `seenStamp` (stamp() of the same user), unless an invalidation came between. */
  set(sessionId: string, entry: CachedSession<Row>, seenStamp: string): void {
    if (!this.enabled || !this.listening || seenStamp !== this.stamp(entry.userId)) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    this.entries.set(sessionId, entry);
    let set = this.byUser.get(entry.userId);
    if (!set) this.byUser.set(entry.userId, (set = new Set()));
    set.add(sessionId);
  }

  invalidateUser(userId: string): void {
    // One counter per user ever invalidated: bounded by clearing all past a size no organisation reaches.
    if (this.userGeneration.size >= 100_000) this.clear();
    this.userGeneration.set(userId, (this.userGeneration.get(userId) ?? 0) + 1);
    for (const sid of this.byUser.get(userId) ?? []) this.entries.delete(sid);
    this.byUser.delete(userId);
  }

  clear(): void {
    this.generation++;
    this.userGeneration.clear();
    this.entries.clear();
    this.byUser.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(sessionId: string): void {
    const e = this.entries.get(sessionId);
    if (!e) return;
    this.entries.delete(sessionId);
    const set = this.byUser.get(e.userId);
    set?.delete(sessionId);
    if (set && !set.size) this.byUser.delete(e.userId);
  }
}

/**
 * Keeps a LISTEN connection for `cache`, reconnecting with backoff; the cache
 * is off whenever the connection is not confirmed. Returns a stop function.
 */
export function listenForAuthChanges(
  url: string,
  cache: SessionCache<unknown>,
  log: { warn: (o: object, msg: string) => void },
): () => Promise<void> {
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let delay = 250;

  const down = () => {
    cache.listening = false;
    cache.clear();
  };
  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: url, application_name: 'api-auth-listener' });
    client = c;
    c.on('notification', (n) => {
      if (n.channel !== AUTH_CHANNEL || !n.payload) return;
      if (n.payload === '*') cache.clear();
      else cache.invalidateUser(n.payload);
    });
    const lost = (why: string) => {
      if (stopped || client !== c) return;
      client = null;
      log.warn({ error: why }, 'auth change listener lost its connection: session cache off');
      down();
      void c.end().catch(() => {});
      schedule();
    };
    c.on('error', (err) => lost(err.message));
    c.on('end', () => lost('connection ended'));
    try {
      await c.connect();
      await c.query(`LISTEN ${AUTH_CHANNEL}`);
      if (stopped || client !== c) return void (await c.end().catch(() => {}));
      // Anything cached before this point may have missed a notification.
      cache.clear();
      cache.listening = true;
      delay = 250;
    } catch (err) {
      if (client !== c) return;
      client = null;
      down();
      await c.end().catch(() => {});
      schedule();
      if (!stopped) log.warn({ error: (err as Error).message }, 'auth change listener could not connect');
    }
  };
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 5_000);
  };

  void connect();
  return async () => {
    stopped = true;
    down();
    if (timer) clearTimeout(timer);
    await client?.end().catch(() => {});
  };
}
