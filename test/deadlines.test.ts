// Deadlines and reminders through the API on a real database: rule-made
// deadlines per host country, event edits, manual deadlines and overrides,
// the reminder outbox (recipients, channels, labels, cancellation), the
// caller's deadline list, the rules admin API, CCF tasks, and MISSED.
//
// The app clock is injected: it starts at BASE (Mon 1 March 2027 09:00Z) and
// runs on with real time (plus `shift`, moved in one test), so "now" is fixed
// to the minute and every expected instant below is worked out by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../src/modules/deadlines/default-rules.ts';
import { DeadlinesService } from '../src/modules/deadlines/deadlines.service.ts';
import {
  clientFor,
  createCase,
  createTeam,
  createUser,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
  expectProblem,
} from './helpers.ts';

const BASE = Date.parse('2027-03-01T09:00:00.000Z'); // a Monday
const realStart = Date.now();
let shift = 0;
const clock = () => new Date(BASE + (Date.now() - realStart) + shift);

let env: TestEnv;
beforeAll(async () => {
  env = await setupTestEnv({
    clock,
    // Tokens are signed with the injected clock but their expiry is checked
    // against real time: a long TTL keeps them valid whatever today's date is.
    env: { LOGIN_IP_MAX_ATTEMPTS: '10000', ACCESS_TOKEN_TTL_SECONDS: String(10 * 365 * 86400) },
  });
  const inserted = await new DeadlinesService({ db: env.db, config: env.config, clock }).syncDefaultRules();
  expect(inserted).toBe(DEFAULT_RULES.length);
});
afterAll(async () => env?.close());

// ---------------------------------------------------------------- helpers

type Deadline = {
  id: string;
  caseId: string;
  caseReference?: string;
  pseudonym?: string;
  triggerEventId: string | null;
  kind: string;
  title: string;
  dueAt: string;
  dueDate: string | null;
  timeZone: string;
  hourBased: boolean;
  status: string;
  source: string;
  citation: string | null;
  verifyWithCounsel: boolean;
  confidence: string | null;
  note: string | null;
  manualOverride: boolean;
  assigneeId: string | null;
  version: number;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
};
type ReminderRow = { id: string; recipient_id: string; channel: string; label: string; status: string; send_at: Date };

const citationOf = (key: string) => DEFAULT_RULES.find((r) => r.key === key)!.citation;

async function deadlinesOf(client: Client, caseId: string): Promise<Deadline[]> {
  const res = await client.get(`/v1/cases/${caseId}/deadlines`);
  expect(res.statusCode).toBe(200);
  return res.json().items;
}

async function addEvent(client: Client, caseId: string, body: Record<string, unknown>) {
  const res = await client.post(`/v1/cases/${caseId}/events`, body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; version: number };
}

async function addManual(client: Client, caseId: string, body: Record<string, unknown>): Promise<Deadline> {
  const res = await client.post(`/v1/cases/${caseId}/deadlines`, {
    kind: 'COURT_FILING',
    title: 'File the brief',
    ...body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function reminders(deadlineId: string): Promise<ReminderRow[]> {
  return env.sql<ReminderRow>(
    'SELECT id::text, recipient_id::text, channel::text, label, status::text, send_at FROM reminders WHERE deadline_id = $1',
    [deadlineId],
  );
}

/** "recipient channel label" of the reminders in a status, sorted. */
async function reminderKeys(deadlineId: string, status = 'PENDING'): Promise<string[]> {
  return (await reminders(deadlineId))
    .filter((r) => r.status === status)
    .map((r) => `${r.recipient_id} ${r.channel} ${r.label}`)
    .sort();
}

/** The expected reminder keys: `regular` labels to `to`, `overdue` to `to` + `escalate`. */
function plan(
  stamp: string,
  regular: string[],
  to: string[],
  escalate: string[] = [],
  channels: string[] = ['EMAIL'],
): string[] {
  const out: string[] = [];
  for (const ch of channels) {
    for (const l of regular) for (const u of to) out.push(`${u} ${ch} ${l}@${stamp}`);
    for (const u of [...to, ...escalate]) out.push(`${u} ${ch} overdue@${stamp}`);
  }
  return out.sort();
}

async function history(client: Client, deadlineId: string) {
  const res = await client.get(`/v1/deadlines/${deadlineId}/history`);
  expect(res.statusCode).toBe(200);
  return res.json().items as { at: string; actorId: string | null; reason: string; changes: Record<string, unknown> }[];
}

async function team(countries: string[], host: string, opts: { lawyer?: boolean; coordinator?: boolean } = {}) {
  const teamId = await createTeam(env, countries);
  const cw = await clientFor(env, 'CASEWORKER', { teamIds: [teamId] });
  const c = await createCase(cw, teamId, host);
  let lawyer: Client | undefined;
  if (opts.lawyer) {
    lawyer = await clientFor(env, 'LAWYER');
    const a = await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: lawyer.userId, role: 'LEAD' });
    expect(a.statusCode, a.body).toBe(201);
  }
  const coordinator = opts.coordinator ? await clientFor(env, 'COORDINATOR', { teamIds: [teamId] }) : undefined;
  return { teamId, cw, c, lawyer, coordinator };
}

const byKind = (items: Deadline[], kind: string) => {
  const found = items.filter((d) => d.kind === kind);
  expect(found, `one ${kind}`).toHaveLength(1);
  return found[0];
};

// ---------------------------------------------------------------- rule-made deadlines per country

describe('rule-made deadlines from events, per host country', () => {
  it('KZ detention with a 3-day term: prosecutor application (72 h - 12 h), term expiry, 40-day custody warning; hour-based reminders', async () => {
    const { cw, c } = await team(['KZ'], 'KZ');
    const ev = await addEvent(cw, c.caseId, {
      type: 'DETENTION',
      country: 'KZ',
      occurredAt: '2027-03-01T04:00:00Z',
      termDays: 3,
    });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.dueDate, d.hourBased, d.timeZone, d.status])).toEqual([
      ['PROSECUTOR_APPLICATION', '2027-03-03T16:00:00.000Z', null, true, 'Asia/Almaty', 'OPEN'],
      ['DETENTION_EXPIRY', '2027-03-04T04:00:00.000Z', null, true, 'Asia/Almaty', 'OPEN'],
      // 1 March (09:00 Almaty) + 30 days = Wed 31 March, end of day Almaty (UTC+5)
      ['CUSTODY_WARNING', '2027-03-31T18:59:59.999Z', '2027-03-31', false, 'Asia/Almaty', 'OPEN'],
      // CPC 588(7): day 40 = 1 March + 40 = Sat 10 April, not rolled
      ['RELEASE_DUE', '2027-04-10T18:59:59.999Z', '2027-04-10', false, 'Asia/Almaty', 'OPEN'],
    ]);
    const pa = byKind(items, 'PROSECUTOR_APPLICATION');
    expect(pa).toMatchObject({
      source: 'RULE',
      triggerEventId: ev.id,
      citation: citationOf('kz-foreign-request-72h-prosecutor'),
      verifyWithCounsel: true,
      confidence: 'MEDIUM',
      note: 'computed, verify with counsel',
      manualOverride: false,
      caseReference: c.reference,
      version: 1,
      assigneeId: null,
    });
    expect(byKind(items, 'DETENTION_EXPIRY')).toMatchObject({
      verifyWithCounsel: true,
      confidence: 'HIGH',
      note: 'computed, verify with counsel',
      citation: citationOf('any-detention-term-expiry'),
    });
    expect(byKind(items, 'CUSTODY_WARNING')).toMatchObject({ verifyWithCounsel: true, confidence: 'MEDIUM' });

    // Hour-counted: 48/24/12/4/1 h before and 15 min after; all still ahead, nothing coalesced.
    expect(await reminderKeys(pa.id)).toEqual(
      plan('2027-03-03T16:00:00.000Z', ['48h', '24h', '12h', '4h', '1h'], [cw.userId]),
    );
    const sendAts = Object.fromEntries(
      (await reminders(pa.id)).map((r) => [r.label.split('@')[0], r.send_at.toISOString()]),
    );
    expect(sendAts).toEqual({
      '48h': '2027-03-01T16:00:00.000Z',
      '24h': '2027-03-02T16:00:00.000Z',
      '12h': '2027-03-03T04:00:00.000Z',
      '4h': '2027-03-03T12:00:00.000Z',
      '1h': '2027-03-03T15:00:00.000Z',
      overdue: '2027-03-03T16:15:00.000Z',
    });
    // Day-counted: 14/3/1 days, 08:00 local on the day, 1 h after.
    const cwn = byKind(items, 'CUSTODY_WARNING');
    expect(await reminderKeys(cwn.id)).toEqual(
      plan('2027-03-31T18:59:59.999Z', ['14d', '3d', '1d', 'morning'], [cw.userId]),
    );
    const daySends = Object.fromEntries(
      (await reminders(cwn.id)).map((r) => [r.label.split('@')[0], r.send_at.toISOString()]),
    );
    expect(daySends).toEqual({
      '14d': '2027-03-17T18:59:59.999Z',
      '3d': '2027-03-28T18:59:59.999Z',
      '1d': '2027-03-30T18:59:59.999Z',
      morning: '2027-03-31T03:00:00.000Z',
      overdue: '2027-03-31T19:59:59.999Z',
    });

    // The timeline carries the deadlines with their DTO.
    const tl = await cw.get(`/v1/cases/${c.caseId}/timeline`);
    expect(tl.statusCode).toBe(200);
    const dl = tl.json().items.filter((i: { kind: string }) => i.kind === 'deadline');
    expect(dl.map((i: { id: string; at: string; summary: string }) => [i.id, i.at, i.summary])).toEqual(
      items.map((d) => [d.id, d.dueAt, `OPEN ${d.kind}: ${d.title}`]),
    );
    expect(dl[0].data).toMatchObject({
      id: pa.id,
      citation: pa.citation,
      verifyWithCounsel: true,
      note: 'computed, verify with counsel',
    });
  });

  it('a KZ detention logged late: the passed hour offsets are coalesced into one "now" reminder', async () => {
    const { cw, c } = await team(['KZ'], 'KZ');
    const before = clock().getTime();
    await addEvent(cw, c.caseId, { type: 'DETENTION', country: 'KZ', occurredAt: '2027-02-27T12:00:00Z' });
    const after = clock().getTime();
    const items = await deadlinesOf(cw, c.caseId);
    // No termDays: no DETENTION_EXPIRY. 27 Feb 12:00Z + 60 h = 2 March 00:00Z; 27 Feb (17:00 Almaty) + 30 = Mon 29 March.
    expect(items.map((d) => [d.kind, d.dueAt, d.status])).toEqual([
      ['PROSECUTOR_APPLICATION', '2027-03-02T00:00:00.000Z', 'OPEN'],
      ['CUSTODY_WARNING', '2027-03-29T18:59:59.999Z', 'OPEN'],
      ['RELEASE_DUE', '2027-04-08T18:59:59.999Z', 'OPEN'], // 27 Feb + 40 days
    ]);
    const pa = items[0];
    // 48 h (28 Feb 00:00Z) and 24 h (1 March 00:00Z) are past: one "now"; 12/4/1 h still ahead.
    expect(await reminderKeys(pa.id)).toEqual(
      plan('2027-03-02T00:00:00.000Z', ['now', '12h', '4h', '1h'], [cw.userId]),
    );
    const now = (await reminders(pa.id)).find((r) => r.label.startsWith('now@'))!;
    expect(now.send_at.getTime()).toBeGreaterThanOrEqual(before);
    expect(now.send_at.getTime()).toBeLessThanOrEqual(after);
  });

  it('Armenia: with the legal basis unknown every candidate term shows; a Minsk-based request keeps only 40 days', async () => {
    const { cw, c } = await team(['AM'], 'AM');
    // 28 Feb 20:30Z is already 1 March 00:30 in Yerevan: + 10 days = 11 March (ECE 3rd Protocol consent),
    // + 18 = 19 March (ECE), + 1 month = Thu 1 April (ECE with Armenia's declaration), + 40 = 10 April (Minsk).
    await addEvent(cw, c.caseId, { type: 'DETENTION', country: 'AM', occurredAt: '2027-02-28T20:30:00Z' });
    let items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.dueDate, d.timeZone, d.confidence])).toEqual([
      ['FOLLOW_UP', '2027-03-11T19:59:59.999Z', '2027-03-11', 'Asia/Yerevan', 'LOW'],
      ['CUSTODY_WARNING', '2027-03-19T19:59:59.999Z', '2027-03-19', 'Asia/Yerevan', 'MEDIUM'],
      ['RELEASE_DUE', '2027-04-01T19:59:59.999Z', '2027-04-01', 'Asia/Yerevan', 'MEDIUM'],
      ['RELEASE_DUE', '2027-04-10T19:59:59.999Z', '2027-04-10', 'Asia/Yerevan', 'MEDIUM'],
    ]);
    expect(items[2].citation).toBe(citationOf('am-no-request-release-1m'));
    expect(items[3].citation).toBe(citationOf('minsk-no-request-release-40d'));
    // The request turns out to be Minsk-based: the ECE terms are withdrawn, the 40 days stay.
    const charge = await cw.post(`/v1/cases/${c.caseId}/charges`, {
      issuingCountry: 'RU',
      code: 'RU-CC',
      article: '207.3',
      category: 'ANTI_WAR_SPEECH',
      mechanism: 'CIS_INTERSTATE_SEARCH',
      status: 'WANTED',
      treaty: 'MINSK_1993',
    });
    expect(charge.statusCode, charge.body).toBe(201);
    expect(charge.json().treaty).toBe('MINSK_1993');
    items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.status, d.dueDate])).toEqual([
      ['FOLLOW_UP', 'CANCELLED', '2027-03-11'],
      ['CUSTODY_WARNING', 'CANCELLED', '2027-03-19'],
      ['RELEASE_DUE', 'CANCELLED', '2027-04-01'],
      ['RELEASE_DUE', 'OPEN', '2027-04-10'],
    ]);
  });

  it('Georgia: expulsion appeal 10 days (rolled off 8 March), residence refusal 1 month (rolled off Orthodox Easter 2027)', async () => {
    const { cw, c } = await team(['GE'], 'GE');
    // Fri 26 Feb + 10 = Mon 8 March (Women's Day) -> Tue 9 March.
    const dep = await addEvent(cw, c.caseId, {
      type: 'DEPORTATION_ORDER',
      country: 'GE',
      occurredAt: '2027-02-26T08:00:00Z',
    });
    // Tue 30 March + 1 month = Fri 30 April (Good Friday), Sat 1 and Sun 2 May (Easter), Mon 3 May -> Tue 4 May.
    const ref = await addEvent(cw, c.caseId, {
      type: 'RESIDENCE_PERMIT_REFUSED',
      country: 'GE',
      occurredAt: '2027-03-30T06:00:00Z',
    });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.triggerEventId, d.dueAt, d.dueDate, d.timeZone])).toEqual([
      ['APPEAL_WINDOW', dep.id, '2027-03-09T19:59:59.999Z', '2027-03-09', 'Asia/Tbilisi'],
      ['APPEAL_WINDOW', ref.id, '2027-05-04T19:59:59.999Z', '2027-05-04', 'Asia/Tbilisi'],
    ]);
    expect(items.map((d) => d.citation)).toEqual([
      citationOf('ge-expulsion-appeal-10d'),
      citationOf('ge-residence-refusal-1m'),
    ]);
  });

  it('Turkey: deportation appeal 7 days (rolled off Ramazan Bayramı), entry refusal 60 days (rolled off Kurban Bayramı)', async () => {
    const { cw, c } = await team(['TR'], 'TR');
    // Tue 2 March + 7 = Tue 9 March (Bayram 9-11) -> Fri 12 March, end of day Istanbul (UTC+3).
    await addEvent(cw, c.caseId, { type: 'DEPORTATION_ORDER', country: 'TR', occurredAt: '2027-03-02T07:00:00Z' });
    // Wed 17 March + 60 = Sun 16 May (Bayram 16-19) -> Thu 20 May.
    await addEvent(cw, c.caseId, { type: 'ENTRY_REFUSAL', country: 'TR', occurredAt: '2027-03-17T09:00:00Z' });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.dueDate, d.confidence])).toEqual([
      ['APPEAL_WINDOW', '2027-03-12T20:59:59.999Z', '2027-03-12', 'HIGH'],
      ['APPEAL_WINDOW', '2027-05-20T20:59:59.999Z', '2027-05-20', 'MEDIUM'],
    ]);
  });

  it('Serbia: ECHR 4 months from service of the final decision, not rolled; a future removal makes a Rule 39 deadline, a past one none', async () => {
    const { cw, c } = await team(['RS'], 'RS');
    // An intermediate ruling makes no ECHR or constitutional deadline.
    await addEvent(cw, c.caseId, {
      type: 'APPEAL_DECISION',
      country: 'RS',
      occurredAt: '2027-01-20T10:00:00Z',
      isFinal: false,
    });
    expect(await deadlinesOf(cw, c.caseId)).toEqual([]);
    // Final decision of 1 Feb served Fri 5 Feb: + 4 months = Sat 5 June 2027, end of day Belgrade (CEST);
    // constitutional appeal + 30 days = Sun 7 March -> Mon 8 March (CET).
    const decision = await addEvent(cw, c.caseId, {
      type: 'APPEAL_DECISION',
      country: 'RS',
      occurredAt: '2027-02-01T10:00:00Z',
      isFinal: true,
      servedOn: '2027-02-05',
    });
    expect(decision).toMatchObject({ isFinal: true, servedOn: '2027-02-05' });
    // Removal Mon 15 March 08:00 Paris, before 16:00: Monday is not a whole working day of the
    // Court before it, Friday is -> Thu 11 March 16:00 CET.
    const removal = await addEvent(cw, c.caseId, {
      type: 'DEPORTATION_EXECUTED',
      country: 'RS',
      occurredAt: '2027-03-15T07:00:00Z',
    });
    await addEvent(cw, c.caseId, { type: 'DEPORTATION_EXECUTED', country: 'RS', occurredAt: '2027-02-20T07:00:00Z' });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.dueDate, d.timeZone, d.hourBased, d.status])).toEqual([
      ['APPEAL_WINDOW', '2027-03-08T22:59:59.999Z', '2027-03-08', 'Europe/Belgrade', false, 'OPEN'],
      ['RULE39_REQUEST', '2027-03-11T15:00:00.000Z', '2027-03-11', 'Europe/Paris', false, 'OPEN'],
      ['ECHR_APPLICATION', '2027-06-05T21:59:59.999Z', '2027-06-05', 'Europe/Belgrade', false, 'OPEN'],
    ]);
    expect(items[1].triggerEventId).toBe(removal.id);
    expect(items[2]).toMatchObject({
      confidence: 'HIGH',
      verifyWithCounsel: true,
      citation: citationOf('echr-application-4m'),
    });
  });

  it('a host country with no specific rule (Moldova): only the court-set detention term', async () => {
    const { cw, c } = await team(['MD'], 'MD');
    for (const type of [
      'APPEAL_DECISION',
      'DEPORTATION_ORDER',
      'EXTRADITION_DECISION',
      'RESIDENCE_PERMIT_REFUSED',
      'DEPORTATION_EXECUTED',
    ]) {
      await addEvent(cw, c.caseId, { type, country: 'MD', occurredAt: '2027-03-05T10:00:00Z' });
    }
    expect(await deadlinesOf(cw, c.caseId)).toEqual([]);
    await addEvent(cw, c.caseId, {
      type: 'DETENTION',
      country: 'MD',
      occurredAt: '2027-02-25T13:45:00Z',
      termDays: 30,
    });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.dueDate, d.timeZone, d.hourBased])).toEqual([
      ['DETENTION_EXPIRY', '2027-03-27T13:45:00.000Z', null, 'Europe/Chisinau', true],
    ]);
  });

  it('a future EXTRADITION_HEARING is a HEARING deadline at its own time; a past one is none; moving it into the past cancels it', async () => {
    const { cw, c } = await team(['GE'], 'GE');
    await addEvent(cw, c.caseId, { type: 'EXTRADITION_HEARING', country: 'GE', occurredAt: '2027-02-10T07:30:00Z' });
    expect(await deadlinesOf(cw, c.caseId)).toEqual([]);
    const hearing = await addEvent(cw, c.caseId, {
      type: 'EXTRADITION_HEARING',
      country: 'GE',
      occurredAt: '2027-03-10T07:30:00Z',
    });
    await addEvent(cw, c.caseId, { type: 'COURT_HEARING', country: 'GE', occurredAt: '2027-03-11T06:00:00+04:00' });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.title, d.dueAt, d.hourBased, d.status, d.verifyWithCounsel])).toEqual([
      ['HEARING', 'Extradition hearing', '2027-03-10T07:30:00.000Z', true, 'OPEN', true],
      ['HEARING', 'Court hearing', '2027-03-11T02:00:00.000Z', true, 'OPEN', true],
    ]);
    const patched = await cw.patch(
      `/v1/events/${hearing.id}`,
      { occurredAt: '2027-02-11T07:30:00Z' },
      { 'if-match': '"1"' },
    );
    expect(patched.statusCode, patched.body).toBe(200);
    const after = await deadlinesOf(cw, c.caseId);
    expect(after.find((d) => d.id === items[0].id)!.status).toBe('CANCELLED');
    expect(await reminderKeys(items[0].id)).toEqual([]);
  });

  it('a DETENTION with termDays makes DETENTION_EXPIRY at occurredAt + termDays; changing the term moves it', async () => {
    const { cw, c } = await team(['AM'], 'AM');
    const ev = await addEvent(cw, c.caseId, {
      type: 'DETENTION',
      country: 'AM',
      occurredAt: '2027-02-25T13:45:00Z',
      termDays: 30,
    });
    let exp = byKind(await deadlinesOf(cw, c.caseId), 'DETENTION_EXPIRY');
    expect(exp.dueAt).toBe('2027-03-27T13:45:00.000Z');
    const res = await cw.patch(`/v1/events/${ev.id}`, { termDays: 60 }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    exp = byKind(await deadlinesOf(cw, c.caseId), 'DETENTION_EXPIRY');
    expect(exp.dueAt).toBe('2027-04-26T13:45:00.000Z');
    // The Armenian release dates (ECE one month, Minsk 40 days: 25 Feb + 40 = 6 April) ignore the term.
    const releases = (await deadlinesOf(cw, c.caseId)).filter((d) => d.kind === 'RELEASE_DUE').map((d) => d.dueAt);
    expect(releases).toEqual(['2027-03-25T19:59:59.999Z', '2027-04-06T19:59:59.999Z']);
  });

  it('coordinators cannot create events (so no deadlines); outsiders get 404', async () => {
    const { teamId, cw, c } = await team(['KZ'], 'KZ');
    const coord = await clientFor(env, 'COORDINATOR', { teamIds: [teamId] });
    const other = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['KZ'])] });
    const body = { type: 'DETENTION', country: 'KZ', occurredAt: '2027-03-01T04:00:00Z', termDays: 3 };
    expectProblem(await coord.post(`/v1/cases/${c.caseId}/events`, body), 403);
    expectProblem(await other.post(`/v1/cases/${c.caseId}/events`, body), 404);
    expectProblem(await other.get(`/v1/cases/${c.caseId}/deadlines`), 404);
    expect(await deadlinesOf(cw, c.caseId)).toEqual([]);
    expect((await env.sql('SELECT 1 FROM deadlines WHERE case_id = $1', [c.caseId])).length).toBe(0);
  });
});

// ---------------------------------------------------------------- event edits

describe('editing the trigger event', () => {
  it('moves the deadline, records history and replaces the pending reminders', async () => {
    const { cw, c, lawyer, coordinator } = await team(['KZ'], 'KZ', { lawyer: true, coordinator: true });
    // Fri 26 Feb + 10 = Mon 8 March (holiday in KZ) -> Tue 9 March; UN interim-measures task: + 2 = Sun 28 Feb,
    // already past when logged on 1 March (MISSED). The CIS take-over runs from SURRENDER_SCHEDULED instead.
    const ev = await addEvent(cw, c.caseId, {
      type: 'EXTRADITION_DECISION',
      country: 'KZ',
      occurredAt: '2027-02-26T05:00:00Z',
    });
    let items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.status])).toEqual([
      ['UN_INTERIM_MEASURES', '2027-02-28T18:59:59.999Z', 'MISSED'],
      ['APPEAL_WINDOW', '2027-03-09T18:59:59.999Z', 'OPEN'],
    ]);
    const appeal = items[1];
    const people = [cw.userId, lawyer!.userId];
    // 14 days before (23 Feb) has passed: coalesced into "now".
    const oldPlan = plan('2027-03-09T18:59:59.999Z', ['now', '3d', '1d', 'morning'], people, [coordinator!.userId]);
    expect(await reminderKeys(appeal.id)).toEqual(oldPlan);

    const res = await cw.patch(`/v1/events/${ev.id}`, { occurredAt: '2027-03-03T05:00:00Z' }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    // Wed 3 March + 10 = Sat 13 -> Sun 14 -> Mon 15 (Constitution Day) -> Tue 16 March; UN task: Fri 5 March, open again.
    items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.id, d.kind, d.dueAt, d.dueDate, d.version, d.status])).toEqual([
      [items[0].id, 'UN_INTERIM_MEASURES', '2027-03-05T18:59:59.999Z', '2027-03-05', 2, 'OPEN'],
      [appeal.id, 'APPEAL_WINDOW', '2027-03-16T18:59:59.999Z', '2027-03-16', 2, 'OPEN'],
    ]);
    expect(items[1].manualOverride).toBe(false);

    const h = await history(cw, appeal.id);
    expect(h.map((x) => [x.reason, x.actorId])).toEqual([
      ['computed', cw.userId],
      ['recomputed after event change', cw.userId],
    ]);
    expect(h[0].changes).toEqual({
      rule: 'kz-extradition-decision-appeal-10d',
      dueAt: '2027-03-09T18:59:59.999Z',
      status: 'OPEN',
    });
    expect(h[1].changes).toEqual({ dueAt: { old: '2027-03-09T18:59:59.999Z', new: '2027-03-16T18:59:59.999Z' } });

    // Old set cancelled, a fresh set for the new date (14 days before 16 March is 2 March: still ahead).
    expect(await reminderKeys(appeal.id, 'CANCELLED')).toEqual(oldPlan);
    expect(await reminderKeys(appeal.id)).toEqual(
      plan('2027-03-16T18:59:59.999Z', ['14d', '3d', '1d', 'morning'], people, [coordinator!.userId]),
    );

    // A stale version changes nothing.
    const stale = await cw.patch(`/v1/events/${ev.id}`, { occurredAt: '2027-03-04T05:00:00Z' }, { 'if-match': '"1"' });
    expectProblem(stale, 412);
    expectProblem(await cw.patch(`/v1/events/${ev.id}`, { occurredAt: '2027-03-04T05:00:00Z' }), 428);
    expect((await deadlinesOf(cw, c.caseId))[1].dueAt).toBe('2027-03-16T18:59:59.999Z');
    // The coordinator reads the history, an outsider cannot.
    expect((await coordinator!.get(`/v1/deadlines/${appeal.id}/history`)).statusCode).toBe(200);
    const outsider = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['KZ'])] });
    expectProblem(await outsider.get(`/v1/deadlines/${appeal.id}/history`), 404);
  });

  it('changing the event type cancels the deadlines it no longer produces, with their reminders', async () => {
    const { cw, c } = await team(['KZ'], 'KZ');
    const ev = await addEvent(cw, c.caseId, {
      type: 'EXTRADITION_DECISION',
      country: 'KZ',
      occurredAt: '2027-02-26T05:00:00Z',
    });
    const before = await deadlinesOf(cw, c.caseId);
    expect(before).toHaveLength(2);
    const res = await cw.patch(`/v1/events/${ev.id}`, { type: 'OTHER' }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    const after = await deadlinesOf(cw, c.caseId);
    expect(after.map((d) => [d.id, d.status])).toEqual(before.map((d) => [d.id, 'CANCELLED']));
    for (const d of before) {
      expect(await reminderKeys(d.id)).toEqual([]);
      const h = await history(cw, d.id);
      expect(h.at(-1)).toMatchObject({
        reason: 'no longer produced by its rule after the event changed',
        changes: { status: { old: d.status, new: 'CANCELLED' } },
      });
    }
  });

  it('changing the type back restores the rule-made deadlines (OPEN, with reminders)', async () => {
    const { cw, c } = await team(['KZ'], 'KZ');
    const ev = await addEvent(cw, c.caseId, {
      type: 'EXTRADITION_DECISION',
      country: 'KZ',
      occurredAt: '2027-02-26T05:00:00Z',
    });
    expect((await cw.patch(`/v1/events/${ev.id}`, { type: 'OTHER' }, { 'if-match': '"1"' })).statusCode).toBe(200);
    expect(
      (await cw.patch(`/v1/events/${ev.id}`, { type: 'EXTRADITION_DECISION' }, { 'if-match': '"2"' })).statusCode,
    ).toBe(200);
    const items = (await deadlinesOf(cw, c.caseId)).filter((d) => d.status === 'OPEN');
    // The event is an extradition decision again: its appeal window is a live deadline (the UN task is MISSED again).
    expect(items.map((d) => [d.kind, d.dueAt])).toEqual([['APPEAL_WINDOW', '2027-03-09T18:59:59.999Z']]);
    for (const d of items) expect((await reminderKeys(d.id)).length).toBeGreaterThan(0);
  });

  it('a manual reschedule sets manualOverride and survives later event edits and a type change', async () => {
    const { cw, c } = await team(['KZ'], 'KZ');
    const ev = await addEvent(cw, c.caseId, {
      type: 'EXTRADITION_DECISION',
      country: 'KZ',
      occurredAt: '2027-02-26T05:00:00Z',
    });
    const [cis, appeal] = await deadlinesOf(cw, c.caseId); // `cis`: the UN task, the other deadline of the event
    // A rule-made deadline moves only with a reason.
    expectProblem(await cw.patch(`/v1/deadlines/${appeal.id}`, { dueDate: '2027-03-20' }, { 'if-match': '"1"' }), 400);
    const res = await cw.patch(
      `/v1/deadlines/${appeal.id}`,
      { dueDate: '2027-03-20', reason: 'court extended the term' },
      { 'if-match': '"1"' },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      id: appeal.id,
      dueAt: '2027-03-20T18:59:59.999Z',
      dueDate: '2027-03-20',
      manualOverride: true,
      status: 'OPEN',
      version: 2,
      source: 'RULE',
    });
    expect(await reminderKeys(appeal.id)).toEqual(
      plan('2027-03-20T18:59:59.999Z', ['14d', '3d', '1d', 'morning'], [cw.userId]),
    );

    expect(
      (await cw.patch(`/v1/events/${ev.id}`, { occurredAt: '2027-03-03T05:00:00Z' }, { 'if-match': '"1"' })).statusCode,
    ).toBe(200);
    let items = await deadlinesOf(cw, c.caseId);
    expect(items.find((d) => d.id === appeal.id)).toMatchObject({
      dueAt: '2027-03-20T18:59:59.999Z',
      version: 2,
      manualOverride: true,
      status: 'OPEN',
    });
    expect(items.find((d) => d.id === cis.id)).toMatchObject({ dueAt: '2027-03-05T18:59:59.999Z', version: 2 });
    expect((await history(cw, appeal.id)).map((h) => h.reason)).toEqual(['computed', 'court extended the term']);

    expect((await cw.patch(`/v1/events/${ev.id}`, { type: 'OTHER' }, { 'if-match': '"2"' })).statusCode).toBe(200);
    items = await deadlinesOf(cw, c.caseId);
    expect(items.find((d) => d.id === appeal.id)!.status).toBe('OPEN');
    expect(items.find((d) => d.id === cis.id)!.status).toBe('CANCELLED');
    expect((await reminderKeys(appeal.id)).length).toBe(5);
  });
});

// ---------------------------------------------------------------- manual deadlines

describe('manual deadlines', () => {
  it('a due date is the end of that day in the host zone (Belgrade on its DST day; Almaty); a due instant is kept exactly', async () => {
    const { cw, c } = await team(['RS', 'KZ'], 'RS');
    const before = clock().toISOString();
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-28', title: 'Lodge the appeal' });
    expect(d).toMatchObject({
      caseId: c.caseId,
      kind: 'COURT_FILING',
      title: 'Lodge the appeal',
      dueAt: '2027-03-28T21:59:59.999Z',
      dueDate: '2027-03-28',
      timeZone: 'Europe/Belgrade',
      hourBased: false,
      status: 'OPEN',
      source: 'MANUAL',
      citation: null,
      verifyWithCounsel: false,
      confidence: null,
      note: null,
      manualOverride: false,
      triggerEventId: null,
      assigneeId: null,
      completedAt: null,
      version: 1,
    });
    expect(d.createdAt >= before).toBe(true);
    expect((await addManual(cw, c.caseId, { dueDate: '2027-03-27' })).dueAt).toBe('2027-03-27T22:59:59.999Z');
    expect((await addManual(cw, c.caseId, { dueDate: '2027-10-31' })).dueAt).toBe('2027-10-31T22:59:59.999Z');
    // Today (1 March) still counts: it ends tonight in Belgrade.
    expect((await addManual(cw, c.caseId, { dueDate: '2027-03-01' })).dueAt).toBe('2027-03-01T22:59:59.999Z');
    const exact = await addManual(cw, c.caseId, { dueAt: '2027-04-01T12:34:56+02:00', kind: 'HEARING' });
    expect([exact.dueAt, exact.dueDate, exact.timeZone, exact.kind]).toEqual([
      '2027-04-01T10:34:56.000Z',
      null,
      'Europe/Belgrade',
      'HEARING',
    ]);

    const kz = await createCase(cw, (await env.db.case.findUniqueOrThrow({ where: { id: c.caseId } })).teamId, 'KZ');
    const k = await addManual(cw, kz.caseId, { dueDate: '2027-03-28' });
    expect([k.dueAt, k.timeZone]).toEqual(['2027-03-28T18:59:59.999Z', 'Asia/Almaty']);
    const h = await history(cw, d.id);
    expect(h).toEqual([
      {
        at: expect.any(String),
        actorId: cw.userId,
        reason: 'created',
        changes: { dueAt: '2027-03-28T21:59:59.999Z', kind: 'COURT_FILING' },
      },
    ]);
  });

  it('validation: exactly one of dueAt/dueDate, in the future, known kind, known assignee, no unknown fields', async () => {
    const { cw, c } = await team(['RS'], 'RS');
    const post = (body: Record<string, unknown>) => cw.post(`/v1/cases/${c.caseId}/deadlines`, body);
    const paths = (r: { json: () => { errors?: { path: string }[] } }) => (r.json().errors ?? []).map((e) => e.path);

    const both = await post({ kind: 'CUSTOM', title: 't', dueAt: '2027-04-01T10:00:00Z', dueDate: '2027-04-01' });
    expectProblem(both, 400);
    expect(both.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(paths(both)).toContain('body.dueAt');
    const neither = await post({ kind: 'CUSTOM', title: 't' });
    expectProblem(neither, 400);
    expect(paths(neither)).toContain('body.dueAt');
    const pastDate = await post({ kind: 'CUSTOM', title: 't', dueDate: '2027-02-27' });
    expectProblem(pastDate, 400);
    expect(paths(pastDate)).toEqual(['body.dueDate']);
    const pastAt = await post({ kind: 'CUSTOM', title: 't', dueAt: '2027-03-01T08:00:00Z' });
    expectProblem(pastAt, 400);
    expect(paths(pastAt)).toEqual(['body.dueAt']);
    const noOffset = await post({ kind: 'CUSTOM', title: 't', dueAt: '2027-04-01T10:00:00' });
    expectProblem(noOffset, 400);
    const badKind = await post({ kind: 'NAP', title: 't', dueDate: '2027-04-01' });
    expectProblem(badKind, 400);
    expect(paths(badKind)).toContain('body.kind');
    const emptyTitle = await post({ kind: 'CUSTOM', title: '  ', dueDate: '2027-04-01' });
    expectProblem(emptyTitle, 400);
    expectProblem(await post({ kind: 'CUSTOM', title: 't', dueDate: '2027-04-01', status: 'DONE' }), 400);
    const ghost = await post({
      kind: 'CUSTOM',
      title: 't',
      dueDate: '2027-04-01',
      assigneeId: '00000000-0000-4000-8000-000000000000',
    });
    expectProblem(ghost, 400);
    expect(paths(ghost)).toEqual(['body.assigneeId']);
    expect((await env.sql('SELECT 1 FROM deadlines WHERE case_id = $1', [c.caseId])).length).toBe(0);
    expect(
      (
        await env.sql('SELECT 1 FROM reminders r JOIN deadlines d ON d.id = r.deadline_id WHERE d.case_id = $1', [
          c.caseId,
        ])
      ).length,
    ).toBe(0);
  });

  it('access: caseworker of the team, assigned lawyer and admin may create; coordinator 403; others 404; anonymous 401', async () => {
    const { teamId, cw, c, lawyer } = await team(['GE'], 'GE', { lawyer: true });
    const body = { kind: 'CUSTOM', title: 'Call the consulate', dueDate: '2027-04-01' };
    const coord = await clientFor(env, 'COORDINATOR', { teamIds: [teamId] });
    const otherCw = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['GE'])] });
    const freeLawyer = await clientFor(env, 'LAWYER');
    const admin = await clientFor(env, 'ADMIN');
    expectProblem(await coord.post(`/v1/cases/${c.caseId}/deadlines`, body), 403);
    expectProblem(await otherCw.post(`/v1/cases/${c.caseId}/deadlines`, body), 404);
    expectProblem(await freeLawyer.post(`/v1/cases/${c.caseId}/deadlines`, body), 404);
    expect(
      (await env.app.inject({ method: 'POST', url: `/v1/cases/${c.caseId}/deadlines`, payload: body })).statusCode,
    ).toBe(401);
    expectProblem(await otherCw.post(`/v1/cases/00000000-0000-4000-8000-000000000000/deadlines`, body), 404);
    expect((await env.sql('SELECT 1 FROM deadlines WHERE case_id = $1', [c.caseId])).length).toBe(0);
    const byLawyer = await lawyer!.post(`/v1/cases/${c.caseId}/deadlines`, body);
    expect(byLawyer.statusCode, byLawyer.body).toBe(201);
    expect((await admin.post(`/v1/cases/${c.caseId}/deadlines`, body)).statusCode).toBe(201);
    expect((await cw.post(`/v1/cases/${c.caseId}/deadlines`, body)).statusCode).toBe(201);
    // PATCH follows the same rules.
    const id = byLawyer.json().id;
    expectProblem(await coord.patch(`/v1/deadlines/${id}`, { status: 'DONE' }), 403);
    expectProblem(await otherCw.patch(`/v1/deadlines/${id}`, { status: 'DONE' }), 404);
    expectProblem(await freeLawyer.patch(`/v1/deadlines/${id}`, { status: 'DONE' }), 404);
    expect(
      (await cw.get(`/v1/cases/${c.caseId}/deadlines`)).json().items.every((d: Deadline) => d.status === 'OPEN'),
    ).toBe(true);
    expect((await coord.get(`/v1/cases/${c.caseId}/deadlines`)).statusCode).toBe(200);
  });

  it('DONE and CANCELLED cancel the pending reminders; reopening plans them again', async () => {
    const { cw, c, lawyer } = await team(['GE'], 'GE', { lawyer: true });
    const people = [cw.userId, lawyer!.userId];
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-20' });
    expect(d.dueAt).toBe('2027-03-20T19:59:59.999Z');
    const planned = plan('2027-03-20T19:59:59.999Z', ['14d', '3d', '1d', 'morning'], people);
    expect(await reminderKeys(d.id)).toEqual(planned);
    const morning = (await reminders(d.id)).find((r) => r.label.startsWith('morning@'))!;
    expect(morning.send_at.toISOString()).toBe('2027-03-20T04:00:00.000Z'); // 08:00 Tbilisi

    // Without If-Match: 428, nothing changes.
    expectProblem(await lawyer!.patch(`/v1/deadlines/${d.id}`, { status: 'DONE' }), 428);
    const done = await lawyer!.patch(`/v1/deadlines/${d.id}`, { status: 'DONE' }, { 'if-match': '"1"' });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ status: 'DONE', version: 2 });
    expect(done.json().completedAt).not.toBeNull();
    expect(await reminderKeys(d.id)).toEqual([]);
    expect(await reminderKeys(d.id, 'CANCELLED')).toEqual(planned);
    expect((await history(cw, d.id)).at(-1)).toMatchObject({
      reason: 'updated',
      actorId: lawyer!.userId,
      changes: { status: { old: 'OPEN', new: 'DONE' } },
    });

    const reopened = await cw.patch(`/v1/deadlines/${d.id}`, { status: 'OPEN' }, { 'if-match': '"2"' });
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json()).toMatchObject({ status: 'OPEN', completedAt: null, version: 3 });
    expect(await reminderKeys(d.id)).toEqual(planned);

    const d2 = await addManual(cw, c.caseId, { dueDate: '2027-03-22' });
    const cancelled = await cw.patch(`/v1/deadlines/${d2.id}`, { status: 'CANCELLED' }, { 'if-match': '"1"' });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'CANCELLED', completedAt: null });
    expect(await reminderKeys(d2.id)).toEqual([]);
    expect((await reminders(d2.id)).every((r) => r.status === 'CANCELLED')).toBe(true);

    // MISSED is the system's word, not a client's; an empty patch is refused.
    expectProblem(await cw.patch(`/v1/deadlines/${d.id}`, { status: 'MISSED' }), 400);
    expectProblem(await cw.patch(`/v1/deadlines/${d.id}`, {}), 400);
    expect(
      (await cw.patch(`/v1/deadlines/${d.id}`, { dueAt: '2027-04-01T10:00:00Z', dueDate: '2027-04-01' })).statusCode,
    ).toBe(400);
    expect((await cw.patch(`/v1/deadlines/00000000-0000-4000-8000-000000000000`, { status: 'DONE' })).statusCode).toBe(
      404,
    );
  });

  it('a reschedule replaces the reminders with a new set under new labels (If-Match guarded)', async () => {
    const { cw, c } = await team(['GE'], 'GE');
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-20' });
    const old = await reminderKeys(d.id);
    const res = await cw.patch(`/v1/deadlines/${d.id}`, { dueAt: '2027-04-10T10:00:00+04:00' }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      dueAt: '2027-04-10T06:00:00.000Z',
      dueDate: null,
      manualOverride: true,
      version: 2,
      status: 'OPEN',
    });
    expect(await reminderKeys(d.id, 'CANCELLED')).toEqual(old);
    expect(await reminderKeys(d.id)).toEqual(
      plan('2027-04-10T06:00:00.000Z', ['14d', '3d', '1d', 'morning'], [cw.userId]),
    );
    expect((await history(cw, d.id)).at(-1)).toMatchObject({
      reason: 'updated',
      changes: { dueAt: { old: '2027-03-20T19:59:59.999Z', new: '2027-04-10T06:00:00.000Z' } },
    });

    const stale = await cw.patch(`/v1/deadlines/${d.id}`, { dueDate: '2027-05-01' }, { 'if-match': '"1"' });
    expectProblem(stale, 412);
    expect((await deadlinesOf(cw, c.caseId))[0].dueAt).toBe('2027-04-10T06:00:00.000Z');
    // The same date again is not a change: no new version, no new reminders.
    const same = await cw.patch(`/v1/deadlines/${d.id}`, { dueAt: '2027-04-10T06:00:00Z' }, { 'if-match': '"2"' });
    expect(same.json().version).toBe(2);
    expect((await reminders(d.id)).length).toBe(old.length + 5);
    // Rename only: reminders untouched.
    const renamed = await cw.patch(`/v1/deadlines/${d.id}`, { title: 'File the cassation' }, { 'if-match': '"2"' });
    expect(renamed.json()).toMatchObject({ title: 'File the cassation', version: 3 });
    expect((await reminders(d.id)).length).toBe(old.length + 5);
  });
});

// ---------------------------------------------------------------- recipients and channels

describe('reminder recipients and channels', () => {
  it('assigned lawyers, team caseworkers and the assignee; coordinators only for overdue; nobody else', async () => {
    const { teamId, cw, c, lawyer } = await team(['GE'], 'GE', { lawyer: true });
    const cw2 = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
    const coord = await createUser(env, 'COORDINATOR', { teamIds: [teamId] });
    const inactive = await createUser(env, 'CASEWORKER', { teamIds: [teamId] });
    await env.db.user.update({ where: { id: inactive.id }, data: { active: false } });
    const teamLawyer = await createUser(env, 'LAWYER', { teamIds: [teamId] }); // a member, but not assigned
    await createUser(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['GE'])] });
    const admin = await createUser(env, 'ADMIN');
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-20', assigneeId: admin.id });
    expect(d.assigneeId).toBe(admin.id);
    expect(await reminderKeys(d.id)).toEqual(
      plan(
        '2027-03-20T19:59:59.999Z',
        ['14d', '3d', '1d', 'morning'],
        [cw.userId, cw2.id, lawyer!.userId, admin.id],
        [coord.id],
      ),
    );
    const all = await reminders(d.id);
    for (const u of [inactive.id, teamLawyer.id]) expect(all.filter((r) => r.recipient_id === u)).toEqual([]);
  });

  it('a newly assigned lawyer gets reminders for the open deadlines; an unassigned one loses the pending ones', async () => {
    const { cw, c, lawyer } = await team(['GE'], 'GE', { lawyer: true });
    const open = await addManual(cw, c.caseId, { dueDate: '2027-03-20' });
    const done = await addManual(cw, c.caseId, { dueDate: '2027-03-21' });
    expect((await cw.patch(`/v1/deadlines/${done.id}`, { status: 'DONE' }, { 'if-match': '"1"' })).statusCode).toBe(
      200,
    );
    const newcomer = await clientFor(env, 'LAWYER');
    const a = await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: newcomer.userId, role: 'SUPPORTING' });
    expect(a.statusCode, a.body).toBe(201);
    const stamp = '2027-03-20T19:59:59.999Z';
    expect(await reminderKeys(open.id)).toEqual(
      plan(stamp, ['14d', '3d', '1d', 'morning'], [cw.userId, lawyer!.userId, newcomer.userId]),
    );
    expect(await reminderKeys(done.id)).toEqual([]);

    const list = (await cw.get(`/v1/cases/${c.caseId}/assignments`)).json().items as {
      id: string;
      lawyerId: string;
      endedAt: string | null;
    }[];
    const first = list.find((x) => x.lawyerId === lawyer!.userId && !x.endedAt)!;
    expect((await cw.del(`/v1/cases/${c.caseId}/assignments/${first.id}`)).statusCode).toBe(204);
    expect(await reminderKeys(open.id)).toEqual(
      plan(stamp, ['14d', '3d', '1d', 'morning'], [cw.userId, newcomer.userId]),
    );
    expect((await reminders(open.id)).filter((r) => r.recipient_id === lawyer!.userId).map((r) => r.status)).toEqual(
      Array(5).fill('CANCELLED'),
    );
    // A deadline made after the unassignment no longer reaches the former lawyer.
    const later = await addManual(cw, c.caseId, { dueDate: '2027-03-25' });
    expect((await reminders(later.id)).filter((r) => r.recipient_id === lawyer!.userId)).toEqual([]);
  });

  it('an assignee must be able to see the case; a lawyer who is both assignee and assigned is reminded once', async () => {
    const { cw, c } = await team(['GE'], 'GE');
    const L = await clientFor(env, 'LAWYER');
    // Naming a user who cannot see the case would leak it through reminders and feeds.
    const refused = await cw.post(`/v1/cases/${c.caseId}/deadlines`, {
      kind: 'COURT_FILING',
      title: 'File the brief',
      dueDate: '2027-03-20',
      assigneeId: L.userId,
    });
    expectProblem(refused, 400);
    expect(refused.json().errors.map((e: { path: string }) => e.path)).toEqual(['body.assigneeId']);
    expect((await cw.post(`/v1/cases/${c.caseId}/assignments`, { lawyerId: L.userId, role: 'LEAD' })).statusCode).toBe(
      201,
    );
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-20', assigneeId: L.userId });
    const stamp = '2027-03-20T19:59:59.999Z';
    expect(await reminderKeys(d.id)).toEqual(plan(stamp, ['14d', '3d', '1d', 'morning'], [cw.userId, L.userId]));
    expect((await reminders(d.id)).length).toBe(10);
    // The assignment ends: the lawyer's pending reminders go, and the deadline leaves their list.
    const assignment = (await cw.get(`/v1/cases/${c.caseId}/assignments`)).json().items[0];
    expect((await cw.del(`/v1/cases/${c.caseId}/assignments/${assignment.id}`)).statusCode).toBe(204);
    expect((await reminders(d.id)).filter((r) => r.recipient_id === L.userId && r.status === 'PENDING')).toEqual([]);
    expect((await L.get('/v1/me/deadlines')).json().items).toEqual([]);
  });

  it('notification settings: email by default, a signed webhook when enabled, the secret never returned', async () => {
    const { cw, c, lawyer } = await team(['GE'], 'GE', { lawyer: true });
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-20' });
    const stamp = '2027-03-20T19:59:59.999Z';
    const L = lawyer!;

    const def = await L.get('/v1/me/notification-settings');
    expect(def.statusCode).toBe(200);
    expect(def.json()).toEqual({ email: { enabled: true }, webhook: { url: null, enabled: false, secretSet: false } });

    // Enabling a webhook needs a url and a secret.
    const noSecret = await L.put('/v1/me/notification-settings', {
      email: { enabled: true },
      webhook: { url: 'https://hooks.example.org/x', enabled: true },
    });
    expectProblem(noSecret, 400);
    expect(noSecret.json().errors.map((e: { path: string }) => e.path)).toEqual(['body.webhook.secret']);
    const noUrl = await L.put('/v1/me/notification-settings', {
      email: { enabled: true },
      webhook: { url: null, secret: 'a-long-enough-secret-1', enabled: true },
    });
    expectProblem(noUrl, 400);
    expect(noUrl.json().errors.map((e: { path: string }) => e.path)).toEqual(['body.webhook.url']);
    expect(
      (
        await L.put('/v1/me/notification-settings', {
          email: { enabled: true },
          webhook: { url: 'https://h.example.org', secret: 'short', enabled: true },
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await L.put('/v1/me/notification-settings', {
          email: { enabled: true },
          webhook: { url: 'ftp://h.example.org', secret: 'a-long-enough-secret-1', enabled: true },
        })
      ).statusCode,
    ).toBe(400);
    expectProblem(await L.put('/v1/me/notification-settings', { email: { enabled: true }, sms: true }), 400);
    expect((await L.get('/v1/me/notification-settings')).json()).toEqual(def.json());
    expect(await reminderKeys(d.id)).toEqual(plan(stamp, ['14d', '3d', '1d', 'morning'], [cw.userId, L.userId]));

    const secret = `whsec-${uniq()}-${uniq()}-${uniq()}`;
    const put = await L.put('/v1/me/notification-settings', {
      email: { enabled: true },
      webhook: { url: 'https://hooks.example.org/lawyer', secret, enabled: true },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({
      email: { enabled: true },
      webhook: { url: 'https://hooks.example.org/lawyer', enabled: true, secretSet: true },
    });
    expect(put.body).not.toContain(secret);
    const got = await L.get('/v1/me/notification-settings');
    expect(got.json()).toEqual(put.json());
    expect(got.body).not.toContain(secret);
    const [row] = await env.sql<{ webhook_secret_enc: string }>(
      'SELECT webhook_secret_enc FROM notification_settings WHERE user_id = $1',
      [L.userId],
    );
    expect(row.webhook_secret_enc).toMatch(/^v1\./);
    expect(row.webhook_secret_enc).not.toContain(secret);

    // The lawyer's planned reminders now go by both channels; the caseworker's are untouched.
    const regular = ['14d', '3d', '1d', 'morning'];
    expect(await reminderKeys(d.id)).toEqual(
      [...plan(stamp, regular, [cw.userId]), ...plan(stamp, regular, [L.userId], [], ['EMAIL', 'WEBHOOK'])].sort(),
    );
    const d2 = await addManual(cw, c.caseId, { dueDate: '2027-03-25' });
    expect(
      (await reminders(d2.id))
        .filter((r) => r.recipient_id === L.userId)
        .map((r) => r.channel)
        .sort(),
    ).toEqual([...Array(5).fill('EMAIL'), ...Array(5).fill('WEBHOOK')]);

    // Email off, webhook kept (omitted = unchanged; the secret stays set).
    const emailOff = await L.put('/v1/me/notification-settings', { email: { enabled: false } });
    expect(emailOff.json()).toEqual({
      email: { enabled: false },
      webhook: { url: 'https://hooks.example.org/lawyer', enabled: true, secretSet: true },
    });
    expect(await reminderKeys(d.id)).toEqual(
      [...plan(stamp, regular, [cw.userId]), ...plan(stamp, regular, [L.userId], [], ['WEBHOOK'])].sort(),
    );
    // Re-enabling the webhook without sending the secret again keeps the stored one.
    const keep = await L.put('/v1/me/notification-settings', {
      email: { enabled: false },
      webhook: { url: 'https://hooks.example.org/other', enabled: true },
    });
    expect(keep.statusCode).toBe(200);
    expect(keep.json().webhook).toEqual({ url: 'https://hooks.example.org/other', enabled: true, secretSet: true });
  });

  it('a user who turns every channel off and then email back on gets reminders again for open deadlines', async () => {
    const { cw, c, lawyer } = await team(['GE'], 'GE', { lawyer: true });
    const d = await addManual(cw, c.caseId, { dueDate: '2027-03-20' });
    const stamp = '2027-03-20T19:59:59.999Z';
    const L = lawyer!;
    expect((await L.put('/v1/me/notification-settings', { email: { enabled: false } })).statusCode).toBe(200);
    expect(await reminderKeys(d.id)).toEqual(plan(stamp, ['14d', '3d', '1d', 'morning'], [cw.userId]));
    expect((await L.put('/v1/me/notification-settings', { email: { enabled: true } })).statusCode).toBe(200);
    // "Reminders already planned follow the new channels": the lawyer is a recipient of this open deadline.
    expect(await reminderKeys(d.id)).toEqual(plan(stamp, ['14d', '3d', '1d', 'morning'], [cw.userId, L.userId]));
  });
});

// ---------------------------------------------------------------- the caller's list

describe('GET /v1/me/deadlines', () => {
  it("overdue first, then by due time; only the caller's cases", async () => {
    const { cw, c, lawyer, coordinator } = await team(['KZ'], 'KZ', { lawyer: true, coordinator: true });
    // Tue 1 Sept 2026 + 10 = Fri 11 Sept; UN task + 2 = Thu 3 Sept: both already past -> MISSED at once.
    await addEvent(cw, c.caseId, { type: 'EXTRADITION_DECISION', country: 'KZ', occurredAt: '2026-09-01T05:00:00Z' });
    const [cis, appeal] = await deadlinesOf(cw, c.caseId); // `cis`: the UN task
    expect([appeal.kind, appeal.dueAt, appeal.status]).toEqual(['APPEAL_WINDOW', '2026-09-11T18:59:59.999Z', 'MISSED']);
    expect([cis.kind, cis.dueAt, cis.status]).toEqual(['UN_INTERIM_MEASURES', '2026-09-03T18:59:59.999Z', 'MISSED']);
    expect((await history(cw, appeal.id))[0].changes).toMatchObject({ status: 'MISSED' });
    const doneRes = await cw.patch(
      `/v1/deadlines/${appeal.id}`,
      { status: 'DONE', reason: 'appeal lodged on time' },
      { 'if-match': '"1"' },
    );
    expect(doneRes.statusCode, doneRes.body).toBe(200);
    const manual = await addManual(cw, c.caseId, { dueDate: '2027-03-25' });
    const later = await addManual(cw, c.caseId, { dueDate: '2027-03-24', kind: 'CUSTOM' });

    // Another team's case and deadline, invisible to this team.
    const other = await team(['KZ'], 'KZ');
    const foreign = await addManual(other.cw, other.c.caseId, { dueDate: '2027-03-23' });

    const ids = (r: { json: () => { items: Deadline[] } }) => r.json().items.map((d) => d.id);
    const mine = await cw.get('/v1/me/deadlines');
    expect(mine.statusCode).toBe(200);
    expect(ids(mine)).toEqual([cis.id, later.id, manual.id]);
    expect(mine.json().items[0]).toMatchObject({ caseReference: c.reference, status: 'MISSED' });
    // With DONE included, the DONE appeal (earlier due) still comes after the overdue one.
    const withDone = await cw.get('/v1/me/deadlines?status=OPEN,MISSED,DONE');
    expect(ids(withDone)).toEqual([cis.id, appeal.id, later.id, manual.id]);
    expect(ids(await lawyer!.get('/v1/me/deadlines'))).toEqual([cis.id, later.id, manual.id]);
    expect(ids(await coordinator!.get('/v1/me/deadlines'))).toEqual([cis.id, later.id, manual.id]);
    expect(ids(await other.cw.get('/v1/me/deadlines'))).toEqual([foreign.id]);
    const stranger = await clientFor(env, 'CASEWORKER', { teamIds: [await createTeam(env, ['KZ'])] });
    expect(ids(await stranger.get('/v1/me/deadlines'))).toEqual([]);
    const unassignedLawyer = await clientFor(env, 'LAWYER');
    expect(ids(await unassignedLawyer.get('/v1/me/deadlines'))).toEqual([]);
    // An admin sees only what is assigned to them.
    const admin = await clientFor(env, 'ADMIN');
    expect(ids(await admin.get('/v1/me/deadlines'))).toEqual([]);
    const assigned = await addManual(cw, c.caseId, { dueDate: '2027-04-02', assigneeId: admin.userId });
    expect(ids(await admin.get('/v1/me/deadlines'))).toEqual([assigned.id]);

    expect(ids(await cw.get('/v1/me/deadlines?from=2027-01-01T00:00:00Z&to=2027-03-24T23:59:59Z'))).toEqual([later.id]);
    expect(ids(await cw.get('/v1/me/deadlines?status=CANCELLED'))).toEqual([]);
    expectProblem(await cw.get('/v1/me/deadlines?status=LOST'), 400);
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/me/deadlines' }), 401);
  });
});

// ---------------------------------------------------------------- rules API

describe('deadline rules API', () => {
  it('GET for any signed-in user; 401 without a token', async () => {
    const lawyer = await clientFor(env, 'LAWYER');
    const res = await lawyer.get('/v1/deadline-rules');
    expect(res.statusCode).toBe(200);
    const items = res.json().items as {
      key: string;
      rollPolicy: string;
      hostCountries: string[];
      offsetUnit: string;
      offsetValue: number;
      cutoffTime: string | null;
      timeZone: string | null;
    }[];
    for (const r of DEFAULT_RULES) expect(items.map((i) => i.key)).toContain(r.key);
    expect(items.find((i) => i.key === 'echr-application-4m')).toMatchObject({
      rollPolicy: 'NONE',
      offsetUnit: 'MONTHS',
      offsetValue: 4,
    });
    expect(items.find((i) => i.key === 'echr-rule39-before-removal')).toMatchObject({
      offsetValue: -1,
      offsetUnit: 'WORKING_DAYS',
      timeZone: 'Europe/Paris',
      cutoffTime: '16:00',
    });
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/deadline-rules' }), 401);
  });

  it('an admin can edit a shipped Turkish 60-day rule (tr-residence-permit-cancelled-60d) and GET lists every rule', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const [row] = await env.sql<{ id: string; version: number }>(
      'SELECT id::text, version FROM deadline_rules WHERE key = $1',
      ['tr-residence-permit-cancelled-60d'],
    );
    const res = await admin.put(`/v1/deadline-rules/${row.id}`, { verifyWithCounsel: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      key: 'tr-residence-permit-cancelled-60d',
      version: row.version + 1,
      verifyWithCounsel: true,
    });
  });

  it('POST/PUT by ADMIN only; a dry run shows the impact; an edit moves the open deadlines the rule made', async () => {
    const admin = await clientFor(env, 'ADMIN');
    const { teamId, cw, c } = await team(['RS'], 'RS');
    const coord = await clientFor(env, 'COORDINATOR', { teamIds: [teamId] });
    const lawyer = await clientFor(env, 'LAWYER');
    const key = `rs-travel-ban-${uniq()}`;
    const body = {
      key,
      jurisdiction: 'RS',
      hostCountries: ['RS'],
      triggerEventType: 'TRAVEL_BAN',
      kind: 'COURT_FILING',
      title: 'Challenge the travel ban',
      offsetValue: 5,
      offsetUnit: 'WORKING_DAYS',
      rollPolicy: 'NONE',
      citation: 'Test rule, not law',
      confidence: 'LOW',
      verifyWithCounsel: true,
    };
    for (const who of [cw, coord, lawyer]) expectProblem(await who.post('/v1/deadline-rules', body), 403);
    expectProblem(await admin.post('/v1/deadline-rules', { ...body, jurisdiction: 'SERBIA' }), 400);
    expectProblem(await admin.post('/v1/deadline-rules', { ...body, cutoffTime: '25:00' }), 400);
    expectProblem(await admin.post('/v1/deadline-rules', { ...body, surprise: 1 }), 400);
    expect((await env.sql('SELECT 1 FROM deadline_rules WHERE key = $1', [key])).length).toBe(0);
    const created = await admin.post('/v1/deadline-rules', body);
    expect(created.statusCode, created.body).toBe(201);
    const rule = created.json();
    expect(rule).toMatchObject({
      key,
      version: 1,
      anchor: 'EVENT',
      active: true,
      timeZone: null,
      cutoffTime: null,
      holidayNote: null,
    });
    expectProblem(await admin.post('/v1/deadline-rules', body), 409);

    // Wed 28 April 2027 + 5 Serbian working days: Thu 29; Fri 30 (Good Friday), 1-2 May, Mon 3 May (holidays) skipped; Tue 4 … Fri 7 May.
    await addEvent(cw, c.caseId, { type: 'TRAVEL_BAN', country: 'RS', occurredAt: '2027-04-28T08:00:00Z' });
    let items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.dueDate, d.citation, d.confidence])).toEqual([
      ['COURT_FILING', '2027-05-07T21:59:59.999Z', '2027-05-07', 'Test rule, not law', 'LOW'],
    ]);

    for (const who of [cw, coord, lawyer]) {
      expectProblem(await who.put(`/v1/deadline-rules/${rule.id}`, { offsetValue: 2 }), 403);
    }
    expect(
      (await admin.put('/v1/deadline-rules/00000000-0000-4000-8000-000000000000', { offsetValue: 2 })).statusCode,
    ).toBe(404);
    expectProblem(await admin.put(`/v1/deadline-rules/${rule.id}`, { key: 'renamed' }), 400);
    // Dry run: 2 working days = Thu 29 April (1), then Tue 4 May (2): the deadline would move 72 h earlier.
    for (const who of [cw, coord, lawyer]) {
      expectProblem(await who.get(`/v1/deadline-rules/${rule.id}/impact?offsetValue=2`), 403);
    }
    const impact = await admin.get(`/v1/deadline-rules/${rule.id}/impact?offsetValue=2`);
    expect(impact.statusCode, impact.body).toBe(200);
    expect(impact.json()).toEqual({
      ruleId: rule.id,
      openDeadlines: 1,
      wouldMove: 1,
      wouldCancel: 0,
      moves: [
        {
          deadlineId: items[0].id,
          caseId: c.caseId,
          from: '2027-05-07T21:59:59.999Z',
          to: '2027-05-04T21:59:59.999Z',
          shiftHours: -72,
        },
      ],
    });
    expect((await deadlinesOf(cw, c.caseId))[0].dueAt).toBe('2027-05-07T21:59:59.999Z'); // nothing written
    const edited = await admin.put(`/v1/deadline-rules/${rule.id}`, { offsetValue: 2 });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ offsetValue: 2, version: 2, key, adminEdited: true });
    // The open deadline moved with its rule, with history and an audit entry.
    const moved = (await deadlinesOf(cw, c.caseId))[0];
    expect([moved.id, moved.dueAt, moved.version]).toEqual([items[0].id, '2027-05-04T21:59:59.999Z', 2]);
    expect((await history(cw, moved.id)).at(-1)).toMatchObject({
      reason: 'recomputed after its rule was edited',
      changes: { dueAt: { old: '2027-05-07T21:59:59.999Z', new: '2027-05-04T21:59:59.999Z' } },
    });
    const audits = await env.sql<{ action: string }>(
      "SELECT action FROM audit_entries WHERE entity_id = $1 AND action LIKE 'deadline_rule.%'",
      [rule.id],
    );
    expect(audits.map((a) => a.action).sort()).toEqual([
      'deadline_rule.create',
      'deadline_rule.recompute',
      'deadline_rule.update',
    ]);

    const second = await addEvent(cw, c.caseId, {
      type: 'TRAVEL_BAN',
      country: 'RS',
      occurredAt: '2027-04-28T08:00:00Z',
    });
    items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.triggerEventId === second.id, d.dueAt]).sort()).toEqual([
      [false, '2027-05-04T21:59:59.999Z'],
      [true, '2027-05-04T21:59:59.999Z'],
    ]);

    // Deactivated: new events make nothing; the deadlines it already made stay.
    expect((await admin.put(`/v1/deadline-rules/${rule.id}`, { active: false })).json()).toMatchObject({
      active: false,
      version: 3,
    });
    await addEvent(cw, c.caseId, { type: 'TRAVEL_BAN', country: 'RS', occurredAt: '2027-04-28T08:00:00Z' });
    expect(await deadlinesOf(cw, c.caseId)).toHaveLength(2);

    // A later edit of another field keeps it deactivated (defaults are for creation only).
    const later = await admin.put(`/v1/deadline-rules/${rule.id}`, { title: 'Renamed while inactive' });
    expect(later.json()).toMatchObject({ active: false, title: 'Renamed while inactive', version: 4 });
    await addEvent(cw, c.caseId, { type: 'TRAVEL_BAN', country: 'RS', occurredAt: '2027-04-29T08:00:00Z' });
    expect(await deadlinesOf(cw, c.caseId)).toHaveLength(2);
  });
});

// ---------------------------------------------------------------- Interpol

describe('Interpol charges', () => {
  it('a red notice creates one CCF_REQUEST task per case, due 30 days on at the end of the local day', async () => {
    const { cw, c } = await team(['GE'], 'GE');
    const charge = {
      issuingCountry: 'RU',
      code: 'RU-CC',
      article: '207.3',
      category: 'FAKES',
      mechanism: 'INTERPOL_RED_NOTICE',
      status: 'WANTED',
    };
    expect((await cw.post(`/v1/cases/${c.caseId}/charges`, charge)).statusCode).toBe(201);
    expect((await cw.post(`/v1/cases/${c.caseId}/charges`, { ...charge, article: '280.3' })).statusCode).toBe(201);
    expect(
      (await cw.post(`/v1/cases/${c.caseId}/charges`, { ...charge, mechanism: 'INTERPOL_DIFFUSION' })).statusCode,
    ).toBe(201);
    const items = await deadlinesOf(cw, c.caseId);
    // now = 1 March 2027 ~09:00Z; + 30 days = 31 March (13:00 Tbilisi) -> end of 31 March Tbilisi.
    expect(
      items.map((d) => [
        d.kind,
        d.dueAt,
        d.dueDate,
        d.timeZone,
        d.source,
        d.confidence,
        d.verifyWithCounsel,
        d.note,
        d.triggerEventId,
      ]),
    ).toEqual([
      [
        'CCF_REQUEST',
        '2027-03-31T19:59:59.999Z',
        '2027-03-31',
        'Asia/Tbilisi',
        'RULE',
        'LOW',
        true,
        'computed, verify with counsel',
        null,
      ],
    ]);
    expect(items[0].citation).toMatch(/CCF/);
    expect(await reminderKeys(items[0].id)).toEqual(
      plan('2027-03-31T19:59:59.999Z', ['14d', '3d', '1d', 'morning'], [cw.userId]),
    );

    // A domestic charge makes none; a charge changed to a red notice makes one.
    const other = await createCase(cw, (await env.db.case.findUniqueOrThrow({ where: { id: c.caseId } })).teamId, 'GE');
    const dom = await cw.post(`/v1/cases/${other.caseId}/charges`, { ...charge, mechanism: 'DOMESTIC' });
    expect(dom.statusCode).toBe(201);
    expect(await deadlinesOf(cw, other.caseId)).toEqual([]);
    const patched = await cw.patch(
      `/v1/charges/${dom.json().id}`,
      { mechanism: 'INTERPOL_RED_NOTICE' },
      { 'if-match': '"1"' },
    );
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await deadlinesOf(cw, other.caseId)).map((d) => d.kind)).toEqual(['CCF_REQUEST']);
  });

  it('CCF admissibility (not the request) gives the expected 4-month (access) and 9-month (deletion) decisions', async () => {
    const { cw, c } = await team(['TR'], 'TR');
    // The request itself starts no Commission clock.
    await addEvent(cw, c.caseId, { type: 'INTERPOL_CCF_REQUEST', country: 'FR', occurredAt: '2026-09-15T09:00:00Z' });
    expect(await deadlinesOf(cw, c.caseId)).toEqual([]);
    // Admissible 31 Oct 2026: + 4 = 28 Feb 2027 (clamped, past -> MISSED); + 9 = 31 July 2027 (a Saturday, no roll).
    await addEvent(cw, c.caseId, { type: 'CCF_ADMISSIBILITY', country: 'FR', occurredAt: '2026-10-31T09:00:00Z' });
    const items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.kind, d.dueAt, d.status])).toEqual([
      ['FOLLOW_UP', '2027-02-28T20:59:59.999Z', 'MISSED'],
      ['FOLLOW_UP', '2027-07-31T20:59:59.999Z', 'OPEN'],
    ]);
    expect(items[0].title).toMatch(/^Expected CCF decision/);
    // Missed one day before it was computed (within the 7-day window): one
    // overdue reminder goes out at once, nothing else.
    const keys = await reminderKeys(items[0].id);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/ EMAIL overdue@2027-02-28T20:59:59\.999Z$/);
  });
});

// ---------------------------------------------------------------- MISSED

describe('marking missed deadlines', () => {
  it('OPEN deadlines past due become MISSED with history; their non-overdue reminders stop, the overdue one stays', async () => {
    const { cw, c, coordinator } = await team(['GE'], 'GE', { coordinator: true });
    // Due 11:00Z today (15:00 Tbilisi): every day-offset and the 08:00 morning are past -> one "now", plus overdue.
    const soon = await addManual(cw, c.caseId, { dueAt: '2027-03-01T11:00:00Z' });
    const stamp = '2027-03-01T11:00:00.000Z';
    expect(await reminderKeys(soon.id)).toEqual(plan(stamp, ['now'], [cw.userId], [coordinator!.userId]));
    const notYet = await addManual(cw, c.caseId, { dueAt: '2027-03-01T13:00:00Z' });

    const cutoff = new Date('2027-03-01T12:00:00Z');
    const [{ n }] = await env.sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM deadlines WHERE status = 'OPEN' AND due_at < $1",
      [cutoff],
    );
    expect(n).toBeGreaterThanOrEqual(1);
    const marked = await new DeadlinesService({ db: env.db, config: env.config, clock: () => cutoff }).markMissed();
    expect(marked).toBe(n);

    let items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => [d.id, d.status, d.version])).toEqual([
      [soon.id, 'MISSED', 2],
      [notYet.id, 'OPEN', 1],
    ]);
    expect((await history(cw, soon.id)).at(-1)).toEqual({
      at: '2027-03-01T12:00:00.000Z',
      actorId: null,
      reason: 'past due and not done',
      changes: { status: { old: 'OPEN', new: 'MISSED' } },
    });
    expect(await reminderKeys(soon.id)).toEqual(
      [`${cw.userId} EMAIL overdue@${stamp}`, `${coordinator!.userId} EMAIL overdue@${stamp}`].sort(),
    );
    expect(await reminderKeys(soon.id, 'CANCELLED')).toEqual([`${cw.userId} EMAIL now@${stamp}`]);
    const audit = await env.sql<{ action: string; actor_id: string | null }>(
      "SELECT action, actor_id::text FROM audit_entries WHERE entity_id = $1 AND action = 'deadline.missed'",
      [soon.id],
    );
    expect(audit).toEqual([{ action: 'deadline.missed', actor_id: null }]);
    // Idempotent.
    expect(await new DeadlinesService({ db: env.db, config: env.config, clock: () => cutoff }).markMissed()).toBe(0);

    // With the app's clock at 12:00Z the missed one is listed first.
    shift = cutoff.getTime() - clock().getTime();
    try {
      const mine = (await cw.get('/v1/me/deadlines')).json().items as Deadline[];
      expect(mine.map((d) => [d.id, d.status])).toEqual([
        [soon.id, 'MISSED'],
        [notYet.id, 'OPEN'],
      ]);
      // Rescheduling a missed deadline into the future reopens it with a fresh set of reminders.
      const res = await cw.patch(`/v1/deadlines/${soon.id}`, { dueDate: '2027-03-10' }, { 'if-match': '"2"' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'OPEN', dueAt: '2027-03-10T19:59:59.999Z', manualOverride: true });
      expect((await history(cw, soon.id)).at(-1)!.changes).toEqual({
        dueAt: { old: stamp, new: '2027-03-10T19:59:59.999Z' },
        status: { old: 'MISSED', new: 'OPEN' },
      });
      // 14 days before 10 March has passed (coalesced into "now"); the old overdue reminders are cancelled.
      expect(await reminderKeys(soon.id)).toEqual(
        plan('2027-03-10T19:59:59.999Z', ['now', '3d', '1d', 'morning'], [cw.userId], [coordinator!.userId]),
      );
      expect(await reminderKeys(soon.id, 'CANCELLED')).toEqual(
        plan(stamp, ['now'], [cw.userId], [coordinator!.userId]),
      );
    } finally {
      shift = 0;
    }
    items = await deadlinesOf(cw, c.caseId);
    expect(items.map((d) => d.status)).toEqual(['OPEN', 'OPEN']);
  });
});
