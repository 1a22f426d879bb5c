// Reminders end to end: the outbox rows written with a deadline, the relay
// moving them into BullMQ, delivery by email (an in-process smtp-server,
// messages parsed with mailparser) and by signed webhook (a node:http sink),
// retries, done/cancel/reschedule, coalescing, escalation, and the calendar
// feed parsed with node-ical. Everything listens on 127.0.0.1.
//
// Two environments (each its own database):
// - `live`: real time, the real workers (startReminderWorkers: relay every
//   second, BullMQ delayed jobs) running in this process;
// - `sim`: an injected clock that the tests move forward, no worker; the
//   tests call ReminderService.relayOnce() and deliver() themselves, as the
//   worker would (used where real time is too slow: 8 attempts with
//   exponential backoff, the overdue reminder one hour after the due time).
import { randomBytes } from 'node:crypto';
import ical, { type VEvent } from 'node-ical';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import { REMINDER_QUEUE, RELAY_QUEUE } from '../src/jobs.ts';
import { ReminderService, startReminderWorkers } from '../src/workers/reminders/index.ts';
import { clientFor, createCase, createTeam, setupTestEnv, uniq, type Client, type TestEnv } from './helpers.ts';
import { signatureValid, sleep, startSmtpSink, startWebhookSink, waitFor, type WebhookHit } from './reminder-sinks.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let sink: Awaited<ReturnType<typeof startWebhookSink>>;
let live: TestEnv;
let sim: TestEnv;
let liveWorkers: { close(): Promise<unknown> } | null = null;
let shift = 0;
const simClock = () => new Date(Date.now() + shift);
/** Everything that must never reach a log line, a message or the feed. */
const legalNames: string[] = [];
const secrets: string[] = [];
const feedTokens: string[] = [];

beforeAll(async () => {
  smtp = await startSmtpSink();
  sink = await startWebhookSink();
  const common = {
    SMTP_URL: smtp.url,
    LOGIN_IP_MAX_ATTEMPTS: '1000',
    REMINDER_OFFSETS_DAYS: '1',
    REMINDER_OFFSETS_HOURS: '96,48',
    PUBLIC_BASE_URL: 'http://127.0.0.1:3999',
  };
  live = await setupTestEnv({
    env: { ...common, REMINDER_RELAY_SECONDS: '1', REMINDER_HORIZON_SECONDS: '30' },
    queues: true,
  });
  sim = await setupTestEnv({ env: common, clock: simClock, queues: true });
  await new DeadlinesService({ db: live.db, config: live.config, clock: () => new Date() }).syncDefaultRules();
  await new DeadlinesService({ db: sim.db, config: sim.config, clock: simClock }).syncDefaultRules();
  liveWorkers = await startReminderWorkers(
    {
      db: live.db,
      config: live.config,
      crypto: live.app.crypto,
      clock: () => new Date(),
      log: live.app.log,
      kit: live.queues!,
    },
    { concurrency: 10 },
  );
  console.log(`reminders.test: queues on ${live.queues!.backend === 'redis' ? 'Redis' : 'the PostgreSQL backend'}`);
}, 60_000);

afterAll(async () => {
  await liveWorkers?.close().catch(() => {});
  for (const e of [live, sim]) {
    if (!e?.queues) continue;
    for (const q of [REMINDER_QUEUE, RELAY_QUEUE]) {
      await e.queues
        .queue(q)
        .obliterate({ force: true })
        .catch(() => {});
    }
  }
  await live?.close();
  await sim?.close();
  await smtp?.close();
  await sink?.close();
}, 60_000);

type Scenario = {
  teamId: string;
  cw: Client;
  co: Client;
  lawyer: Client;
  caseId: string;
  reference: string;
  legalName: string;
  pseudonym: string;
  hookPath: string;
  secret: string;
};

/** A team (caseworker + coordinator), a case, an assigned lawyer; optionally the lawyer's webhook. */
async function scenario(
  env: TestEnv,
  country: string,
  opts: { webhook?: string; lawyerEmail?: boolean } = {},
): Promise<Scenario> {
  const teamId = await createTeam(env, [country]);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  const co = await clientFor(env, 'COORDINATOR', { teamIds: [teamId] });
  const lawyer = await clientFor(env, 'LAWYER');
  const legalName = `Zhanna Legalova-${uniq()}`;
  legalNames.push(legalName);
  const c = await createCase(cw, teamId, country, legalName);
  const person = await env.db.person.findUniqueOrThrow({ where: { id: c.personId }, select: { pseudonym: true } });
  const a = await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
  expect(a.statusCode, a.body).toBe(201);
  const hookPath = `/${opts.webhook ?? 'none'}/${uniq()}`;
  const secret = `whsec_${randomBytes(24).toString('hex')}`;
  secrets.push(secret);
  if (opts.webhook || opts.lawyerEmail === false) {
    const put = await lawyer.put('/v1/me/notification-settings', {
      email: { enabled: opts.lawyerEmail ?? true },
      ...(opts.webhook ? { webhook: { url: `${sink.base}${hookPath}`, secret, enabled: true } } : {}),
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.body).not.toContain(secret);
  }
  return {
    teamId,
    cw,
    co,
    lawyer,
    caseId: c.caseId,
    reference: c.reference,
    legalName,
    pseudonym: person.pseudonym,
    hookPath,
    secret,
  };
}

type Deadline = {
  id: string;
  dueAt: string;
  title: string;
  status: string;
  manualOverride: boolean;
  hourBased: boolean;
  kind: string;
};

async function createDeadline(cw: Client, caseId: string, dueAt: Date, title: string): Promise<Deadline> {
  const res = await cw.post(`/v1/cases/${caseId}/deadlines`, { kind: 'HEARING', title, dueAt: dueAt.toISOString() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

type Row = {
  id: string;
  recipient: string;
  channel: string;
  label: string;
  send_at: Date;
  status: string;
  attempts: number;
  sent_at: Date | null;
  last_error: string | null;
  enqueued_at: Date | null;
  created_at: Date;
};

async function rowsOf(env: TestEnv, deadlineId: string): Promise<Row[]> {
  return env.sql<Row>(
    `SELECT id::text, recipient_id::text AS recipient, channel::text AS channel, label, send_at, status::text AS status, attempts, sent_at, last_error, enqueued_at, created_at
       FROM reminders WHERE deadline_id = $1 ORDER BY label, recipient_id, channel`,
    [deadlineId],
  );
}

const key = (r: Pick<Row, 'recipient' | 'channel'>) => `${r.recipient}:${r.channel}`;
// References are per database (live and sim both have AM-…-0001): match the subject and the scenario's own users.
const mailsFor = (s: Scenario) =>
  smtp.messages.filter(
    (m) =>
      m.subject.startsWith(`[${s.reference}]`) &&
      m.rcpt.some((r) => [s.cw.email, s.co.email, s.lawyer.email].includes(r)),
  );
const hitsOn = (path: string) => sink.hits.filter((h) => h.path === path);
const unfold = (ics: string) => ics.replace(/\r?\n[ \t]/g, '');

function expectNoLegalName(text: string, s: Scenario) {
  expect(text).not.toContain(s.legalName);
  expect(text).not.toContain(s.legalName.split(' ')[1]);
}

function checkHit(hit: WebhookHit, s: Scenario, reminderId: string) {
  expect(hit.headers['content-type']).toBe('application/json');
  expect(hit.headers['idempotency-key']).toBe(reminderId);
  expect(hit.headers['x-reminder-id']).toBe(reminderId);
  expect(signatureValid(s.secret, hit)).toBe(true);
  // A tampered body or another secret does not verify.
  expect(signatureValid(s.secret, { headers: hit.headers, body: hit.body.replace(s.reference, 'X') })).toBe(false);
  expect(signatureValid(`${s.secret}x`, hit)).toBe(false);
  const ts = Number(hit.headers['x-signature-timestamp']);
  expect(Math.abs(ts * 1000 - hit.receivedAt)).toBeLessThan(5_000);
  const body = JSON.parse(hit.body);
  expect(body.id).toBe(reminderId);
  expect(body.idempotencyKey).toBe(reminderId);
  expect(body.case).toEqual({ id: s.caseId, reference: s.reference, pseudonym: s.pseudonym });
  expect(body.text).toContain(s.reference);
  expect(body.text).toContain(s.pseudonym);
  expectNoLegalName(hit.body, s);
  return body;
}

describe('reminders delivered by the running workers (real time)', () => {
  it('each reminder goes out exactly once at its time, by email and by signed webhook, naming reference and pseudonym and never the legal name', async () => {
    const s = await scenario(live, 'AM', { webhook: 'ok' });
    const t0 = Date.now();
    const d1 = await createDeadline(s.cw, s.caseId, new Date(t0 + DAY + 4_000), 'Hearing on the extradition request');
    const d2 = await createDeadline(s.cw, s.caseId, new Date(t0 + DAY + 8_000), 'File the written objections');
    const expected = [`${s.cw.userId}:EMAIL`, `${s.lawyer.userId}:EMAIL`, `${s.lawyer.userId}:WEBHOOK`].sort();

    for (const d of [d1, d2]) {
      const rows = await rowsOf(live, d.id);
      const day = rows.filter((r) => r.label === `1d@${d.dueAt}`);
      expect(day.map(key).sort()).toEqual(expected);
      for (const r of day) expect(r.send_at.getTime()).toBe(new Date(d.dueAt).getTime() - DAY);
      // Nothing was past at creation, so nothing is coalesced.
      expect(rows.filter((r) => r.label.startsWith('now@'))).toEqual([]);
      // The coordinator is only on the overdue reminder.
      const overdue = rows.filter((r) => r.label === `overdue@${d.dueAt}`);
      expect(overdue.map(key).sort()).toEqual([...expected, `${s.co.userId}:EMAIL`].sort());
      for (const r of overdue) expect(r.send_at.getTime()).toBe(new Date(d.dueAt).getTime() + HOUR);
      expect(rows.filter((r) => r.recipient === s.co.userId && !r.label.startsWith('overdue@'))).toEqual([]);
    }

    // Not before its time.
    await sleep(Math.max(0, t0 + 2_500 - Date.now()));
    expect(mailsFor(s)).toEqual([]);
    expect(hitsOn(s.hookPath)).toEqual([]);

    const dayRows = async () =>
      [...(await rowsOf(live, d1.id)), ...(await rowsOf(live, d2.id))].filter((r) => r.label.startsWith('1d@'));
    const sent = await waitFor(
      async () => ((await dayRows()).every((r) => r.status === 'SENT') ? dayRows() : null),
      20_000,
    );
    expect(sent, `not all sent: ${JSON.stringify(await dayRows())}`).toBeTruthy();
    await sleep(1_500); // a duplicate would show up by now

    const rows = (await dayRows())!;
    for (const r of rows) {
      expect(r.attempts).toBe(1);
      expect(r.last_error).toBeNull();
      expect(r.sent_at).not.toBeNull();
    }
    // Email: one per recipient per deadline, at about the send time.
    const mails = mailsFor(s);
    expect(mails).toHaveLength(4);
    expect(mails.filter((m) => m.rcpt.includes(s.co.email))).toEqual([]);
    for (const d of [d1, d2]) {
      const sendAt = new Date(d.dueAt).getTime() - DAY;
      for (const to of [s.cw.email, s.lawyer.email]) {
        const mine = mails.filter((m) => m.rcpt.includes(to) && m.subject.includes(d.title));
        expect(mine, `${to} / ${d.title}`).toHaveLength(1);
        const m = mine[0];
        expect(m.receivedAt).toBeGreaterThanOrEqual(sendAt - 50);
        expect(m.receivedAt).toBeLessThanOrEqual(sendAt + 4_000); // "about the right time": seconds, on a loaded 2-core CI machine
        expect(m.subject).toBe(`[${s.reference}] due in 1 day: ${d.title}`);
        expect(m.text).toContain(s.reference);
        expect(m.text).toContain(s.pseudonym);
        expect(m.text).toContain(d.dueAt);
        expectNoLegalName(m.raw, s);
        expectNoLegalName(m.text, s);
      }
    }
    // Webhook: one POST per reminder, signed, idempotency key = reminder id.
    const hits = hitsOn(s.hookPath);
    expect(hits).toHaveLength(2);
    for (const d of [d1, d2]) {
      const row = rows.find((r) => r.channel === 'WEBHOOK' && r.label === `1d@${d.dueAt}`)!;
      const mine = hits.filter((h) => h.headers['x-reminder-id'] === row.id);
      expect(mine).toHaveLength(1);
      const body = checkHit(mine[0], s, row.id);
      expect(body.label).toBe('1d');
      expect(body.deadline).toMatchObject({
        id: d.id,
        title: d.title,
        dueAt: d.dueAt,
        kind: 'HEARING',
        status: 'OPEN',
      });
      expect(mine[0].receivedAt).toBeGreaterThanOrEqual(row.send_at.getTime() - 50);
      expect(mine[0].receivedAt).toBeLessThanOrEqual(row.send_at.getTime() + 4_000);
    }
    // The later reminders stay scheduled.
    const later = [...(await rowsOf(live, d1.id)), ...(await rowsOf(live, d2.id))].filter(
      (r) => !r.label.startsWith('1d@'),
    );
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((r) => r.status === 'PENDING' && r.sent_at === null)).toBe(true);
  }, 45_000);

  it('coalescing: a 72-hour detention logged now with offsets 96,48 h sends one `now@` reminder at once', async () => {
    const s = await scenario(live, 'KZ');
    const occurredAt = new Date(Date.now() - 1_000);
    const ev = await s.cw.post(`/v1/cases/${s.caseId}/events`, {
      type: 'DETENTION',
      country: 'KZ',
      occurredAt: occurredAt.toISOString(),
      termDays: 3,
    });
    expect(ev.statusCode, ev.body).toBe(201);
    const created = Date.now();
    const list = await s.cw.get(`/v1/cases/${s.caseId}/deadlines`);
    expect(list.statusCode).toBe(200);
    const expiry = (list.json().items as Deadline[]).find((d) => d.kind === 'DETENTION_EXPIRY')!;
    expect(expiry).toBeTruthy();
    expect(expiry.hourBased).toBe(true);
    expect(new Date(expiry.dueAt).getTime()).toBe(occurredAt.getTime() + 72 * HOUR);

    const rows = await rowsOf(live, expiry.id);
    const regular = [`${s.cw.userId}:EMAIL`, `${s.lawyer.userId}:EMAIL`].sort();
    const now = rows.filter((r) => r.label === `now@${expiry.dueAt}`);
    expect(now.map(key).sort()).toEqual(regular); // one per recipient and channel, not one per passed offset
    expect(rows.filter((r) => r.label.startsWith('96h@'))).toEqual([]);
    const h48 = rows.filter((r) => r.label === `48h@${expiry.dueAt}`);
    expect(h48.map(key).sort()).toEqual(regular);
    for (const r of h48) expect(r.send_at.getTime()).toBe(new Date(expiry.dueAt).getTime() - 48 * HOUR);

    const done = await waitFor(async () => {
      const r = (await rowsOf(live, expiry.id)).filter((x) => x.label.startsWith('now@'));
      return r.every((x) => x.status === 'SENT') ? r : null;
    }, 8_000);
    expect(done, 'the coalesced reminder was not sent at once').toBeTruthy();
    for (const r of done!) expect(r.sent_at!.getTime() - created).toBeLessThan(5_000);
    await sleep(1_000);
    const mails = mailsFor(s).filter(
      (m) => m.subject === `[${s.reference}] due soon: ${expiryTitle(list.json().items)}`,
    );
    expect(mails.map((m) => m.rcpt[0]).sort()).toEqual([s.cw.email, s.lawyer.email].sort());
    for (const m of mails) {
      expect(m.text).toContain(s.pseudonym);
      expectNoLegalName(m.raw, s);
    }
    // The 48 h reminders wait for their time.
    const after = (await rowsOf(live, expiry.id)).filter((r) => r.label.startsWith('48h@'));
    expect(after.every((r) => r.status === 'PENDING')).toBe(true);
  }, 30_000);

  it('a webhook answering 500 then 200 is retried with backoff and the reminder ends SENT once', async () => {
    const s = await scenario(live, 'AM', { webhook: 'flaky', lawyerEmail: false });
    sink.on(s.hookPath, (_hit, previous) => ({ status: previous === 0 ? 500 : 200 }));
    const d = await createDeadline(s.cw, s.caseId, new Date(Date.now() + DAY + 2_000), 'Submit the appeal');
    const row = (await rowsOf(live, d.id)).find((r) => r.channel === 'WEBHOOK' && r.label.startsWith('1d@'))!;
    expect(row.recipient).toBe(s.lawyer.userId);
    expect((await rowsOf(live, d.id)).filter((r) => r.recipient === s.lawyer.userId && r.channel === 'EMAIL')).toEqual(
      [],
    );

    const sent = await waitFor(
      async () => (await rowsOf(live, d.id)).find((r) => r.id === row.id && r.status === 'SENT'),
      25_000,
    );
    expect(sent, `not sent: ${JSON.stringify((await rowsOf(live, d.id)).find((r) => r.id === row.id))}`).toBeTruthy();
    await sleep(1_000);
    const hits = hitsOn(s.hookPath);
    expect(hits.map((h) => h.status)).toEqual([500, 200]);
    for (const h of hits) checkHit(h, s, row.id);
    expect(hits[1].receivedAt - hits[0].receivedAt).toBeGreaterThanOrEqual(4_500); // exponential backoff from 5 s
    expect(sent!.attempts).toBe(2);
    expect(sent!.last_error).toBeNull();
    const failures = live.logs
      .filter((l) => l.includes(row.id) && l.includes('reminder delivery failed'))
      .map((l) => JSON.parse(l));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      reminderId: row.id,
      channel: 'WEBHOOK',
      finalAttempt: false,
      error: 'webhook answered 500',
    });
  }, 40_000);

  it('a deadline marked DONE or CANCELLED before the send time sends nothing; its reminders are CANCELLED', async () => {
    const s = await scenario(live, 'AM', { webhook: 'ok' });
    const due = new Date(Date.now() + DAY + 5_000);
    const dDone = await createDeadline(s.cw, s.caseId, due, 'Hearing (done early)');
    const dCanc = await createDeadline(s.cw, s.caseId, due, 'Hearing (adjourned)');
    // Let the relay put the jobs into the queue first: the cancellation must stop queued jobs too.
    const queued = await waitFor(
      async () => {
        const r = [...(await rowsOf(live, dDone.id)), ...(await rowsOf(live, dCanc.id))].filter((x) =>
          x.label.startsWith('1d@'),
        );
        return r.every((x) => x.enqueued_at !== null);
      },
      4_000,
      100,
    );
    expect(queued).toBe(true);
    const p1 = await s.cw.patch(
      `/v1/deadlines/${dDone.id}`,
      { status: 'DONE', reason: 'heard early (reason text)' },
      { 'if-match': '"1"' },
    );
    expect(p1.statusCode, p1.body).toBe(200);
    expect(p1.json().status).toBe('DONE');
    const p2 = await s.cw.patch(
      `/v1/deadlines/${dCanc.id}`,
      { status: 'CANCELLED', reason: 'adjourned (reason text)' },
      { 'if-match': '"1"' },
    );
    expect(p2.statusCode, p2.body).toBe(200);
    expect(p2.json().status).toBe('CANCELLED');
    // A hearing's cancellation keeps the overdue escalation until another member of the case confirms it.
    const confirmed = await s.lawyer.post(`/v1/deadlines/${dCanc.id}/confirm-cancel`, {});
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(Date.now()).toBeLessThan(due.getTime() - DAY); // really before the send time

    await sleep(Math.max(0, due.getTime() - DAY + 3_000 - Date.now()));
    // No reminder went out; only the change notices, at once, to the other member of the case (the lawyer).
    const isNotice = (subject: string) => subject.includes('] CHANGED: ');
    expect(mailsFor(s).filter((m) => !isNotice(m.subject))).toEqual([]);
    const notices = mailsFor(s).filter((m) => isNotice(m.subject));
    expect(notices.map((m) => m.rcpt)).toEqual([[s.lawyer.email], [s.lawyer.email]]);
    expect(notices.map((m) => /status OPEN -> (DONE|CANCELLED)/.exec(m.text)?.[1]).sort()).toEqual([
      'CANCELLED',
      'DONE',
    ]);
    for (const m of notices) {
      expect(m.text).toContain('Changed by ');
      expect(m.text).not.toContain('(reason text)'); // the free-text reason stays in the history
      expectNoLegalName(m.text, s);
    }
    const hookLabels = hitsOn(s.hookPath).map((h) => (JSON.parse(h.body) as { label: string }).label);
    expect(hookLabels).toEqual(['changed', 'changed']);
    for (const d of [dDone, dCanc]) {
      const rows = (await rowsOf(live, d.id)).filter((r) => !r.label.startsWith('changed@'));
      expect(rows.length).toBeGreaterThanOrEqual(4);
      for (const r of rows) {
        expect(r.status, `${r.label} ${key(r)}`).toBe('CANCELLED');
        expect(r.sent_at).toBeNull();
      }
    }
  }, 30_000);

  it('rescheduling cancels the pending reminders of the old date and delivers the new set', async () => {
    const s = await scenario(live, 'AM', { webhook: 'ok' });
    const oldDue = new Date(Date.now() + DAY + 9_000);
    const d = await createDeadline(s.cw, s.caseId, oldDue, 'Hearing (moved)');
    const queued = await waitFor(
      async () =>
        (await rowsOf(live, d.id)).filter((x) => x.label.startsWith('1d@')).every((x) => x.enqueued_at !== null),
      4_000,
      100,
    );
    expect(queued).toBe(true);
    const newDue = new Date(Date.now() + DAY + 3_000);
    const p = await s.cw.patch(
      `/v1/deadlines/${d.id}`,
      { dueAt: newDue.toISOString(), reason: 'hearing moved' },
      { 'if-match': '"1"' },
    );
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json().dueAt).toBe(newDue.toISOString());
    expect(p.json().manualOverride).toBe(true);

    const rows = await rowsOf(live, d.id);
    const old = rows.filter((r) => r.label.endsWith(`@${d.dueAt}`));
    expect(old.length).toBeGreaterThanOrEqual(4);
    expect(old.every((r) => r.status === 'CANCELLED')).toBe(true);
    const fresh = rows.filter((r) => r.label === `1d@${newDue.toISOString()}`);
    expect(fresh.map(key).sort()).toEqual(
      [`${s.cw.userId}:EMAIL`, `${s.lawyer.userId}:EMAIL`, `${s.lawyer.userId}:WEBHOOK`].sort(),
    );

    const sent = await waitFor(
      async () =>
        (await rowsOf(live, d.id)).filter((r) => r.label.startsWith('1d@') && r.status === 'SENT').length === 3,
      12_000,
    );
    expect(sent).toBe(true);
    // Past the old send time: the old queued jobs must not deliver anything.
    await sleep(Math.max(0, oldDue.getTime() - DAY + 2_500 - Date.now()));
    // The lawyer also got a change notice at once (the caseworker moved it); the reminders follow the new date.
    const mails = mailsFor(s).filter((m) => !m.subject.includes('] CHANGED: '));
    expect(mails.map((m) => m.rcpt[0]).sort()).toEqual([s.cw.email, s.lawyer.email].sort());
    for (const m of mails) {
      expect(m.text).toContain(newDue.toISOString());
      expect(m.text).not.toContain(oldDue.toISOString());
    }
    const notice = mailsFor(s).filter((m) => m.subject.includes('] CHANGED: '));
    expect(notice.map((m) => m.rcpt[0])).toEqual([s.lawyer.email]);
    expect(notice[0].text).toContain(`dueAt ${oldDue.toISOString()} -> ${newDue.toISOString()}`);
    const hits = hitsOn(s.hookPath).filter((h) => (JSON.parse(h.body) as { label: string }).label !== 'changed');
    expect(hits).toHaveLength(1);
    const freshHook = fresh.find((r) => r.channel === 'WEBHOOK')!;
    expect(checkHit(hits[0], s, freshHook.id).deadline.dueAt).toBe(newDue.toISOString());
    const final = await rowsOf(live, d.id);
    expect(
      final.filter((r) => r.label.endsWith(`@${d.dueAt}`)).every((r) => r.status === 'CANCELLED' && r.attempts === 0),
    ).toBe(true);
    const h = await s.cw.get(`/v1/deadlines/${d.id}/history`);
    expect(h.statusCode).toBe(200);
    expect(JSON.stringify(h.json().items)).toContain(newDue.toISOString());
  }, 30_000);
});

function expiryTitle(items: Deadline[]) {
  return items.find((d) => d.kind === 'DETENTION_EXPIRY')!.title;
}

describe('calendar feed', () => {
  it('serves a parseable iCalendar feed with stable UIDs and alarms, pseudonyms only; revoked or made-up tokens give 404; the token never reaches the logs', async () => {
    const s = await scenario(live, 'AM');
    const open = await createDeadline(s.cw, s.caseId, new Date(Date.now() + 3 * DAY), 'Hearing at the regional court');
    const done = await createDeadline(s.cw, s.caseId, new Date(Date.now() + 4 * DAY), 'Translate the decision');
    const canc = await createDeadline(s.cw, s.caseId, new Date(Date.now() + 5 * DAY), 'Adjourned hearing');
    const change = (id: string, status: string) =>
      s.cw.patch(`/v1/deadlines/${id}`, { status, reason: 'test' }, { 'if-match': '"1"' });
    expect((await change(done.id, 'DONE')).statusCode).toBe(200);
    expect((await change(canc.id, 'CANCELLED')).statusCode).toBe(200);

    const t = await s.lawyer.post('/v1/me/calendar-token');
    expect(t.statusCode, t.body).toBe(201);
    const url = new URL(t.json().url);
    expect(url.origin).toBe('http://127.0.0.1:3999');
    expect(url.pathname).toMatch(/^\/v1\/calendar\/cal_[A-Za-z0-9_-]{20,100}\.ics$/);
    const token = url.pathname.slice('/v1/calendar/'.length, -'.ics'.length);
    feedTokens.push(token);

    const fetchFeed = () => live.app.inject({ method: 'GET', url: url.pathname });
    const r1 = await fetchFeed();
    const r2 = await fetchFeed();
    for (const r of [r1, r2]) {
      expect(r.statusCode, r.body).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/calendar/);
    }
    const parse = (body: string) =>
      Object.values(ical.sync.parseICS(body)).filter((c): c is VEvent => c.type === 'VEVENT');
    const e1 = parse(r1.body);
    const e2 = parse(r2.body);
    const uids = (es: VEvent[]) => es.map((e) => e.uid).sort();
    expect(uids(e1)).toEqual([`${open.id}@exile-case-backend`, `${done.id}@exile-case-backend`].sort());
    expect(uids(e2)).toEqual(uids(e1));

    const ev = e1.find((e) => e.uid === `${open.id}@exile-case-backend`)!;
    expect(ev.summary).toContain(s.reference);
    expect(ev.summary).toContain(s.pseudonym);
    expect(ev.summary).toContain(open.title);
    // iCalendar times have whole seconds.
    expect(new Date(ev.start).getTime()).toBe(Math.floor(new Date(open.dueAt).getTime() / 1000) * 1000);
    expect(ev.alarms?.length).toBe(2);
    for (const a of ev.alarms!) expect(a.action).toBe('DISPLAY');
    const evDone = e1.find((e) => e.uid === `${done.id}@exile-case-backend`)!;
    expect(evDone.summary.startsWith('[done] ')).toBe(true);
    expect(evDone.alarms ?? []).toEqual([]);
    for (const body of [r1.body, unfold(r1.body)]) {
      expectNoLegalName(body, s);
      for (const n of legalNames) expect(body).not.toContain(n);
    }
    expect(unfold(r1.body)).toMatch(/BEGIN:VALARM[\s\S]*TRIGGER/);

    // Revoked: 404; a made-up token: 404; a new token replaces the old one.
    const del = await s.lawyer.del('/v1/me/calendar-token');
    expect(del.statusCode).toBe(204);
    const gone = await fetchFeed();
    expect(gone.statusCode).toBe(404);
    expect(gone.body).not.toContain('BEGIN:VCALENDAR');
    const fake = await live.app.inject({
      method: 'GET',
      url: `/v1/calendar/cal_${randomBytes(32).toString('base64url')}.ics`,
    });
    expect(fake.statusCode).toBe(404);
    const t2 = await s.lawyer.post('/v1/me/calendar-token');
    expect(t2.statusCode).toBe(201);
    const p2 = new URL(t2.json().url).pathname;
    feedTokens.push(p2.slice('/v1/calendar/'.length, -'.ics'.length));
    expect((await live.app.inject({ method: 'GET', url: p2 })).statusCode).toBe(200);
    const t3 = await s.lawyer.post('/v1/me/calendar-token');
    expect(t3.statusCode).toBe(201);
    feedTokens.push(new URL(t3.json().url).pathname.slice('/v1/calendar/'.length, -'.ics'.length));
    expect((await live.app.inject({ method: 'GET', url: p2 })).statusCode).toBe(404);

    // The feed URL is a credential: no log line carries it.
    for (const tok of feedTokens) expect(live.logs.filter((l) => l.includes(tok))).toEqual([]);
    expect(live.logs.some((l) => l.includes('/v1/calendar/[token].ics'))).toBe(true);
  }, 30_000);
});

describe('reminders with an injected clock (relayOnce + deliver, as the worker calls them)', () => {
  it('a webhook that always fails: retried up to the attempt limit, then FAILED; failures logged with the reminder id and no personal data', async () => {
    const s = await scenario(sim, 'AM', { webhook: 'fail', lawyerEmail: false });
    sink.on(s.hookPath, () => ({ status: 500 }));
    const service = new ReminderService({
      db: sim.db,
      config: sim.config,
      crypto: sim.app.crypto,
      clock: simClock,
      log: sim.app.log,
      kit: sim.queues!,
    });
    const d = await createDeadline(
      s.cw,
      s.caseId,
      new Date(simClock().getTime() + DAY + 60_000),
      'Lodge the cassation appeal',
    );
    const row = (await rowsOf(sim, d.id)).find((r) => r.channel === 'WEBHOOK' && r.label.startsWith('1d@'))!;
    expect(row).toBeTruthy();

    // Not before its time: a premature delivery attempt claims nothing.
    expect(await service.deliver(row.id)).toBe('skipped');
    expect(hitsOn(s.hookPath)).toEqual([]);

    shift += 61_000;
    const relay = await service.relayOnce();
    expect(relay.enqueued).toBeGreaterThanOrEqual(1);
    const job = await sim.queues!.queue(REMINDER_QUEUE).getJob(row.id);
    expect(job, 'the relay queues a job whose id is the reminder id').toBeTruthy();
    expect(job!.data).toEqual({ reminderId: row.id }); // ids only
    expect(job!.opts.attempts).toBe(8);
    expect(job!.opts.backoff).toMatchObject({ type: 'exponential', delay: 5_000 });

    const attempts = job!.opts.attempts!;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      await expect(service.deliver(row.id, attempt === attempts)).rejects.toThrow('webhook answered 500');
      const r = (await rowsOf(sim, d.id)).find((x) => x.id === row.id)!;
      expect(r.status).toBe(attempt === attempts ? 'FAILED' : 'PENDING');
      expect(r.attempts).toBe(attempt);
      expect(r.last_error).toBe('webhook answered 500');
      expect(r.sent_at).toBeNull();
    }
    // FAILED is final: another run claims nothing and sends nothing.
    expect(await service.deliver(row.id, true)).toBe('skipped');
    const hits = hitsOn(s.hookPath);
    expect(hits).toHaveLength(attempts);
    for (const h of hits) checkHit(h, s, row.id);

    const failures = sim.logs.filter((l) => l.includes('reminder delivery failed') && l.includes(row.id));
    expect(failures).toHaveLength(attempts);
    const parsed = failures.map((l) => JSON.parse(l));
    expect(parsed.map((p) => p.finalAttempt)).toEqual([...Array(attempts - 1).fill(false), true]);
    for (const p of parsed) {
      expect(p).toMatchObject({ reminderId: row.id, channel: 'WEBHOOK', error: 'webhook answered 500' });
    }
    for (const l of failures) {
      for (const bad of [s.legalName, s.pseudonym, s.reference, s.lawyer.email, s.cw.email, s.secret, d.title]) {
        expect(l).not.toContain(bad);
      }
    }
  }, 30_000);

  it('overdue and not done: escalates to the team coordinators (only then), once each', async () => {
    const s = await scenario(sim, 'AM');
    const service = new ReminderService({
      db: sim.db,
      config: sim.config,
      crypto: sim.app.crypto,
      clock: simClock,
      log: sim.app.log,
      kit: sim.queues!,
    });
    const due = new Date(simClock().getTime() + 2 * HOUR);
    const d = await createDeadline(s.cw, s.caseId, due, 'Release due: the requesting state did not take over');
    let rows = await rowsOf(sim, d.id);
    // The 1-day offset is already past: coalesced into one `now@` reminder.
    const nowRows = rows.filter((r) => r.label === `now@${d.dueAt}`);
    expect(nowRows.map(key).sort()).toEqual([`${s.cw.userId}:EMAIL`, `${s.lawyer.userId}:EMAIL`].sort());
    expect(rows.filter((r) => r.label.startsWith('1d@'))).toEqual([]);
    const overdue = rows.filter((r) => r.label === `overdue@${d.dueAt}`);
    expect(overdue.map(key).sort()).toEqual(
      [`${s.cw.userId}:EMAIL`, `${s.lawyer.userId}:EMAIL`, `${s.co.userId}:EMAIL`].sort(),
    );

    await service.relayOnce();
    for (const r of nowRows) expect(await service.deliver(r.id)).toBe('sent');
    for (const r of overdue) expect(await service.deliver(r.id)).toBe('skipped'); // not yet
    expect(
      mailsFor(s)
        .map((m) => m.rcpt[0])
        .sort(),
    ).toEqual([s.cw.email, s.lawyer.email].sort());

    shift += 3 * HOUR + 60_000; // past due + 1 h
    const relay = await service.relayOnce();
    expect(relay.missed).toBeGreaterThanOrEqual(1);
    expect((await sim.db.deadline.findUniqueOrThrow({ where: { id: d.id } })).status).toBe('MISSED');
    rows = await rowsOf(sim, d.id);
    for (const r of rows.filter((x) => !x.label.startsWith('overdue@'))) {
      expect(['SENT', 'CANCELLED']).toContain(r.status);
    }
    for (const r of overdue) expect(await service.deliver(r.id)).toBe('sent');
    for (const r of [...overdue, ...nowRows]) expect(await service.deliver(r.id)).toBe('skipped'); // never twice

    const mails = mailsFor(s);
    expect(mails).toHaveLength(5);
    const od = mails.filter((m) => m.subject === `[${s.reference}] OVERDUE: ${d.title}`);
    expect(od.map((m) => m.rcpt[0]).sort()).toEqual([s.cw.email, s.lawyer.email, s.co.email].sort());
    expect(mails.filter((m) => m.rcpt.includes(s.co.email))).toHaveLength(1);
    for (const m of mails) {
      expect(m.text).toContain(s.pseudonym);
      expectNoLegalName(m.raw, s);
    }
    const final = await rowsOf(sim, d.id);
    expect(
      final
        .filter((r) => r.status === 'SENT')
        .map((r) => `${r.label.split('@')[0]}:${key(r)}`)
        .sort(),
    ).toEqual([...nowRows.map((r) => `now:${key(r)}`), ...overdue.map((r) => `overdue:${key(r)}`)].sort());
  }, 30_000);
});

describe('reminders written already due', () => {
  let slow: TestEnv;
  let workers: Awaited<ReturnType<typeof startReminderWorkers>> | null = null;
  beforeAll(async () => {
    // The periodic relay runs every 10 minutes here: only the database's notification can be fast.
    slow = await setupTestEnv({
      env: {
        SMTP_URL: smtp.url,
        LOGIN_IP_MAX_ATTEMPTS: '1000',
        REMINDER_OFFSETS_DAYS: '1',
        REMINDER_RELAY_SECONDS: '600',
      },
      queues: true,
    });
    workers = await startReminderWorkers(
      {
        db: slow.db,
        config: slow.config,
        crypto: slow.app.crypto,
        clock: () => new Date(),
        log: slow.app.log,
        kit: slow.queues!,
      },
      { concurrency: 5 },
    );
    // The listener runs one pass when it connects (rows committed while no one listened).
    expect(await waitFor(() => workers!.duePasses() >= 1 || undefined, 10_000, 50)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await workers?.close().catch(() => {});
    for (const q of [REMINDER_QUEUE, RELAY_QUEUE]) {
      await slow?.queues
        ?.queue(q)
        .obliterate({ force: true })
        .catch(() => {});
    }
    await slow?.close();
  }, 60_000);

  it('are queued on the database notification and delivered within seconds, not at the next relay run; reminders due later wake nobody', async () => {
    const s = await scenario(slow, 'KZ', { webhook: 'due-now', lawyerEmail: false });
    const before = workers!.duePasses();
    // Due in 3 days: nothing is due within the next minutes, so the notification is not sent.
    const later = await createDeadline(
      s.cw,
      s.caseId,
      new Date(Date.now() + 3 * DAY),
      'Appeal against the extradition decision',
    );
    await sleep(1_500);
    expect(workers!.duePasses()).toBe(before);
    expect((await rowsOf(slow, later.id)).every((r) => r.status === 'PENDING' && r.enqueued_at === null)).toBe(true);
    // Due in 2 hours: the 1-day reminder is already past, coalesced into one due now.
    const t0 = Date.now();
    const d = await createDeadline(
      s.cw,
      s.caseId,
      new Date(Date.now() + 2 * HOUR),
      'Prosecutor must apply for custody',
    );
    const now = (await rowsOf(slow, d.id)).filter((r) => r.label.startsWith('now@'));
    expect(now.map((r) => r.channel).sort()).toEqual(['EMAIL', 'WEBHOOK']);
    const sent = await waitFor(
      async () =>
        (await rowsOf(slow, d.id)).filter((r) => r.label.startsWith('now@') && r.status === 'SENT').length === 2 ||
        undefined,
      10_000,
      100,
    );
    expect(sent, 'both now@ reminders SENT within 10 s (the relay runs every 600 s)').toBe(true);
    console.log(`reminders.test: a reminder written already due was delivered ${Date.now() - t0} ms after the request`);
    expect(workers!.duePasses()).toBeGreaterThan(before);
    const hit = hitsOn(s.hookPath).find(
      (h) => h.headers['idempotency-key'] === now.find((r) => r.channel === 'WEBHOOK')!.id,
    );
    expect(hit).toBeTruthy();
    checkHit(hit!, s, String(hit!.headers['idempotency-key']));
  }, 30_000);
  it('the listening connection killed by the database: re-opened, and the next reminder written due is still delivered at once', async () => {
    const s = await scenario(slow, 'KZ', { webhook: 'due-again', lawyerEmail: false });
    const listenerPids = async () =>
      (
        await slow.sql<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = 'reminders-due-listener' AND datname = current_database()`,
        )
      ).map((r) => r.pid);
    const [oldPid] = await listenerPids();
    expect(oldPid).toBeTruthy();
    const passesBefore = workers!.duePasses();
    const killed = await slow.sql<{ ok: boolean }>(`SELECT pg_terminate_backend($1) AS ok`, [oldPid]);
    expect(killed.map((k) => k.ok)).toEqual([true]);
    // Re-opened after a 1 s backoff on a new connection, which first runs its catch-up pass.
    const back = await waitFor(
      async () => {
        const pids = await listenerPids();
        return (pids.length === 1 && pids[0] !== oldPid && workers!.duePasses() > passesBefore) || undefined;
      },
      10_000,
      100,
    );
    expect(back).toBe(true);
    // Only a notification on the new connection can queue this one now (the relay runs every 600 s).
    const d = await createDeadline(s.cw, s.caseId, new Date(Date.now() + HOUR), 'Release due: term ends');
    const sent = await waitFor(
      async () =>
        (await rowsOf(slow, d.id)).filter((r) => r.label.startsWith('now@') && r.status === 'SENT').length === 2 ||
        undefined,
      10_000,
      100,
    );
    expect(sent).toBe(true);
    expect(slow.logs.some((l) => l.includes('due-reminder listener lost its connection'))).toBe(true);
  }, 30_000);
});

describe('deliveries in flight share their statements', () => {
  it('every reminder delivered twice at once, in one process and from a second one: each sent exactly once, claims batched into one statement', async () => {
    const s = await scenario(sim, 'AM', { webhook: 'batch', lawyerEmail: false });
    const a = new ReminderService({
      db: sim.db,
      config: sim.config,
      crypto: sim.app.crypto,
      clock: simClock,
      log: sim.app.log,
      kit: sim.queues!,
    });
    // A second service (its own batchers) stands for a second worker process.
    const b = new ReminderService({
      db: sim.db,
      config: sim.config,
      crypto: sim.app.crypto,
      clock: simClock,
      log: sim.app.log,
      kit: sim.queues!,
    });
    const due = simClock().getTime() + DAY + 60_000;
    const deadlines = [];
    for (let i = 0; i < 12; i++) {
      deadlines.push(await createDeadline(s.cw, s.caseId, new Date(due + i * 1000), `Batch filing ${i}`));
    }
    const rows = (await Promise.all(deadlines.map((d) => rowsOf(sim, d.id))))
      .flat()
      .filter((r) => r.label.startsWith('1d@'));
    // The caseworker by email, the lawyer by webhook.
    expect(rows).toHaveLength(24);
    shift += 75_000;
    // Every id twice from A (same batch) and once from B (its own batch), all at once.
    const outcomes = await Promise.all([
      ...rows.map((r) => a.deliver(r.id)),
      ...rows.map((r) => a.deliver(r.id)),
      ...rows.map((r) => b.deliver(r.id)),
    ]);
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(rows.length);
    expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(2 * rows.length);
    expect(a.claimStats().claimBatches).toBe(1);
    expect(a.claimStats().claimed).toBe(2 * rows.length);
    expect(b.claimStats().claimBatches).toBe(1);
    const after = (await Promise.all(deadlines.map((d) => rowsOf(sim, d.id))))
      .flat()
      .filter((r) => r.label.startsWith('1d@'));
    for (const r of after) {
      expect(r.status).toBe('SENT');
      expect(r.attempts).toBe(1);
      expect(r.sent_at).not.toBeNull();
    }
    const hooks = hitsOn(s.hookPath);
    expect(hooks.map((h) => h.headers['idempotency-key']).sort()).toEqual(
      rows
        .filter((r) => r.channel === 'WEBHOOK')
        .map((r) => r.id)
        .sort(),
    );
    for (const h of hooks) checkHit(h, s, String(h.headers['idempotency-key']));
    expect(mailsFor(s).filter((m) => m.subject.includes('Batch filing'))).toHaveLength(12);
    // Sent once is final: another round claims nothing.
    expect(await Promise.all(rows.map((r) => b.deliver(r.id)))).toEqual(rows.map(() => 'skipped'));
  }, 30_000);
});

describe('logs', () => {
  it('carry no legal names, webhook secrets or calendar tokens', () => {
    expect(legalNames.length).toBeGreaterThan(0);
    for (const env of [live, sim]) {
      for (const bad of [...legalNames, ...secrets, ...feedTokens]) {
        expect(env.logs.filter((l) => l.includes(bad))).toEqual([]);
      }
    }
  });
});
