// Public intake: the proof of work (missing, wrong, expired, replayed → 400
// naming body.altcha, nothing stored, nothing echoed), throttling without 5xx,
// encrypted storage, the vetting queue's access rules, and accept/reject
// (one transaction; two vetters at once: one 201, one 409; rejected reports
// leave no content behind).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAltcha, solveAltcha, type AltchaChallenge } from '../src/modules/intake/altcha.ts';
import { INTAKE_IP_MAX } from '../src/modules/intake/intake.throttle.ts';
import { IntakeService } from '../src/modules/intake/intake.service.ts';
import {
  clientFor,
  countRows,
  createTeam,
  expectProblem,
  setupTestEnv,
  uniq,
  type Client,
  type TestEnv,
} from './helpers.ts';

let env: TestEnv;
let skewMs = 0;
beforeAll(async () => {
  env = await setupTestEnv({ clock: () => new Date(Date.now() + skewMs) });
});
afterAll(async () => env?.close());

let ipSeq = 0;
/** A fresh client address per report, so the per-address limit is exercised only where meant. */
const nextIp = () => `198.51.100.${++ipSeq}`;

async function challenge(): Promise<AltchaChallenge> {
  const res = await env.app.inject({ method: 'GET', url: '/v1/intake/challenge' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function solved(over: Partial<{ number: number }> = {}) {
  const c = await challenge();
  const number = over.number ?? solveAltcha(c)!;
  const payload = { algorithm: c.algorithm, challenge: c.challenge, number, salt: c.salt, signature: c.signature };
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

const report = (over: Record<string, unknown> = {}) => ({
  language: 'ru',
  subject: { name: `Иванов Пётр ${uniq()}`, dateOfBirth: '1988-04-01', citizenship: 'RU' },
  event: {
    type: 'DETENTION',
    country: 'KZ',
    city: 'Алматы',
    occurredOn: '2026-11-20',
    description: 'Задержан в аэропорту',
  },
  reporter: { name: 'Мария', contact: 'Signal +7 700 000 0000' },
  consent: true,
  ...over,
});

const submit = (body: unknown, ip = nextIp()) =>
  env.app.inject({ method: 'POST', url: '/v1/intake', payload: body as object, remoteAddress: ip });

async function submitted(over: Record<string, unknown> = {}) {
  const body = { ...report(over), altcha: await solved() };
  const res = await submit(body);
  expect(res.statusCode, res.body).toBe(202);
  const [row] = await env.sql<{ id: string }>('SELECT id FROM intake_submissions WHERE receipt = $1', [
    res.json().receipt,
  ]);
  return { id: row.id, receipt: res.json().receipt as string, body };
}

describe('POST /v1/intake', () => {
  it('accepts a solved report: 202 with a receipt only; stored encrypted, status NEW, audited', async () => {
    const body = { ...report(), altcha: await solved() };
    const res = await submit(body);
    expect(res.statusCode, res.body).toBe(202);
    expect(Object.keys(res.json())).toEqual(['receipt']);
    expect(res.json().receipt).toMatch(/^R-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const rows = await env.sql<Record<string, unknown>>('SELECT * FROM intake_submissions WHERE receipt = $1', [
      res.json().receipt,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'NEW', country: 'KZ', language: 'ru' });
    const raw = JSON.stringify(rows[0]);
    for (const secret of [body.subject.name, 'Алматы', 'Задержан', 'Signal', 'Мария']) {
      expect(raw).not.toContain(secret);
    }
    expect(String(rows[0].content_enc)).toMatch(/^v1\./);
    expect(await countRows(env, 'audit_entries', "action = 'intake.submit' AND entity_id = $1", [rows[0].id])).toBe(1);
  });

  it('a missing, malformed, wrong, forged, expired or replayed proof of work: 400 naming body.altcha, nothing stored or echoed', async () => {
    const before = await countRows(env, 'intake_submissions');
    const base = report();
    const secrets = [base.subject.name, 'Задержан', 'Signal'];
    const expectResend = (res: Awaited<ReturnType<typeof submit>>) => {
      const p = expectProblem(res, 400, 'body.altcha');
      expect(p.detail).toMatch(/altcha/);
      for (const s of secrets) expect(res.body).not.toContain(s);
    };
    expectResend(await submit(base));
    expectResend(await submit({ ...base, altcha: 'not base64 json' }));
    const c = await challenge();
    const wrong = solveAltcha(c)! + 1;
    expectResend(
      await submit({ ...base, altcha: Buffer.from(JSON.stringify({ ...c, number: wrong })).toString('base64') }),
    );
    // A challenge made with another key (a forged signature) is refused even when solved.
    const forged = { ...c, signature: 'a'.repeat(64), number: solveAltcha(c)! };
    expectResend(await submit({ ...base, altcha: Buffer.from(JSON.stringify(forged)).toString('base64') }));
    // Expired: solved, but sent after the challenge's lifetime.
    const late = await solved();
    skewMs = 21 * 60_000;
    try {
      expectResend(await submit({ ...base, altcha: late }));
    } finally {
      skewMs = 0;
    }
    expect(await countRows(env, 'intake_submissions')).toBe(before);
    // Replayed: the first use is accepted, the second refused.
    const once = await solved();
    expect((await submit({ ...base, altcha: once })).statusCode).toBe(202);
    expectResend(await submit({ ...report(), altcha: once }));
    expect(await countRows(env, 'intake_submissions')).toBe(before + 1);
  });

  it('the same solution sent twice at once is stored once', async () => {
    const altcha = await solved();
    const res = await Promise.all([submit({ ...report(), altcha }), submit({ ...report(), altcha })]);
    expect(res.map((r) => r.statusCode).sort()).toEqual([202, 400]);
  });

  it('checks the altcha format itself (unit)', () => {
    expect(checkAltcha(Buffer.alloc(32), Buffer.from('[]').toString('base64'), new Date())).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('throttles one address (429 with Retry-After, never 5xx) while others still get through', async () => {
    const ip = nextIp();
    const codes = await Promise.all(
      Array.from({ length: INTAKE_IP_MAX + 30 }, () => submit({ ...report(), altcha: 'x' }, ip)),
    );
    const statuses = codes.map((r) => r.statusCode);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    const limited = codes.find((r) => r.statusCode === 429)!;
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await submit({ ...report(), altcha: await solved() }, ip)).statusCode).toBe(429);
    expect((await submit({ ...report(), altcha: await solved() })).statusCode).toBe(202);
    // No address is stored: only HMAC keys.
    const keys = await env.sql<{ key: string }>('SELECT key FROM intake_throttle');
    expect(JSON.stringify(keys)).not.toContain('198.51.100');
  });

  it('validates the report and names the field', async () => {
    expectProblem(await submit({ ...report({ consent: false }), altcha: await solved() }), 400, 'body.consent');
    expectProblem(await submit({ ...report({ language: 'xx' }), altcha: await solved() }), 400, 'body.language');
  });
});

describe('vetting', () => {
  let kzTeam: string;
  let amTeam: string;
  let cwKz: Client;
  let cwKz2: Client;
  let cwAm: Client;
  let admin: Client;
  let coordinator: Client;
  let lawyer: Client;
  beforeAll(async () => {
    kzTeam = await createTeam(env, ['KZ', 'KG']);
    amTeam = await createTeam(env, ['AM']);
    cwKz = await clientFor(env, 'CASEWORKER', { teamIds: [kzTeam] });
    cwKz2 = await clientFor(env, 'CASEWORKER', { teamIds: [kzTeam] });
    cwAm = await clientFor(env, 'CASEWORKER', { teamIds: [amTeam] });
    admin = await clientFor(env, 'ADMIN');
    coordinator = await clientFor(env, 'COORDINATOR');
    lawyer = await clientFor(env, 'LAWYER');
  });

  it('the queue: decrypted for caseworkers of a covering team and admins; hidden from other teams; 403 for other roles', async () => {
    const s = await submitted();
    const ids = (r: Awaited<ReturnType<Client['get']>>) => (r.json().items as { id: string }[]).map((i) => i.id);
    const mine = await cwKz.get('/v1/intake?limit=100');
    expect(mine.statusCode, mine.body).toBe(200);
    const item = (mine.json().items as { id: string }[]).find((i) => i.id === s.id);
    expect(item).toMatchObject({
      receipt: s.receipt,
      status: 'NEW',
      country: 'KZ',
      content: {
        subject: { name: s.body.subject.name },
        reporter: { contact: 'Signal +7 700 000 0000' },
        consent: true,
      },
    });
    expect(ids(await admin.get('/v1/intake?limit=100'))).toContain(s.id);
    const other = await cwAm.get('/v1/intake?limit=100');
    expect(other.statusCode).toBe(200);
    expect(ids(other)).not.toContain(s.id);
    expect(other.body).not.toContain(s.body.subject.name);
    expectProblem(await coordinator.get('/v1/intake'), 403);
    expectProblem(await lawyer.get('/v1/intake'), 403);
    expectProblem(await env.app.inject({ method: 'GET', url: '/v1/intake' }), 401);
    expect(
      await countRows(env, 'audit_entries', "action = 'intake.read_content' AND actor_id = $1", [cwKz.userId]),
    ).toBe(1);
  });

  it('accept: one transaction creates person, case and event; two vetters at once: one 201, one 409', async () => {
    const s = await submitted();
    const before = { people: await countRows(env, 'people'), cases: await countRows(env, 'cases') };
    const [a, b] = await Promise.all([
      cwKz.post(`/v1/intake/${s.id}/accept`, { case: { teamId: kzTeam } }),
      cwKz2.post(`/v1/intake/${s.id}/accept`, { case: { teamId: kzTeam } }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([201, 409]);
    const won = a.statusCode === 201 ? a : b;
    const lost = a.statusCode === 201 ? b : a;
    expectProblem(lost, 409);
    const { personId, caseId, eventId } = won.json();
    expect(await countRows(env, 'people')).toBe(before.people + 1);
    expect(await countRows(env, 'cases')).toBe(before.cases + 1);
    expect(await countRows(env, 'events', 'case_id = $1', [caseId])).toBe(1);
    const kase = await cwKz.get(`/v1/cases/${caseId}`);
    expect(kase.statusCode, kase.body).toBe(200);
    expect(kase.json()).toMatchObject({ hostCountry: 'KZ', teamId: kzTeam });
    const person = await cwKz.get(`/v1/people/${personId}`);
    expect(person.json()).toMatchObject({
      legalName: s.body.subject.name,
      dateOfBirth: '1988-04-01',
      citizenship: ['RU'],
    });
    const events = await cwKz.get(`/v1/cases/${caseId}/events`);
    expect(events.json().items[0]).toMatchObject({
      id: eventId,
      type: 'DETENTION',
      country: 'KZ',
      details: 'Задержан в аэропорту',
    });
    const [row] = await env.sql<{ status: string; case_id: string }>(
      'SELECT status, case_id FROM intake_submissions WHERE id = $1',
      [s.id],
    );
    expect(row).toEqual({ status: 'ACCEPTED', case_id: caseId });
    const actions = await env.sql<{ action: string }>(
      'SELECT action FROM audit_entries WHERE case_id = $1 ORDER BY id',
      [caseId],
    );
    expect(actions.map((x) => x.action)).toEqual(
      expect.arrayContaining(['intake.accept', 'person.create', 'case.create', 'event.create']),
    );
    // Vetted: a later reject is 409 too.
    expectProblem(await admin.post(`/v1/intake/${s.id}/reject`, { reason: 'late' }), 409);
  });

  it('accept takes edits from the body and checks the team', async () => {
    const s = await submitted();
    expectProblem(
      await cwKz.post(`/v1/intake/${s.id}/accept`, { case: { teamId: kzTeam, hostCountry: 'AM' } }),
      400,
      'body.case.hostCountry',
    );
    const res = await admin.post(`/v1/intake/${s.id}/accept`, {
      person: { pseudonym: 'Kestrel', legalName: 'Ivanov Petr', travelDocumentStatus: 'INTERNATIONAL_VALID' },
      case: { teamId: kzTeam, riskLevel: 'HIGH' },
      event: { city: 'Astana', occurredAt: '2026-11-21' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const p = await admin.get(`/v1/people/${res.json().personId}`);
    expect(p.json()).toMatchObject({
      pseudonym: 'Kestrel',
      legalName: 'Ivanov Petr',
      travelDocumentStatus: 'INTERNATIONAL_VALID',
    });
    const ev = await admin.get(`/v1/cases/${res.json().caseId}/events`);
    expect(ev.json().items[0]).toMatchObject({ city: 'Astana', occurredAt: '2026-11-21T00:00:00.000Z' });
  });

  it("refuses other roles (403) and other countries' caseworkers (404), writing nothing", async () => {
    const s = await submitted();
    const before = await countRows(env, 'cases');
    expectProblem(await coordinator.post(`/v1/intake/${s.id}/accept`, { case: { teamId: kzTeam } }), 403);
    expectProblem(await lawyer.post(`/v1/intake/${s.id}/accept`, { case: { teamId: kzTeam } }), 403);
    expectProblem(await lawyer.post(`/v1/intake/${s.id}/reject`, { reason: 'no' }), 403);
    expectProblem(await cwAm.post(`/v1/intake/${s.id}/accept`, { case: { teamId: amTeam } }), 404);
    expectProblem(await cwAm.post(`/v1/intake/${s.id}/reject`, { reason: 'no' }), 404);
    // A caseworker may not open the case in a team they are not in.
    expectProblem(await cwAm.post(`/v1/intake/${s.id}/accept`, { case: { teamId: kzTeam } }), 403);
    expect(await countRows(env, 'cases')).toBe(before);
    const [row] = await env.sql<{ status: string }>('SELECT status FROM intake_submissions WHERE id = $1', [s.id]);
    expect(row.status).toBe('NEW');
  });

  it('reject: 204, the content is erased, the reason encrypted, audited; twice at once: one 204, one 409', async () => {
    const s = await submitted();
    const [a, b] = await Promise.all([
      cwKz.post(`/v1/intake/${s.id}/reject`, { reason: 'spam from a known troll' }),
      cwKz2.post(`/v1/intake/${s.id}/reject`, { reason: 'spam' }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([204, 409]);
    const [row] = await env.sql<Record<string, unknown>>('SELECT * FROM intake_submissions WHERE id = $1', [s.id]);
    expect(row.status).toBe('REJECTED');
    expect(row.content_enc).toBeNull();
    expect(JSON.stringify(row)).not.toMatch(/spam|Иванов|Signal/);
    const listed = await cwKz.get('/v1/intake?status=REJECTED&limit=100');
    expect((listed.json().items as { id: string; content: unknown }[]).find((i) => i.id === s.id)?.content).toBeNull();
    expect(await countRows(env, 'audit_entries', "action = 'intake.reject' AND entity_id = $1", [s.id])).toBe(1);
    const audit = await env.sql<{ changes: unknown }>('SELECT changes FROM audit_entries WHERE entity_id = $1', [s.id]);
    expect(JSON.stringify(audit)).not.toMatch(/spam|Иванов/);
  });
});

describe('retention', () => {
  it('erases reports not vetted within INTAKE_RETENTION_DAYS; vetted ones are kept', async () => {
    const old = await submitted();
    const fresh = await submitted();
    await env.sql("UPDATE intake_submissions SET created_at = now() - interval '31 days' WHERE id = $1", [old.id]);
    const service = new IntakeService(env.app);
    expect(await service.eraseStale()).toBeGreaterThanOrEqual(1);
    const rows = await env.sql<{ id: string; status: string; content_enc: string | null }>(
      'SELECT id, status, content_enc FROM intake_submissions WHERE id = ANY($1::uuid[])',
      [[old.id, fresh.id]],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[old.id]).toMatchObject({ status: 'EXPIRED', content_enc: null });
    expect(byId[fresh.id].status).toBe('NEW');
    expect(byId[fresh.id].content_enc).toMatch(/^v1\./);
    expect(await service.eraseStale()).toBe(0);
    expect(await countRows(env, 'audit_entries', "action = 'intake.expire'")).toBe(1);
  });
});
