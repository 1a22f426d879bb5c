// Session management: the caller's sessions, ending one, and ending every
// other one after a compromise (with the webhook channel and calendar feed),
// by the user and by an admin. Real PostgreSQL, no mocks.
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  createCase,
  createTeam,
  createUser,
  DEFAULT_PASSWORD,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';
import { pruneAuthRecords } from '../src/modules/auth/retention.ts';

let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
let env: TestEnv;
let admin: Client;
let teamId: string;

beforeAll(async () => {
  // Every login here comes from a few addresses: no per-IP limit in the way.
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '100000' }, clock });
  admin = await clientFor(env, 'ADMIN');
  teamId = await createTeam(env);
});
afterAll(async () => {
  await env?.close();
});

type Session = { id: string; createdAt: string; lastUsedAt: string; ip: string | null; userAgent: string | null };
type Tokens = { accessToken: string; refreshToken: string; sessionId: string };

/** Signs in from the given address and User-Agent; returns the tokens and the session id (the token's sid). */
async function signIn(email: string, ip = '203.0.113.10', userAgent = 'TestAgent/1.0'): Promise<Tokens> {
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password: DEFAULT_PASSWORD },
    remoteAddress: ip,
    headers: { 'user-agent': userAgent },
  });
  expect(res.statusCode, res.body).toBe(200);
  const { accessToken, refreshToken } = res.json();
  const sessionId = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).sid as string;
  return { accessToken, refreshToken, sessionId };
}

const as = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (token: string, url: string) => env.app.inject({ method: 'GET', url, headers: as(token) });
const del = (token: string, url: string) => env.app.inject({ method: 'DELETE', url, headers: as(token) });
const post = (token: string, url: string, payload?: object) =>
  env.app.inject({ method: 'POST', url, headers: as(token), ...(payload ? { payload } : {}) });
const put = (token: string, url: string, payload: object) =>
  env.app.inject({ method: 'PUT', url, headers: as(token), payload });
const refresh = (refreshToken: string) =>
  env.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });

/** The helpers' Client shape over the given sign-in. */
function clientOf(u: { id: string; email: string }, t: Tokens): Client {
  return {
    userId: u.id,
    email: u.email,
    token: t.accessToken,
    refreshToken: t.refreshToken,
    get: (url) => get(t.accessToken, url),
    post: (url, payload) => post(t.accessToken, url, payload as object | undefined),
    patch: (url, payload) =>
      env.app.inject({ method: 'PATCH', url, headers: as(t.accessToken), payload: payload as object }),
    put: (url, payload) => put(t.accessToken, url, payload as object),
    del: (url) => del(t.accessToken, url),
  };
}

async function listSessions(token: string): Promise<(Session & { current: boolean })[]> {
  const res = await get(token, '/v1/me/sessions');
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
}

/** A webhook on (a private address: WEBHOOK_ALLOW_PRIVATE is true in tests) and a calendar feed; returns the feed path. */
async function armChannels(token: string): Promise<string> {
  const settings = await put(token, '/v1/me/notification-settings', {
    email: { enabled: true },
    webhook: { url: 'http://127.0.0.1:9/hook', secret: 'a-webhook-secret-of-32-characters', enabled: true },
  });
  expect(settings.statusCode, settings.body).toBe(200);
  expect(settings.json().webhook.enabled).toBe(true);
  const cal = await post(token, '/v1/me/calendar-token');
  expect(cal.statusCode, cal.body).toBe(201);
  const path = new URL(cal.json().url).pathname;
  expect((await env.app.inject({ url: path })).statusCode).toBe(200);
  return path;
}

/** A caseworker of the team with an open deadline a month away: reminders by email and webhook are pending. */
async function caseworkerWithDeadline() {
  const u = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
  const a = await signIn(u.email, '203.0.113.21', 'Laptop');
  const b = await signIn(u.email, '198.51.100.22', 'Phone');
  const feed = await armChannels(a.accessToken);
  const { caseId } = await createCase(clientOf(u, a), teamId);
  const due = new Date(clock().getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
  const d = await post(a.accessToken, `/v1/cases/${caseId}/deadlines`, {
    kind: 'COURT_FILING',
    title: 'File the brief',
    dueDate: due,
  });
  expect(d.statusCode, d.body).toBe(201);
  const pending = await reminderCounts(u.id);
  expect(pending['WEBHOOK:PENDING'] ?? 0).toBeGreaterThan(0);
  expect(pending['EMAIL:PENDING'] ?? 0).toBeGreaterThan(0);
  return { id: u.id, email: u.email, a, b, feed };
}

async function reminderCounts(userId: string): Promise<Record<string, number>> {
  const rows = await env.sql<{ k: string; n: number }>(
    `SELECT channel::text || ':' || status::text AS k, count(*)::int AS n FROM reminders
     WHERE recipient_id = $1 GROUP BY 1`,
    [userId],
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.n]));
}

async function auditActions(requestId: string): Promise<string[]> {
  const rows = await env.sql<{ action: string }>('SELECT action FROM audit_entries WHERE request_id = $1 ORDER BY id', [
    requestId,
  ]);
  return rows.map((r) => r.action).sort();
}

const requestIdOf = (res: LightMyRequestResponse) => String(res.headers['x-request-id'] ?? '');

async function expectChannelsEnded(token: string, feed: string) {
  const s = await get(token, '/v1/me/notification-settings');
  expect(s.statusCode, s.body).toBe(200);
  // Off, but the URL and secret stay so the owner can turn it back on.
  expect(s.json().webhook).toEqual({ url: 'http://127.0.0.1:9/hook', enabled: false, secretSet: true });
  const gone = await env.app.inject({ url: feed });
  expect(gone.statusCode, gone.body).toBe(404);
  expect(gone.body).not.toContain('BEGIN:VCALENDAR');
}

describe('GET /v1/me/sessions', () => {
  it('lists live sessions newest first, with ip, userAgent, lastUsedAt and the current one marked', async () => {
    const u = await createUser(env, 'LAWYER');
    const a = await signIn(u.email, '203.0.113.5', 'Firefox/140 (A)');
    offsetMs += 1000;
    const longUa = `Agent/${'x'.repeat(400)}`;
    const b = await signIn(u.email, '198.51.100.7', longUa);

    const fromA = await listSessions(a.accessToken);
    expect(fromA.map((s) => s.id)).toEqual([b.sessionId, a.sessionId]);
    expect(Object.keys(fromA[0]).sort()).toEqual(['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent']);
    expect(fromA[0]).toMatchObject({ current: false, ip: '198.51.100.7', userAgent: longUa.slice(0, 300) });
    expect(fromA[0].userAgent).toHaveLength(300);
    expect(fromA[1]).toMatchObject({ current: true, ip: '203.0.113.5', userAgent: 'Firefox/140 (A)' });
    // Sign-in counts as use.
    expect(fromA[1].lastUsedAt).toBe(fromA[1].createdAt);

    const fromB = await listSessions(b.accessToken);
    expect(fromB.map((s) => [s.id, s.current])).toEqual([
      [b.sessionId, true],
      [a.sessionId, false],
    ]);

    // lastUsedAt moves at a refresh, not at an ordinary request.
    offsetMs += 60_000;
    expect((await get(a.accessToken, '/v1/me')).statusCode).toBe(200);
    const r = await refresh(a.refreshToken);
    expect(r.statusCode, r.body).toBe(200);
    const after = await listSessions(r.json().accessToken);
    const sa = after.find((s) => s.id === a.sessionId)!;
    expect(sa.current).toBe(true);
    expect(new Date(sa.lastUsedAt).getTime() - new Date(sa.createdAt).getTime()).toBeGreaterThanOrEqual(60_000);
    const sb = after.find((s) => s.id === b.sessionId)!;
    expect(sb.lastUsedAt).toBe(sb.createdAt);
  });

  it('leaves out revoked (logged out) and expired sessions, and other users’ sessions', async () => {
    const u = await createUser(env, 'LAWYER');
    const other = await createUser(env, 'LAWYER');
    const keep = await signIn(u.email);
    const out = await signIn(u.email);
    const expired = await signIn(u.email);
    await signIn(other.email);
    expect((await post(out.accessToken, '/v1/auth/logout')).statusCode).toBe(204);
    await env.sql(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expired.sessionId]);
    expect((await listSessions(keep.accessToken)).map((s) => s.id)).toEqual([keep.sessionId]);
  });

  it('needs a signed-in caller', async () => {
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/me/sessions' }), 401);
  });
});

describe('DELETE /v1/me/sessions/:id', () => {
  it('ends that session at once: its access token answers 401 at the next request, its refresh token fails', async () => {
    const u = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
    const a = await signIn(u.email, '203.0.113.30', 'Laptop');
    const b = await signIn(u.email, '198.51.100.31', 'Stolen phone');
    expect((await get(b.accessToken, '/v1/me')).statusCode).toBe(200);

    const res = await del(a.accessToken, `/v1/me/sessions/${b.sessionId}`);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    expectProblem(await get(b.accessToken, '/v1/me'), 401);
    expectProblem(await refresh(b.refreshToken), 401);
    expect((await listSessions(a.accessToken)).map((s) => s.id)).toEqual([a.sessionId]);
    // The caller's own session is untouched.
    expect((await get(a.accessToken, '/v1/me')).statusCode).toBe(200);

    const [row] = await env.sql<{ revoke_reason: string }>('SELECT revoke_reason FROM sessions WHERE id = $1', [
      b.sessionId,
    ]);
    expect(row.revoke_reason).toBe('user_ended');
    const audit = await env.sql<{ actor_id: string; entity_id: string; changes: unknown }>(
      `SELECT actor_id::text, entity_id, changes FROM audit_entries WHERE action = 'auth.session_revoked' AND request_id = $1`,
      [requestIdOf(res)],
    );
    expect(audit).toEqual([{ actor_id: u.id, entity_id: b.sessionId, changes: { reason: 'user_ended' } }]);
    // No address or User-Agent in the logs.
    expect(env.logs.join('')).not.toContain('198.51.100.31');
    expect(env.logs.join('')).not.toContain('Stolen phone');

    // Again: already ended, nothing to do.
    expect((await del(a.accessToken, `/v1/me/sessions/${b.sessionId}`)).statusCode).toBe(204);
  });

  it('ending the current session signs the caller out', async () => {
    const u = await createUser(env, 'LAWYER');
    const a = await signIn(u.email);
    expect((await del(a.accessToken, `/v1/me/sessions/${a.sessionId}`)).statusCode).toBe(204);
    expectProblem(await get(a.accessToken, '/v1/me'), 401);
    expectProblem(await refresh(a.refreshToken), 401);
  });

  it("another user's session or an unknown id is 404 and changes nothing; a malformed id is 400", async () => {
    const u = await createUser(env, 'LAWYER');
    const victim = await createUser(env, 'LAWYER');
    const a = await signIn(u.email);
    const v = await signIn(victim.email);
    const before = await env.sql<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries`);

    expectProblem(await del(a.accessToken, `/v1/me/sessions/${v.sessionId}`), 404);
    expectProblem(await del(a.accessToken, `/v1/me/sessions/${randomUUID()}`), 404);
    expectProblem(await del(a.accessToken, '/v1/me/sessions/not-a-uuid'), 400, 'params.id');
    expect((await get(v.accessToken, '/v1/me')).statusCode).toBe(200);
    expect((await refresh(v.refreshToken)).statusCode).toBe(200);
    const after = await env.sql<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries`);
    expect(after[0].n).toBe(before[0].n);
  });
});

describe('POST /v1/me/revoke-sessions', () => {
  it('ends every other session, keeps the current one, turns the webhook off and revokes the calendar feed', async () => {
    const cw = await caseworkerWithDeadline();
    const res = await post(cw.a.accessToken, '/v1/me/revoke-sessions');
    expect(res.statusCode, res.body).toBe(204);

    // The other session is over at once, refresh included.
    expectProblem(await get(cw.b.accessToken, '/v1/me'), 401);
    expectProblem(await refresh(cw.b.refreshToken), 401);
    // The current one goes on, and can still refresh.
    expect((await get(cw.a.accessToken, '/v1/me')).statusCode).toBe(200);
    expect((await listSessions(cw.a.accessToken)).map((s) => [s.id, s.current])).toEqual([[cw.a.sessionId, true]]);
    await expectChannelsEnded(cw.a.accessToken, cw.feed);

    // Webhook reminders already planned will not go out; email ones stay.
    const counts = await reminderCounts(cw.id);
    expect(counts['WEBHOOK:PENDING'] ?? 0).toBe(0);
    expect(counts['WEBHOOK:CANCELLED']).toBeGreaterThan(0);
    expect(counts['EMAIL:PENDING']).toBeGreaterThan(0);

    expect(await auditActions(requestIdOf(res))).toEqual([
      'auth.sessions_revoked',
      'calendar_token.revoke',
      'notification_settings.webhook_disabled',
    ]);
    const [entry] = await env.sql<{ actor_id: string; changes: Record<string, unknown> }>(
      `SELECT actor_id::text, changes FROM audit_entries WHERE action = 'auth.sessions_revoked' AND request_id = $1`,
      [requestIdOf(res)],
    );
    expect(entry.actor_id).toBe(cw.id);
    expect(entry.changes).toMatchObject({
      reason: 'user_revoked_others',
      sessions: 1,
      webhookDisabled: true,
      calendarTokens: 1,
    });

    // Refreshing the kept session still works; the owner can turn the webhook back on.
    expect((await refresh(cw.a.refreshToken)).statusCode).toBe(200);
  });

  it('with nothing else to end it still answers 204', async () => {
    const u = await createUser(env, 'LAWYER');
    const a = await signIn(u.email);
    expect((await post(a.accessToken, '/v1/me/revoke-sessions')).statusCode).toBe(204);
    expect((await get(a.accessToken, '/v1/me')).statusCode).toBe(200);
  });

  it('needs a signed-in caller', async () => {
    expectProblem(await env.app.inject({ method: 'POST', url: '/v1/me/revoke-sessions' }), 401);
  });
});

describe('POST /v1/users/:id/revoke-sessions (admin)', () => {
  it('ends every session of the user, turns the webhook off and revokes the calendar feed, in one audited step', async () => {
    const cw = await caseworkerWithDeadline();
    const res = await admin.post(`/v1/users/${cw.id}/revoke-sessions`);
    expect(res.statusCode, res.body).toBe(204);
    for (const t of [cw.a, cw.b]) {
      expectProblem(await get(t.accessToken, '/v1/me'), 401);
      expectProblem(await refresh(t.refreshToken), 401);
    }
    const again = await signIn(cw.email);
    expect((await listSessions(again.accessToken)).map((s) => s.id)).toEqual([again.sessionId]);
    await expectChannelsEnded(again.accessToken, cw.feed);
    const counts = await reminderCounts(cw.id);
    expect(counts['WEBHOOK:PENDING'] ?? 0).toBe(0);
    expect(counts['EMAIL:PENDING']).toBeGreaterThan(0);

    expect(await auditActions(requestIdOf(res))).toEqual([
      'auth.sessions_revoked',
      'calendar_token.revoke',
      'notification_settings.webhook_disabled',
    ]);
    const entries = await env.sql<{ actor_id: string; entity_id: string }>(
      'SELECT actor_id::text, entity_id FROM audit_entries WHERE request_id = $1',
      [requestIdOf(res)],
    );
    for (const e of entries) expect(e).toEqual({ actor_id: admin.userId, entity_id: cw.id });
  });

  it('deactivating a user ends the same channels: sessions, webhook (pending webhook reminders cancelled), calendar feeds', async () => {
    const cw = await caseworkerWithDeadline();
    const res = await admin.patch(`/v1/users/${cw.id}`, { active: false });
    expect(res.statusCode, res.body).toBe(200);
    for (const t of [cw.a, cw.b]) expectProblem(await get(t.accessToken, '/v1/me'), 401);
    expect((await reminderCounts(cw.id))['WEBHOOK:PENDING'] ?? 0).toBe(0);
    const [settings] = await env.sql<{ webhook_enabled: boolean }>(
      'SELECT webhook_enabled FROM notification_settings WHERE user_id = $1',
      [cw.id],
    );
    expect(settings.webhook_enabled).toBe(false);
    expect((await env.app.inject({ url: cw.feed })).statusCode).toBe(404);
    expect(await auditActions(requestIdOf(res))).toEqual([
      'auth.sessions_revoked',
      'calendar_token.revoke',
      'notification_settings.webhook_disabled',
      'user.update',
    ]);
  });

  it('an unknown user is 404 and nothing is written', async () => {
    const before = await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    expectProblem(await admin.post(`/v1/users/${randomUUID()}/revoke-sessions`), 404);
    const after = await env.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    expect(after[0].n).toBe(before[0].n);
  });
});

describe('retention of session details', () => {
  it('erases the address and User-Agent of sessions ended more than 30 days ago, and only those', async () => {
    const u = await createUser(env, 'LAWYER');
    const ended = await signIn(u.email, '203.0.113.77', 'OldPhone');
    const live = await signIn(u.email, '203.0.113.78', 'NewPhone');
    await env.sql(`UPDATE sessions SET revoked_at = now() - interval '31 days' WHERE id = $1`, [ended.sessionId]);
    const result = await pruneAuthRecords(env.app);
    expect(result.sessionDetailsErased).toBeGreaterThanOrEqual(1);
    const rows = await env.sql<{ id: string; ip: string | null; user_agent: string | null }>(
      'SELECT id::text, ip, user_agent FROM sessions WHERE id = ANY($1::uuid[])',
      [[ended.sessionId, live.sessionId]],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[ended.sessionId]).toMatchObject({ ip: null, user_agent: null });
    expect(byId[live.sessionId]).toMatchObject({ ip: '203.0.113.78', user_agent: 'NewPhone' });
  });
});
