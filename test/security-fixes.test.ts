// Negative tests for rules added after the security review: the calendar feed
// dies with revoke-sessions, webhook targets are https and public, access to a
// registered person ends with the case, team membership is need-to-know, and a
// reminder is never delivered to someone who lost access to its case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../src/lib/webhook-target.ts';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import { ReminderService } from '../src/workers/reminders.ts';
import { clientFor, createCase, createTeam, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
let strict: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '1000' } });
  strict = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '1000', WEBHOOK_ALLOW_PRIVATE: 'false' } });
  await new DeadlinesService({ db: env.db, config: env.config, clock: () => new Date() }).syncDefaultRules();
});
afterAll(async () => {
  await env?.close();
  await strict?.close();
});

describe('after the security review', () => {
  it('revoke-sessions also revokes the calendar feed URL', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const lawyer = await clientFor(env, 'LAWYER');
    const url = (await lawyer.post('/v1/me/calendar-token')).json().url as string;
    const path = new URL(url).pathname;
    expect((await env.app.inject({ url: path })).statusCode).toBe(200);
    expect((await admin.post(`/v1/users/${lawyer.userId}/revoke-sessions`)).statusCode).toBe(204);
    expect((await env.app.inject({ url: path })).statusCode).toBe(404);
  });

  it('webhook targets must be https and public unless WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const u = await clientFor(strict, 'CASEWORKER');
    for (const url of ['http://hooks.example.org/x', 'https://127.0.0.1/x', 'https://[::1]/x', 'https://169.254.169.254/latest', 'https://10.1.2.3/x']) {
      const res = await u.put('/v1/me/notification-settings', { email: { enabled: true }, webhook: { url, secret: 'a-long-enough-secret', enabled: true } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().errors[0].path).toBe('body.webhook.url');
    }
    expect(['127.0.0.1', '10.0.0.1', '172.20.1.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'].every(isPrivateAddress)).toBe(true);
    expect(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111'].some(isPrivateAddress)).toBe(false);
  });

  it('a caseworker who registered a person loses their legal data when they leave the case\'s team', async () => {
    const team = await createTeam(env, ['AM']);
    const admin = await clientFor(env, 'ADMIN');
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    expect((await cw.get(`/v1/people/${c.personId}`)).json().legalName).toBe(c.legalName);
    expect((await admin.del(`/v1/teams/${team}/members/${cw.userId}`)).statusCode).toBe(204);
    const after = await cw.get(`/v1/people/${c.personId}`);
    expect(after.statusCode).toBe(404);
    expect(after.body).not.toContain(c.legalName);
  });

  it('team members are listed to admins and to the team only', async () => {
    const team = await createTeam(env, ['GE']);
    const member = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const outsider = await clientFor(env, 'LAWYER');
    const find = async (c: typeof member) => (await c.get('/v1/teams')).json().items.find((t: { id: string }) => t.id === team);
    expect((await find(member)).memberIds).toEqual([member.userId]);
    expect((await find(outsider)).memberIds).toBeUndefined();
  });

  it('a reminder is not delivered to a recipient who lost access to the case', async () => {
    const team = await createTeam(env, ['AM']);
    const admin = await clientFor(env, 'ADMIN');
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    const res = await cw.post(`/v1/cases/${c.caseId}/deadlines`, { kind: 'COURT_FILING', title: 'File', dueAt: new Date(Date.now() + 3 * 3_600_000).toISOString() });
    expect(res.statusCode).toBe(201);
    const [r] = await env.sql<{ id: string }>(`SELECT id::text FROM reminders WHERE deadline_id = $1 AND recipient_id = $2 AND label LIKE 'now@%'`, [res.json().id, cw.userId]);
    expect(r).toBeDefined();
    expect((await admin.del(`/v1/teams/${team}/members/${cw.userId}`)).statusCode).toBe(204);
    const service = new ReminderService({ db: env.db, config: env.config, crypto: env.app.crypto, clock: () => new Date(), log: env.app.log, kit: null as never, mailer: null });
    expect(await service.deliver(r.id)).toBe('cancelled');
    const [row] = await env.sql<{ status: string }>('SELECT status::text FROM reminders WHERE id = $1', [r.id]);
    expect(row.status).toBe('CANCELLED');
  });
});
