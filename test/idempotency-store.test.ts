// What the idempotency table keeps, and for how long: an HMAC of the request
// (never a plain hash of a body holding a name or a password), nothing at all
// for a body with a password, no expired rows, and no replay of a response the
// caller may no longer see.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { canonicalJson } from '../src/lib/canonical-json.ts';
import { holdsPassword } from '../src/plugins/idempotency.ts';
import {
  clientFor,
  countRows,
  createTeam,
  createUser,
  eventBody,
  expectProblem,
  personBody,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let admin: Client;
let team: string;
let cw: Client;

beforeAll(async () => {
  env = await setupTestEnv();
  admin = await clientFor(env, 'ADMIN');
  team = await createTeam(env);
  cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
});

afterAll(async () => {
  await env?.close();
});

const idemKey = (label: string) => `${label}-${uniq()}-${uniq()}`;
const rowsText = async () =>
  (await env.sql<{ j: string }>('SELECT row_to_json(t)::text AS j FROM idempotency_keys t')).map((r) => r.j).join('\n');
const rowFor = async (userId: string, key: string) =>
  (
    await env.sql<{ request_hash: string; response_body: string | null }>(
      'SELECT request_hash, response_body FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [userId, key],
    )
  )[0];

/** Every plain SHA-256 (hex, base64, base64url) of every form of the request we can compute. */
function plainHashes(method: string, path: string, body: unknown): string[] {
  const forms = [
    canonicalJson(body),
    JSON.stringify(body),
    `${method} ${path}\n${canonicalJson(body)}`,
    `${method} ${path}\n${JSON.stringify(body)}`,
  ];
  return forms.flatMap((f) => {
    const d = createHash('sha256').update(f).digest();
    return [d.toString('hex'), d.toString('base64'), d.toString('base64url')];
  });
}

describe('what the idempotency table stores', () => {
  it('holds an HMAC of the request: no plain hash of any body, no legal name, no password', async () => {
    const legalName = `Vasilisa Hashova ${uniq()}`;
    const password = `held-secret-${uniq()}-${uniq()}`;
    const person = personBody({ legalName });
    const personKey = idemKey('person');
    const p = await cw.post('/v1/people', person, { 'idempotency-key': personKey });
    expect(p.statusCode, p.body).toBe(201);
    const kase = { personId: p.json().id, teamId: team, hostCountry: 'AM', summary: `Summary of ${legalName}` };
    const c = await cw.post('/v1/cases', kase, { 'idempotency-key': idemKey('case') });
    expect(c.statusCode, c.body).toBe(201);
    const evt = eventBody({ details: `Detained with ${legalName}` });
    const e = await cw.post(`/v1/cases/${c.json().id}/events`, evt, { 'idempotency-key': idemKey('event') });
    expect(e.statusCode, e.body).toBe(201);
    const user = { email: `idem-${uniq()}@example.org`, displayName: 'Idem User', role: 'CASEWORKER', password };
    const u = await admin.post('/v1/users', user, { 'idempotency-key': idemKey('user') });
    expect(u.statusCode, u.body).toBe(201);

    const text = await rowsText();
    expect(text.length).toBeGreaterThan(0);
    expect(text.includes(legalName), 'legal name stored').toBe(false);
    expect(text.includes(password), 'password stored').toBe(false);
    const candidates = [
      ...plainHashes('POST', '/v1/people', person),
      ...plainHashes('POST', '/v1/cases', kase),
      ...plainHashes('POST', `/v1/cases/${c.json().id}/events`, evt),
      ...plainHashes('POST', '/v1/users', user),
    ];
    for (const h of candidates) expect(text.includes(h), `plain hash ${h} stored`).toBe(false);
    // The stored response stays encrypted.
    const row = await rowFor(cw.userId, personKey);
    expect(row.response_body).toMatch(/^v1\./);
    expect(row.request_hash).not.toMatch(/^[0-9a-f]{64}$/);
  });

  it('a POST with a password field stores no row, and still works (it is simply not replayed)', async () => {
    const key = idemKey('pw');
    const user = {
      email: `pw-${uniq()}@example.org`,
      displayName: 'Pw User',
      role: 'LAWYER',
      password: `pw-${uniq()}-x`,
    };
    const before = await countRows(env, 'idempotency_keys');
    const first = await admin.post('/v1/users', user, { 'idempotency-key': key });
    expect(first.statusCode, first.body).toBe(201);
    expect(await rowFor(admin.userId, key)).toBeUndefined();
    expect(await countRows(env, 'idempotency_keys')).toBe(before);
    // A retry runs again: the duplicate email is refused by the route itself.
    const again = await admin.post('/v1/users', user, { 'idempotency-key': key });
    expectProblem(again, 409);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await countRows(env, 'users', 'email = $1', [user.email])).toBe(1);
  });

  it('finds a password field at any depth', () => {
    expect(holdsPassword({ a: 1 })).toBe(false);
    expect(holdsPassword(null)).toBe(false);
    expect(holdsPassword({ password: 'x' })).toBe(true);
    expect(holdsPassword({ a: [{ b: { newPassword: 'x' } }] })).toBe(true);
    expect(holdsPassword([[{ c: { d: { PASSWORD: null } } }]])).toBe(true);
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 20_000; i++) cur = (cur.n = {}) as Record<string, unknown>;
    cur.password = 'x';
    expect(holdsPassword(deep)).toBe(true);
  });

  it('a replay still returns the first response; the same key with another body is 422', async () => {
    const key = idemKey('replay');
    const body = personBody();
    const first = await cw.post('/v1/people', body, { 'idempotency-key': key });
    expect(first.statusCode, first.body).toBe(201);
    const second = await cw.post('/v1/people', body, { 'idempotency-key': key });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    const other = await cw.post('/v1/people', personBody(), { 'idempotency-key': key });
    expectProblem(other, 422);
    // The same key of another user is another record.
    const cw2 = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const theirs = await cw2.post('/v1/people', body, { 'idempotency-key': key });
    expect(theirs.statusCode, theirs.body).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('expiry', () => {
  const insertRow = async (userId: string, key: string, hoursAgo: number, statusCode: number | null = 201) =>
    env.sql(
      `INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, status_code, response_body, created_at)
       VALUES ($1, $2, 'POST', '/v1/people', 'h1.x', $3, NULL, now() - make_interval(hours => $4))`,
      [userId, key, statusCode, hoursAgo],
    );
  const exists = async (userId: string, key: string) => (await rowFor(userId, key)) !== undefined;

  it("an idempotent request deletes the caller's expired rows; the purge deletes everyone's", async () => {
    const ttl = env.config.idempotencyTtlHours;
    const me = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const other = (await createUser(env, 'CASEWORKER')).id;
    await insertRow(me.userId, 'old-done-1', ttl + 1);
    await insertRow(me.userId, 'old-stuck-1', ttl + 2, null);
    await insertRow(me.userId, 'fresh-1', 0);
    await insertRow(other, 'old-other-1', ttl + 1);
    await insertRow(other, 'fresh-other-1', 0);

    const r = await me.post('/v1/people', personBody(), { 'idempotency-key': idemKey('purge') });
    expect(r.statusCode, r.body).toBe(201);
    expect(await exists(me.userId, 'old-done-1')).toBe(false);
    expect(await exists(me.userId, 'old-stuck-1')).toBe(false);
    expect(await exists(me.userId, 'fresh-1')).toBe(true);
    expect(await exists(other, 'old-other-1')).toBe(true);

    expect(await env.app.purgeIdempotencyKeys()).toBeGreaterThanOrEqual(1);
    expect(await exists(other, 'old-other-1')).toBe(false);
    expect(await exists(other, 'fresh-other-1')).toBe(true);
    expect(await exists(me.userId, 'fresh-1')).toBe(true);
    expect(await countRows(env, 'idempotency_keys', `created_at < now() - make_interval(hours => $1)`, [ttl])).toBe(0);
  });
});

describe('on start', () => {
  it('deletes rows of the plain-hash era and expired ones, keeps current ones', async () => {
    const u = (await createUser(env, 'CASEWORKER')).id;
    const legacy = createHash('sha256').update('POST /v1/people\n{}').digest('hex');
    await env.sql(
      `INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, status_code, created_at) VALUES
         ($1, 'legacy-key-1', 'POST', '/v1/people', $2, 201, now()),
         ($1, 'current-key-1', 'POST', '/v1/people', 'h1.abc', 201, now())`,
      [u, legacy],
    );
    const app2 = await buildApp(env.config, { db: env.db });
    await app2.ready();
    await app2.close(); // waits for the start-up purge
    expect(await rowFor(u, 'legacy-key-1')).toBeUndefined();
    expect(await rowFor(u, 'current-key-1')).toBeDefined();
  });
});

describe('replay after losing access', () => {
  it('answers 404, not the stored response, once the caller may no longer see the case', async () => {
    const myTeam = await createTeam(env);
    const leaver = await clientFor(env, 'CASEWORKER', { teamIds: [myTeam] });
    const legalName = `Leaver Personova ${uniq()}`;
    const person = personBody({ legalName });
    const kase = (personId: string) => ({ personId, teamId: myTeam, hostCountry: 'GE', summary: 'Detained' });
    const evt = eventBody({ details: `Seen by ${legalName}` });
    const keys = { person: idemKey('lp'), kase: idemKey('lc'), evt: idemKey('le') };

    const p = await leaver.post('/v1/people', person, { 'idempotency-key': keys.person });
    expect(p.statusCode, p.body).toBe(201);
    const c = await leaver.post('/v1/cases', kase(p.json().id), { 'idempotency-key': keys.kase });
    expect(c.statusCode, c.body).toBe(201);
    const caseId = c.json().id as string;
    const e = await leaver.post(`/v1/cases/${caseId}/events`, evt, { 'idempotency-key': keys.evt });
    expect(e.statusCode, e.body).toBe(201);

    // While still on the team, every one replays.
    const r1 = await leaver.post(`/v1/cases/${caseId}/events`, evt, { 'idempotency-key': keys.evt });
    expect(r1.statusCode).toBe(201);
    expect(r1.headers['idempotent-replayed']).toBe('true');
    const r0 = await leaver.post('/v1/cases', kase(p.json().id), { 'idempotency-key': keys.kase });
    expect(r0.headers['idempotent-replayed']).toBe('true');

    const removed = await admin.del(`/v1/teams/${myTeam}/members/${leaver.userId}`);
    expect(removed.statusCode, removed.body).toBe(204);

    const replays = [
      await leaver.post('/v1/people', person, { 'idempotency-key': keys.person }),
      await leaver.post('/v1/cases', kase(p.json().id), { 'idempotency-key': keys.kase }),
      await leaver.post(`/v1/cases/${caseId}/events`, evt, { 'idempotency-key': keys.evt }),
    ];
    for (const r of replays) {
      expectProblem(r, 404);
      expect(r.headers['idempotent-replayed']).toBeUndefined();
      expect(r.body).not.toContain(legalName);
      const { instance: _instance, ...rest } = r.json() as Record<string, unknown>;
      expect(JSON.stringify(rest)).not.toContain(caseId);
    }
    // Nothing was written by the refused replays.
    expect(await countRows(env, 'events', 'case_id = $1', [caseId])).toBe(1);
    expect(await countRows(env, 'cases', 'person_id = $1', [p.json().id])).toBe(1);
  });
});
