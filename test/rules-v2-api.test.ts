// Legal rules v2 through the API: deadlines never change in silence (If-Match,
// reasons, concurrent edits, confirmed cancellations), holiday calendars as
// data, rules as living data (provenance, stale list, shipped-text sync), and
// the new event fields. The app clock starts at Mon 1 March 2027 09:00Z.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../src/modules/deadlines/default-rules.ts';
import type { Transporter } from 'nodemailer';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import { ReminderService } from '../src/workers/reminders/index.ts';
import type { QueueKit } from '../src/workers/queue-kit.ts';
import {
  clientFor,
  createCase,
  createTeam,
  expectProblem,
  setupTestEnv,
  type Client,
  type TestEnv,
} from './helpers.ts';

const BASE = Date.parse('2027-03-01T09:00:00.000Z');
const realStart = Date.now();
const clock = () => new Date(BASE + (Date.now() - realStart));

let env: TestEnv;
const sync = () => new DeadlinesService({ db: env.db, config: env.config, clock }).syncDefaultRules();
beforeAll(async () => {
  env = await setupTestEnv({
    clock,
    env: { LOGIN_IP_MAX_ATTEMPTS: '10000', ACCESS_TOKEN_TTL_SECONDS: String(10 * 365 * 86400) },
  });
  expect(await sync()).toBe(DEFAULT_RULES.length);
});
afterAll(async () => env?.close());

type Deadline = {
  id: string;
  kind: string;
  status: string;
  dueAt: string;
  version: number;
  source: string;
  cancelRequestedById: string | null;
  cancelConfirmedById: string | null;
  triggerEventId: string | null;
};

type RuleRow = {
  key: string;
  id: string;
  title: string;
  pendingDefault: { title: string } | null;
  adminEdited: boolean;
};

async function setup(host: string) {
  const teamId = await createTeam(env, [host]);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  const coordinator = await clientFor(env, 'COORDINATOR', { teamIds: [teamId] });
  const c = await createCase(cw, teamId, host);
  const lawyer = await clientFor(env, 'LAWYER');
  const a = await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
  expect(a.statusCode, a.body).toBe(201);
  return { teamId, cw, coordinator, lawyer, c };
}

async function deadlinesOf(client: Client, caseId: string): Promise<Deadline[]> {
  const res = await client.get(`/v1/cases/${caseId}/deadlines`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
}

/** A rule-made HEARING deadline (guarded) on a fresh case. */
async function hearing(s: Awaited<ReturnType<typeof setup>>, at = '2027-03-20T08:00:00Z'): Promise<Deadline> {
  const ev = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
    type: 'EXTRADITION_HEARING',
    country: 'RS',
    occurredAt: at,
  });
  expect(ev.statusCode, ev.body).toBe(201);
  const d = (await deadlinesOf(s.cw, s.c.caseId)).find((x) => x.triggerEventId === ev.json().id)!;
  expect(d.source).toBe('RULE');
  return d;
}

/** Pending reminders as "recipient code" (change notices apart: `notices`). */
async function pendingLabels(deadlineId: string, notices = false): Promise<string[]> {
  const rows = await env.sql<{ label: string; recipient_id: string }>(
    `SELECT label, recipient_id::text FROM reminders WHERE deadline_id = $1 AND status = 'PENDING'
       AND (label LIKE 'changed@%') = $2`,
    [deadlineId, notices],
  );
  return rows.map((r) => `${r.recipient_id} ${r.label.split('@')[0]}`).sort();
}

describe('deadlines never change in silence', () => {
  it('If-Match is required (428); a rule-made status or date change needs a reason; a rename does not', async () => {
    const s = await setup('RS');
    const d = await hearing(s);
    expectProblem(await s.cw.patch(`/v1/deadlines/${d.id}`, { status: 'DONE', reason: 'heard' }), 428);
    expectProblem(
      await s.cw.patch(`/v1/deadlines/${d.id}`, { status: 'DONE' }, { 'if-match': '"1"' }),
      400,
      'body.reason',
    );
    expectProblem(
      await s.cw.patch(`/v1/deadlines/${d.id}`, { dueAt: '2027-03-21T08:00:00Z' }, { 'if-match': '"1"' }),
      400,
      'body.reason',
    );
    expectProblem(
      await s.cw.patch(`/v1/deadlines/${d.id}`, { status: 'DONE', reason: 'x' }, { 'if-match': '"1"' }),
      400,
    );
    const renamed = await s.cw.patch(`/v1/deadlines/${d.id}`, { title: 'Hearing, room 4' }, { 'if-match': '"1"' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ version: 2, status: 'OPEN' });
    const done = await s.cw.patch(
      `/v1/deadlines/${d.id}`,
      { status: 'DONE', reason: 'hearing held, decision reserved' },
      { 'if-match': '"2"' },
    );
    expect(done.statusCode, done.body).toBe(200);
    const h = (await s.cw.get(`/v1/deadlines/${d.id}/history`)).json().items;
    expect(h.at(-1)).toMatchObject({ reason: 'hearing held, decision reserved', actorId: s.cw.userId });
    // A manual (non-hearing) deadline needs no reason.
    const manual = await s.cw.post(`/v1/cases/${s.c.caseId}/deadlines`, {
      kind: 'CUSTOM',
      title: 'Call the consulate',
      dueDate: '2027-04-01',
    });
    expect(manual.statusCode, manual.body).toBe(201);
    const ok = await s.cw.patch(`/v1/deadlines/${manual.json().id}`, { status: 'CANCELLED' }, { 'if-match': '"1"' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'CANCELLED', cancelRequestedById: null });
    expect(await pendingLabels(manual.json().id)).toEqual([]);
  });

  it('two concurrent PATCHes with the same version: one wins, the other gets 412', async () => {
    const s = await setup('RS');
    for (let round = 0; round < 5; round++) {
      const d = await hearing(s, `2027-03-2${round}T08:00:00Z`);
      const [a, b] = await Promise.all([
        s.cw.patch(`/v1/deadlines/${d.id}`, { status: 'DONE', reason: 'held' }, { 'if-match': '"1"' }),
        s.lawyer.patch(
          `/v1/deadlines/${d.id}`,
          { dueAt: '2027-04-02T08:00:00Z', reason: 'adjourned' },
          { 'if-match': '"1"' },
        ),
      ]);
      expect([a.statusCode, b.statusCode].sort()).toEqual([200, 412]);
      const after = (await deadlinesOf(s.cw, s.c.caseId)).find((x) => x.id === d.id)!;
      expect(after.version).toBe(2);
      const h = (await s.cw.get(`/v1/deadlines/${d.id}/history`)).json().items;
      expect(h).toHaveLength(2); // computed + the one winner
    }
  });

  it("a cancellation keeps the coordinators' overdue escalation until another member of the case confirms it", async () => {
    const s = await setup('RS');
    const d = await hearing(s);
    const people = [s.cw.userId, s.lawyer.userId];
    expect(await pendingLabels(d.id)).toContain(`${s.coordinator.userId} overdue`);
    // Nothing awaits confirmation yet.
    expectProblem(await s.lawyer.post(`/v1/deadlines/${d.id}/confirm-cancel`, {}), 409);

    const cancelled = await s.cw.patch(
      `/v1/deadlines/${d.id}`,
      { status: 'CANCELLED', reason: 'extradition request withdrawn' },
      { 'if-match': '"1"' },
    );
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({
      status: 'CANCELLED',
      cancelRequestedById: s.cw.userId,
      cancelConfirmedById: null,
    });
    // Only the overdue reminders stay planned, for everyone including the coordinator.
    expect(await pendingLabels(d.id)).toEqual([...people, s.coordinator.userId].map((u) => `${u} overdue`).sort());
    // The lawyer (not the caseworker who did it, not the coordinator) gets a change notice at once.
    expect(await pendingLabels(d.id, true)).toEqual([`${s.lawyer.userId} changed`]);

    // The person who cancelled cannot confirm; a coordinator cannot edit the case; another team cannot see it.
    expectProblem(await s.cw.post(`/v1/deadlines/${d.id}/confirm-cancel`, {}), 403);
    expectProblem(await s.coordinator.post(`/v1/deadlines/${d.id}/confirm-cancel`, {}), 403);
    const outsider = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['RS'])] });
    expectProblem(await outsider.post(`/v1/deadlines/${d.id}/confirm-cancel`, {}), 404);
    const freeLawyer = await clientFor(env, 'LAWYER');
    expectProblem(await freeLawyer.post(`/v1/deadlines/${d.id}/confirm-cancel`, {}), 404);
    expect((await pendingLabels(d.id)).length).toBe(3);

    const confirmed = await s.lawyer.post(`/v1/deadlines/${d.id}/confirm-cancel`, {});
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ cancelConfirmedById: s.lawyer.userId, version: 3 });
    expect(await pendingLabels(d.id)).toEqual([]);
    expectProblem(await s.lawyer.post(`/v1/deadlines/${d.id}/confirm-cancel`, {}), 409);
    const audit = await env.sql<{ action: string; actor_id: string }>(
      "SELECT action, actor_id::text FROM audit_entries WHERE entity_id = $1 AND action = 'deadline.cancel_confirmed'",
      [d.id],
    );
    expect(audit).toEqual([{ action: 'deadline.cancel_confirmed', actor_id: s.lawyer.userId }]);

    // Reopening clears the cancellation and plans every reminder again.
    const reopened = await s.cw.patch(
      `/v1/deadlines/${d.id}`,
      { status: 'OPEN', reason: 'request renewed' },
      { 'if-match': '"3"' },
    );
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json()).toMatchObject({ status: 'OPEN', cancelRequestedById: null, cancelConfirmedById: null });
    expect(await pendingLabels(d.id)).toContain(`${s.lawyer.userId} 24h`);
  });
});

describe('delivery of an unconfirmed cancellation', () => {
  it('the overdue escalation still goes out; the change notice names who did it; after confirmation nothing', async () => {
    const s = await setup('RS');
    const d = await hearing(s, new Date(clock().getTime() + 2 * 3_600_000).toISOString());
    const cancelled = await s.cw.patch(
      `/v1/deadlines/${d.id}`,
      { status: 'CANCELLED', reason: 'zz-reason-text' },
      { 'if-match': '"1"' },
    );
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    // Make the coordinator's overdue reminder and the lawyer's notice due now (the worker's real path from here).
    await env.sql('UPDATE reminders SET send_at = $2 WHERE deadline_id = $1 AND status = $3', [
      d.id,
      clock(),
      'PENDING',
    ]);
    const rows = await env.sql<{ id: string; recipient_id: string; label: string; channel: string }>(
      "SELECT id::text, recipient_id::text, label, channel::text FROM reminders WHERE deadline_id = $1 AND status = 'PENDING'",
      [d.id],
    );
    const sent: { to: string; subject: string; text: string }[] = [];
    // An in-memory mail transport: the database and the claim are real.
    const mailer = { sendMail: async (m: (typeof sent)[number]) => void sent.push(m) } as unknown as Transporter;
    const service = new ReminderService({
      db: env.db,
      config: env.config,
      crypto: env.app.crypto,
      clock,
      log: env.app.log,
      kit: null as unknown as QueueKit /* deliver() queues nothing */,
      mailer,
    });
    const coordOverdue = rows.find((r) => r.recipient_id === s.coordinator.userId && r.label.startsWith('overdue@'))!;
    const notice = rows.find((r) => r.label.startsWith('changed@'))!;
    expect(notice.recipient_id).toBe(s.lawyer.userId);
    expect(await service.deliver(coordOverdue.id)).toBe('sent');
    expect(await service.deliver(notice.id)).toBe('sent');
    expect(sent.map((m) => m.subject.split(': ')[0].replace(/^\[[^\]]+\] /, ''))).toEqual(['OVERDUE', 'CHANGED']);
    expect(sent[1].text).toMatch(/Changed by .+: status OPEN -> CANCELLED/);
    expect(sent[1].text).not.toContain('zz-reason-text');

    // Confirmed: the remaining escalation is cancelled, and a stale claim would be dropped too.
    const lawyerOverdue = rows.find((r) => r.recipient_id === s.lawyer.userId && r.label.startsWith('overdue@'))!;
    expect((await s.lawyer.post(`/v1/deadlines/${d.id}/confirm-cancel`, {})).statusCode).toBe(200);
    await env.sql("UPDATE reminders SET status = 'PENDING' WHERE id = $1", [lawyerOverdue.id]);
    expect(await service.deliver(lawyerOverdue.id)).toBe('cancelled');
    expect(sent).toHaveLength(2);
  });
});

describe('holiday calendars', () => {
  it("GET for anyone signed in; ADMIN adds and removes a day (audited); the Court's closing day moves Rule 39", async () => {
    const s = await setup('RS');
    const admin = await clientFor(env, 'ADMIN');
    expect((await env.app.inject({ method: 'GET', url: '/v1/holiday-calendars/ME/days?year=2026' })).statusCode).toBe(
      401,
    );
    const me = await s.lawyer.get('/v1/holiday-calendars/ME/days?year=2026');
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().items.map((i: { day: string }) => i.day)).toEqual([
      '2026-01-01',
      '2026-01-02',
      '2026-05-01',
      '2026-05-02',
      '2026-05-21',
      '2026-05-22',
      '2026-07-13',
      '2026-07-14',
    ]);
    expectProblem(await s.lawyer.get('/v1/holiday-calendars/Montenegro/days'), 400);

    const body = { day: '2027-03-12', action: 'ADD', name: 'Court closed (published list)' };
    for (const who of [s.cw, s.coordinator, s.lawyer]) {
      expectProblem(await who.post('/v1/holiday-calendars/ECHR/days', body), 403);
    }
    expectProblem(
      await admin.post('/v1/holiday-calendars/ECHR/days', { ...body, action: 'MAYBE' }),
      400,
      'body.action',
    );
    const added = await admin.post('/v1/holiday-calendars/ECHR/days', body);
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({ day: '2027-03-12', action: 'ADD', createdById: admin.userId });
    expectProblem(await admin.post('/v1/holiday-calendars/ECHR/days', body), 409);
    const audit = await env.sql<{ action: string }>('SELECT action FROM audit_entries WHERE entity_id = $1', [
      added.json().id,
    ]);
    expect(audit.map((a) => a.action)).toEqual(['holiday_calendar.add']);
    const echr = (await s.cw.get('/v1/holiday-calendars/ECHR/days?year=2027')).json();
    expect(echr.items.find((i: { day: string }) => i.day === '2027-03-12')).toEqual({
      day: '2027-03-12',
      name: 'Court closed (published list)',
      source: 'ADMIN',
    });

    // Removal Mon 15 March 18:00 CET (after 16:00): Monday is the whole working day before it; the one before
    // that would be Fri 12 March, now a closing day -> Thu 11 March 16:00 CET = 15:00Z.
    const ev = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
      type: 'DEPORTATION_EXECUTED',
      country: 'RS',
      occurredAt: '2027-03-15T17:00:00Z',
    });
    expect(ev.statusCode, ev.body).toBe(201);
    let r39 = (await deadlinesOf(s.cw, s.c.caseId)).find((d) => d.kind === 'RULE39_REQUEST')!;
    expect(r39.dueAt).toBe('2027-03-11T15:00:00.000Z');

    for (const who of [s.cw, s.lawyer]) {
      expectProblem(await who.del('/v1/holiday-calendars/ECHR/days?day=2027-03-12'), 403);
    }
    const removed = await admin.del('/v1/holiday-calendars/ECHR/days?day=2027-03-12');
    expect(removed.statusCode, removed.body).toBe(204);
    expectProblem(await admin.del('/v1/holiday-calendars/ECHR/days?day=2027-03-12'), 404);
    // Without the closing day the same removal gives Fri 12 March 16:00 CET (recomputed on the event's next edit).
    const edited = await s.cw.patch(`/v1/events/${ev.json().id}`, { city: 'Belgrade' }, { 'if-match': '"1"' });
    expect(edited.statusCode, edited.body).toBe(200);
    r39 = (await deadlinesOf(s.cw, s.c.caseId)).find((d) => d.kind === 'RULE39_REQUEST')!;
    expect(r39.dueAt).toBe('2027-03-12T15:00:00.000Z');
  });
});

describe('rules as living data', () => {
  it('?stale=true lists rules never verified or verified over a year ago; provenance is editable', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const keys = async (q = '') =>
      ((await admin.get(`/v1/deadline-rules${q}`)).json().items as { key: string }[]).map((r) => r.key);
    expect(await keys('?stale=true')).toContain('tr-deportation-appeal-7d');
    expectProblem(await admin.get('/v1/deadline-rules?stale=maybe'), 400);
    const rule = (await admin.get('/v1/deadline-rules'))
      .json()
      .items.find((r: { key: string }) => r.key === 'tr-deportation-appeal-7d');
    expect(rule).toMatchObject({ verifiedOn: null, verifiedBy: null, pendingDefault: null, adminEdited: false });
    const put = await admin.put(`/v1/deadline-rules/${rule.id}`, {
      verifiedOn: '2027-02-15',
      verifiedBy: 'counsel, Istanbul bar',
      sourceUrl: 'https://www.mevzuat.gov.tr/',
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ verifiedOn: '2027-02-15', verifiedBy: 'counsel, Istanbul bar' });
    expect(await keys('?stale=true')).not.toContain('tr-deportation-appeal-7d');
    // Verified 400 days ago: stale again.
    await env.sql("UPDATE deadline_rules SET verified_on = DATE '2026-01-20' WHERE id = $1", [rule.id]);
    expect(await keys('?stale=true')).toContain('tr-deportation-appeal-7d');
  });

  it('a changed shipped text replaces an unedited rule; for an admin-edited one it waits for the admin', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const shipped = (key: string) => DEFAULT_RULES.find((r) => r.key === key)!.title;
    // As if these rows came from an older release.
    await env.sql(
      "UPDATE deadline_rules SET title = 'old text', shipped_hash = 'old' WHERE key = 'ge-expulsion-appeal-10d'",
    );
    await env.sql(
      "UPDATE deadline_rules SET title = 'admin text', shipped_hash = 'old', admin_edited = true WHERE key IN ('ge-residence-refusal-1m', 'tr-entry-refusal-60d')",
    );
    expect(await sync()).toBe(0);
    const byKey = async () =>
      Object.fromEntries(
        ((await admin.get('/v1/deadline-rules')).json().items as RuleRow[]).map((r) => [r.key, r]),
      ) as Record<string, RuleRow>;
    let rules = await byKey();
    expect(rules['ge-expulsion-appeal-10d']).toMatchObject({
      title: shipped('ge-expulsion-appeal-10d'),
      pendingDefault: null,
    });
    for (const key of ['ge-residence-refusal-1m', 'tr-entry-refusal-60d']) {
      expect(rules[key].title).toBe('admin text');
      expect(rules[key].pendingDefault!.title).toBe(shipped(key));
    }
    expect(await sync()).toBe(0); // nothing new: still pending, not duplicated
    expectProblem(
      await admin.put(`/v1/deadline-rules/${rules['ge-expulsion-appeal-10d'].id}`, { pendingDefault: 'ACCEPT' }),
      400,
      'body.pendingDefault',
    );
    const accepted = await admin.put(`/v1/deadline-rules/${rules['ge-residence-refusal-1m'].id}`, {
      pendingDefault: 'ACCEPT',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({
      title: shipped('ge-residence-refusal-1m'),
      pendingDefault: null,
      adminEdited: false,
    });
    const kept = await admin.put(`/v1/deadline-rules/${rules['tr-entry-refusal-60d'].id}`, { pendingDefault: 'KEEP' });
    expect(kept.json()).toMatchObject({ title: 'admin text', pendingDefault: null, adminEdited: true });
    await sync();
    rules = await byKey();
    expect(rules['tr-entry-refusal-60d']).toMatchObject({ title: 'admin text', pendingDefault: null });
    expect(rules['ge-residence-refusal-1m']).toMatchObject({ title: shipped('ge-residence-refusal-1m') });
  });
});

describe("calendar feed in the court's zone", () => {
  it('a Rule 39 deadline is shown in Strasbourg time with a VTIMEZONE; the UID stays the deadline id', async () => {
    const s = await setup('RS');
    // Removal Mon 15 March 08:00 CET -> due Thu 11 March 16:00 CET: a 30-minute block ending then.
    const ev = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
      type: 'DEPORTATION_EXECUTED',
      country: 'RS',
      occurredAt: '2027-03-15T07:00:00Z',
    });
    expect(ev.statusCode, ev.body).toBe(201);
    const r39 = (await deadlinesOf(s.cw, s.c.caseId)).find((d) => d.kind === 'RULE39_REQUEST')!;
    expect(r39.dueAt).toBe('2027-03-11T15:00:00.000Z');
    const t = await s.lawyer.post('/v1/me/calendar-token');
    expect(t.statusCode, t.body).toBe(201);
    const feed = await env.app.inject({ method: 'GET', url: new URL(t.json().url).pathname });
    expect(feed.statusCode).toBe(200);
    const body = feed.body;
    expect(body).toContain('BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n');
    // Paris changes to CEST on Sunday 28 March 2027 at 02:00.
    expect(body).toContain('DTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200');
    expect(body).toContain(`UID:${r39.id}@exile-case-backend`);
    expect(body).toContain('DTSTART;TZID=Europe/Paris:20270311T153000');
    expect(body).toContain('DTEND;TZID=Europe/Paris:20270311T160000');
  });
});

describe('new event and charge fields', () => {
  it('SURRENDER_SCHEDULED starts the CIS 15-day take-over in KZ', async () => {
    const s = await setup('KZ');
    // Agreed surrender Wed 3 March 10:00 Almaty + 15 = Thu 18 March, end of day (UTC+5).
    const ev = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
      type: 'SURRENDER_SCHEDULED',
      country: 'KZ',
      occurredAt: '2027-03-03T05:00:00Z',
    });
    expect(ev.statusCode, ev.body).toBe(201);
    const items = await deadlinesOf(s.cw, s.c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt])).toEqual([['RELEASE_DUE', '2027-03-18T18:59:59.999Z']]);
    expectProblem(
      await s.cw.post(`/v1/cases/${s.c.caseId}/charges`, {
        issuingCountry: 'RU',
        code: 'RU-CC',
        article: '280.3',
        category: 'DISCREDITING_ARMY',
        mechanism: 'BILATERAL_REQUEST',
        status: 'WANTED',
        treaty: 'LISBON_2007',
      }),
      400,
      'body.treaty',
    );
  });
});

describe('CCF revision and the Turkish judicial recess', () => {
  it('NEW_FACT_DISCOVERED starts the six months to ask the CCF for revision (Statute art. 42(2))', async () => {
    const s = await setup('GE');
    // Discovered Tue 2 March 2027, 10:00 Tbilisi (UTC+4): + 6 months = Thu 2 September, end of day Tbilisi.
    const ev = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
      type: 'NEW_FACT_DISCOVERED',
      country: 'GE',
      occurredAt: '2027-03-02T06:00:00Z',
    });
    expect(ev.statusCode, ev.body).toBe(201);
    const items = await deadlinesOf(s.cw, s.c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.source])).toEqual([
      ['CCF_REQUEST', '2027-09-02T19:59:59.999Z', 'RULE'],
    ]);
    const enums = await s.cw.get('/v1/meta/enums');
    expect(enums.statusCode, enums.body).toBe(200);
    expect(JSON.stringify(enums.json())).toContain('NEW_FACT_DISCOVERED');
  });

  it('a TR deportation appeal ending in the recess keeps its date and carries a warning (API and feed)', async () => {
    const s = await setup('TR');
    // Thu 15 July 2027, 10:00 Istanbul + 7 = Thu 22 July: in the recess, not moved to 7 September.
    const ev = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
      type: 'DEPORTATION_ORDER',
      country: 'TR',
      occurredAt: '2027-07-15T07:00:00Z',
    });
    expect(ev.statusCode, ev.body).toBe(201);
    // Tue 2 March + 60 = Sat 1 May (Labour Day) -> Mon 3 May: outside the recess, no warning.
    const refused = await s.cw.post(`/v1/cases/${s.c.caseId}/events`, {
      type: 'RESIDENCE_PERMIT_REFUSED',
      country: 'TR',
      occurredAt: '2027-03-02T07:00:00Z',
    });
    expect(refused.statusCode, refused.body).toBe(201);
    const items = (await deadlinesOf(s.lawyer, s.c.caseId)) as (Deadline & {
      dueDate: string;
      warnings: { code: string; message: string }[];
    })[];
    expect(items.map((d) => [d.dueDate, d.dueAt, d.warnings.map((w) => w.code)])).toEqual([
      ['2027-05-03', '2027-05-03T20:59:59.999Z', []],
      ['2027-07-22', '2027-07-22T20:59:59.999Z', ['TR_JUDICIAL_RECESS']],
    ]);
    const one = await s.lawyer.get(`/v1/me/deadlines?from=2027-07-01&to=2027-07-31`);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json().items.map((d: { warnings: { code: string }[] }) => d.warnings.map((w) => w.code))).toEqual([
      ['TR_JUDICIAL_RECESS'],
    ]);
    const t = await s.lawyer.post('/v1/me/calendar-token');
    expect(t.statusCode, t.body).toBe(201);
    const feed = await env.app.inject({ method: 'GET', url: new URL(t.json().url).pathname });
    const unfolded = feed.body.replace(/\r\n[ \t]/g, '');
    expect(unfolded.match(/Warning: Ends in the Turkish judicial recess/g)).toHaveLength(1);
  });
});
