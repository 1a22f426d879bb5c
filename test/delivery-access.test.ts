// A reminder is delivered only to someone who may still see its case when it
// goes out: access re-checked at delivery (caseVisibleToUserSql in the claim),
// not only when the reminder was written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import { ReminderService } from '../src/workers/reminders/index.ts';
import type { QueueKit } from '../src/workers/queue-kit.ts';
import { clientFor, createCase, createTeam, setupTestEnv, type TestEnv } from './helpers.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv({ env: { LOGIN_IP_MAX_ATTEMPTS: '1000' } });
  await new DeadlinesService({ db: env.db, config: env.config, clock: () => new Date() }).syncDefaultRules();
});
afterAll(async () => env?.close());

describe('reminder delivery re-checks case access', () => {
  it('a reminder is not delivered to a recipient who lost access to the case', async () => {
    const team = await createTeam(env, ['AM']);
    const admin = await clientFor(env, 'ADMIN');
    const cw = await clientFor(env, 'CASEWORKER', { teamIds: [team] });
    const c = await createCase(cw, team);
    const res = await cw.post(`/v1/cases/${c.caseId}/deadlines`, {
      kind: 'COURT_FILING',
      title: 'File',
      dueAt: new Date(Date.now() + 3 * 3_600_000).toISOString(),
    });
    expect(res.statusCode).toBe(201);
    const [r] = await env.sql<{ id: string }>(
      `SELECT id::text FROM reminders WHERE deadline_id = $1 AND recipient_id = $2 AND label LIKE 'now@%'`,
      [res.json().id, cw.userId],
    );
    expect(r).toBeDefined();
    expect((await admin.del(`/v1/teams/${team}/members/${cw.userId}`)).statusCode).toBe(204);
    const service = new ReminderService({
      db: env.db,
      config: env.config,
      crypto: env.app.crypto,
      clock: () => new Date(),
      log: env.app.log,
      kit: null as unknown as QueueKit /* deliver() queues nothing */,
      mailer: null,
    });
    expect(await service.deliver(r.id)).toBe('cancelled');
    const [row] = await env.sql<{ status: string }>('SELECT status::text FROM reminders WHERE id = $1', [r.id]);
    expect(row.status).toBe('CANCELLED');
  });
});
