// Test support: a database per test file cloned from the migrated template,
// an app built with test config, and factories that make their own records.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect, inject } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig, type AppConfig } from '../src/config.ts';
import { createDb, type Db } from '../src/db.ts';
import { hashPassword } from '../src/lib/passwords.ts';
import { withDatabase } from './global-setup.ts';
import { createQueueKit, type QueueKit } from '../src/workers/queue-kit.ts';
import { randomSecretsEnv } from '../src/lib/random-secrets.ts';

export type TestEnv = {
  app: FastifyInstance;
  db: Db;
  url: string;
  config: AppConfig;
  logs: string[];
  queues: QueueKit | null;
  /** Raw SQL on the test database, bypassing Prisma. */
  sql: <T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<T[]>;
  close: () => Promise<void>;
};

export function testEnvVars(dbUrl: string, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: dbUrl,
    ...randomSecretsEnv('t1'),
    // OWASP's floor keeps the suite fast; production defaults are stronger.
    ARGON2_MEMORY_KIB: '19456',
    ARGON2_TIME_COST: '2',
    LOG_LEVEL: 'info',
    // Webhook sinks in tests listen on 127.0.0.1 over http.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // Suites sign many users in at once (cheap argon2 here); the argon2 queue's bound has its own tests.
    LOGIN_QUEUE_MAX: '1000',
    // Most suites sign admins in without a second factor; test/mfa*.test.ts checks the ADMIN default.
    MFA_REQUIRED_ROLES: '',
    // Suites change users and sessions straight in the database and expect the next request to see it;
    // the session cache (emptied by notifications, asynchronously) has its own tests: test/session-cache.test.ts.
    AUTH_CACHE_SECONDS: '0',
    ...overrides,
  };
}

export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = inject('adminUrl');
  const name = `${inject('templateDb')}_f${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDb')}`);
  await admin.end();
  return {
    url: withDatabase(adminUrl, name),
    // Clones are dropped by the global teardown once every test worker has
    // exited: dropping here (WITH FORCE) would kill connections that a pool
    // still holds and surface as unhandled errors.
    drop: async () => {},
  };
}

export async function setupTestEnv(
  opts: { env?: Record<string, string>; clock?: () => Date; queues?: boolean } = {},
): Promise<TestEnv> {
  const database = await createTestDatabase();
  // TEST_QUEUE_BACKEND=postgres forces BullMQ's PostgreSQL backend even when
  // Redis answers (npm test runs the queue suites on both when it can).
  const redisUrl = process.env.TEST_QUEUE_BACKEND === 'postgres' ? '' : inject('redisUrl');
  const config = loadConfig(testEnvVars(database.url, { ...(redisUrl ? { REDIS_URL: redisUrl } : {}), ...opts.env }));
  const queuePrefix = `t${uniq()}`;
  const queues = opts.queues ? createQueueKit(config, { prefix: queuePrefix }) : null;
  const db = createDb(database.url, 5);
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const app = await buildApp(config, { db, logStream, clock: opts.clock, queues });
  await app.ready();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  return {
    app,
    db,
    url: database.url,
    config,
    logs,
    sql: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    queues,
    close: async () => {
      await app.close();
      await queues?.close();
      // This file's BullMQ keys go with it: the shared Redis keeps nothing of a test run.
      if (queues && config.redis.url) await deleteRedisKeys(config.redis.url, `${queuePrefix}:*`);
      await db.$disconnect();
      await pool.end();
      await database.drop();
    },
  };
}

export const uniq = () => randomBytes(4).toString('hex');

/** Deletes the keys matching a pattern (SCAN, never KEYS). */
async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

let cachedHash: { key: string; hash: Promise<string> } | null = null;
export const DEFAULT_PASSWORD = 'correct horse battery staple';

/** Inserts a user directly (hash computed once per run) and returns its id. */
export async function createUser(
  env: TestEnv,
  role: 'ADMIN' | 'COORDINATOR' | 'CASEWORKER' | 'LAWYER',
  opts: { teamIds?: string[]; email?: string } = {},
) {
  const key = JSON.stringify(env.config.auth.argon2);
  if (!cachedHash || cachedHash.key !== key) {
    cachedHash = { key, hash: hashPassword(DEFAULT_PASSWORD, env.config.auth.argon2) };
  }
  const id = randomUUID();
  const email = opts.email ?? `${role.toLowerCase()}-${uniq()}@example.org`;
  await env.db.user.create({
    data: { id, email, displayName: `${role} ${email.slice(0, 12)}`, role, passwordHash: await cachedHash.hash },
  });
  for (const teamId of opts.teamIds ?? []) await env.db.teamMember.create({ data: { teamId, userId: id } });
  return { id, email };
}

export async function login(env: TestEnv, email: string, password = DEFAULT_PASSWORD) {
  const res = await env.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json() as { accessToken: string; refreshToken: string; user: { id: string } };
}

export type Client = {
  userId: string;
  email: string;
  token: string;
  refreshToken: string;
  get: (url: string, headers?: Record<string, string>) => Promise<LightMyRequestResponse>;
  post: (url: string, payload?: unknown, headers?: Record<string, string>) => Promise<LightMyRequestResponse>;
  patch: (url: string, payload: unknown, headers?: Record<string, string>) => Promise<LightMyRequestResponse>;
  put: (url: string, payload: unknown, headers?: Record<string, string>) => Promise<LightMyRequestResponse>;
  del: (url: string, headers?: Record<string, string>) => Promise<LightMyRequestResponse>;
};

export async function clientFor(
  env: TestEnv,
  role: 'ADMIN' | 'COORDINATOR' | 'CASEWORKER' | 'LAWYER',
  opts: { teamIds?: string[] } = {},
): Promise<Client> {
  const u = await createUser(env, role, opts);
  const tokens = await login(env, u.email);
  const auth = (h?: Record<string, string>) => ({ authorization: `Bearer ${tokens.accessToken}`, ...h });
  return {
    userId: u.id,
    email: u.email,
    token: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    get: (url, headers) => env.app.inject({ method: 'GET', url, headers: auth(headers) }),
    post: (url, payload, headers) =>
      env.app.inject({ method: 'POST', url, payload: payload as object, headers: auth(headers) }),
    patch: (url, payload, headers) =>
      env.app.inject({ method: 'PATCH', url, payload: payload as object, headers: auth(headers) }),
    put: (url, payload, headers) =>
      env.app.inject({ method: 'PUT', url, payload: payload as object, headers: auth(headers) }),
    del: (url, headers) => env.app.inject({ method: 'DELETE', url, headers: auth(headers) }),
  };
}

export async function createTeam(env: TestEnv, countries: string[] = ['AM', 'GE']) {
  const id = randomUUID();
  await env.db.team.create({ data: { id, name: `Team ${uniq()}`, countries } });
  return id;
}

// ---------------------------------------------------------------- request bodies
// A valid body for each POST, with overrides (one copy here). An override of
// `undefined` leaves that field out of the request.

const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export type PersonBody = { pseudonym: string; legalName: string; [k: string]: unknown };

/** POST /v1/people: a Russian citizen with a valid passport, born 1990-01-02. */
export const personBody = (over: Record<string, unknown> = {}): PersonBody =>
  defined({
    pseudonym: `P-${uniq()}`,
    legalName: `Ivan Testov ${uniq()}`,
    dateOfBirth: '1990-01-02',
    citizenship: 'RU',
    travelDocumentStatus: 'INTERNATIONAL_VALID',
    ...over,
  });

/** POST /v1/cases/:id/charges: a Russian 207.3 "fakes" charge on a CIS interstate search. */
export const chargeBody = (over: Record<string, unknown> = {}) =>
  defined({
    issuingCountry: 'RU',
    code: 'RU-CC',
    article: '207.3',
    category: 'FAKES',
    mechanism: 'CIS_INTERSTATE_SEARCH',
    status: 'WANTED',
    ...over,
  });

/** POST /v1/cases/:id/events: a detention in Armenia on a calendar date. */
export const eventBody = (over: Record<string, unknown> = {}) =>
  defined({ type: 'DETENTION', country: 'AM', occurredAt: '2026-03-01', ...over });

/** A POST with a raw (possibly malformed) body and content type, as the given client. */
export function rawPost(env: TestEnv, c: Client, url: string, payload: string, contentType = 'application/json') {
  return env.app.inject({
    method: 'POST',
    url,
    payload,
    headers: { authorization: `Bearer ${c.token}`, 'content-type': contentType },
  });
}

// ---------------------------------------------------------------- row counts

/** count(*) of a table (optionally filtered) on the test database. */
export async function countRows(env: TestEnv, table: string, where = 'TRUE', params: unknown[] = []): Promise<number> {
  const [{ n }] = await env.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
  return n;
}

/** Row counts of every table a case-related write could touch: equal before and after = nothing written. */
export async function writeSnapshot(env: TestEnv) {
  return {
    people: await countRows(env, 'people'),
    cases: await countRows(env, 'cases'),
    charges: await countRows(env, 'charges'),
    events: await countRows(env, 'events'),
    assignments: await countRows(env, 'assignments'),
    audit: await countRows(env, 'audit_entries'),
    idem: await countRows(env, 'idempotency_keys'),
  };
}

/** A caseworker-made person and case in the given team, through the API. */
export async function createCase(
  caseworker: Client,
  teamId: string,
  hostCountry = 'AM',
  legalName = `Ivan Testov ${uniq()}`,
) {
  const p = await caseworker.post('/v1/people', personBody({ legalName }));
  if (p.statusCode !== 201) throw new Error(`person: ${p.statusCode} ${p.body}`);
  const c = await caseworker.post('/v1/cases', {
    personId: p.json().id,
    teamId,
    hostCountry,
    summary: 'Detained on a CIS interstate search',
  });
  if (c.statusCode !== 201) throw new Error(`case: ${c.statusCode} ${c.body}`);
  return {
    personId: p.json().id as string,
    caseId: c.json().id as string,
    reference: c.json().reference as string,
    legalName,
  };
}

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: { path: string; message: string }[];
};

/** No stack trace, source location or ORM internals in a response body. */
export function expectNoLeak(body: string) {
  expect(body).not.toMatch(/\n\s*at\s/);
  expect(body).not.toMatch(/\bat\s+[\w$.<>]+\s+\(/);
  expect(body).not.toMatch(/\.(ts|js|mjs|cjs):\d+/);
  expect(body.toLowerCase()).not.toContain('prisma');
  expect(body).not.toMatch(/node_modules/);
}

/** Asserts an RFC 9457 problem with the given status (and, if given, an errors[] entry with that exact path). */
export function expectProblem(res: LightMyRequestResponse, status: number, path?: string): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expectNoLeak(res.body);
  const p = res.json() as Problem;
  expect(p.status).toBe(status);
  expect(typeof p.type).toBe('string');
  expect(typeof p.title).toBe('string');
  expect(typeof p.detail).toBe('string');
  expect(typeof p.requestId).toBe('string');
  expect(p.instance).toBe(res.raw.req.url?.split('?')[0]);
  if (path !== undefined) {
    expect(Array.isArray(p.errors), res.body).toBe(true);
    expect(
      p.errors!.map((e) => e.path),
      res.body,
    ).toContain(path);
  }
  return p;
}

/** Free-text markers the statistics and export fixtures put in every identifying field. */
export const FIXTURE_TEXT = /Zzq|Pseudo-|Cityname|freetext|Authority |Basis /;
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * Nothing identifying in an output: none of the given values, no fragment of
 * the fixture's free text (the run suffix is unique to it), and no UUID at all
 * (case, person, event ids).
 */
export function expectNoSecrets(
  label: string,
  body: string,
  secrets: readonly string[],
  fixtureText: RegExp = FIXTURE_TEXT,
) {
  for (const s of secrets) expect(body.includes(s), `${label} leaks "${s}"`).toBe(false);
  expect(fixtureText.test(body), `${label} leaks fixture text`).toBe(false);
  expect(UUID_RE.test(body), `${label} contains an id`).toBe(false);
}
