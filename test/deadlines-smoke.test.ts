import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import { clientFor, createCase, createTeam, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '1000' } });
  await new DeadlinesService({ db: env.db, config: env.config, clock: () => new Date() }).syncDefaultRules();
});
afterAll(async () => env?.close());

describe('deadlines smoke', () => {
  it('a detention in Kazakhstan logged now yields rule-made deadlines and coalesced reminders', async () => {
    const team = await createTeam(env, ['KZ']);
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team, 'KZ');
    const ev = await cw.post(`/v1/cases/${c.caseId}/events`, {
      type: 'DETENTION',
      country: 'KZ',
      occurredAt: new Date(Date.now() - 50 * 3600_000).toISOString(),
      termDays: 3,
    });
    expect(ev.statusCode).toBe(201);
    const list = await cw.get(`/v1/cases/${c.caseId}/deadlines`);
    expect(list.statusCode).toBe(200);
    const kinds = list
      .json()
      .items.map((d: { kind: string }) => d.kind)
      .sort();
    expect(kinds).toEqual(['CUSTODY_WARNING', 'DETENTION_EXPIRY', 'PROSECUTOR_APPLICATION', 'RELEASE_DUE']);
    const reminders = await env.sql<{ label: string; status: string }>(
      `SELECT r.label, r.status FROM reminders r JOIN deadlines d ON d.id = r.deadline_id WHERE d.case_id = $1`,
      [c.caseId],
    );
    expect(reminders.some((r) => r.label.startsWith('now@'))).toBe(true);
    const tl = await cw.get(`/v1/cases/${c.caseId}/timeline`);
    expect(tl.json().items.filter((i: { kind: string }) => i.kind === 'deadline')).toHaveLength(4);
  });
});
